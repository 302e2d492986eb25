package server

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kvlab/kvlab/keyspace"
)

// CLIENT UNBLOCK / REPLY / PAUSE / UNPAUSE, LATENCY, and the idle client timeout.

// clientCtlSubcommands are merged into CLIENT's table by cmds_conn.go (package variables are initialised
// before any init function runs, so the order of files does not matter).
var clientCtlSubcommands = map[string]*keyspace.Command{
	"unblock": {Name: "unblock", Arity: -3, Flags: keyspace.FlagAdmin | keyspace.FlagLoading | keyspace.FlagStale, Categories: keyspace.CatConnection, Group: "connection", Summary: "Unblocks a client blocked by a blocking command from a different connection.", Since: "5.0.0", Handler: cmdClientUnblock},
	"reply":   {Name: "reply", Arity: 3, Flags: keyspace.FlagLoading | keyspace.FlagStale, Categories: keyspace.CatConnection, Group: "connection", Summary: "Instructs the server whether to reply to commands.", Since: "3.2.0", Handler: cmdClientReply},
	"pause":   {Name: "pause", Arity: -3, Flags: keyspace.FlagAdmin | keyspace.FlagLoading | keyspace.FlagStale, Categories: keyspace.CatConnection, Group: "connection", Summary: "Suspends commands processing.", Since: "3.0.0", Handler: cmdClientPause},
	"unpause": {Name: "unpause", Arity: 2, Flags: keyspace.FlagAdmin | keyspace.FlagLoading | keyspace.FlagStale, Categories: keyspace.CatConnection, Group: "connection", Summary: "Resumes processing of clients that were paused.", Since: "6.2.0", Handler: cmdClientUnpause},
}

func init() {
	const ld, st, adm = keyspace.FlagLoading, keyspace.FlagStale, keyspace.FlagAdmin
	keyspace.Register(&keyspace.Command{Name: "latency", Arity: -2, Group: "server", Summary: "A container for latency diagnostics commands.", Since: "2.8.13",
		Subcommands: map[string]*keyspace.Command{
			"latest":  {Name: "latest", Arity: 2, Flags: adm | ld | st, Group: "server", Summary: "Returns the latest latency samples for all events.", Since: "2.8.13", Handler: cmdLatencyLatest},
			"history": {Name: "history", Arity: 3, Flags: adm | ld | st, Group: "server", Summary: "Returns timestamp-latency samples for an event.", Since: "2.8.13", Handler: cmdLatencyHistory},
			"reset":   {Name: "reset", Arity: -2, Flags: adm | ld | st, Group: "server", Summary: "Resets the latency data for one or more events.", Since: "2.8.13", Handler: cmdLatencyReset},
		}})
	addPreExec(5, replyMode)
}

func cmdClientUnblock(x *keyspace.Ctx) {
	s := connOf(x).s
	id, err := keyspace.ParseInt(x.Args[2])
	if err != nil {
		x.Error(keyspace.ErrNotInt)
		return
	}
	withErr := false
	if len(x.Args) == 4 {
		switch {
		case keyspace.EqualFold(x.Args[3], "error"):
			withErr = true
		case keyspace.EqualFold(x.Args[3], "timeout"):
		default:
			x.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
			return
		}
	} else if len(x.Args) > 4 {
		x.Error(keyspace.ErrSyntax)
		return
	}
	s.mu.Lock()
	target := s.clients[id]
	s.mu.Unlock()
	if target == nil || target.blocked == nil {
		x.W.Int(0)
		return
	}
	b := target.blocked
	s.unblock(target)
	b.w.Reset()
	if withErr {
		b.w.Error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
	} else if b.nullArr {
		b.w.NullArray()
	} else {
		b.w.Null()
	}
	b.served = true
	b.done <- 0
	x.W.Int(1)
}

// replyMode implements CLIENT REPLY OFF/SKIP: replies are dropped from the buffer after the command.
func replyMode(c *conn, cmd *keyspace.Command, msg string, args [][]byte) (bool, uint64) {
	switch c.replyMode {
	case "", "on":
		return false, 0
	}
	if cmd != nil && cmd.Parent != nil && cmd.Parent.Name == "client" && cmd.Name == "reply" {
		return false, 0
	}
	before := len(c.w.Buf)
	c.replyMode, c.muting = "", true
	lsn, end := c.exec(args, time.Now())
	_ = end
	c.w.Buf = c.w.Buf[:before]
	if c.skipOnce {
		c.skipOnce = false
	} else {
		c.replyMode = "off"
	}
	c.muting = false
	return true, lsn
}

func cmdClientReply(x *keyspace.Ctx) {
	c := connOf(x)
	switch {
	case keyspace.EqualFold(x.Args[2], "on"):
		c.replyMode = "on"
		x.OK()
	case keyspace.EqualFold(x.Args[2], "off"):
		c.replyMode = "off"
	case keyspace.EqualFold(x.Args[2], "skip"):
		c.replyMode, c.skipOnce = "skip", true
	default:
		x.Error(keyspace.ErrSyntax)
	}
}

