package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/server"
)

// --metrics-addr: Prometheus metrics of the server (see server/METRICS.md).
func init() {
	extraServeFlags = append(extraServeFlags, &cli.StringFlag{Name: "metrics-addr",
		Usage: "serve Prometheus metrics at http://ADDR/metrics, e.g. 127.0.0.1:9121 (see server/METRICS.md)"})
	serveStartHooks = append(serveStartHooks, func(c *cli.Context, srv *server.Server) error {
		addr := c.String("metrics-addr")
		if addr == "" {
			return nil
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", srv.EnableMetrics())
		go func() {
			if err := http.ListenAndServe(addr, mux); err != nil {
				fmt.Fprintf(os.Stderr, "kvlab: metrics on %s: %v (choose another --metrics-addr)\n", addr, err)
			}
		}()
		return nil
	})
}
