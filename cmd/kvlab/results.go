package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/results"
)

func init() {
	register(&cli.Command{
		Name:  "results",
		Usage: "read result files",
		Subcommands: []*cli.Command{
			{
				Name:      "show",
				Usage:     "print a readable summary of result files",
				ArgsUsage: "FILE|DIR...",
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return cli.Exit("results show: give one or more result files or directories", 2)
					}
					rs, err := results.LoadAll(c.Args().Slice()...)
					if err != nil {
						return cli.Exit(err.Error(), 2)
					}
					for i, r := range rs {
						if i > 0 {
							fmt.Fprintln(c.App.Writer)
						}
						results.Show(c.App.Writer, r)
					}
					return nil
				},
			},
		},
	})
}