// pause state (CLIENT PAUSE): commands wait while paused (all commands, or writes only).
type pauseState struct {
	mu     sync.Mutex // guards until, writes
	until  time.Time
	writes bool
}

func cmdClientPause(x *keyspace.Ctx) {
	s := connOf(x).s
	ms, err := keyspace.ParseInt(x.Args[2])
	if err != nil || ms < 0 {
		x.Error("ERR timeout is not an integer or out of range")
		return
	}
	writes := false
	if len(x.Args) == 4 {
		switch {
		case keyspace.EqualFold(x.Args[3], "write"):
			writes = true
		case keyspace.EqualFold(x.Args[3], "all"):
		default:
			x.Error("ERR CLIENT PAUSE mode must be WRITE or ALL")
			return
		}
	}
	s.pause.mu.Lock()
	s.pause.until = time.Now().Add(time.Duration(ms) * time.Millisecond)
	s.pause.writes = writes
	s.pause.mu.Unlock()
	x.OK()
}

func cmdClientUnpause(x *keyspace.Ctx) {
	s := connOf(x).s
	s.pause.mu.Lock()
	s.pause.until = time.Time{}
	s.pause.mu.Unlock()
	x.OK()
}

// waitUnpaused holds a client's commands (before taking the keyspace lock) while CLIENT PAUSE is in force.
func (s *Server) waitUnpaused(ctx context.Context, args [][]byte) {
	for {
		s.pause.mu.Lock()
		until, writes := s.pause.until, s.pause.writes
		s.pause.mu.Unlock()
		d := time.Until(until)
		if d <= 0 {
			return
		}
		if writes {
			cmd, _ := keyspace.Resolve(args)
			if cmd == nil || cmd.Flags&keyspace.FlagWrite == 0 {
				return
			}
		}
		if cmd, _ := keyspace.Resolve(args); cmd != nil && cmd.Parent != nil && cmd.Parent.Name == "client" && (cmd.Name == "unpause" || cmd.Name == "pause") {
			return
		}
		t := time.NewTimer(min(d, 50*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// latency events: kvlab records "command" (slow commands over 100 ms, as latency-monitor-threshold would).
type latencyEvent struct {
	samples [][2]int64 // unix seconds, ms
	max     int64
}

func (s *Server) latencyRecord(ms int64) {
	s.latMu.Lock()
	defer s.latMu.Unlock()
	if s.latency == nil {
		s.latency = map[string]*latencyEvent{}
	}
	e := s.latency["command"]
	if e == nil {
		e = &latencyEvent{}
		s.latency["command"] = e
	}
	e.samples = append(e.samples, [2]int64{time.Now().Unix(), ms})
	if len(e.samples) > 160 {
		e.samples = e.samples[1:]
	}
	e.max = max(e.max, ms)
}

func cmdLatencyLatest(x *keyspace.Ctx) {
	s := connOf(x).s
	s.latMu.Lock()
	defer s.latMu.Unlock()
	x.W.Array(len(s.latency))
	for name, e := range s.latency {
		last := e.samples[len(e.samples)-1]
		x.W.Array(4)
		x.W.BulkString(name)
		x.W.Int(last[0])
		x.W.Int(last[1])
		x.W.Int(e.max)
	}
}

func cmdLatencyHistory(x *keyspace.Ctx) {
	s := connOf(x).s
	s.latMu.Lock()
	defer s.latMu.Unlock()
	e := s.latency[strings.ToLower(string(x.Args[2]))]
	if e == nil {
		x.W.Array(0)
		return
	}
	x.W.Array(len(e.samples))
	for _, smp := range e.samples {
		x.W.Array(2)
		x.W.Int(smp[0])
		x.W.Int(smp[1])
	}
}

func cmdLatencyReset(x *keyspace.Ctx) {
	s := connOf(x).s
	s.latMu.Lock()
	defer s.latMu.Unlock()
	n := len(s.latency)
	if len(x.Args) > 2 {
		n = 0
		for _, a := range x.Args[2:] {
			if _, ok := s.latency[strings.ToLower(string(a))]; ok {
				delete(s.latency, strings.ToLower(string(a)))
				n++
			}
		}
	} else {
		s.latency = nil
	}
	x.W.Int(int64(n))
}

// idleTimeout is the CONFIG "timeout" in seconds (0 = never).
func (s *Server) idleTimeout() time.Duration {
	n, _ := strconv.Atoi(configParams["timeout"].get(s))
	return time.Duration(n) * time.Second
}

// closeIdleClients disconnects normal clients idle longer than the timeout (not blocked or subscribed
// ones, as Redis does). Called by the server cron.
func (s *Server) closeIdleClients() {
	t := s.idleTimeout()
	if t <= 0 {
		return
	}
	limit := time.Now().Add(-t).UnixMilli()
	s.ks.Mu.Lock()
	var idle []*conn
	s.mu.Lock()
	for _, c := range s.clients {
		if c.lastActive.Load() < limit && c.blocked == nil && !isPubSub(c) {
			idle = append(idle, c)
		}
	}
	s.mu.Unlock()
	s.ks.Mu.Unlock()
	for _, c := range idle {
		c.killed.Store(true)
		c.nc.Close()
	}
}
