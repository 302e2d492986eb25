package server

import (
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/kvlab/kvlab/internal/units"
	"github.com/kvlab/kvlab/keyspace"
)

// CONFIG GET/SET/RESETSTAT/REWRITE. Parameters kvlab acts on change behaviour at once (maxmemory,
// maxmemory-policy, maxclients, notify-keyspace-events, ...); Redis's tuning parameters (encoding
// thresholds and the like) are accepted, validated as numbers and reported back so existing tooling works,
// though kvlab's structures do not depend on them.

// configParam is one parameter.
type configParam struct {
	get func(s *Server) string
	set func(s *Server, v string) string // returns "" or the error detail
}

var (
	configMu     sync.Mutex // guards tunables
	tunables     = map[string]string{}
	configParams = map[string]configParam{}
)

func init() {
	keyspace.Register(&keyspace.Command{Name: "config", Arity: -2, Group: "server", Summary: "A container for server configuration commands.", Since: "2.0.0",
		Subcommands: map[string]*keyspace.Command{
			"get":       {Name: "get", Arity: -3, Flags: keyspace.FlagAdmin | keyspace.FlagNoScript | keyspace.FlagLoading | keyspace.FlagStale, Group: "server", Summary: "Returns the effective values of configuration parameters.", Since: "2.0.0", Handler: cmdConfigGet},
			"set":       {Name: "set", Arity: -4, Flags: keyspace.FlagAdmin | keyspace.FlagNoScript | keyspace.FlagLoading | keyspace.FlagStale, Group: "server", Summary: "Sets configuration parameters in-flight.", Since: "2.0.0", Handler: cmdConfigSet},
			"resetstat": {Name: "resetstat", Arity: 2, Flags: keyspace.FlagAdmin | keyspace.FlagNoScript | keyspace.FlagLoading | keyspace.FlagStale, Group: "server", Summary: "Resets the server's statistics.", Since: "2.0.0", Handler: cmdConfigResetStat},
			"rewrite":   {Name: "rewrite", Arity: 2, Flags: keyspace.FlagAdmin | keyspace.FlagNoScript | keyspace.FlagLoading | keyspace.FlagStale, Group: "server", Summary: "Persists the effective configuration to file.", Since: "2.8.0", Handler: cmdConfigRewrite},
		}})
	num := func(get func(*Server) int64, set func(*Server, int64)) configParam {
		return configParam{
			get: func(s *Server) string { return strconv.FormatInt(get(s), 10) },
			set: func(s *Server, v string) string {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 0 {
					return "argument couldn't be parsed into an integer"
				}
				set(s, n)
				return ""
			},
		}
	}
	configParams["maxmemory"] = configParam{
		get: func(s *Server) string { return strconv.FormatInt(s.maxMemory.Load(), 10) },
		set: func(s *Server, v string) string {
			n, err := units.ParseBytes(v)
			if err != nil {
				return "argument must be a memory value"
			}
			s.maxMemory.Store(n)
			return ""
		},
	}
	configParams["maxmemory-policy"] = configParam{
		get: func(s *Server) string { return s.maxMemoryPolicy() },
		set: func(s *Server, v string) string {
			switch strings.ToLower(v) {
			case "noeviction", "allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu", "allkeys-random", "volatile-random", "volatile-ttl":
				s.policy.Store(strings.ToLower(v))
				return ""
			}
			return "argument(s) must be one of the following: volatile-lru, allkeys-lru, volatile-lfu, allkeys-lfu, volatile-random, allkeys-random, volatile-ttl, noeviction"
		},
	}
	configParams["maxclients"] = num(func(s *Server) int64 { return int64(s.maxClients()) }, func(s *Server, n int64) { s.maxClientsV.Store(n) })
	configParams["notify-keyspace-events"] = configParam{
		get: func(s *Server) string { return notifyFlagsString(s.notifyFlags.Load()) },
		set: func(s *Server, v string) string {
			f, ok := parseNotifyFlags(v)
			if !ok {
				return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
			}
			s.notifyFlags.Store(f)
			return ""
		},
	}
	configParams["databases"] = configParam{get: func(*Server) string { return strconv.Itoa(keyspace.NumDBs) }}
	configParams["port"] = configParam{get: func(s *Server) string { return portOf(s.Addr()) }}
	configParams["bind"] = configParam{get: func(s *Server) string {
		if i := strings.LastIndexByte(s.cfg.Addr, ':'); i > 0 {
			return s.cfg.Addr[:i]
		}
		return ""
	}}
	configParams["dir"] = configParam{get: func(s *Server) string { return s.cfg.Dir }}
	configParams["appendonly"] = configParam{get: func(s *Server) string {
		if s.engine.Name() == "memory" {
			return "no"
		}
		return "yes"
	}}
	for name, def := range map[string]string{
		"save": "", "appendfsync": "always", "timeout": "0", "maxmemory-samples": "5", "slowlog-log-slower-than": "10000",
		"slowlog-max-len": "128", "hash-max-listpack-entries": "128", "hash-max-listpack-value": "64",
		"hash-max-ziplist-entries": "128", "hash-max-ziplist-value": "64", "set-max-intset-entries": "512",
		"set-max-listpack-entries": "128", "set-max-listpack-value": "64", "zset-max-listpack-entries": "128",
		"zset-max-listpack-value": "64", "zset-max-ziplist-entries": "128", "zset-max-ziplist-value": "64",
		"list-max-listpack-size": "-2", "list-max-ziplist-size": "-2", "list-compress-depth": "0",
		"stream-node-max-entries": "100", "stream-node-max-bytes": "4096", "hll-sparse-max-bytes": "3000",
		"activerehashing": "yes", "lazyfree-lazy-eviction": "no", "lazyfree-lazy-expire": "no", "hz": "10",
		"tcp-keepalive": "300", "io-threads": "1", "proto-max-bulk-len": "536870912",
		"client-query-buffer-limit": "1073741824", "lfu-log-factor": "10", "lfu-decay-time": "1",
		"client-output-buffer-limit": "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
		"latency-tracking":           "yes", "protected-mode": "yes", "requirepass": "", "maxmemory-clients": "0",
	} {
		tunables[name] = def
		n := name
		configParams[n] = configParam{
			get: func(*Server) string {
				configMu.Lock()
				defer configMu.Unlock()
				return tunables[n]
			},
			set: func(_ *Server, v string) string {
				configMu.Lock()
				defer configMu.Unlock()
				if _, err := strconv.ParseInt(tunables[n], 10, 64); err == nil {
					if _, err := strconv.ParseInt(v, 10, 64); err != nil {
						return "argument couldn't be parsed into an integer"
					}
				}
				tunables[n] = v
				return ""
			},
		}
	}
}

