package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvlab/kvlab/internal/proctest"
	"github.com/kvlab/kvlab/results"
)

func writeResult(t *testing.T, path, engine string, opsPerSec float64, p99 int64) {
	t.Helper()
	h := results.NewHistogram()
	for i := 0; i < 1000; i++ {
		h.RecordValue(p99 * int64(i) / 990)
	}
	r := &results.Result{Scenario: results.ScenarioInfo{Name: "iot"}, Target: results.TargetInfo{Engine: engine},
		Start: time.Unix(0, 0), End: time.Unix(10, 0)}
	op := results.OpStats{Name: "get"}
	if err := results.FillOp(&op, h, 10); err != nil {
		t.Fatal(err)
	}
	op.OpsPerSec = opsPerSec
	r.Ops, r.Total = []results.OpStats{op}, op
	r.Total.Name = "total"
	if err := results.Save(path, r); err != nil {
		t.Fatal(err)
	}
}

// TestGateExitCodes runs the real binary: 0 within limits, 1 on a regression naming the figure, 2 on bad
// input with a clear message.
func TestGateExitCodes(t *testing.T) {
	bin := proctest.Binary(t)
	dir := t.TempDir()
	base, same, slow := filepath.Join(dir, "base.json"), filepath.Join(dir, "same.json"), filepath.Join(dir, "slow.json")
	writeResult(t, base, "wal", 100000, 2000)
	writeResult(t, same, "wal", 99000, 2050)
	writeResult(t, slow, "wal", 70000, 2000)
	run := func(args ...string) (int, string) {
		out, err := exec.Command(bin, append([]string{"gate"}, args...)...).CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	if code, out := run("--baseline", base, "--candidate", same); code != 0 {
		t.Fatalf("within limits: exit %d\n%s", code, out)
	}
	summary := filepath.Join(dir, "gate.md")
	code, out := run("--baseline", base, "--candidate", slow, "--summary", summary)
	if code != 1 || !strings.Contains(out, "ops/s dropped 30.0%") {
		t.Fatalf("regression: exit %d\n%s", code, out)
	}
	if md, _ := os.ReadFile(summary); !strings.Contains(string(md), "**FAIL**") {
		t.Fatalf("summary:\n%s", md)
	}
	if code, out := run("--baseline", filepath.Join(dir, "missing.json"), "--candidate", slow); code != 2 || !strings.Contains(out, "no such file") {
		t.Fatalf("missing file: exit %d\n%s", code, out)
	}
	os.WriteFile(filepath.Join(dir, "old.json"), []byte(`{"schema": 0, "kind": "kvlab.result"}`), 0o644)
	if code, out := run("--baseline", filepath.Join(dir, "old.json"), "--candidate", slow); code != 2 || !strings.Contains(out, "schema") {
		t.Fatalf("schema mismatch: exit %d\n%s", code, out)
	}
}
