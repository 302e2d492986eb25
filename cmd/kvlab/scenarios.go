package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/scenarios"
)

func init() {
	register(&cli.Command{
		Name:  "scenarios",
		Usage: "list the built-in scenarios or print one",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list the built-in scenarios",
				Action: func(c *cli.Context) error {
					for _, name := range scenarios.List() {
						sc, err := scenarios.Load(name)
						if err != nil {
							return cli.Exit(err.Error(), 1)
						}
						desc := sc.Description
						if len(desc) > 90 {
							desc = desc[:87] + "..."
						}
						fmt.Fprintf(c.App.Writer, "%-24s %s\n", name, desc)
					}
					return nil
				},
			},
			{
				Name:      "show",
				Usage:     "print a built-in scenario's YAML (copy it to write your own), or validate a file",
				ArgsUsage: "NAME|FILE",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return cli.Exit("scenarios show: give a scenario name (kvlab scenarios list) or a file", 2)
					}
					sc, err := scenarios.Load(c.Args().First())
					if err != nil {
						return cli.Exit(err.Error(), 1)
					}
					c.App.Writer.Write(sc.Source)
					return nil
				},
			},
		},
	})
}
