package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/results"
)

func init() {
	register(&cli.Command{
		Name:      "compare",
		Usage:     "compare result files: per-operation throughput and latency ratios with a bootstrap confidence interval",
		ArgsUsage: "BASELINE(FILE|DIR) CANDIDATE(FILE|DIR)... | FILE|DIR (grouped by engine, the first group is the baseline)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "noise", Value: "5%", Usage: "band within which a difference is called noise"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.Exit("compare: give result files or directories (kvlab bench --out-dir writes them)", 2)
			}
			noise, err := results.ParsePercent(c.String("noise"))
			if err != nil {
				return cli.Exit("--noise: "+err.Error(), 2)
			}
			var groups []results.Group
			if c.NArg() == 1 {
				rs, err := results.LoadAll(c.Args().First())
				if err != nil {
					return cli.Exit(err.Error(), 2)
				}
				groups = results.GroupResults(rs)
			} else {
				for _, p := range c.Args().Slice() {
					rs, err := results.LoadAll(p)
					if err != nil {
						return cli.Exit(err.Error(), 2)
					}
					g := results.GroupResults(rs)
					if len(g) != 1 {
						return cli.Exit(fmt.Sprintf("compare: %s holds several targets; give one directory per candidate, or one directory for all", p), 2)
					}
					g[0].Label = p + " (" + g[0].Label + ")"
					groups = append(groups, g[0])
				}
			}
			if len(groups) < 2 {
				return cli.Exit("compare: need at least two candidates (different engines, or several paths)", 2)
			}
			for i, g := range groups[1:] {
				deltas, err := results.Compare(groups[0], g, noise, uint64(i+1))
				if err != nil {
					return cli.Exit(err.Error(), 2)
				}
				if i > 0 {
					fmt.Fprintln(c.App.Writer)
				}
				results.WriteCompare(c.App.Writer, groups[0], g, deltas, noise)
			}
			return nil
		},
	})
	register(&cli.Command{
		Name:  "gate",
		Usage: "fail (exit 1) when candidate results regress against a baseline; exit 2 on bad input",
		Description: "Compares every operation's throughput and p99 (and p50 when asked) of the candidate runs with\n" +
			"the baseline runs of the same targets. With repetitions (kvlab bench --repeat N) a figure fails only\n" +
			"when the whole 95% bootstrap interval of the ratio lies past the limit. Relative rules in --rules\n" +
			"compare two engines inside the candidate runs (e.g. wal vs memory), which survives noisy CI machines.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "baseline", Usage: "baseline result file or directory"},
			&cli.StringFlag{Name: "candidate", Required: true, Usage: "candidate result file or directory"},
			&cli.StringFlag{Name: "max-throughput-drop", Value: "5%", Usage: "largest allowed ops/s drop"},
			&cli.StringFlag{Name: "max-p99-rise", Value: "10%", Usage: "largest allowed p99 rise"},
			&cli.StringFlag{Name: "rules", Usage: "gate rules YAML (per-operation limits, relative engine rules); flags give the defaults"},
			&cli.StringFlag{Name: "summary", Usage: "write a Markdown summary (for a pull-request comment) to this file"},
		},
		Action: runGate,
	})
}

func runGate(c *cli.Context) error {
	bad := func(err error) error { return cli.Exit("gate: "+err.Error(), 2) }
	var rules results.Rules
	if p := c.String("rules"); p != "" {
		r, err := results.LoadRules(p)
		if err != nil {
			return bad(err)
		}
		rules = r
	}
	var err error
	if rules.MaxThroughputDrop == 0 {
		if rules.MaxThroughputDrop, err = results.ParsePercent(c.String("max-throughput-drop")); err != nil {
			return bad(err)
		}
	}
	if rules.MaxP99Rise == 0 {
		if rules.MaxP99Rise, err = results.ParsePercent(c.String("max-p99-rise")); err != nil {
			return bad(err)
		}
	}
	var base []*results.Result
	if p := c.String("baseline"); p != "" {
		if base, err = results.LoadAll(p); err != nil {
			return bad(err)
		}
	} else if len(rules.Relative) == 0 {
		return bad(errors.New("give --baseline, or relative rules in --rules"))
	}
	cand, err := results.LoadAll(c.String("candidate"))
	if err != nil {
		return bad(err)
	}
	res, err := results.Gate(base, cand, rules)
	if err != nil {
		return bad(err)
	}
	md := res.Markdown(cand[0].Scenario.Name)
	if p := c.String("summary"); p != "" {
		if err := os.WriteFile(p, []byte(md), 0o644); err != nil {
			return bad(err)
		}
	}
	failed := res.Failed()
	for _, f := range failed {
		fmt.Fprintln(c.App.Writer, "REGRESSION:", f.Describe())
	}
	if len(failed) > 0 {
		return cli.Exit(fmt.Sprintf("gate: %d regression(s)", len(failed)), 1)
	}
	fmt.Fprintf(c.App.Writer, "gate: passed (%d checks)\n", len(res.Checks))
	return nil
}