func cmdConfigGet(x *keyspace.Ctx) {
	s := connOf(x).s
	names := make([]string, 0, len(configParams))
	for n := range configParams {
		names = append(names, n)
	}
	sort.Strings(names)
	out := map[string]string{}
	var order []string
	for _, pat := range x.Args[2:] {
		for _, n := range names {
			if _, dup := out[n]; dup {
				continue
			}
			if keyspace.Match(pat, []byte(n), true) {
				out[n] = configParams[n].get(s)
				order = append(order, n)
			}
		}
	}
	x.W.Map(len(order))
	for _, n := range order {
		x.W.BulkString(n)
		x.W.BulkString(out[n])
	}
}

func cmdConfigSet(x *keyspace.Ctx) {
	s := connOf(x).s
	args := x.Args[2:]
	if len(args)%2 != 0 {
		x.ArityError()
		return
	}
	// Validate every pair before applying any, as Redis 7 does.
	for i := 0; i < len(args); i += 2 {
		p, ok := configParams[strings.ToLower(string(args[i]))]
		if !ok || p.set == nil {
			x.Error("ERR Unknown option or number of arguments for CONFIG SET - '" + string(args[i]) + "'")
			return
		}
	}
	for i := 0; i < len(args); i += 2 {
		name := strings.ToLower(string(args[i]))
		if msg := configParams[name].set(s, string(args[i+1])); msg != "" {
			x.Error("ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + msg)
			return
		}
	}
	x.OK()
}

func cmdConfigResetStat(x *keyspace.Ctx) {
	s := connOf(x).s
	s.cmdStats = nil
	s.stats.errorReplies.Store(0)
	s.stats.commands.Store(0)
	s.stats.connsReceived.Store(0)
	s.stats.rejectedConns.Store(0)
	s.stats.protocolErrors.Store(0)
	s.ks.ExpiredKeys.Store(0)
	s.ks.EvictedKeys.Store(0)
	s.ks.KeyspaceHits.Store(0)
	s.ks.KeyspaceMiss.Store(0)
	s.errorStats = nil
	x.OK()
}

func cmdConfigRewrite(x *keyspace.Ctx) {
	x.Error("ERR The server is running without a config file")
}

// Keyspace notification classes, as bits.
const (
	notifyKeyspace = 1 << iota
	notifyKeyevent
	notifyGeneric
	notifyString
	notifyList
	notifySet
	notifyHash
	notifyZset
	notifyExpired
	notifyEvicted
	notifyStream
	notifyKeyMiss
	notifyNew
)

const notifyAll = notifyGeneric | notifyString | notifyList | notifySet | notifyHash | notifyZset | notifyExpired | notifyEvicted | notifyStream

var notifyLetters = []struct {
	c   byte
	bit int64
}{{'g', notifyGeneric}, {'$', notifyString}, {'l', notifyList}, {'s', notifySet}, {'h', notifyHash},
	{'z', notifyZset}, {'x', notifyExpired}, {'e', notifyEvicted}, {'t', notifyStream}, {'m', notifyKeyMiss},
	{'n', notifyNew}, {'K', notifyKeyspace}, {'E', notifyKeyevent}}

func parseNotifyFlags(v string) (int64, bool) {
	var f int64
	for i := 0; i < len(v); i++ {
		if v[i] == 'A' {
			f |= notifyAll
			continue
		}
		found := false
		for _, l := range notifyLetters {
			if l.c == v[i] {
				f |= l.bit
				found = true
			}
		}
		if !found {
			return 0, false
		}
	}
	return f, true
}

func notifyFlagsString(f int64) string {
	var b strings.Builder
	if f&notifyAll == notifyAll {
		b.WriteByte('A')
		f &^= notifyAll
	}
	for _, l := range notifyLetters {
		if f&l.bit != 0 && l.c != 'K' && l.c != 'E' {
			b.WriteByte(l.c)
		}
	}
	if f&notifyKeyspace != 0 {
		b.WriteByte('K')
	}
	if f&notifyKeyevent != 0 {
		b.WriteByte('E')
	}
	return b.String()
}

// notify publishes a keyspace event (Keyspace.Notify hook; keyspace lock held).
func (s *Server) notify(db int, class byte, event string, key []byte) {
	f := s.notifyFlags.Load()
	if f&(notifyKeyspace|notifyKeyevent) == 0 {
		return
	}
	var bit int64
	for _, l := range notifyLetters {
		if l.c == class {
			bit = l.bit
		}
	}
	if f&bit == 0 {
		return
	}
	dbs := strconv.Itoa(db)
	if f&notifyKeyspace != 0 {
		s.publish([]byte("__keyspace@"+dbs+"__:"+string(key)), []byte(event))
	}
	if f&notifyKeyevent != 0 {
		s.publish([]byte("__keyevent@"+dbs+"__:"+event), key)
	}
}
