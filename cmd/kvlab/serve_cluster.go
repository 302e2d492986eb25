package main

import (
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/server"
)

// Cluster-mode flags of `kvlab serve` (kvlab cluster up passes them to every node it starts).
var _ = func() int {
	extraServeFlags = append(extraServeFlags,
		&cli.BoolFlag{Name: "cluster-enabled", Usage: "speak the Redis Cluster protocol (16384 slots, MOVED/ASK, CLUSTER ...); alone, the node is a one-shard cluster serving every slot"},
		&cli.StringFlag{Name: "cluster-config-file", Usage: "cluster topology file (default DIR/nodes.json; written by kvlab cluster up)"},
		&cli.StringFlag{Name: "cluster-node-id", Usage: "this node's id in the topology file (set by kvlab cluster up)"},
		&cli.IntFlag{Name: "cluster-node-timeout", Value: 5000, Usage: "milliseconds a primary may be unreachable before its replica takes over"},
	)
	serveConfigHooks = append(serveConfigHooks, func(c *cli.Context, cfg *server.Config) error {
		if !c.Bool("cluster-enabled") {
			return nil
		}
		if cfg.Extra == nil {
			cfg.Extra = map[string]string{}
		}
		cfg.Extra[server.ExtraClusterEnabled] = "yes"
		cfg.Extra[server.ExtraClusterConfig] = c.String("cluster-config-file")
		cfg.Extra[server.ExtraClusterNodeID] = c.String("cluster-node-id")
		cfg.Extra[server.ExtraClusterTimeout] = strconv.Itoa(c.Int("cluster-node-timeout"))
		return nil
	})
	return 0
}()
