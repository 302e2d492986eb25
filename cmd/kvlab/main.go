// Command kvlab is a Redis-compatible server with interchangeable storage engines, a scenario-driven load
// generator, a capacity planner and a regression gate. Each subcommand lives in its own file and registers
// itself with register; main only assembles the application.
package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// commands holds every subcommand registered by the files of this package.
var commands []*cli.Command

// register adds a subcommand; called from the init function of each subcommand's file.
func register(c *cli.Command) { commands = append(commands, c) }

func newApp() *cli.App {
	sort.Slice(commands, func(i, j int) bool { return commands[i].Name < commands[j].Name })
	return &cli.App{
		Name:    "kvlab",
		Usage:   "benchmark Redis-compatible storage engines and plan ElastiCache / MemoryDB deployments",
		Version: version,
		Description: "kvlab serves the Redis protocol on an interchangeable engine (memory, wal, tiered),\n" +
			"replays application scenarios against it or any Redis endpoint, and turns the measurements\n" +
			"into node types, shard counts and monthly cost.",
		Commands:             commands,
		EnableBashCompletion: true,
	}
}

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "kvlab: %v\n", err)
		if ec, ok := err.(cli.ExitCoder); ok {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}
