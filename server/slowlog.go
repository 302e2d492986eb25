package server

import (
	"strconv"
	"sync"
	"time"

	"github.com/kvlab/kvlab/keyspace"
)

// SLOWLOG: commands whose execution (under the keyspace lock, not counting time blocked or waiting for
// durability) took at least slowlog-log-slower-than microseconds, newest first, at most slowlog-max-len.
// Entries follow Redis: at most 32 arguments and 128 bytes per argument are kept, and secrets (AUTH,
// HELLO AUTH, ACL SETUSER rules, MIGRATE AUTH) are stored as "(redacted)".

// slowlog is the server's slow log.
type slowlog struct {
	mu      sync.Mutex // guards entries, nextID
	entries []slowEntry
	nextID  int64
}

type slowEntry struct {
	id       int64
	at       int64
	duration int64
	args     []string
	addr     string
	name     string
}

const (
	slowlogMaxArgs  = 32
	slowlogMaxBytes = 128
)

func init() {
	const adm, ld, st = keyspace.FlagAdmin, keyspace.FlagLoading, keyspace.FlagStale
	keyspace.Register(&keyspace.Command{Name: "slowlog", Arity: -2, Group: "server", Summary: "A container for slow log commands.", Since: "2.2.12",
		Subcommands: map[string]*keyspace.Command{
			"get":   {Name: "get", Arity: -2, Flags: adm | ld | st, Group: "server", Summary: "Returns the slow log's entries.", Since: "2.2.12", Handler: cmdSlowlogGet},
			"len":   {Name: "len", Arity: 2, Flags: adm | ld | st, Group: "server", Summary: "Returns the number of entries in the slow log.", Since: "2.2.12", Handler: cmdSlowlogLen},
			"reset": {Name: "reset", Arity: 2, Flags: adm | ld | st, Group: "server", Summary: "Clears all entries from the slow log.", Since: "2.2.12", Handler: cmdSlowlogReset},
			"help":  {Name: "help", Arity: 2, Flags: ld | st, Group: "server", Summary: "Show helpful text about the different subcommands", Since: "6.2.0", Handler: cmdSlowlogHelp},
		}})
}

// slowlogAdd records one slow command (keyspace lock held).
func (s *Server) slowlogAdd(c *conn, args [][]byte, us int64) {
	maxLen := int(s.set.slowlogMaxLen.Load())
	e := slowEntry{at: time.Now().Unix(), duration: us, addr: c.nc.RemoteAddr().String()}
	n := min(len(args), slowlogMaxArgs)
	e.args = make([]string, 0, n)
	for i := 0; i < n; i++ {
		if i == slowlogMaxArgs-1 && len(args) > slowlogMaxArgs {
			e.args = append(e.args, "... ("+strconv.Itoa(len(args)-slowlogMaxArgs+1)+" more arguments)")
			break
		}
		a := args[i]
		switch {
		case redacted(args, i):
			e.args = append(e.args, "(redacted)")
		case len(a) > slowlogMaxBytes:
			e.args = append(e.args, string(a[:slowlogMaxBytes])+"... ("+strconv.Itoa(len(a)-slowlogMaxBytes)+" more bytes)")
		default:
			e.args = append(e.args, string(a))
		}
	}
	c.infoMu.Lock()
	e.name = c.name
	c.infoMu.Unlock()
	sl := &s.slowlog
	sl.mu.Lock()
	defer sl.mu.Unlock()
	e.id = sl.nextID
	sl.nextID++
	sl.entries = append(sl.entries, slowEntry{})
	copy(sl.entries[1:], sl.entries)
	sl.entries[0] = e
	if len(sl.entries) > maxLen {
		clear(sl.entries[maxLen:])
		sl.entries = sl.entries[:maxLen]
	}
}

// redacted reports whether argument i of a command is a secret the slow log must not keep.
func redacted(args [][]byte, i int) bool {
	if i == 0 {
		return false
	}
	name := args[0]
	switch {
	case keyspace.EqualFold(name, "auth"):
		return true
	case keyspace.EqualFold(name, "hello"):
		// HELLO [protover [AUTH username password] [SETNAME clientname]]
		for j := 2; j+2 < len(args); j++ {
			if keyspace.EqualFold(args[j], "auth") {
				return i == j+1 || i == j+2
			}
		}
	case keyspace.EqualFold(name, "acl"):
		return len(args) > 2 && keyspace.EqualFold(args[1], "setuser") && i >= 3
	case keyspace.EqualFold(name, "migrate"):
		for j := 6; j < len(args); j++ {
			if keyspace.EqualFold(args[j], "auth") {
				return i == j+1
			}
			if keyspace.EqualFold(args[j], "auth2") {
				return i == j+1 || i == j+2
			}
		}
	case keyspace.EqualFold(name, "config"):
		if len(args) > 3 && keyspace.EqualFold(args[1], "set") && i >= 3 && i%2 == 1 {
			return keyspace.EqualFold(args[i-1], "requirepass") || keyspace.EqualFold(args[i-1], "masterauth")
		}
	}
	return false
}

func cmdSlowlogGet(x *keyspace.Ctx) {
	sl := &connOf(x).s.slowlog
	n := 10
	if len(x.Args) > 3 {
		x.Error("ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP.")
		return
	}
	if len(x.Args) == 3 {
		v, err := keyspace.ParseInt(x.Args[2])
		if err != nil || v < -1 {
			x.Error("ERR count should be greater than or equal to -1")
			return
		}
		n = int(v)
	}
	sl.mu.Lock()
	entries := sl.entries
	if n >= 0 && n < len(entries) {
		entries = entries[:n]
	}
	entries = append([]slowEntry(nil), entries...)
	sl.mu.Unlock()
	x.W.Array(len(entries))
	for _, e := range entries {
		x.W.Array(6)
		x.W.Int(e.id)
		x.W.Int(e.at)
		x.W.Int(e.duration)
		x.W.Array(len(e.args))
		for _, a := range e.args {
			x.W.BulkString(a)
		}
		x.W.BulkString(e.addr)
		x.W.BulkString(e.name)
	}
}

func cmdSlowlogLen(x *keyspace.Ctx) {
	sl := &connOf(x).s.slowlog
	sl.mu.Lock()
	defer sl.mu.Unlock()
	x.W.Int(int64(len(sl.entries)))
}

func cmdSlowlogReset(x *keyspace.Ctx) {
	sl := &connOf(x).s.slowlog
	sl.mu.Lock()
	sl.entries = nil
	sl.mu.Unlock()
	x.OK()
}

func cmdSlowlogHelp(x *keyspace.Ctx) {
	writeHelp(x, "SLOWLOG",
		"GET [<count>]",
		"    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
		"    Entries are made of:",
		"    id, timestamp, time in microseconds, arguments array, client IP and port,",
		"    client name",
		"LEN",
		"    Return the length of the slowlog.",
		"RESET",
		"    Reset the slowlog.")
}
