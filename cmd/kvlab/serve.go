package main

import (
	"fmt"
	"net/http"
	_ "net/http/pprof" // --pprof-addr
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/engines"
	_ "github.com/kvlab/kvlab/engines/all" // every engine registers itself
	"github.com/kvlab/kvlab/internal/units"
	"github.com/kvlab/kvlab/resp"
	"github.com/kvlab/kvlab/server"
)

// serveFlags are the flags of `kvlab serve`; other commands that start servers (cluster up) reuse them.
func serveFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "engine", Value: "memory", Usage: "storage engine: " + strings.Join(engines.Names(), ", ")},
		&cli.StringFlag{Name: "addr", Value: "127.0.0.1:6379", Usage: "TCP address to listen on (port 0 picks a free port)"},
		&cli.StringFlag{Name: "dir", Usage: "data directory (required by the wal and tiered engines)"},
		&cli.StringFlag{Name: "maxmemory", Value: "0", Usage: "memory budget with Redis units (256mb, 1gb); 0 = unlimited"},
		&cli.StringFlag{Name: "maxmemory-policy", Value: "noeviction", Usage: "what to do at maxmemory: noeviction, allkeys-lru, volatile-lru, allkeys-lfu, volatile-lfu, allkeys-random, volatile-random, volatile-ttl"},
		&cli.IntFlag{Name: "maxclients", Value: 10000, Usage: "maximum number of client connections"},
		&cli.StringFlag{Name: "proto-max-bulk-len", Value: "512mb", Usage: "largest bulk string a client may send"},
		&cli.StringFlag{Name: "client-query-buffer-limit", Value: "1gb", Usage: "largest pending request of one client"},
		&cli.Int64Flag{Name: "max-multibulk-len", Value: 1024 * 1024, Usage: "most arguments in one request"},
		&cli.StringSliceFlag{Name: "engine-opt", Usage: "engine option as key=value (repeatable)"},
		&cli.IntFlag{Name: "io-threads", Value: 1, Usage: "OS threads running Go code (GOMAXPROCS), like Redis's io-threads (default 1: commands run under one lock, so more threads only add parallel socket I/O; raise it on machines with spare cores)"},
		&cli.BoolFlag{Name: "event-loop", Value: true, Usage: "wal engine: serve plain TCP clients that send one command at a time from one epoll event loop between commands, as Redis does, instead of waking a goroutine per command (--event-loop=false to compare)"},
		&cli.StringFlag{Name: "pprof-addr", Usage: "serve Go profiling endpoints (net/http/pprof) on this address, e.g. 127.0.0.1:6060"},
	}
}

// serverConfig turns serve flags into a server.Config.
func serverConfig(c *cli.Context) (server.Config, error) {
	cfg := server.Config{
		Addr: c.String("addr"), Engine: c.String("engine"), Dir: c.String("dir"),
		MaxClients: c.Int("maxclients"), MaxMemoryPolicy: c.String("maxmemory-policy"),
		KvlabVersion: version, EngineOptions: map[string]string{},
		NoEventLoop: !c.Bool("event-loop"),
	}
	var err error
	if cfg.MaxMemory, err = units.ParseBytes(c.String("maxmemory")); err != nil {
		return cfg, fmt.Errorf("--maxmemory: %w", err)
	}
	if cfg.Limits.MaxBulkLen, err = units.ParseBytes(c.String("proto-max-bulk-len")); err != nil {
		return cfg, fmt.Errorf("--proto-max-bulk-len: %w", err)
	}
	if cfg.Limits.MaxQueryBuffer, err = units.ParseBytes(c.String("client-query-buffer-limit")); err != nil {
		return cfg, fmt.Errorf("--client-query-buffer-limit: %w", err)
	}
	cfg.Limits.MaxMultibulkLen = c.Int64("max-multibulk-len")
	for _, kv := range c.StringSlice("engine-opt") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return cfg, fmt.Errorf("--engine-opt %q: want key=value", kv)
		}
		cfg.EngineOptions[k] = v
	}
	for _, h := range serveConfigHooks {
		if err := h(c, &cfg); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// serveConfigHooks let other subcommand files add flags' effects to the server config (TLS, ACL, ...).
var serveConfigHooks []func(*cli.Context, *server.Config) error

// extraServeFlags are flags other files add to `kvlab serve`.
var extraServeFlags []cli.Flag

// serveStartHooks run once the server listens (metrics endpoints and the like).
var serveStartHooks []func(*cli.Context, *server.Server) error

func init() {
	_ = resp.DefaultLimits
	register(&cli.Command{
		Name:  "serve",
		Usage: "run a Redis-compatible server on the chosen storage engine",
		Description: "Serves the Redis protocol (RESP2 and RESP3) on --addr. The engine decides durability:\n" +
			"  memory  everything in RAM, nothing on disk (ElastiCache without persistence)\n" +
			"  wal     every write logged and fsynced before the reply, plus snapshots (MemoryDB)\n" +
			"  tiered  wal durability with a RAM budget; cold values on local disk (data tiering)\n\n" +
			"Example: kvlab serve --engine memory --addr 127.0.0.1:6379 --maxmemory 256mb",
		Flags: append(serveFlags(), extraServeFlags...),
		Action: func(c *cli.Context) error {
			cfg, err := serverConfig(c)
			if err != nil {
				return cli.Exit(err.Error(), 2)
			}
			if n := c.Int("io-threads"); n > 0 {
				runtime.GOMAXPROCS(n)
			}
			if a := c.String("pprof-addr"); a != "" {
				go func() {
					if err := http.ListenAndServe(a, nil); err != nil {
						fmt.Fprintf(os.Stderr, "kvlab: pprof on %s: %v\n", a, err)
					}
				}()
			}
			srv, err := server.New(cfg)
			if err != nil {
				return cli.Exit(err.Error(), 1)
			}
			if err := srv.Start(); err != nil {
				srv.Close()
				return cli.Exit(err.Error(), 1)
			}
			for _, h := range serveStartHooks {
				if err := h(c, srv); err != nil {
					srv.Close()
					return cli.Exit(err.Error(), 1)
				}
			}
			// The ready line: tests and scripts read the bound address from it.
			fmt.Fprintf(c.App.Writer, "kvlab %s ready to accept connections on %s (engine %s)\n", version, srv.Addr(), cfg.Engine)
			sigs := make(chan os.Signal, 1)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
			select {
			case sig := <-sigs:
				fmt.Fprintf(os.Stderr, "kvlab: received %s, shutting down\n", sig)
			case <-srv.Done():
			}
			if err := srv.Close(); err != nil {
				return cli.Exit(err.Error(), 1)
			}
			fmt.Fprintln(os.Stderr, "kvlab: bye")
			return nil
		},
	})
}
