package main

import (
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/engines/wal"
)

func init() {
	register(&cli.Command{
		Name:  "wal",
		Usage: "examine the wal engine's write-ahead log",
		Subcommands: []*cli.Command{
			{
				Name:      "inspect",
				Usage:     "list a data directory's log segments (LSN ranges, record counts, damage) and snapshots",
				ArgsUsage: "DIR",
				Description: "Reads every log segment and snapshot of a wal data directory without changing it. Exits 1 when\n" +
					"recovery would refuse to start (corruption, a gap, a damaged newest snapshot); a torn tail at the\n" +
					"end of the newest segment is reported but is not damage (the next start truncates it).\n" +
					"With --records SEGMENT it prints every record of one segment with its effects as commands.\n\n" +
					"Example: kvlab wal inspect /var/lib/kvlab",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "records", Usage: "print every record of this segment (a file name in DIR/wal or a path)"},
				},
				Action: func(c *cli.Context) error {
					args, seg := trailingFlag(c.Args().Slice(), "records")
					if seg == "" {
						seg = c.String("records")
					}
					if len(args) != 1 {
						return cli.Exit("wal inspect: usage: kvlab wal inspect DIR [--records SEGMENT]", 2)
					}
					dir := args[0]
					if seg != "" {
						if filepath.Base(seg) == seg {
							seg = filepath.Join(dir, "wal", seg)
						}
						if err := wal.DumpSegment(seg, c.App.Writer); err != nil {
							return cli.Exit(err.Error(), 1)
						}
						return nil
					}
					rep, err := wal.Inspect(dir)
					if err != nil {
						return cli.Exit(err.Error(), 2)
					}
					if err := rep.Write(c.App.Writer); err != nil {
						return err
					}
					if rep.Damaged() {
						return cli.Exit("", 1)
					}
					return nil
				},
			},
		},
	})
}
