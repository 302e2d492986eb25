package results

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The regression gate. A figure fails when the candidate is worse than the baseline by more than its limit
// beyond doubt: with repetitions, when the whole 95% bootstrap interval of the ratio lies past the limit; with
// one run per side, when the ratio does. Relative gates compare two engines inside the candidate runs (for
// example wal vs memory measured on the same machine minutes apart), which survives noisy CI machines
// because both sides suffer the same noise.

// ErrBadInput marks gate inputs that cannot be compared (exit code 2).
var ErrBadInput = errors.New("results: bad gate input")

// Rules are the gate's limits. Percentages are fractions (0.05 = 5%).
type Rules struct {
	MaxThroughputDrop float64            `yaml:"max_throughput_drop"`
	MaxP99Rise        float64            `yaml:"max_p99_rise"`
	MaxP50Rise        float64            `yaml:"max_p50_rise"` // 0 = not gated
	Ops               map[string]OpRules `yaml:"ops"`
	Relative          []RelativeRule     `yaml:"relative"`
	// Noise is the band within which the comparison table calls differences noise (default 5%).
	Noise float64 `yaml:"noise"`
}

// OpRules override the limits for one operation ("total" included).
type OpRules struct {
	MaxThroughputDrop *float64 `yaml:"max_throughput_drop"`
	MaxP99Rise        *float64 `yaml:"max_p99_rise"`
	MaxP50Rise        *float64 `yaml:"max_p50_rise"`
}

// RelativeRule bounds candidate-engine/reference-engine ratios inside the candidate runs.
type RelativeRule struct {
	Candidate          string  `yaml:"candidate"`
	Reference          string  `yaml:"reference"`
	Op                 string  `yaml:"op"` // default total
	MinThroughputRatio float64 `yaml:"min_throughput_ratio"`
	MaxP99Ratio        float64 `yaml:"max_p99_ratio"`
}

// LoadRules reads a gate rules file; limits may be written as fractions (0.05) or percentages ("5%").
func LoadRules(path string) (Rules, error) {
	var r Rules
	b, err := os.ReadFile(path)
	if err != nil {
		return r, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	// Accept "5%" by rewriting percentages to fractions before decoding.
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return r, fmt.Errorf("%w: %s: %v", ErrBadInput, path, err)
	}
	fixPercents(raw)
	nb, _ := yaml.Marshal(raw)
	dec := yaml.NewDecoder(strings.NewReader(string(nb)))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("%w: %s: %v", ErrBadInput, path, err)
	}
	return r, nil
}

func fixPercents(v any) {
	switch m := v.(type) {
	case map[string]any:
		for k, x := range m {
			if s, ok := x.(string); ok && strings.HasSuffix(s, "%") {
				if f, err := ParsePercent(s); err == nil {
					m[k] = f
				}
			} else {
				fixPercents(x)
			}
		}
	case []any:
		for _, x := range m {
			fixPercents(x)
		}
	}
}

// ParsePercent parses "5%" or "0.05" as a fraction.
func ParsePercent(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	f, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("results: %q is not a percentage (write 5%% or 0.05)", s)
	}
	if pct {
		f /= 100
	}
	return f, nil
}

// Check is one gated figure.
type Check struct {
	Group, Op string
	Figure    Figure
	Base      float64
	Cand      float64
	Ratio     float64
	Low, High float64
	Limit     float64 // allowed relative change in the worse direction
	Failed    bool
	What      string // for relative checks: "wal/memory"
}

// GateResult is the gate's outcome.
type GateResult struct {
	Checks []Check
}

// Failed lists the failing checks.
func (g GateResult) Failed() []Check {
	var out []Check
	for _, c := range g.Checks {
		if c.Failed {
			out = append(out, c)
		}
	}
	return out
}

