package results

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"text/tabwriter"
)

// Comparing runs. Results are grouped into candidates (by target engine, or by file when the engines are
// the same); each candidate may hold several repetitions (kvlab bench --repeat). For every operation and
// figure (ops/s, p50, p99, p99.9) the comparison reports the medians and the ratio candidate/baseline with a
// 95% bootstrap confidence interval: repetitions of each side are resampled with replacement 2000 times and
// the ratio of medians recomputed; the interval is the 2.5th..97.5th percentile of those ratios. The verdict
// is "better" or "worse" only when the whole interval lies beyond the noise band, else "within noise". A
// single run per side has no interval; its ratio is judged against the noise band alone (and says n=1).

// Figure names a compared measurement.
type Figure string

// The figures compared per operation.
const (
	FigOpsPerSec Figure = "ops/s"
	FigP50       Figure = "p50"
	FigP99       Figure = "p99"
	FigP999      Figure = "p99.9"
)

// Figures lists every figure in report order.
var Figures = []Figure{FigOpsPerSec, FigP50, FigP99, FigP999}

// HigherIsBetter reports the direction of a figure.
func (f Figure) HigherIsBetter() bool { return f == FigOpsPerSec }

func (f Figure) of(op *OpStats) float64 {
	switch f {
	case FigOpsPerSec:
		return op.OpsPerSec
	case FigP50:
		return op.LatencyUS.P50
	case FigP99:
		return op.LatencyUS.P99
	case FigP999:
		return op.LatencyUS.P999
	}
	return 0
}

// Group is one candidate's repetitions.
type Group struct {
	Label string
	Runs  []*Result
}

// GroupResults groups results by engine label (target engine, or URL for external targets), keeping the
// first appearance order.
func GroupResults(rs []*Result) []Group {
	var out []Group
	idx := map[string]int{}
	for _, r := range rs {
		label := r.Target.Engine
		if label == "external" || label == "" {
			label = r.Target.URL
		}
		i, ok := idx[label]
		if !ok {
			i = len(out)
			idx[label] = i
			out = append(out, Group{Label: label})
		}
		out[i].Runs = append(out[i].Runs, r)
	}
	return out
}

// Verdict is the outcome of one figure's comparison.
type Verdict string

// Verdicts.
const (
	Better      Verdict = "better"
	Worse       Verdict = "worse"
	WithinNoise Verdict = "within noise"
)

// Delta compares one figure of one operation.
type Delta struct {
	Op           string
	Figure       Figure
	Base, Cand   float64 // medians
	Ratio        float64 // Cand/Base
	Low, High    float64 // 95% bootstrap interval of the ratio (== Ratio when n=1)
	BaseN, CandN int
	Verdict      Verdict
}

// Change is the signed relative change in the direction where positive means worse (a throughput drop or
// a latency rise), e.g. 0.12 for 12% worse.
func (d Delta) Change() float64 {
	if d.Figure.HigherIsBetter() {
		return 1 - d.Ratio
	}
	return d.Ratio - 1
}

// Compare compares candidate with baseline for every operation both have, with noise the relative band
// (0.05 = ±5%) within which differences are not called.
func Compare(base, cand Group, noise float64, seed uint64) ([]Delta, error) {
	if len(base.Runs) == 0 || len(cand.Runs) == 0 {
		return nil, fmt.Errorf("results: nothing to compare")
	}
	if a, b := base.Runs[0].Scenario.Name, cand.Runs[0].Scenario.Name; a != b {
		return nil, fmt.Errorf("results: different scenarios: baseline %q, candidate %q", a, b)
	}
	ops := []string{"total"}
	for _, op := range base.Runs[0].Ops {
		ops = append(ops, op.Name)
	}
	rng := rand.New(rand.NewPCG(seed, 17))
	var out []Delta
	for _, name := range ops {
		for _, fig := range Figures {
			bv, err := values(base.Runs, name, fig)
			if err != nil {
				return nil, err
			}
			cv, err := values(cand.Runs, name, fig)
			if err != nil {
				return nil, err
			}
			d := Delta{Op: name, Figure: fig, Base: median(bv), Cand: median(cv), BaseN: len(bv), CandN: len(cv)}
			if d.Base > 0 {
				d.Ratio = d.Cand / d.Base
			}
			d.Low, d.High = d.Ratio, d.Ratio
			if len(bv) > 1 && len(cv) > 1 && d.Base > 0 {
				d.Low, d.High = bootstrapRatio(bv, cv, rng)
			}
			d.Verdict = verdict(d, noise)
			out = append(out, d)
		}
	}
	return out, nil
}

func values(rs []*Result, op string, fig Figure) ([]float64, error) {
	var v []float64
	for _, r := range rs {
		st := &r.Total
		if op != "total" {
			if st = r.Op(op); st == nil {
				return nil, fmt.Errorf("results: operation %q missing from a %s run (different scenario versions?)", op, r.Target.Engine)
			}
		}
		v = append(v, fig.of(st))
	}
	return v, nil
}

func verdict(d Delta, noise float64) Verdict {
	if d.Base == 0 {
		return WithinNoise
	}
	lo, hi := 1-noise, 1+noise
	better := d.Low > hi
	worse := d.High < lo
	if !d.Figure.HigherIsBetter() {
		better, worse = d.High < lo, d.Low > hi
	}
	switch {
	case better:
		return Better
	case worse:
		return Worse
	}
	return WithinNoise
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// bootstrapRatio returns the 95% percentile interval of median(cand)/median(base) under resampling.
func bootstrapRatio(base, cand []float64, rng *rand.Rand) (float64, float64) {
	const rounds = 2000
	ratios := make([]float64, 0, rounds)
	bs, cs := make([]float64, len(base)), make([]float64, len(cand))
	for i := 0; i < rounds; i++ {
		for j := range bs {
			bs[j] = base[rng.IntN(len(base))]
		}
		for j := range cs {
			cs[j] = cand[rng.IntN(len(cand))]
		}
		if m := median(bs); m > 0 {
			ratios = append(ratios, median(cs)/m)
		}
	}
	sort.Float64s(ratios)
	if len(ratios) == 0 {
		return math.NaN(), math.NaN()
	}
	return ratios[int(0.025*float64(len(ratios)))], ratios[int(math.Min(0.975*float64(len(ratios)), float64(len(ratios)-1)))]
}

// WriteCompare writes the comparison table of candidate vs baseline.
func WriteCompare(w io.Writer, base, cand Group, deltas []Delta, noise float64) {
	fmt.Fprintf(w, "baseline %s (n=%d) vs candidate %s (n=%d); noise band ±%.0f%%; interval: 95%% bootstrap of the ratio of medians\n",
		base.Label, len(base.Runs), cand.Label, len(cand.Runs), noise*100)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "op\tfigure\tbaseline\tcandidate\tratio\t95% CI\tverdict")
	for _, d := range deltas {
		ci := "n=1"
		if d.BaseN > 1 && d.CandN > 1 {
			ci = fmt.Sprintf("%.3f..%.3f", d.Low, d.High)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.3f\t%s\t%s\n", d.Op, d.Figure, formatFig(d.Figure, d.Base), formatFig(d.Figure, d.Cand), d.Ratio, ci, d.Verdict)
	}
	tw.Flush()
}

func formatFig(f Figure, v float64) string {
	if f == FigOpsPerSec {
		return fmt.Sprintf("%.0f", v)
	}
	return FormatUS(v)
}

// labelOrEngines describes a group list for messages.
func labelOrEngines(gs []Group) string {
	var l []string
	for _, g := range gs {
		l = append(l, g.Label)
	}
	return strings.Join(l, ", ")
}
