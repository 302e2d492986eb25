package server

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvlab/kvlab/keyspace"
)

// CLIENT UNBLOCK / REPLY / PAUSE / UNPAUSE.

// clientCtlSubcommands are merged into CLIENT's table by cmds_conn.go (package variables are initialised
// before any init function runs, so the order of files does not matter).
var clientCtlSubcommands = map[string]*keyspace.Command{
	"unblock": {Name: "unblock", Arity: -3, Flags: keyspace.FlagAdmin | keyspace.FlagLoading | keyspace.FlagStale, Categories: keyspace.CatConnection, Group: "connection", Summary: "Unblocks a client blocked by a blocking command from a different connection.", Since: "5.0.0", Handler: cmdClientUnblock},
	"reply":   {Name: "reply", Arity: 3, Flags: keyspace.FlagLoading | keyspace.FlagStale, Categories: keyspace.CatConnection, Group: "connection", Summary: "Instructs the server whether to reply to commands.", Since: "3.2.0", Handler: cmdClientReply},
	"pause":   {Name: "pause", Arity: -3, Flags: keyspace.FlagAdmin | keyspace.FlagLoading | keyspace.FlagStale, Categories: keyspace.CatConnection, Group: "connection", Summary: "Suspends commands processing.", Since: "3.0.0", Handler: cmdClientPause},
	"unpause": {Name: "unpause", Arity: 2, Flags: keyspace.FlagAdmin | keyspace.FlagLoading | keyspace.FlagStale, Categories: keyspace.CatConnection, Group: "connection", Summary: "Resumes processing of clients that were paused.", Since: "6.2.0", Handler: cmdClientUnpause},
}

func init() { addPreExec(5, replyMode) }

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
	lsn, _ := c.exec(args, time.Now())
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

// pauseState is CLIENT PAUSE: commands wait while paused (all commands, or only those that may write).
type pauseState struct {
	active atomic.Bool // a pause may be in force (the command path reads only this when there is none)

	mu     sync.Mutex // guards until, writes, end, timer
	until  time.Time
	writes bool
	end    chan struct{} // closed when the pause ends
	timer  *time.Timer
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
	} else if len(x.Args) > 4 {
		x.Error(keyspace.ErrSyntax)
		return
	}
	p := &s.pause
	p.mu.Lock()
	defer p.mu.Unlock()
	until := time.Now().Add(time.Duration(ms) * time.Millisecond)
	if p.active.Load() {
		// As in Redis, a second pause keeps the later end and the stricter mode.
		until = maxTime(until, p.until)
		writes = writes && p.writes
		p.timer.Stop()
	} else {
		p.end = make(chan struct{})
	}
	p.until, p.writes = until, writes
	p.timer = time.AfterFunc(time.Until(until), s.endPause)
	p.active.Store(true)
	x.OK()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func cmdClientUnpause(x *keyspace.Ctx) {
	connOf(x).s.endPause()
	x.OK()
}

// endPause lifts CLIENT PAUSE and releases the clients waiting on it.
func (s *Server) endPause() {
	p := &s.pause
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.active.Load() {
		return
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	p.active.Store(false)
	close(p.end)
}

// pausedFor reports whether the command in args must wait for the pause to end: under PAUSE ALL every
// command but CLIENT PAUSE/UNPAUSE, under PAUSE WRITE the ones that may write or propagate.
func (s *Server) pausedFor(args [][]byte) bool {
	p := &s.pause
	p.mu.Lock()
	active, writes := p.active.Load(), p.writes
	p.mu.Unlock()
	if !active {
		return false
	}
	cmd, _ := keyspace.Resolve(args)
	if cmd == nil {
		return !writes
	}
	if cmd.Parent != nil && cmd.Parent.Name == "client" && (cmd.Name == "unpause" || cmd.Name == "pause") {
		return false
	}
	if writes {
		return cmd.Flags&(keyspace.FlagWrite|keyspace.FlagMayReplicate) != 0
	}
	return true
}

// waitUnpaused holds a client's command (before it takes the keyspace lock) while CLIENT PAUSE applies
// to it.
func (s *Server) waitUnpaused(ctx context.Context, args [][]byte) {
	for s.pausedFor(args) {
		s.pause.mu.Lock()
		end := s.pause.end
		s.pause.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-end:
		}
	}
}
