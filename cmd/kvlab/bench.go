package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/kvlab/kvlab/benchrun"
	"github.com/kvlab/kvlab/internal/units"
	"github.com/kvlab/kvlab/loadgen"
	"github.com/kvlab/kvlab/results"
)

func init() {
	register(&cli.Command{
		Name:  "bench",
		Usage: "replay a scenario against an embedded engine or any Redis endpoint and record the results",
		Description: "Targets: embedded:ENGINE (kvlab started in-process on a loopback port with a temporary dir),\n" +
			"redis://[user:pass@]host:port[/db] and rediss:// (TLS). With --engines memory,wal,tiered the scenario\n" +
			"runs on each embedded engine in turn and one comparison table is printed.\n\n" +
			"Closed loop by default (each connection sends --pipeline operations, then waits for the replies);\n" +
			"--rate N switches to open loop: operations start on a fixed schedule and latency is measured from\n" +
			"the intended start (coordinated-omission corrected).\n\n" +
			"--io eventloop (the default on Linux, --io auto): each worker (--threads) drives its connections from one\n" +
			"epoll loop over non-blocking sockets, like redis-benchmark and memtier_benchmark: it parses every reply\n" +
			"that arrived, then writes the next request on each connection that is done, so every connection keeps\n" +
			"--pipeline operations in flight. Latency runs from the request's write (open loop: its intended start)\n" +
			"to the parsing of its reply. TLS targets, --cluster, and --rate with on_miss/ack scenarios use\n" +
			"--io goroutines (blocking reads and writes through Go's net package), as does every non-Linux system.\n\n" +
			"--cluster treats the redis:// or rediss:// target as the seed node of a Redis cluster: the slot map\n" +
			"comes from CLUSTER SHARDS (or CLUSTER SLOTS), each operation goes to the shard owning its keys' slot,\n" +
			"MOVED and ASK are followed, --connections is per shard, and the result has per-shard figures.\n\n" +
			"Example: kvlab bench --scenario iot-latest-state --engines memory,wal --duration 10s --out-dir results",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "scenario", Aliases: []string{"s"}, Required: true, Usage: "built-in scenario name (kvlab scenarios list) or a scenario file"},
			&cli.StringFlag{Name: "target", Aliases: []string{"t"}, Value: "embedded:memory", Usage: "embedded:ENGINE, redis://host:port or rediss://host:port"},
			&cli.StringFlag{Name: "engines", Usage: "comma-separated embedded engines to compare (overrides --target)"},
			&cli.DurationFlag{Name: "duration", Aliases: []string{"d"}, Usage: "measured time (default: the scenario's, else 30s)"},
			&cli.DurationFlag{Name: "warmup", Value: -1, Usage: "warm-up excluded from the results (default: the scenario's)"},
			&cli.IntFlag{Name: "connections", Aliases: []string{"c"}, Usage: "connections (default: the scenario's, else 50)"},
			&cli.IntFlag{Name: "pipeline", Aliases: []string{"P"}, Usage: "operations in flight per connection (default: the scenario's, else 1)"},
			&cli.IntFlag{Name: "threads", Usage: "workers the connections are spread over (default: min(connections, 4); with the event loop also at most half the CPUs, at least 1)"},
			&cli.StringFlag{Name: "io", Value: "auto", Usage: "how workers drive their connections: eventloop (one epoll loop per worker, Linux), goroutines, or auto (eventloop unless TLS, --cluster, --rate with on_miss/ack, or not Linux)"},
			&cli.Float64Flag{Name: "rate", Usage: "open loop: total operations per second (0 = closed loop)"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "random seed (same seed, same request sequence)"},
			&cli.BoolFlag{Name: "skip-preload", Usage: "do not run the scenario's preload (the data is already there)"},
			&cli.BoolFlag{Name: "cluster", Usage: "the target is a Redis cluster's seed node: route by hash slot, --connections per shard"},
			&cli.BoolFlag{Name: "read-from-replicas", Usage: "with --cluster: read-only operations go to replicas (READONLY connections)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "result file to write"},
			&cli.StringFlag{Name: "out-dir", Usage: "directory for one result file per run"},
			&cli.IntFlag{Name: "repeat", Value: 1, Usage: "run every target N times, interleaved (A B A B ...)"},
			&cli.StringFlag{Name: "tls-ca", Usage: "CA certificate (PEM) to verify a rediss:// server"},
			&cli.BoolFlag{Name: "tls-insecure", Usage: "do not verify the rediss:// server's certificate"},
			&cli.StringFlag{Name: "maxmemory", Value: "0", Usage: "memory budget of embedded engines (256mb)"},
			&cli.StringSliceFlag{Name: "engine-opt", Usage: "embedded engine option key=value (repeatable)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress line"},
			&cli.BoolFlag{Name: "server-log", Usage: "show embedded servers' logs on standard error"},
		},
		Action: runBench,
	})
}

func runBench(c *cli.Context) error {
	maxmem, err := units.ParseBytes(c.String("maxmemory"))
	if err != nil {
		return cli.Exit("--maxmemory: "+err.Error(), 2)
	}
	opts := map[string]string{}
	for _, kv := range c.StringSlice("engine-opt") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return cli.Exit(fmt.Sprintf("--engine-opt %q: want key=value", kv), 2)
		}
		opts[k] = v
	}
	cfg := benchrun.Config{
		Scenario: c.String("scenario"), Target: c.String("target"),
		Load: loadgen.Config{
			Connections: c.Int("connections"), Pipeline: c.Int("pipeline"), Threads: c.Int("threads"),
			Rate: c.Float64("rate"), Duration: c.Duration("duration"), Warmup: c.Duration("warmup"),
			Seed: c.Int64("seed"), SkipPreload: c.Bool("skip-preload"),
			Cluster: c.Bool("cluster"), ReadFromReplicas: c.Bool("read-from-replicas"), IO: c.String("io"),
		},
		TLSCA: c.String("tls-ca"), TLSInsecure: c.Bool("tls-insecure"),
		OutFile: c.String("out"), OutDir: c.String("out-dir"), Repeat: c.Int("repeat"),
		Out: c.App.Writer, KvlabVersion: version, GitCommit: gitCommit(),
		MaxMemory: maxmem, EngineOptions: opts,
	}
	if e := c.String("engines"); e != "" {
		cfg.Engines = strings.Split(e, ",")
	}
	if !c.Bool("quiet") {
		cfg.Load.Progress = os.Stderr
		cfg.Load.ProgressTTY = term.IsTerminal(int(os.Stderr.Fd()))
	}
	if c.Bool("server-log") {
		cfg.Log = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rs, skipped, err := benchrun.Run(ctx, cfg)
	if err != nil && len(rs) < 2 {
		return cli.Exit("bench: "+err.Error(), 1)
	}
	if len(rs) > 1 {
		fmt.Fprintln(c.App.Writer)
		fmt.Fprintln(c.App.Writer, "== comparison")
		results.CompareTable(c.App.Writer, rs)
	}
	for _, s := range skipped {
		fmt.Fprintf(c.App.Writer, "skipped %s: %s\n", s.Engine, s.Reason)
	}
	if err != nil {
		return cli.Exit("bench: "+err.Error(), 1)
	}
	return nil
}

// gitCommit is the commit kvlab was built from, when the build recorded it.
func gitCommit() string {
	if commit != "" {
		return commit
	}
	return "unknown"
}

// commit is set at build time with -ldflags "-X main.commit=...".
var commit string
