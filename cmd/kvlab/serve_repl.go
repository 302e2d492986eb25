package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/engines/wal"
	"github.com/kvlab/kvlab/internal/units"
	"github.com/kvlab/kvlab/replication"
	"github.com/kvlab/kvlab/server"
)

// Replication flags of `kvlab serve` (added by variable initialization, before serve.go's init).
var _ = func() int {
	extraServeFlags = append(extraServeFlags,
		&cli.StringFlag{Name: "replicaof", Usage: "start as a replica of the primary at host:port (REPLICAOF at run time; REPLICAOF NO ONE promotes)"},
		&cli.StringFlag{Name: "masterauth", EnvVars: []string{"KVLAB_MASTERAUTH"}, Usage: "password the replica sends to its primary (AUTH); also read from $KVLAB_MASTERAUTH"},
		&cli.StringFlag{Name: "masteruser", Usage: "ACL user the replica authenticates as (with --masterauth)"},
		&cli.BoolFlag{Name: "tls-replication", Usage: "connect to the primary with TLS, verifying it with --tls-ca and presenting --tls-cert/--tls-key when given"},
		&cli.StringFlag{Name: "repl-backlog-size", Value: "1mb", Usage: "replication backlog: how much recent stream a primary keeps so a briefly disconnected replica can continue (PSYNC) without a full sync"},
	)
	serveConfigHooks = append(serveConfigHooks, replServeConfig)
	return 0
}()

func replServeConfig(c *cli.Context, cfg *server.Config) error {
	r := &cfg.Replication
	r.ReplicaOf = c.String("replicaof")
	r.MasterAuth = c.String("masterauth")
	r.MasterUser = c.String("masteruser")
	if r.MasterUser != "" && r.MasterAuth == "" {
		return fmt.Errorf("--masteruser needs --masterauth (the user's password)")
	}
	n, err := units.ParseBytes(c.String("repl-backlog-size"))
	if err != nil || n < 16*1024 {
		return fmt.Errorf("--repl-backlog-size %q: want a size of at least 16kb (like 1mb, 64mb)", c.String("repl-backlog-size"))
	}
	r.BacklogSize = n
	r.ReadLog = readWalLog
	if !c.Bool("tls-replication") {
		return nil
	}
	// Present this node's certificate when it has one; trust --tls-ca, or else the system roots and this
	// node's own certificate (the nodes of a local cluster share one).
	r.TLS, err = clientTLS(c.String("tls-cert"), c.String("tls-key"), c.String("tls-ca"))
	return err
}

// readWalLog adapts wal.ReadLog (read-only) for promotion's catch-up from a dead primary's directory.
func readWalLog(dir string, after uint64, fn func(replication.LogRecord) error) error {
	_, err := wal.ReadLog(dir, after, func(e wal.LogEntry) error {
		return fn(replication.LogRecord{LSN: e.LSN, Time: e.Time, Effects: e.Effects})
	})
	return err
}
