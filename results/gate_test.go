package results

import (
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fake builds a hand-made result: one operation "get" whose latencies are drawn around p50us with the
// given throughput; jitter adds run-to-run noise (a fraction).
func fake(t *testing.T, engine string, opsPerSec, p50us float64, seed uint64) *Result {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 9))
	h := NewHistogram()
	for i := 0; i < 20000; i++ {
		h.RecordValue(int64(p50us * (0.5 + r.ExpFloat64()*0.5)))
	}
	res := &Result{Scenario: ScenarioInfo{Name: "iot"}, Target: TargetInfo{Engine: engine, URL: "embedded:" + engine},
		Start: time.Unix(0, 0), End: time.Unix(10, 0)}
	op := OpStats{Name: "get"}
	if err := FillOp(&op, h, 10); err != nil {
		t.Fatal(err)
	}
	op.OpsPerSec = opsPerSec
	res.Ops = []OpStats{op}
	res.Total = op
	res.Total.Name = "total"
	return res
}

func jittered(t *testing.T, engine string, ops, p50 float64, n int, noise float64, seed uint64) []*Result {
	r := rand.New(rand.NewPCG(seed, 5))
	var out []*Result
	for i := 0; i < n; i++ {
		f := 1 + noise*(2*r.Float64()-1)
		out = append(out, fake(t, engine, ops*f, p50/f, seed+uint64(i)))
	}
	return out
}

func TestGateFindsRegression(t *testing.T) {
	base := jittered(t, "wal", 100000, 500, 5, 0.02, 1)
	cand := jittered(t, "wal", 80000, 650, 5, 0.02, 2) // 20% slower, p99 ~30% higher
	res, err := Gate(base, cand, Rules{MaxThroughputDrop: 0.05, MaxP99Rise: 0.10})
	if err != nil {
		t.Fatal(err)
	}
	failed := res.Failed()
	if len(failed) == 0 {
		t.Fatal("a 20% throughput drop passed the gate")
	}
	var sawOps, sawP99 bool
	for _, f := range failed {
		sawOps = sawOps || f.Figure == FigOpsPerSec
		sawP99 = sawP99 || f.Figure == FigP99
		if !strings.Contains(f.Describe(), "limit") {
			t.Errorf("description does not name the limit: %s", f.Describe())
		}
	}
	if !sawOps || !sawP99 {
		t.Fatalf("failures %+v: want both throughput and p99", failed)
	}
}

func TestGateIgnoresNoise(t *testing.T) {
	// Same system, ±4% run-to-run noise, a 3% apparent drop: within limits and within noise.
	base := jittered(t, "wal", 100000, 500, 7, 0.04, 3)
	cand := jittered(t, "wal", 97000, 510, 7, 0.04, 4)
	res, err := Gate(base, cand, Rules{MaxThroughputDrop: 0.05, MaxP99Rise: 0.10})
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Failed(); len(f) != 0 {
		t.Fatalf("noise failed the gate: %v", f[0].Describe())
	}
	deltas, err := Compare(GroupResults(base)[0], GroupResults(cand)[0], 0.05, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deltas {
		if d.Figure == FigOpsPerSec && d.Verdict != WithinNoise {
			t.Fatalf("%s %s verdict %s, want within noise (CI %.3f..%.3f)", d.Op, d.Figure, d.Verdict, d.Low, d.High)
		}
	}
}

func TestGateRelative(t *testing.T) {
	cand := append(jittered(t, "memory", 100000, 400, 3, 0.01, 5), jittered(t, "wal", 30000, 1500, 3, 0.01, 6)...)
	ok := Rules{Relative: []RelativeRule{{Candidate: "wal", Reference: "memory", MinThroughputRatio: 0.25, MaxP99Ratio: 6}}}
	if res, err := Gate(nil, cand, ok); err != nil || len(res.Failed()) != 0 {
		t.Fatalf("relative gate within limits: %v %v", err, res.Failed())
	}
	strict := Rules{Relative: []RelativeRule{{Candidate: "wal", Reference: "memory", MinThroughputRatio: 0.5}}}
	res, err := Gate(nil, cand, strict)
	if err != nil || len(res.Failed()) != 1 {
		t.Fatalf("wal at 0.3x memory must fail a 0.5x floor: %v %v", err, res.Failed())
	}
}

func TestGateBadInput(t *testing.T) {
	a := []*Result{fake(t, "wal", 1, 1, 1)}
	b := []*Result{fake(t, "memory", 1, 1, 1)}
	if _, err := Gate(a, b, Rules{MaxThroughputDrop: 0.05}); !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "no target in common") {
		t.Fatalf("disjoint targets: %v", err)
	}
	other := fake(t, "wal", 1, 1, 1)
	other.Scenario.Name = "leaderboard"
	if _, err := Gate(a, []*Result{other}, Rules{}); !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "different scenarios") {
		t.Fatalf("different scenarios: %v", err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"schema": 99, "kind": "kvlab.result"}`), 0o644)
	if _, err := Load(bad); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "schema 99") {
		t.Fatalf("schema mismatch: %v", err)
	}
	if _, err := LoadAll(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("missing file accepted")
	}
	if _, err := LoadRules(filepath.Join(dir, "none.yaml")); !errors.Is(err, ErrBadInput) {
		t.Fatalf("missing rules: %v", err)
	}
}

func TestRulesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gate.yaml")
	os.WriteFile(p, []byte("max_throughput_drop: 3%\nmax_p99_rise: 0.2\nops:\n  get: {max_p99_rise: 50%}\nrelative:\n  - {candidate: wal, reference: memory, min_throughput_ratio: 0.3}\n"), 0o644)
	r, err := LoadRules(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.MaxThroughputDrop != 0.03 || r.MaxP99Rise != 0.2 || *r.Ops["get"].MaxP99Rise != 0.5 || r.Relative[0].MinThroughputRatio != 0.3 {
		t.Fatalf("rules = %+v", r)
	}
	os.WriteFile(p, []byte("max_trhoughput_drop: 3%\n"), 0o644)
	if _, err := LoadRules(p); err == nil || !strings.Contains(err.Error(), "max_trhoughput_drop") {
		t.Fatalf("misspelt field: %v", err)
	}
}

// TestGateMarkdownGolden pins the pull-request summary format (go test ./results -run Golden -update).
func TestGateMarkdownGolden(t *testing.T) {
	base := []*Result{fake(t, "wal", 100000, 500, 11)}
	cand := []*Result{fake(t, "wal", 90000, 520, 12)}
	res, err := Gate(base, cand, Rules{MaxThroughputDrop: 0.05, MaxP99Rise: 0.10})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Markdown("iot")
	golden := filepath.Join("testdata", "gate.md")
	if *update {
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("markdown differs from %s:\n%s", golden, got)
	}
}
