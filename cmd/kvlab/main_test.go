package main

import (
	"testing"

	"github.com/kvlab/kvlab/internal/proctest"
)

// TestMain removes the kvlab binary the process tests build (proctest.Main).
func TestMain(m *testing.M) { proctest.Main(m) }