// Gate compares candidate runs with baseline runs under rules. baseline may be empty when only relative
// rules are given.
func Gate(baseline, candidate []*Result, rules Rules) (GateResult, error) {
	var res GateResult
	if len(candidate) == 0 {
		return res, fmt.Errorf("%w: no candidate results", ErrBadInput)
	}
	if rules.Noise == 0 {
		rules.Noise = 0.05
	}
	scen := candidate[0].Scenario.Name
	for _, r := range append(append([]*Result{}, baseline...), candidate...) {
		if r.Scenario.Name != scen {
			return res, fmt.Errorf("%w: results of different scenarios (%q and %q) cannot be gated against each other", ErrBadInput, scen, r.Scenario.Name)
		}
	}
	cands := GroupResults(candidate)
	if len(baseline) > 0 {
		bases := GroupResults(baseline)
		paired := 0
		for _, cg := range cands {
			for _, bg := range bases {
				if bg.Label != cg.Label {
					continue
				}
				paired++
				deltas, err := Compare(bg, cg, rules.Noise, 1)
				if err != nil {
					return res, fmt.Errorf("%w: %v", ErrBadInput, err)
				}
				for _, d := range deltas {
					limit, gated := rules.limit(d.Op, d.Figure)
					if !gated {
						continue
					}
					c := Check{Group: cg.Label, Op: d.Op, Figure: d.Figure, Base: d.Base, Cand: d.Cand, Ratio: d.Ratio, Low: d.Low, High: d.High, Limit: limit}
					if d.Figure.HigherIsBetter() {
						c.Failed = d.High < 1-limit
					} else {
						c.Failed = d.Low > 1+limit
					}
					res.Checks = append(res.Checks, c)
				}
			}
		}
		if paired == 0 {
			return res, fmt.Errorf("%w: no target in common: baseline has %s, candidate has %s", ErrBadInput, labelOrEngines(bases), labelOrEngines(cands))
		}
	}
	for _, rr := range rules.Relative {
		var cg, rg *Group
		for i := range cands {
			switch cands[i].Label {
			case rr.Candidate:
				cg = &cands[i]
			case rr.Reference:
				rg = &cands[i]
			}
		}
		if cg == nil || rg == nil {
			return res, fmt.Errorf("%w: relative rule %s/%s: the candidate results hold %s", ErrBadInput, rr.Candidate, rr.Reference, labelOrEngines(cands))
		}
		op := rr.Op
		if op == "" {
			op = "total"
		}
		deltas, err := Compare(*rg, *cg, rules.Noise, 2)
		if err != nil {
			return res, fmt.Errorf("%w: %v", ErrBadInput, err)
		}
		for _, d := range deltas {
			if d.Op != op {
				continue
			}
			what := rr.Candidate + "/" + rr.Reference
			switch {
			case d.Figure == FigOpsPerSec && rr.MinThroughputRatio > 0:
				res.Checks = append(res.Checks, Check{Group: what, Op: op, Figure: d.Figure, Base: d.Base, Cand: d.Cand, Ratio: d.Ratio,
					Low: d.Low, High: d.High, Limit: rr.MinThroughputRatio, Failed: d.High < rr.MinThroughputRatio, What: "ratio >= " + strconv.FormatFloat(rr.MinThroughputRatio, 'g', -1, 64)})
			case d.Figure == FigP99 && rr.MaxP99Ratio > 0:
				res.Checks = append(res.Checks, Check{Group: what, Op: op, Figure: d.Figure, Base: d.Base, Cand: d.Cand, Ratio: d.Ratio,
					Low: d.Low, High: d.High, Limit: rr.MaxP99Ratio, Failed: d.Low > rr.MaxP99Ratio, What: "ratio <= " + strconv.FormatFloat(rr.MaxP99Ratio, 'g', -1, 64)})
			}
		}
	}
	return res, nil
}

// limit returns the allowed worsening for a figure of an operation, and whether it is gated at all.
func (r Rules) limit(op string, f Figure) (float64, bool) {
	o, has := r.Ops[op]
	pick := func(override *float64, def float64) (float64, bool) {
		if has && override != nil {
			return *override, true
		}
		return def, def > 0
	}
	switch f {
	case FigOpsPerSec:
		return pick(o.MaxThroughputDrop, r.MaxThroughputDrop)
	case FigP99:
		return pick(o.MaxP99Rise, r.MaxP99Rise)
	case FigP50:
		return pick(o.MaxP50Rise, r.MaxP50Rise)
	}
	return 0, false
}

// Describe says what failed, for the console.
func (c Check) Describe() string {
	if c.What != "" {
		return fmt.Sprintf("%s %s %s: %s/%s = %.3f, want %s", c.Group, c.Op, c.Figure, formatFig(c.Figure, c.Cand), formatFig(c.Figure, c.Base), c.Ratio, c.What)
	}
	change := (1 - c.Ratio) * 100
	word := "dropped"
	if !c.Figure.HigherIsBetter() {
		change, word = (c.Ratio-1)*100, "rose"
	}
	return fmt.Sprintf("%s %s %s %s %.1f%% (%s -> %s), limit %.1f%%", c.Group, c.Op, c.Figure, word, change,
		formatFig(c.Figure, c.Base), formatFig(c.Figure, c.Cand), c.Limit*100)
}

// Markdown renders the gate outcome for a pull-request comment.
func (g GateResult) Markdown(scenario string) string {
	var b strings.Builder
	failed := g.Failed()
	if len(failed) == 0 {
		fmt.Fprintf(&b, "### kvlab gate: passed (%s)\n\n", scenario)
	} else {
		fmt.Fprintf(&b, "### kvlab gate: %d regression(s) (%s)\n\n", len(failed), scenario)
	}
	b.WriteString("| target | op | figure | baseline | candidate | ratio | 95% CI | limit | status |\n|---|---|---|---:|---:|---:|---|---|---|\n")
	checks := append([]Check(nil), g.Checks...)
	sort.SliceStable(checks, func(i, j int) bool { return checks[i].Failed && !checks[j].Failed })
	for _, c := range checks {
		status := "ok"
		if c.Failed {
			status = "**FAIL**"
		}
		ci := "n=1"
		if c.Low != c.High {
			ci = fmt.Sprintf("%.3f..%.3f", c.Low, c.High)
		}
		limit := c.What
		if limit == "" {
			if c.Figure.HigherIsBetter() {
				limit = fmt.Sprintf("drop <= %.0f%%", c.Limit*100)
			} else {
				limit = fmt.Sprintf("rise <= %.0f%%", c.Limit*100)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.3f | %s | %s | %s |\n", c.Group, c.Op, c.Figure, formatFig(c.Figure, c.Base),
			formatFig(c.Figure, c.Cand), c.Ratio, ci, limit, status)
	}
	return b.String()
}
