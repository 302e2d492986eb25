package main

import (
	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/server"
)

// The tiered engine's serve flags (added before serve.go's init builds the command, as serve_wal.go's).
var _ = func() int {
	extraServeFlags = append(extraServeFlags,
		&cli.StringFlag{Name: "tier-max-bytes", Value: "0", Usage: "tiered: cap on the bytes of values on disk (0 = unlimited); when full, an evicting maxmemory-policy evicts and noeviction refuses writes with OOM"},
		&cli.StringFlag{Name: "tier-min-value", Value: "64", Usage: "tiered: values smaller than this always stay in RAM"},
	)
	serveConfigHooks = append(serveConfigHooks, tieredServeConfig)
	return 0
}()

// tieredServeConfig maps the tiered flags the user set into engine options.
func tieredServeConfig(c *cli.Context, cfg *server.Config) error {
	for _, f := range []string{"tier-max-bytes", "tier-min-value"} {
		if c.IsSet(f) {
			cfg.EngineOptions[f] = c.String(f)
		}
	}
	return nil
}
