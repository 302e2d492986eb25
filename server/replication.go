package server

import (
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/kvlab/kvlab/keyspace"
	"github.com/kvlab/kvlab/replication"
	"github.com/kvlab/kvlab/resp"
)

// ReplicationConfig configures replication (see package replication).
type ReplicationConfig struct {
	// ReplicaOf ("host:port") makes the server start as a replica of that primary.
	ReplicaOf string
	// MasterUser and MasterAuth authenticate to the primary.
	MasterUser, MasterAuth string
	// TLS, when set, connects to the primary with TLS.
	TLS *tls.Config
	// BacklogSize is the replication backlog in bytes (0 = 1 MB).
	BacklogSize int64
	// ReadLog reads a dead primary's wal log for KVLAB.PROMOTE dir (cmd/kvlab sets it to wal.ReadLog).
	ReadLog replication.LogReader
}

const errReadonly = "READONLY You can't write against a read only replica."

func init() {
	const adm, ns, ld, st, f = keyspace.FlagAdmin, keyspace.FlagNoScript, keyspace.FlagLoading, keyspace.FlagStale, keyspace.FlagFast
	nm := keyspace.FlagNoMulti
	g := "server"
	replicaof := func(name, since string) *keyspace.Command {
		return &keyspace.Command{Name: name, Arity: 3, Flags: adm | ns | st, Group: "server", Summary: "Configures a server as replica of another, or promotes it to a primary.", Since: since, Handler: cmdReplicaOf}
	}
	keyspace.Register(
		replicaof("replicaof", "5.0.0"),
		replicaof("slaveof", "1.0.0"),
		&keyspace.Command{Name: "role", Arity: 1, Flags: ns | ld | st | f, Categories: keyspace.CatAdmin | keyspace.CatDangerous, Group: g, Summary: "Returns the replication role.", Since: "2.8.12", Handler: cmdRole},
		&keyspace.Command{Name: "wait", Arity: 3, Flags: ns, Categories: keyspace.CatConnection, Group: "generic", Summary: "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.", Since: "3.0.0", Handler: cmdWait},
		&keyspace.Command{Name: "replconf", Arity: -1, Flags: adm | ns | ld | st | keyspace.FlagAllowBusy, Group: g, Summary: "An internal command for configuring the replication stream.", Since: "3.0.0", Handler: cmdReplconf},
		&keyspace.Command{Name: "psync", Arity: -3, Flags: adm | ns | nm, Group: g, Summary: "An internal command used in replication.", Since: "2.8.0", Handler: cmdPsync},
		&keyspace.Command{Name: "sync", Arity: 1, Flags: adm | ns | nm, Group: g, Summary: "An internal command used in replication.", Since: "1.0.0", Handler: cmdPsync},
		&keyspace.Command{Name: "kvlab.promote", Arity: -1, Flags: adm | ns | st | nm, Group: g, Summary: "Promotes a replica to primary after catching up from the dead primary's wal directory (KVLAB.PROMOTE [dir]).", Since: "7.2.0", Handler: cmdPromote},
	)
	addPreExec(45, refuseWritesOnReplica)
	clientFlagHooks = append(clientFlagHooks, func(c *conn) string {
		if c.replica.Load() {
			return "S"
		}
		return ""
	})
	infoHooks["stats"] = append(infoHooks["stats"], func(s *Server) string {
		full, ok, bad := s.repl.SyncStats()
		return "sync_full:" + strconv.FormatInt(full, 10) + "\r\nsync_partial_ok:" + strconv.FormatInt(ok, 10) +
			"\r\nsync_partial_err:" + strconv.FormatInt(bad, 10) + "\r\n"
	})
	startHooks = append(startHooks, func(s *Server) error {
		if p, err := strconv.Atoi(portOf(s.Addr())); err == nil {
			s.repl.SetListenPort(p)
		}
		if a := s.cfg.Replication.ReplicaOf; a != "" {
			host, port, err := splitHostPort(a)
			if err != nil {
				return errors.New("server: --replicaof " + a + ": want host:port")
			}
			s.repl.Follow(host, port)
		}
		return nil
	})
}

func splitHostPort(a string) (string, int, error) {
	host, p, err := net.SplitHostPort(a)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, errors.New("bad port")
	}
	return host, port, nil
}

// refuseWritesOnReplica answers write commands on a replica with READONLY (keyspace lock held; the role
// changes under that lock). The replication link applies the stream without going through here.
func refuseWritesOnReplica(c *conn, cmd *keyspace.Command, msg string, args [][]byte) (bool, uint64) {
	if cmd == nil || cmd.Flags&keyspace.FlagWrite == 0 || !c.s.repl.IsReplica() {
		return false, 0
	}
	if c.tx.active {
		c.tx.failed = true
	}
	c.w.Error(errReadonly)
	c.s.stats.errorReplies.Add(1)
	c.s.countError([]byte(errReadonly))
	return true, 0
}

