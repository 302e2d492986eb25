package benchrun

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvlab/kvlab/loadgen"
	"github.com/kvlab/kvlab/results"
	"github.com/kvlab/kvlab/scenarios"
)

// TestEveryScenarioRuns runs each built-in scenario briefly against an embedded memory engine over real
// TCP, writes its result file, reads it back and requires no error replies.
func TestEveryScenarioRuns(t *testing.T) {
	for _, name := range scenarios.List() {
		t.Run(name, func(t *testing.T) {
			sc, _ := scenarios.Load(name)
			var keys int64
			for _, ks := range sc.Keyspaces {
				keys += ks.Count
			}
			skip := testing.Short() && keys > 200000
			out := filepath.Join(t.TempDir(), name+".json")
			var buf bytes.Buffer
			rs, _, err := Run(context.Background(), Config{
				Scenario: name, Target: "embedded:memory", OutFile: out, Out: &buf,
				Load: loadgen.Config{Connections: 4, Pipeline: 4, Duration: 700 * time.Millisecond, Warmup: 0, Seed: 1, SkipPreload: skip},
			})
			if err != nil {
				t.Fatalf("%v\n%s", err, buf.String())
			}
			r := rs[0]
			if r.Total.Count == 0 {
				t.Fatalf("no operations completed:\n%s", buf.String())
			}
			if r.Total.Errors != 0 {
				t.Fatalf("%d error replies %v:\n%s", r.Total.Errors, r.Errors, buf.String())
			}
			back, err := results.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			if back.Scenario.Name != name || back.Target.Engine != "memory" || len(back.Ops) != len(sc.Ops) {
				t.Fatalf("result file round trip: %+v", back.Scenario)
			}
			if back.Server.Keys == 0 && !skip && len(sc.Preload) > 0 {
				t.Errorf("server sampling saw no keys after the preload")
			}
			if !strings.Contains(buf.String(), "ops/s") {
				t.Errorf("summary missing:\n%s", buf.String())
			}
		})
	}
}

// TestUnknownEngineSkipped: a comparison with an engine that does not exist still runs the others and
// says why one was skipped.
func TestUnknownEngineSkipped(t *testing.T) {
	var buf bytes.Buffer
	rs, skipped, err := Run(context.Background(), Config{
		Scenario: "iot-latest-state", Engines: []string{"memory", "nosuch"}, Out: &buf,
		Load: loadgen.Config{Connections: 2, Pipeline: 2, Duration: 300 * time.Millisecond, SkipPreload: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || len(skipped) != 1 || !strings.Contains(skipped[0].Reason, "unknown engine") {
		t.Fatalf("results %d, skipped %+v", len(rs), skipped)
	}
}

// TestClusterFlagsChecked: --cluster needs a redis:// target and --read-from-replicas needs --cluster, both
// refused with a message naming the flag before anything runs.
func TestClusterFlagsChecked(t *testing.T) {
	for _, tc := range []struct {
		target string
		load   loadgen.Config
		want   string
	}{
		{"embedded:memory", loadgen.Config{Cluster: true}, "--cluster needs a redis://"},
		{"redis://127.0.0.1:1", loadgen.Config{ReadFromReplicas: true}, "--read-from-replicas needs --cluster"},
	} {
		tc.load.Duration = 100 * time.Millisecond
		_, _, err := Run(context.Background(), Config{Scenario: "iot-latest-state", Target: tc.target, Load: tc.load})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %+v: error %v, want %q", tc.target, tc.load, err, tc.want)
		}
	}
}

// TestInterruptedComparison: interrupted during the second of three runs (and an engine listed twice is
// refused before anything runs), Run returns the finished run and
// the interrupted one (measured until then) and an error that says how many runs were not started.
func TestInterruptedComparison(t *testing.T) {
	var buf bytes.Buffer
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := Config{Scenario: "iot-latest-state", Engines: []string{"memory", "wal", "memory"}, OutDir: out,
		Load: loadgen.Config{Connections: 2, Pipeline: 2, Duration: 2 * time.Second, SkipPreload: true}}
	var mu sync.Mutex
	headers := 0
	cfg.Out = writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		// The second run's header: cancel a second later, halfway through its measurement (the embedded
		// server starts in milliseconds).
		if strings.HasPrefix(string(p), "== iot-latest-state on ") {
			if headers++; headers == 2 {
				time.AfterFunc(time.Second, cancel)
			}
		}
		return buf.Write(p)
	})
	if _, _, err := Run(ctx, cfg); err == nil || !strings.Contains(err.Error(), "--engines lists memory twice") {
		t.Fatalf("an engine listed twice: %v", err)
	}
	cfg.Engines[2] = "tiered"
	rs, _, err := Run(ctx, cfg)
	if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "1 more run(s) were not started") {
		t.Fatalf("err = %v\n%s", err, buf.String())
	}
	if len(rs) != 2 {
		t.Fatalf("%d results, want the finished run and the interrupted one\n%s", len(rs), buf.String())
	}
	if d := rs[1].End.Sub(rs[1].Start); d >= 2*time.Second || !strings.HasPrefix(rs[1].Notes[0], "interrupted after ") {
		t.Fatalf("interrupted run: measured %v, notes %q", d, rs[1].Notes)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(files) != 2 {
		t.Fatalf("result files %v, want 2", files)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
