package server

import (
	"math"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/kvlab/kvlab/keyspace"
)

// OBJECT ENCODING/FREQ/IDLETIME/REFCOUNT, MEMORY USAGE/STATS/DOCTOR/PURGE/MALLOC-STATS and LASTSAVE.

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
				"help":     {Name: "help", Arity: 2, Flags: ld | st, Categories: ks, Group: "generic", Summary: "Returns helpful text about the different subcommands.", Since: "6.2.0", Handler: cmdObjectHelp},
			}},
		&keyspace.Command{Name: "memory", Arity: -2, Group: "server", Summary: "A container for memory diagnostics commands.", Since: "4.0.0",
			Subcommands: map[string]*keyspace.Command{
				"usage":        key(&keyspace.Command{Name: "usage", Arity: -3, Flags: ro, Categories: ks, Group: "server", Summary: "Estimates the memory usage of a key.", Since: "4.0.0", Handler: cmdMemoryUsage}),
				"stats":        {Name: "stats", Arity: 2, Group: "server", Summary: "Returns details about memory usage.", Since: "4.0.0", Handler: cmdMemoryStats},
				"doctor":       {Name: "doctor", Arity: 2, Group: "server", Summary: "Outputs a memory problems report.", Since: "4.0.0", Handler: cmdMemoryDoctor},
				"purge":        {Name: "purge", Arity: 2, Group: "server", Summary: "Asks the allocator to release memory.", Since: "4.0.0", Handler: cmdMemoryPurge},
				"malloc-stats": {Name: "malloc-stats", Arity: 2, Group: "server", Summary: "Returns the allocator statistics.", Since: "4.0.0", Handler: cmdMemoryMallocStats},
				"help":         {Name: "help", Arity: 2, Flags: ld | st, Group: "server", Summary: "Returns helpful text about the different subcommands.", Since: "4.0.0", Handler: cmdMemoryHelp},
			}},
		&keyspace.Command{Name: "lastsave", Arity: 1, Flags: ld | st | keyspace.FlagFast, Categories: keyspace.CatAdmin | keyspace.CatDangerous, Group: "server", Summary: "Returns the Unix timestamp of the last successful save to disk.", Since: "1.0.0", Handler: cmdLastSave},
	)
}

const (
	errNoLFU = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
	errLFU   = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
)

// liveObject returns key's object without touching its access time or statistics (nil when missing or
// expired), as OBJECT and MEMORY USAGE look keys up in Redis.
func liveObject(x *keyspace.Ctx, key []byte) *keyspace.Object {
	o := x.DB.Peek(key)
	if o == nil || (o.ExpireAt != 0 && o.ExpireAt <= x.Now) {
		return nil
	}
	if err := x.DB.Thaw(o); err != nil {
		x.ThawErr = err
		return nil
	}
	return o
}

func cmdObject(x *keyspace.Ctx) {
	o := liveObject(x, x.Args[2])
	if o == nil {
		x.W.Null()
		return
	}
	s := connOf(x).s
	lfu := s.lfuPolicy()
	switch x.Cmd.Name {
	case "encoding":
		x.W.BulkString(encodingOf(o))
	case "freq":
		if !lfu {
			x.Error(errNoLFU)
			return
		}
		x.W.Int(int64(s.lfuScore(o)))
	case "idletime":
		if lfu {
			x.Error(errLFU)
			return
		}
		x.W.Int(int64(x.KS.Clock() - min(o.LRU, x.KS.Clock())))
	case "refcount":
		// Redis shares small integers (refcount INT_MAX) unless a maxmemory policy needs per-key metadata.
		if o.Type == keyspace.TypeString && len(o.Str()) <= 4 && s.set.maxMemory.Load() == 0 {
			if n, err := keyspace.ParseInt(o.Str()); err == nil && n >= 0 && n < 10000 {
				x.W.Int(math.MaxInt32)
				return
			}
		}
		x.W.Int(1)
	}
}

func cmdObjectHelp(x *keyspace.Ctx) {
	writeHelp(x, "OBJECT",
		"ENCODING <key>",
		"    Return the kind of internal representation used in order to store the value",
		"    associated with a <key>.",
		"FREQ <key>",
		"    Return the access frequency index of the <key>. The returned integer is",
		"    proportional to the logarithm of the recent access frequency of the key.",
		"IDLETIME <key>",
		"    Return the idle time of the <key>, that is the approximated number of",
		"    seconds elapsed since the last access to the key.",
		"REFCOUNT <key>",
		"    Return the number of references of the value associated with the specified",
		"    <key>.")
}

// encodingOf reports what OBJECT ENCODING would say for o in Redis.
func encodingOf(o *keyspace.Object) string {
	if o.Type == keyspace.TypeString {
		if len(o.Str()) <= 20 {
			if _, err := keyspace.ParseInt(o.Str()); err == nil {
				return "int"
			}
		}
		if len(o.Str()) <= 44 {
			return "embstr"
		}
		return "raw"
	}
	if ops := keyspace.Ops(o.Type); ops != nil && ops.Encoding != nil && o.Val() != nil {
		return ops.Encoding(o.Val())
	}
	return "unknown"
}

// lfuPolicy reports whether an LFU maxmemory policy is selected.
func (s *Server) lfuPolicy() bool {
	p := s.set.policy.Load()
	return p == policyAllkeysLFU || p == policyVolatileLFU
}

