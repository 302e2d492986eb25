package server

import (
	"strconv"
	"sync"
	"time"

	"github.com/kvlab/kvlab/keyspace"
)

// OBJECT, MEMORY USAGE, LASTSAVE and SLOWLOG.

func init() {
	const ro, ld, st = keyspace.FlagReadonly, keyspace.FlagLoading, keyspace.FlagStale
	ks := keyspace.CatKeyspace
	key := func(c *keyspace.Command) *keyspace.Command {
		c.FirstKey, c.LastKey, c.Step = 2, 2, 1
		return c
	}
	keyspace.Register(
		&keyspace.Command{Name: "object", Arity: -2, Group: "generic", Summary: "A container for object introspection commands.", Since: "2.2.3",
			Subcommands: map[string]*keyspace.Command{
				"encoding": key(&keyspace.Command{Name: "encoding", Arity: 3, Flags: ro, Categories: ks, Group: "generic", Summary: "Returns the internal encoding of a Redis object.", Since: "2.2.3", Handler: cmdObject}),
				"freq":     key(&keyspace.Command{Name: "freq", Arity: 3, Flags: ro, Categories: ks, Group: "generic", Summary: "Returns the logarithmic access frequency counter of a Redis object.", Since: "4.0.0", Handler: cmdObject}),
				"idletime": key(&keyspace.Command{Name: "idletime", Arity: 3, Flags: ro, Categories: ks, Group: "generic", Summary: "Returns the time since the last access to a Redis object.", Since: "2.2.3", Handler: cmdObject}),
				"refcount": key(&keyspace.Command{Name: "refcount", Arity: 3, Flags: ro, Categories: ks, Group: "generic", Summary: "Returns the reference count of a value of a key.", Since: "2.2.3", Handler: cmdObject}),
			}},
		&keyspace.Command{Name: "memory", Arity: -2, Group: "server", Summary: "A container for memory diagnostics commands.", Since: "4.0.0",
			Subcommands: map[string]*keyspace.Command{
				"usage": key(&keyspace.Command{Name: "usage", Arity: -3, Flags: ro, Categories: ks, Group: "server", Summary: "Estimates the memory usage of a key.", Since: "4.0.0", Handler: cmdMemoryUsage}),
			}},
		&keyspace.Command{Name: "lastsave", Arity: 1, Flags: ld | st | keyspace.FlagFast, Categories: keyspace.CatAdmin | keyspace.CatDangerous, Group: "server", Summary: "Returns the Unix timestamp of the last successful save to disk.", Since: "1.0.0", Handler: cmdLastSave},
		&keyspace.Command{Name: "slowlog", Arity: -2, Group: "server", Summary: "A container for slow log commands.", Since: "2.2.12",
			Subcommands: map[string]*keyspace.Command{
				"get":   {Name: "get", Arity: -2, Flags: keyspace.FlagAdmin | ld | st, Group: "server", Summary: "Returns the slow log's entries.", Since: "2.2.12", Handler: cmdSlowlogGet},
				"len":   {Name: "len", Arity: 2, Flags: keyspace.FlagAdmin | ld | st, Group: "server", Summary: "Returns the number of entries in the slow log.", Since: "2.2.12", Handler: cmdSlowlogLen},
				"reset": {Name: "reset", Arity: 2, Flags: keyspace.FlagAdmin | ld | st, Group: "server", Summary: "Clears all entries from the slow log.", Since: "2.2.12", Handler: cmdSlowlogReset},
			}},
	)
}

func cmdObject(x *keyspace.Ctx) {
	o := x.DB.Peek(x.Args[2])
	if o != nil && o.ExpireAt != 0 && o.ExpireAt <= x.Now {
		o = nil
	}
	if o == nil {
		x.W.Null()
		return
	}
	switch x.Cmd.Name {
	case "encoding":
		x.W.BulkString(encodingOf(o))
	case "freq":
		if p := connOf(x).s.maxMemoryPolicy(); p != "allkeys-lfu" && p != "volatile-lfu" {
			x.Error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
			return
		}
		x.W.Int(int64(o.LFU))
	case "idletime":
		x.W.Int(int64(x.KS.Clock() - o.LRU))
	case "refcount":
		x.W.Int(1)
	}
}

// encodingOf reports what OBJECT ENCODING would say for o in Redis.
func encodingOf(o *keyspace.Object) string {
	if o.Type == keyspace.TypeString {
		if _, err := keyspace.ParseInt(o.Str); err == nil {
			return "int"
		}
		if len(o.Str) <= 44 {
			return "embstr"
		}
		return "raw"
	}
	if ops := keyspace.Ops(o.Type); ops != nil && ops.Encoding != nil && o.Val != nil {
		return ops.Encoding(o.Val)
	}
	return "unknown"
}

func cmdMemoryUsage(x *keyspace.Ctx) {
	if len(x.Args) != 3 && !(len(x.Args) == 5 && keyspace.EqualFold(x.Args[3], "samples")) {
		x.Error(keyspace.ErrSyntax)
		return
	}
	o := x.DB.Peek(x.Args[2])
	if o == nil || (o.ExpireAt != 0 && o.ExpireAt <= x.Now) {
		x.W.Null()
		return
	}
	x.W.Int(int64(keyspace.ObjectSize(string(x.Args[2]), o)))
}

func cmdLastSave(x *keyspace.Ctx) {
	s := connOf(x).s
	for _, st := range s.engine.Stats() {
		if st.Name == "rdb_last_save_time" {
			if n, err := strconv.ParseInt(st.Value, 10, 64); err == nil {
				x.W.Int(n)
				return
			}
		}
	}
	x.W.Int(s.start.Unix())
}

// slowlog keeps the commands slower than slowlog-log-slower-than (µs), up to slowlog-max-len entries.
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

func (s *Server) slowlogMaybe(c *conn, args [][]byte, d time.Duration) {
	limit, _ := strconv.ParseInt(configParams["slowlog-log-slower-than"].get(s), 10, 64)
	if limit < 0 || d.Microseconds() < limit {
		return
	}
	maxLen, _ := strconv.Atoi(configParams["slowlog-max-len"].get(s))
	e := slowEntry{at: time.Now().Unix(), duration: d.Microseconds(), addr: c.nc.RemoteAddr().String()}
	for i, a := range args {
		if i == 31 {
			e.args = append(e.args, "... ("+strconv.Itoa(len(args)-31)+" more arguments)")
			break
		}
		if len(a) > 128 {
			e.args = append(e.args, string(a[:128])+"... ("+strconv.Itoa(len(a)-128)+" more bytes)")
		} else {
			e.args = append(e.args, string(a))
		}
	}
	c.infoMu.Lock()
	e.name = c.name
	c.infoMu.Unlock()
	sl := &s.slowlog
	sl.mu.Lock()
	e.id = sl.nextID
	sl.nextID++
	sl.entries = append([]slowEntry{e}, sl.entries...)
	if len(sl.entries) > maxLen {
		sl.entries = sl.entries[:maxLen]
	}
	sl.mu.Unlock()
}

func cmdSlowlogGet(x *keyspace.Ctx) {
	sl := &connOf(x).s.slowlog
	n := 10
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
