package results

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Reports: a Markdown report (tables) and a self-contained HTML page (the same tables plus charts drawn by
// gonum/plot as inline SVG, so the single file works offline with no script or CDN).

// WriteMarkdown writes the per-run summary tables and, when there are several targets, the comparisons
// against the first.
func WriteMarkdown(w io.Writer, rs []*Result) error {
	if len(rs) == 0 {
		return fmt.Errorf("results: no results to report")
	}
	fmt.Fprintf(w, "# kvlab report: %s\n\n", rs[0].Scenario.Name)
	if d := rs[0].Scenario.Description; d != "" {
		fmt.Fprintf(w, "%s\n\n", d)
	}
	fmt.Fprintf(w, "| target | run | op | ops/s | p50 | p99 | p99.9 | max | errors |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		run := "1"
		if r.Repeat != nil {
			run = fmt.Sprintf("%d/%d", r.Repeat.Index, r.Repeat.Of)
		}
		for _, op := range append(append([]OpStats{}, r.Ops...), r.Total) {
			l := op.LatencyUS
			fmt.Fprintf(w, "| %s | %s | %s | %.0f | %s | %s | %s | %s | %d |\n", label(r), run, op.Name, op.OpsPerSec,
				FormatUS(l.P50), FormatUS(l.P99), FormatUS(l.P999), FormatUS(l.Max), op.Errors)
		}
	}
	groups := GroupResults(rs)
	for i, g := range groups[1:] {
		deltas, err := Compare(groups[0], g, 0.05, uint64(i+1))
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\n## %s vs %s\n\n| op | figure | %s | %s | ratio | 95%% CI | verdict |\n|---|---|---:|---:|---:|---|---|\n",
			g.Label, groups[0].Label, groups[0].Label, g.Label)
		for _, d := range deltas {
			ci := "n=1"
			if d.BaseN > 1 && d.CandN > 1 {
				ci = fmt.Sprintf("%.3f..%.3f", d.Low, d.High)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %.3f | %s | %s |\n", d.Op, d.Figure, formatFig(d.Figure, d.Base), formatFig(d.Figure, d.Cand), d.Ratio, ci, d.Verdict)
		}
	}
	for _, r := range rs {
		for _, s := range r.SLOs {
			v := "met"
			if !s.Met {
				v = "**missed**"
			}
			fmt.Fprintf(w, "\nSLO %s p%g <= %s on %s: %s (%s)", s.Op, s.Percentile, FormatUS(s.LimitUS), label(r), v, sloMeasured(r, s))
		}
	}
	fmt.Fprintln(w)
	return nil
}

func label(r *Result) string {
	if r.Target.Engine == "external" || r.Target.Engine == "" {
		return r.Target.URL
	}
	return r.Target.Engine
}

// WriteHTML writes a self-contained HTML report with inline SVG charts: the latency percentile spectrum
// (HdrHistogram style, log scale), throughput and p99 over time, an engine comparison, and the server's
// memory over time.
func WriteHTML(w io.Writer, rs []*Result) error {
	var md bytes.Buffer
	if err := WriteMarkdown(&md, rs); err != nil {
		return err
	}
	charts := []struct {
		title string
		draw  func([]*Result) (*plot.Plot, error)
	}{
		{"Latency by percentile", spectrumPlot},
		{"Throughput over time", func(rs []*Result) (*plot.Plot, error) {
			return timelinePlot(rs, "ops/s", func(p TimelinePoint) float64 { return p.OpsPerSec })
		}},
		{"p99 latency over time", func(rs []*Result) (*plot.Plot, error) {
			return timelinePlot(rs, "p99 (ms)", func(p TimelinePoint) float64 { return p.P99US / 1000 })
		}},
		{"Throughput by target", barsPlot},
		{"Server memory over time", memoryPlot},
	}
	fmt.Fprintf(w, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>kvlab report: %s</title>\n", html.EscapeString(rs[0].Scenario.Name))
	fmt.Fprint(w, `<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
figure{margin:1.5em 0}figcaption{font-weight:bold}</style></head><body>`)
	fmt.Fprintf(w, "<h1>kvlab report: %s</h1>\n", html.EscapeString(rs[0].Scenario.Name))
	for _, c := range charts {
		p, err := c.draw(rs)
		if err != nil {
			return err
		}
		if p == nil {
			continue
		}
		var svg bytes.Buffer
		canvas := vgsvg.New(8*vg.Inch, 3.6*vg.Inch)
		p.Draw(draw.New(canvas))
		if _, err := canvas.WriteTo(&svg); err != nil {
			return fmt.Errorf("results: render %s: %w", c.title, err)
		}
		// Drop the XML prolog so the SVG can live inline in HTML.
		s := svg.String()
		if i := strings.Index(s, "<svg"); i > 0 {
			s = s[i:]
		}
		fmt.Fprintf(w, "<figure class=\"chart\"><figcaption>%s</figcaption>%s</figure>\n", html.EscapeString(c.title), s)
	}
	fmt.Fprintf(w, "<h2>Tables</h2>\n%s\n</body></html>\n", markdownTablesToHTML(md.String()))
	return nil
}

// spectrumPlot draws latency against percentile on a log axis of 1/(1-p), like HdrHistogram's plots.
func spectrumPlot(rs []*Result) (*plot.Plot, error) {
	p := plot.New()
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = percentileTicks{}
	var lines []any
	for _, r := range rs {
		h, err := DecodeHistogram(r.Total.Histogram)
		if err != nil {
			return nil, err
		}
		var pts plotter.XYs
		for _, q := range []float64{0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999} {
			pts = append(pts, plotter.XY{X: 1 / (1 - q/100), Y: float64(h.ValueAtPercentile(q)) / 1000})
		}
		lines = append(lines, label(r)+runSuffix(r), pts)
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return nil, err
	}
	return p, nil
}

type percentileTicks struct{}

func (percentileTicks) Ticks(min, max float64) []plot.Tick {
	var t []plot.Tick
	for _, q := range []float64{0, 90, 99, 99.9, 99.99, 99.999} {
		x := 1 / (1 - q/100)
		if x >= min && x <= max*1.0001 {
			t = append(t, plot.Tick{Value: x, Label: fmt.Sprintf("%g%%", q)})
		}
	}
	return t
}

func runSuffix(r *Result) string {
	if r.Repeat != nil {
		return fmt.Sprintf(" #%d", r.Repeat.Index)
	}
	return ""
}

func timelinePlot(rs []*Result, ylabel string, f func(TimelinePoint) float64) (*plot.Plot, error) {
	p := plot.New()
	p.X.Label.Text = "second"
	p.Y.Label.Text = ylabel
	var lines []any
	for _, r := range rs {
		var pts plotter.XYs
		for _, tp := range r.Timeline {
			pts = append(pts, plotter.XY{X: float64(tp.T), Y: f(tp)})
		}
		if len(pts) > 0 {
			lines = append(lines, label(r)+runSuffix(r), pts)
		}
	}
	if len(lines) == 0 {
		return nil, nil
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return nil, err
	}
	return p, nil
}

func barsPlot(rs []*Result) (*plot.Plot, error) {
	groups := GroupResults(rs)
	p := plot.New()
	p.Y.Label.Text = "ops/s (median of runs)"
	vals := make(plotter.Values, len(groups))
	names := make([]string, len(groups))
	for i, g := range groups {
		var v []float64
		for _, r := range g.Runs {
			v = append(v, r.Total.OpsPerSec)
		}
		vals[i] = median(v)
		names[i] = g.Label
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(40))
	if err != nil {
		return nil, err
	}
	bars.Color = plotutil.Color(0)
	p.Add(bars)
	p.NominalX(names...)
	return p, nil
}

func memoryPlot(rs []*Result) (*plot.Plot, error) {
	p := plot.New()
	p.X.Label.Text = "second"
	p.Y.Label.Text = "MiB"
	var lines []any
	for _, r := range rs {
		var used, rss plotter.XYs
		for _, s := range r.Server.Samples {
			used = append(used, plotter.XY{X: s.T, Y: float64(s.UsedMemory) / (1 << 20)})
			rss = append(rss, plotter.XY{X: s.T, Y: float64(s.RSS) / (1 << 20)})
		}
		if len(used) > 0 {
			lines = append(lines, label(r)+runSuffix(r)+" used_memory", used, label(r)+runSuffix(r)+" RSS", rss)
		}
	}
	if len(lines) == 0 {
		return nil, nil
	}
	if err := plotutil.AddLines(p, lines...); err != nil {
		return nil, err
	}
	return p, nil
}

// markdownTablesToHTML turns the report's Markdown (tables, headings, paragraphs) into HTML.
func markdownTablesToHTML(md string) string {
	var b strings.Builder
	inTable := false
	for _, line := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(line, "|"):
			cells := strings.Split(strings.Trim(line, "|"), "|")
			if strings.HasPrefix(strings.TrimSpace(cells[0]), "---") {
				continue
			}
			tag := "td"
			if !inTable {
				b.WriteString("<table>")
				inTable, tag = true, "th"
			}
			b.WriteString("<tr>")
			for _, c := range cells {
				fmt.Fprintf(&b, "<%s>%s</%s>", tag, html.EscapeString(strings.Trim(strings.TrimSpace(c), "*")), tag)
			}
			b.WriteString("</tr>\n")
		default:
			if inTable {
				b.WriteString("</table>\n")
				inTable = false
			}
			t := strings.TrimSpace(line)
			switch {
			case t == "":
			case strings.HasPrefix(t, "## "):
				fmt.Fprintf(&b, "<h3>%s</h3>\n", html.EscapeString(t[3:]))
			case strings.HasPrefix(t, "# "):
			default:
				fmt.Fprintf(&b, "<p>%s</p>\n", html.EscapeString(strings.ReplaceAll(t, "**", "")))
			}
		}
	}
	if inTable {
		b.WriteString("</table>\n")
	}
	return b.String()
}