// lfuScore maps an object's access count to Redis's logarithmic LFU counter. The keyspace counts accesses
// (Object.LFU, saturating at 255) and stamps the last access (Object.LRU, seconds); Redis instead keeps a
// counter that starts at 5 and grows by one with probability 1/((counter-5)*lfu-log-factor+1), and loses
// one point per lfu-decay-time minutes without access. The expected counter after n accesses solves
// factor*m*(m-1)/2 + m = n for m; decay is applied from the last access. The result is fractional so
// eviction can rank keys finer than the integer OBJECT FREQ reports.
func (s *Server) lfuScore(o *keyspace.Object) float64 {
	const initVal = 5
	f := float64(s.set.lfuLogFactor.Load())
	n := float64(o.LFU)
	var m float64
	if f == 0 {
		m = n
	} else {
		// f/2*m^2 + (1-f/2)*m - n = 0
		a, b := f/2, 1-f/2
		m = (-b + math.Sqrt(b*b+4*a*n)) / (2 * a)
	}
	score := initVal + m
	if d := s.set.lfuDecayTime.Load(); d > 0 {
		idleMin := float64(s.ks.Clock()-min(o.LRU, s.ks.Clock())) / 60
		score -= math.Floor(idleMin / float64(d))
	}
	return max(score, 0)
}

func cmdMemoryUsage(x *keyspace.Ctx) {
	if len(x.Args) != 3 {
		if len(x.Args) != 5 || !keyspace.EqualFold(x.Args[3], "samples") {
			x.Error(keyspace.ErrSyntax)
			return
		}
		if n, err := keyspace.ParseInt(x.Args[4]); err != nil || n < 0 {
			x.Error(keyspace.ErrNotInt)
			return
		}
	}
	o := liveObject(x, x.Args[2])
	if o == nil {
		x.W.Null()
		return
	}
	x.W.Int(int64(keyspace.ObjectSize(string(x.Args[2]), o)))
}

// cmdMemoryStats reports MEMORY STATS with Redis's field names, from the Go runtime's figures.
func cmdMemoryStats(x *keyspace.Ctx) {
	s := connOf(x).s
	heap, heapTotal, total := memStats()
	keys := int64(s.ks.KeyCount())
	var dataset int64
	for i := 0; i < keyspace.NumDBs; i++ {
		s.ks.DB(i).ForEach(func(k string, o *keyspace.Object) bool {
			dataset += int64(keyspace.ObjectSize(k, o))
			return true
		})
	}
	overhead := max(int64(heap)-dataset, 0)
	s.mu.Lock()
	clients := len(s.clients)
	s.mu.Unlock()
	type kv struct {
		k string
		v any
	}
	fields := []kv{
		{"peak.allocated", s.peakMemory(int64(heap))}, {"total.allocated", int64(heap)},
		{"startup.allocated", s.startHeap}, {"replication.backlog", 0}, {"clients.slaves", 0},
		{"clients.normal", int64(clients) * 4096}, {"aof.buffer", 0}, {"overhead.total", overhead},
		{"keys.count", keys},
	}
	perKey := int64(0)
	if keys > 0 {
		perKey = overhead / keys
	}
	fields = append(fields, kv{"keys.bytes-per-key", perKey}, kv{"dataset.bytes", dataset})
	pct := func(a, b int64) float64 {
		if b == 0 {
			return 0
		}
		return 100 * float64(a) / float64(b)
	}
	fields = append(fields, kv{"dataset.percentage", pct(dataset, int64(heap))},
		kv{"peak.percentage", pct(int64(heap), s.peakMemory(int64(heap)))},
		kv{"allocator.allocated", int64(heap)}, kv{"allocator.active", int64(heapTotal)},
		kv{"allocator.resident", int64(total)})
	if heap > 0 {
		fields = append(fields, kv{"fragmentation", float64(rss()) / float64(heap)})
	}
	x.W.Map(len(fields))
	for _, f := range fields {
		x.W.BulkString(f.k)
		switch v := f.v.(type) {
		case int:
			x.W.Int(int64(v))
		case int64:
			x.W.Int(v)
		case float64:
			x.W.Double(v)
		}
	}
}

func cmdMemoryDoctor(x *keyspace.Ctx) {
	s := connOf(x).s
	heap, _, _ := memStats()
	var b strings.Builder
	limit := s.set.maxMemory.Load()
	switch {
	case heap < 5<<20:
		b.WriteString("kvlab: this instance holds very little data; there is nothing to diagnose yet.")
	case limit > 0 && int64(heap) > limit:
		b.WriteString("kvlab: used memory (" + human(int64(heap)) + ") is above maxmemory (" + human(limit) +
			"); the " + s.maxMemoryPolicy() + " policy applies to every write.")
	default:
		b.WriteString("kvlab: no memory problems detected. used_memory " + human(int64(heap)) +
			", used_memory_rss " + human(rss()) + ".")
	}
	x.W.Verbatim("txt", b.String())
}

func cmdMemoryPurge(x *keyspace.Ctx) {
	go debug.FreeOSMemory() // not under the keyspace lock: it runs a full garbage collection
	x.OK()
}

func cmdMemoryMallocStats(x *keyspace.Ctx) {
	x.W.Verbatim("txt", "Stats not supported for the current allocator")
}

func cmdMemoryHelp(x *keyspace.Ctx) {
	writeHelp(x, "MEMORY",
		"DOCTOR",
		"    Return memory problems reports.",
		"MALLOC-STATS",
		"    Return internal statistics report from the memory allocator.",
		"PURGE",
		"    Attempt to purge dirty pages for reclamation by the allocator.",
		"STATS",
		"    Return information about the memory usage of the server.",
		"USAGE <key> [SAMPLES <count>]",
		"    Return memory in bytes used by <key> and its value. Nested values are",
		"    sampled up to <count> times (default: 5, 0 means sample all).")
}

func cmdLastSave(x *keyspace.Ctx) {
	s := connOf(x).s
	if v := s.engineStat("rdb_last_save_time"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			x.W.Int(n)
			return
		}
	}
	x.W.Int(s.start.Unix())
}
