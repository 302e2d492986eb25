package main

import (
	"bytes"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kvlab/kvlab/results"
)

// TestPlanLocal runs kvlab plan --local on a calibration file: with a heavy engine time per op the engine
// thread bound binds whatever the cores, and the output shows both bounds' arithmetic.
func TestPlanLocal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calib.json")
	r := &results.Result{Scenario: results.ScenarioInfo{Name: "iot"}, Target: results.TargetInfo{Engine: "memory"},
		Config: results.RunConfig{Connections: 50, Duration: "4s"}, Start: time.Unix(0, 0), End: time.Unix(4, 0),
		Host: results.HostInfo{Cores: runtime.NumCPU()}}
	r.Total = results.OpStats{Name: "total", OpsPerSec: 100000}
	r.Ops = []results.OpStats{{Name: "get", OpsPerSec: 100000, ReadOnly: true}}
	// cores bound ≥ 80% × 1 core × 1e6 / 1 µs = 800,000; engine bound = 80% × 1e6 / 8 µs = 100,000.
	r.Server = results.ServerStats{CPUUSPerOp: 1, EngineUSPerOp: 8, EngineSource: results.EngineLockHeld, ProcessSharedWithLoadgen: true}
	if err := results.Save(path, r); err != nil {
		t.Fatal(err)
	}
	app := newApp()
	var out bytes.Buffer
	app.Writer = &out
	if err := app.Run([]string{"kvlab", "plan", "--local", "--results", path}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cores bound: ", "engine thread bound: 80% × 1e6 / 8.000 µs engine time per op = 100000 ops/s",
		"predicted throughput: 100000 ops/s (the engine thread bound binds; 50 connections, as calibrated)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
}
