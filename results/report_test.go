package results

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportMarkdownGolden pins the Markdown report (go test ./results -run ReportMarkdown -update).
func TestReportMarkdownGolden(t *testing.T) {
	rs := []*Result{fake(t, "memory", 120000, 300, 21), fake(t, "wal", 60000, 900, 22)}
	rs[1].SLOs = []SLOResult{{Op: "get", Percentile: 99, LimitUS: 2000, MeasuredUS: 2500, Met: false}}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, rs); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.md")
	if *update {
		os.WriteFile(golden, b.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Fatalf("report differs from %s:\n%s", golden, b.String())
	}
}

// TestReportHTMLSelfContained: the HTML report holds its charts inline and loads nothing from elsewhere.
func TestReportHTMLSelfContained(t *testing.T) {
	rs := []*Result{fake(t, "memory", 120000, 300, 21), fake(t, "wal", 60000, 900, 22)}
	for _, r := range rs {
		r.Timeline = []TimelinePoint{{T: 0, OpsPerSec: 1000, P99US: 900}, {T: 1, OpsPerSec: 1100, P99US: 800}}
		r.Server.Samples = []ServerSample{{T: 0, UsedMemory: 1 << 20, RSS: 2 << 20}, {T: 1, UsedMemory: 2 << 20, RSS: 3 << 20}}
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, rs); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := strings.Count(page, "<svg"); n != 5 {
		t.Fatalf("%d inline SVG charts, want 5", n)
	}
	local := strings.NewReplacer("http://www.w3.org/2000/svg", "", "http://www.w3.org/1999/xlink", "").Replace(page)
	for _, bad := range []string{"<script src", "http://", "https://", "<link "} {
		if strings.Contains(local, bad) {
			t.Fatalf("report references %q: it must work offline", bad)
		}
	}
	if !strings.Contains(page, "<table>") || !strings.Contains(page, "wal vs memory") {
		t.Fatal("tables missing")
	}
}

// TestSLOWithoutData: an SLO on an operation that never ran in the measured phase is reported as missed
// because nothing was measured, not as a measured 0µs that missed.
func TestSLOWithoutData(t *testing.T) {
	r := fake(t, "memory", 120000, 300, 21)
	r.Ops = append(r.Ops, OpStats{Name: "xadd"})
	r.SLOs = []SLOResult{{Op: "xadd", Percentile: 99, LimitUS: 2000}, {Op: "get", Percentile: 99, LimitUS: 2000, MeasuredUS: 350, Met: true}}
	var show, md bytes.Buffer
	Show(&show, r)
	if err := WriteMarkdown(&md, []*Result{r}); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"show": show.String(), "markdown": md.String()} {
		if !strings.Contains(out, "p99 <= 2.00ms") || !strings.Contains(out, "(no xadd operation was measured)") ||
			!strings.Contains(out, "(measured 350µs)") {
			t.Errorf("%s:\n%s", name, out)
		}
	}
}
