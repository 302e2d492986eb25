package benchrun

import (
	"math"
	"testing"
	"time"

	"github.com/kvlab/kvlab/results"
)

// TestSummaryEngineAndOtherCores checks the figures the planner's local model reads, by hand: two samples
// 2 s apart around a 2 s window of 200,000 operations.
func TestSummaryEngineAndOtherCores(t *testing.T) {
	t0 := time.Unix(1000, 0)
	mk := func(at time.Time, cpuSec, engineSec, hostBusy float64) sample {
		smp := sample{at: at, engineSec: engineSec, engineOK: true, engineSrc: results.EngineLockHeld, hostBusy: hostBusy, hostOK: true}
		smp.s.CPUSeconds = cpuSec
		return smp
	}
	for _, tc := range []struct {
		name      string
		embedded  bool
		wantOther float64
	}{
		// The machine was busy 3.6 s over 2 s, this process 2.8 s of it: others used 0.8 s / 2 s = 0.4 cores.
		{"embedded", true, 0.4},
		// A remote server's CPU is not this machine's: no figure.
		{"remote", false, 0},
	} {
		s := &sampler{samples: []sample{mk(t0, 10, 1, 50), mk(t0.Add(2*time.Second), 12.8, 1.2, 53.6)}}
		st := s.summary(t0, t0.Add(2*time.Second), 200000, tc.embedded)
		// CPU: 2.8 s / 200,000 ops = 14 µs; engine: 0.2 s / 200,000 ops = 1 µs.
		if math.Abs(st.CPUUSPerOp-14) > 1e-9 || math.Abs(st.EngineUSPerOp-1) > 1e-9 || st.EngineSource != results.EngineLockHeld {
			t.Errorf("%s: CPU %v µs/op, engine %v µs/op (%s); want 14 and 1", tc.name, st.CPUUSPerOp, st.EngineUSPerOp, st.EngineSource)
		}
		if math.Abs(st.OtherCPUCores-tc.wantOther) > 1e-9 {
			t.Errorf("%s: other processes %v cores, want %v", tc.name, st.OtherCPUCores, tc.wantOther)
		}
	}
}
