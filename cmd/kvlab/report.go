package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/results"
)

func init() {
	register(&cli.Command{
		Name:      "report",
		Usage:     "write a self-contained HTML report with charts (or Markdown) from result files",
		ArgsUsage: "FILE|DIR...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "report.html", Usage: "output file (- for standard output)"},
			&cli.StringFlag{Name: "format", Value: "html", Usage: "html or md"},
		},
		Action: func(c *cli.Context) error {
			// Flags may also follow the files (kvlab report a.json b.json --out r.html), which urfave/cli
			// leaves among the arguments.
			outPath, format := c.String("out"), c.String("format")
			var paths []string
			args := c.Args().Slice()
			for i := 0; i < len(args); i++ {
				switch a := args[i]; {
				case (a == "--out" || a == "-o" || a == "--format") && i+1 < len(args):
					if a == "--format" {
						format = args[i+1]
					} else {
						outPath = args[i+1]
					}
					i++
				default:
					paths = append(paths, a)
				}
			}
			if len(paths) == 0 {
				return cli.Exit("report: give result files or directories (kvlab bench --out-dir writes them)", 2)
			}
			rs, err := results.LoadAll(paths...)
			if err != nil {
				return cli.Exit(err.Error(), 2)
			}
			out := os.Stdout
			if p := outPath; p != "-" {
				f, err := os.Create(p)
				if err != nil {
					return cli.Exit("report: "+err.Error(), 1)
				}
				defer f.Close()
				out = f
			}
			bw := bufio.NewWriter(out)
			switch format {
			case "html":
				err = results.WriteHTML(bw, rs)
			case "md":
				err = results.WriteMarkdown(bw, rs)
			default:
				return cli.Exit("report: --format must be html or md", 2)
			}
			if err == nil {
				err = bw.Flush()
			}
			if err != nil {
				return cli.Exit("report: "+err.Error(), 1)
			}
			if outPath != "-" {
				fmt.Fprintf(c.App.Writer, "wrote %s (%d runs)\n", outPath, len(rs))
			}
			return nil
		},
	})
}
