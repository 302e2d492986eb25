package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/engines/wal"
)

func init() {
	register(&cli.Command{
		Name:  "snapshot",
		Usage: "verify wal snapshots and restore them into new data directories",
		Subcommands: []*cli.Command{
			{
				Name:      "restore",
				Usage:     "restore a snapshot into a new data directory (like restoring a MemoryDB snapshot into a new cluster)",
				ArgsUsage: "FILE",
				Description: "Verifies FILE (every chunk), then creates --dir with the snapshot as its only content. Start a\n" +
					"server on it with: kvlab serve --engine wal --dir NEWDIR\n\n" +
					"Example: kvlab snapshot restore /var/lib/kvlab/snapshots/00000000000000123456.snap --dir /tmp/restored",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "dir", Usage: "the new data directory (must not exist or be empty)"},
				},
				Action: func(c *cli.Context) error {
					// The documented form puts --dir after FILE, where the flag parser has stopped.
					args, dir := trailingFlag(c.Args().Slice(), "dir")
					if dir == "" {
						dir = c.String("dir")
					}
					if len(args) != 1 || dir == "" {
						return cli.Exit("snapshot restore: usage: kvlab snapshot restore FILE --dir NEWDIR", 2)
					}
					info, err := wal.RestoreSnapshot(args[0], dir)
					if err != nil {
						return cli.Exit(err.Error(), 1)
					}
					fmt.Fprintf(c.App.Writer, "restored %d keys (LSN %d, taken %s) into %s\nstart it with: kvlab serve --engine wal --dir %s\n",
						info.Keys, info.LSN, info.Time.UTC().Format(time.RFC3339), dir, dir)
					return nil
				},
			},
			{
				Name:      "verify",
				Usage:     "check a snapshot file (magic, version, trailer, every chunk) and print what it holds",
				ArgsUsage: "FILE",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return cli.Exit("snapshot verify: give the snapshot file", 2)
					}
					info, err := wal.VerifySnapshot(c.Args().First())
					if err != nil {
						return cli.Exit(err.Error(), 1)
					}
					fmt.Fprintf(c.App.Writer, "%s: ok: lsn=%d keys=%d chunks=%d size=%d raw=%d time=%s\n", info.Path, info.LSN,
						info.Keys, info.Chunks, info.Size, info.RawBytes, info.Time.UTC().Format(time.RFC3339))
					return nil
				},
			},
		},
	})
}

// trailingFlag removes "--name VALUE" or "--name=VALUE" from args given after the positional arguments
// and returns the rest and the value ("" when absent).
func trailingFlag(args []string, name string) ([]string, string) {
	var rest []string
	value := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case (a == "--"+name || a == "-"+name) && i+1 < len(args):
			value = args[i+1]
			i++
		case strings.HasPrefix(a, "--"+name+"="):
			value = strings.TrimPrefix(a, "--"+name+"=")
		default:
			rest = append(rest, a)
		}
	}
	return rest, value
}
