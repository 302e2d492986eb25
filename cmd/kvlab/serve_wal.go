package main

import (
	"fmt"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/server"
)

// The wal engine's serve flags. They are added by variable initialization, which runs before every init
// function, so serve.go's init already sees them when it builds the serve command.
var _ = func() int {
	extraServeFlags = append(extraServeFlags,
		&cli.StringFlag{Name: "fsync", Value: "always", Usage: "wal/tiered durability: always (reply after fdatasync, MemoryDB), everysec or no (reply once written, as ElastiCache's AOF policies)"},
		&cli.DurationFlag{Name: "commit-delay", Usage: "wal/tiered: fixed latency added to every log batch after its fsync, to model a multi-AZ quorum log (e.g. 2ms)"},
		&cli.StringFlag{Name: "snapshot-every-bytes", Value: "256mb", Usage: "wal/tiered: start a background snapshot when the log has grown this much since the last one (0 = never)"},
		&cli.StringFlag{Name: "snapshot-growth-percent", Value: "100", Usage: "wal/tiered: hold automatic snapshots back until the log since the last one is also this percent of that snapshot's data, uncompressed, as Redis's auto-aof-rewrite-percentage does (0 = off)"},
		&cli.DurationFlag{Name: "snapshot-interval", Usage: "wal/tiered: also snapshot on this schedule (e.g. 1h; 0 = never)"},
		&cli.StringFlag{Name: "wal-segment-size", Value: "64mb", Usage: "wal/tiered: size at which the log moves to a new segment file"},
		&cli.BoolFlag{Name: "recover-from-corruption", Usage: "wal/tiered: if the log or the newest snapshot is damaged, start from the last good point, move the rest to DIR/quarantine-<time>/ and report exactly what was dropped (without it kvlab refuses to start)"},
	)
	serveConfigHooks = append(serveConfigHooks, walServeConfig)
	return 0
}()

// walServeConfig maps the wal flags the user set into engine options (unset flags leave the engine's
// defaults, and --engine-opt can still set the same keys).
func walServeConfig(c *cli.Context, cfg *server.Config) error {
	set := func(flag, key, value string) {
		if c.IsSet(flag) {
			cfg.EngineOptions[key] = value
		}
	}
	set("fsync", "fsync", c.String("fsync"))
	set("commit-delay", "commit-delay", c.Duration("commit-delay").String())
	set("snapshot-every-bytes", "snapshot-every-bytes", c.String("snapshot-every-bytes"))
	set("snapshot-growth-percent", "snapshot-growth-percent", c.String("snapshot-growth-percent"))
	set("snapshot-interval", "snapshot-interval", c.Duration("snapshot-interval").String())
	set("wal-segment-size", "segment-size", c.String("wal-segment-size"))
	set("recover-from-corruption", "recover-from-corruption", strconv.FormatBool(c.Bool("recover-from-corruption")))
	switch v := cfg.EngineOptions["fsync"]; v {
	case "", "always", "everysec", "no":
	default:
		return fmt.Errorf("--fsync %q: want always, everysec or no", v)
	}
	return nil
}