func cmdReplicaOf(x *keyspace.Ctx) {
	c := connOf(x)
	if c.s.cl != nil {
		// The topology decides who follows whom (kvlab cluster up, failovers).
		x.Error("ERR REPLICAOF not allowed in cluster mode.")
		return
	}
	if x.InMulti {
		// It stops and starts the link, which needs the keyspace lock EXEC holds.
		x.Error("ERR Command not allowed inside a transaction")
		return
	}
	if keyspace.EqualFold(x.Args[1], "no") && keyspace.EqualFold(x.Args[2], "one") {
		c.later = func(w *resp.Writer) {
			if err := c.s.repl.Promote(""); err != nil {
				w.Error("ERR " + err.Error())
				return
			}
			w.Simple("OK")
		}
		return
	}
	port, err := strconv.Atoi(string(x.Args[2]))
	if err != nil || port <= 0 || port > 65535 {
		x.Error("ERR Invalid master port")
		return
	}
	host := string(x.Args[1])
	c.later = func(w *resp.Writer) {
		if c.s.repl.Follow(host, port) {
			w.Simple("OK Already connected to specified master")
			return
		}
		w.Simple("OK")
	}
}

func cmdPromote(x *keyspace.Ctx) {
	if connOf(x).s.cl != nil {
		x.Error("ERR kvlab: KVLAB.PROMOTE is not allowed in cluster mode; send CLUSTER FAILOVER to the replica")
		return
	}
	c := connOf(x)
	if len(x.Args) > 2 {
		x.ArityError()
		return
	}
	dir := ""
	if len(x.Args) == 2 {
		dir = string(x.Args[1])
	}
	c.later = func(w *resp.Writer) {
		if err := c.s.repl.Promote(dir); err != nil {
			w.Error("ERR " + err.Error())
			return
		}
		w.Simple("OK")
	}
}

func cmdRole(x *keyspace.Ctx) {
	role, off, replicas, host, port, state := connOf(x).s.repl.RoleReply()
	if role == "slave" {
		x.W.Array(5)
		x.W.BulkString(role)
		x.W.BulkString(host)
		x.W.Int(int64(port))
		x.W.BulkString(state)
		x.W.Int(off)
		return
	}
	x.W.Array(3)
	x.W.BulkString(role)
	x.W.Int(off)
	x.W.Array(len(replicas))
	for _, r := range replicas {
		x.W.Array(3)
		for _, f := range r {
			x.W.BulkString(f)
		}
	}
}

func cmdWait(x *keyspace.Ctx) {
	c := connOf(x)
	s := c.s
	if s.repl.IsReplica() {
		x.Error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
		return
	}
	num, ok := x.ParseInt(x.Args[1])
	if !ok {
		return
	}
	timeout, err := keyspace.ParseInt(x.Args[2])
	if err != nil {
		x.Error("ERR timeout is not an integer or out of range")
		return
	}
	if timeout < 0 {
		x.Error("ERR timeout is negative")
		return
	}
	offset := s.repl.Offset()
	if x.InMulti {
		x.W.Int(int64(s.repl.WaitReplicas(s.ctx, offset, 1<<30, time.Nanosecond)))
		return
	}
	c.later = func(w *resp.Writer) {
		w.Int(int64(s.repl.WaitReplicas(s.ctx, offset, int(num), time.Duration(timeout)*time.Millisecond)))
	}
}

// cmdReplconf answers a replica's handshake (listening-port, capa) and ignores acknowledgements sent
// outside a feed.
func cmdReplconf(x *keyspace.Ctx) {
	c := connOf(x)
	if len(x.Args)%2 == 0 {
		x.Error(keyspace.ErrSyntax)
		return
	}
	for i := 1; i < len(x.Args); i += 2 {
		opt := strings.ToLower(string(x.Args[i]))
		switch opt {
		case "listening-port":
			p, err := strconv.Atoi(string(x.Args[i+1]))
			if err != nil {
				x.Error(keyspace.ErrNotInt)
				return
			}
			c.replPort = p
		case "ack", "fack", "getack":
			return // no reply, as in Redis
		case "capa", "ip-address", "rdb-only", "rdb-filter-only":
		default:
			x.Error("ERR Unrecognized REPLCONF option: " + string(x.Args[i]))
			return
		}
	}
	x.OK()
}

// cmdPsync starts a replication feed (keyspace lock held, so a full sync's payload is consistent with its
// offset); the connection is handed to the feed once the turn's earlier replies are written.
func cmdPsync(x *keyspace.Ctx) {
	c := connOf(x)
	s := c.s
	legacy := x.Cmd.Name == "sync"
	replid, offset := "?", int64(-1)
	if !legacy {
		replid = string(x.Args[1])
		o, err := keyspace.ParseInt(x.Args[2])
		if err != nil {
			x.Error(keyspace.ErrNotInt)
			return
		}
		offset = o
	}
	ip, _, _ := net.SplitHostPort(c.nc.RemoteAddr().String())
	feed, err := s.repl.StartSync(replid, offset, legacy, ip, c.replPort)
	if err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, "NOMASTERLINK") {
			msg = "ERR " + msg
		}
		x.Error(msg)
		return
	}
	c.replica.Store(true)
	c.takeover = func() {
		s.repl.ServeFeed(feed, c.nc, c.rd.ReadCommand)
	}
}
