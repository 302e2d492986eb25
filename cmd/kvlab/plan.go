package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/nodeprofiles"
	"github.com/kvlab/kvlab/planner"
	"github.com/kvlab/kvlab/results"
)

func init() {
	register(&cli.Command{
		Name:  "plan",
		Usage: "size and price ElastiCache / MemoryDB / data tiering / Serverless deployments for a workload",
		Description: "Reads a workload file (planner/examples/*.yaml) and, optionally, kvlab result files whose measured\n" +
			"CPU per operation, memory per key, p99 and access skew replace the workload's shipped defaults.\n" +
			"Example: kvlab plan --workload planner/examples/iot-fleet.yaml --explain",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "workload", Aliases: []string{"w"}, Usage: "workload YAML (required unless --local)"},
			&cli.BoolFlag{Name: "local", Usage: "treat this machine as the node: predict the throughput of the scenario in --results here"},
			&cli.StringSliceFlag{Name: "results", Usage: "result files or directories (kvlab bench --out-dir)"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "table, md or json"},
			&cli.StringFlag{Name: "terraform", Usage: "write the top recommendation as Terraform HCL to this file"},
			&cli.StringFlag{Name: "profiles", Usage: "YAML file adding or overriding node types and prices"},
			&cli.IntFlag{Name: "top", Value: 10, Usage: "how many feasible candidates to list"},
			&cli.BoolFlag{Name: "explain", Usage: "print the arithmetic behind the top recommendation"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("local") {
				paths := c.StringSlice("results")
				if len(paths) == 0 {
					return cli.Exit("plan --local: give a calibration run with --results (kvlab bench --out FILE)", 2)
				}
				rs, err := results.LoadAll(paths...)
				if err != nil {
					return cli.Exit(err.Error(), 2)
				}
				if err := planner.WriteLocal(c.App.Writer, planner.LocalMachine(), rs[0]); err != nil {
					return cli.Exit(err.Error(), 1)
				}
				return nil
			}
			if c.String("workload") == "" {
				return cli.Exit("plan: give --workload FILE (see planner/examples) or --local", 2)
			}
			wl, err := planner.LoadWorkload(c.String("workload"))
			if err != nil {
				return cli.Exit(err.Error(), 2)
			}
			cat, err := nodeprofiles.Default()
			if err != nil {
				return cli.Exit(err.Error(), 1)
			}
			if p := c.String("profiles"); p != "" {
				if err := cat.Override(p); err != nil {
					return cli.Exit(err.Error(), 2)
				}
			}
			m := wl.Measured
			var notes []string
			if paths := c.StringSlice("results"); len(paths) > 0 {
				rs, err := results.LoadAll(paths...)
				if err != nil {
					return cli.Exit(err.Error(), 2)
				}
				m, notes = planner.FromResults(rs, wl.Measured)
			} else {
				if m == nil {
					return cli.Exit("plan: the workload has no measured figures; pass --results from kvlab bench", 2)
				}
				notes = append(notes, "no --results given: sizing uses the figures shipped in the workload file ("+m.Cache.Source+"; "+m.Durable.Source+")")
			}
			cands := planner.Plan(wl, m, cat)
			switch c.String("format") {
			case "table":
				planner.WriteTable(c.App.Writer, wl, cands, c.Int("top"), c.Bool("explain"), notes, cat.ReadAt)
			case "md":
				planner.WriteMarkdown(c.App.Writer, wl, cands, c.Int("top"))
			case "json":
				if err := planner.WriteJSON(c.App.Writer, cands); err != nil {
					return cli.Exit(err.Error(), 1)
				}
			default:
				return cli.Exit("plan: --format must be table, md or json", 2)
			}
			if p := c.String("terraform"); p != "" {
				f, err := os.Create(p)
				if err != nil {
					return cli.Exit(err.Error(), 1)
				}
				defer f.Close()
				if err := planner.WriteTerraform(f, wl, cands); err != nil {
					return cli.Exit(err.Error(), 1)
				}
				fmt.Fprintf(c.App.ErrWriter, "wrote %s\n", p)
			}
			return nil
		},
	})
	register(&cli.Command{
		Name:  "profiles",
		Usage: "list the node catalog (types, vCPU, memory, network, prices with their source and date)",
		Subcommands: []*cli.Command{{
			Name:  "list",
			Usage: "list node types",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "service", Usage: "elasticache or memorydb"},
				&cli.StringFlag{Name: "family", Usage: "r6g, r7g, r6gd, m6g, t4g, ..."},
				&cli.StringFlag{Name: "profiles", Usage: "YAML file adding or overriding node types and prices"},
			},
			Action: func(c *cli.Context) error {
				cat, err := nodeprofiles.Default()
				if err != nil {
					return cli.Exit(err.Error(), 1)
				}
				if p := c.String("profiles"); p != "" {
					if err := cat.Override(p); err != nil {
						return cli.Exit(err.Error(), 2)
					}
				}
				fmt.Fprintf(c.App.Writer, "prices read %s, us-east-1 on demand; * = estimated, verify before use\n", cat.ReadAt)
				fmt.Fprintf(c.App.Writer, "%-12s %-22s %5s %9s %8s %12s %9s  %s\n", "service", "type", "vCPU", "mem GiB", "SSD GiB", "net Gbps", "$/hour", "source")
				for _, n := range cat.Filter(c.String("service"), c.String("family")) {
					star := ""
					if n.Estimated {
						star = "*"
					}
					fmt.Fprintf(c.App.Writer, "%-12s %-22s %5d %9.2f %8.0f %5.2f/%-6.1f %8.3f%s  %s\n", n.Service, n.Type, n.VCPU, n.MemoryGiB, n.SSDGiB, n.Net[0], n.Net[1], n.Price, star, n.Source)
				}
				return nil
			},
		}},
	})
}
