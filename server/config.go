package server

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kvlab/kvlab/engines"
	"github.com/kvlab/kvlab/internal/units"
	"github.com/kvlab/kvlab/keyspace"
	"github.com/kvlab/kvlab/resp"
)

// CONFIG GET/SET/RESETSTAT/REWRITE. Every parameter has a kind (integer, memory, yes/no, enum, string)
// validated with Redis's error texts. Parameters kvlab acts on take effect at once through an apply
// function that stores them in the server's settings (atomics the command path reads without a lock);
// Redis's tuning parameters (encoding thresholds, lazyfree, hz, ...) are validated, stored and reported back
// so existing tooling works, though kvlab's structures do not depend on them. Values are per server.

type paramKind uint8

const (
	kindString paramKind = iota
	kindInt
	kindMemory
	kindBool
	kindEnum
)

// configParam describes one parameter.
type configParam struct {
	name  string
	alias string // the older name Redis still accepts (hash-max-ziplist-entries, ...)
	kind  paramKind
	min   int64
	max   int64
	enum  []string
	def   string
	// immutable parameters are reported but cannot be changed at run time; fixed ones (decided by how the
	// server was started) only to their current value.
	immutable, fixed bool
	// check validates and canonicalizes a kindString value; it returns an error detail on failure.
	check func(v string) (string, string)
	// apply makes a validated value take effect (keyspace lock held); it returns an error detail when the
	// server cannot, and the value is then not stored.
	apply func(s *Server, v string) string
	// get, when set, reports the server's live value instead of the stored one.
	get func(s *Server) string
}

const (
	intMax   = 1<<31 - 1
	longMax  = 1<<63 - 1
	uint32Mx = 1<<32 - 1
)

// configParams holds every parameter by canonical name; configNames lists canonical names and aliases, sorted.
var (
	configParams = map[string]*configParam{}
	configByName = map[string]*configParam{} // canonical names and aliases
	configNames  []string
)

// addConfigParam registers a parameter (from init functions of this package).
func addConfigParam(p *configParam) {
	configParams[p.name] = p
	configByName[p.name] = p
	configNames = append(configNames, p.name)
	if p.alias != "" {
		configByName[p.alias] = p
		configNames = append(configNames, p.alias)
	}
	sort.Strings(configNames)
}

// settings are the parameters the server acts on, readable without a lock.
type settings struct {
	maxMemory        atomic.Int64
	policy           atomic.Int32
	samples          atomic.Int64
	maxClients       atomic.Int64
	notifyFlags      atomic.Int64
	timeoutSec       atomic.Int64
	slowlogSlower    atomic.Int64
	slowlogMaxLen    atomic.Int64
	latencyThreshold atomic.Int64
	lfuLogFactor     atomic.Int64
	lfuDecayTime     atomic.Int64
	scriptLimitMS    atomic.Int64 // busy-reply-threshold: a script running longer is stopped (script.go)
	outbuf           atomic.Pointer[outbufLimits]
	limits           atomic.Pointer[resp.Limits]
}

// configState holds the stored value of every parameter.
type configState struct {
	mu     sync.Mutex // guards values
	values map[string]string
}

// Eviction policies, in the order of Redis's error message.
const (
	policyVolatileLRU = iota
	policyVolatileLFU
	policyVolatileRandom
	policyVolatileTTL
	policyAllkeysLRU
	policyAllkeysLFU
	policyAllkeysRandom
	policyNoEviction
)

var policyNames = []string{"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru",
	"allkeys-lfu", "allkeys-random", "noeviction"}

func intParam(name string, min, max int64, def string) *configParam {
	return &configParam{name: name, kind: kindInt, min: min, max: max, def: def}
}

func memParam(name string, min, max int64, def string) *configParam {
	return &configParam{name: name, kind: kindMemory, min: min, max: max, def: def}
}

func boolParam(name, def string) *configParam {
	return &configParam{name: name, kind: kindBool, def: def}
}

func enumParam(name, def string, values ...string) *configParam {
	return &configParam{name: name, kind: kindEnum, enum: values, def: def}
}

func strParam(name, def string) *configParam {
	return &configParam{name: name, kind: kindString, def: def}
}

func withAlias(p *configParam, alias string) *configParam { p.alias = alias; return p }

func init() {
	adm := keyspace.FlagAdmin | keyspace.FlagNoScript | keyspace.FlagLoading | keyspace.FlagStale
	keyspace.Register(&keyspace.Command{Name: "config", Arity: -2, Group: "server", Summary: "A container for server configuration commands.", Since: "2.0.0",
		Subcommands: map[string]*keyspace.Command{
			"get":       {Name: "get", Arity: -3, Flags: adm, Group: "server", Summary: "Returns the effective values of configuration parameters.", Since: "2.0.0", Handler: cmdConfigGet},
			"set":       {Name: "set", Arity: -4, Flags: adm, Group: "server", Summary: "Sets configuration parameters in-flight.", Since: "2.0.0", Handler: cmdConfigSet},
			"resetstat": {Name: "resetstat", Arity: 2, Flags: adm, Group: "server", Summary: "Resets the server's statistics.", Since: "2.0.0", Handler: cmdConfigResetStat},
			"rewrite":   {Name: "rewrite", Arity: 2, Flags: adm, Group: "server", Summary: "Persists the effective configuration to file.", Since: "2.8.0", Handler: cmdConfigRewrite},
			"help":      {Name: "help", Arity: 2, Flags: keyspace.FlagLoading | keyspace.FlagStale, Group: "server", Summary: "Returns helpful text about the different subcommands.", Since: "5.0.0", Handler: cmdConfigHelp},
		}})

	// Parameters kvlab acts on.
	p := memParam("maxmemory", 0, longMax, "0")
	p.apply = func(s *Server, v string) string {
		n, _ := strconv.ParseInt(v, 10, 64)
		if b, ok := s.base.(engines.Budgeter); ok {
			// The engine's budget is maxmemory (tiered): it changes with it, or neither does.
			if err := b.SetBudget(n); err != nil {
				return err.Error()
			}
		}
		s.set.maxMemory.Store(n)
		if n > 0 {
			s.sampleMemory() // a limit set now is enforced from the next command, not the next sample
		}
		return ""
	}
	addConfigParam(p)
	p = enumParam("maxmemory-policy", "noeviction", policyNames...)
	p.apply = func(s *Server, v string) string {
		for i, n := range policyNames {
			if n == v {
				s.set.policy.Store(int32(i))
			}
		}
		return ""
	}
	addConfigParam(p)
	atomicInt := func(p *configParam, field func(s *Server) *atomic.Int64) *configParam {
		p.apply = func(s *Server, v string) string {
			n, _ := strconv.ParseInt(v, 10, 64)
			field(s).Store(n)
			return ""
		}
		return p
	}
	addConfigParam(atomicInt(intParam("maxmemory-samples", 1, intMax, "5"), func(s *Server) *atomic.Int64 { return &s.set.samples }))
	addConfigParam(atomicInt(intParam("maxclients", 1, uint32Mx, "10000"), func(s *Server) *atomic.Int64 { return &s.set.maxClients }))
	addConfigParam(atomicInt(intParam("timeout", 0, intMax, "0"), func(s *Server) *atomic.Int64 { return &s.set.timeoutSec }))
	addConfigParam(atomicInt(intParam("slowlog-log-slower-than", -1, longMax, "10000"), func(s *Server) *atomic.Int64 { return &s.set.slowlogSlower }))
	addConfigParam(atomicInt(intParam("slowlog-max-len", 0, longMax, "128"), func(s *Server) *atomic.Int64 { return &s.set.slowlogMaxLen }))
	addConfigParam(atomicInt(intParam("latency-monitor-threshold", 0, longMax, "0"), func(s *Server) *atomic.Int64 { return &s.set.latencyThreshold }))
	addConfigParam(atomicInt(intParam("lfu-log-factor", 0, intMax, "10"), func(s *Server) *atomic.Int64 { return &s.set.lfuLogFactor }))
	addConfigParam(atomicInt(intParam("lfu-decay-time", 0, intMax, "1"), func(s *Server) *atomic.Int64 { return &s.set.lfuDecayTime }))
	addConfigParam(atomicInt(withAlias(intParam("busy-reply-threshold", 0, longMax, "5000"), "lua-time-limit"), func(s *Server) *atomic.Int64 { return &s.set.scriptLimitMS }))
	// Process-wide, like the keyspace's HLL code that reads it.
	addConfigParam(atomicInt(memParam("hll-sparse-max-bytes", 0, longMax, "3000"), func(*Server) *atomic.Int64 { return &keyspace.HLLSparseMaxBytes }))
	p = strParam("notify-keyspace-events", "")
	p.check = func(v string) (string, string) {
		f, ok := parseNotifyFlags(v)
		if !ok {
			return "", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
		}
		return notifyFlagsString(f), ""
	}
	p.apply = func(s *Server, v string) string {
		f, _ := parseNotifyFlags(v)
		s.set.notifyFlags.Store(f)
		return ""
	}
	addConfigParam(p)
	limit := func(p *configParam, set func(l *resp.Limits, n int64)) *configParam {
		p.apply = func(s *Server, v string) string {
			n, _ := strconv.ParseInt(v, 10, 64)
			l := *s.set.limits.Load()
			set(&l, n)
			s.set.limits.Store(&l) // new and existing connections read it before each request
			return ""
		}
		return p
	}
	addConfigParam(limit(memParam("proto-max-bulk-len", 1<<20, longMax, "536870912"), func(l *resp.Limits, n int64) { l.MaxBulkLen = n }))
	addConfigParam(limit(memParam("client-query-buffer-limit", 1<<20, longMax, "1073741824"), func(l *resp.Limits, n int64) { l.MaxQueryBuffer = n }))
	p = strParam("save", "")
	p.check = checkSave
	addConfigParam(p)

	// Parameters fixed by how the server was started: reported, and settable only to their current value.
	fixed := func(p *configParam, get func(s *Server) string, how string) *configParam {
		p.get, p.fixed = get, true
		p.apply = func(s *Server, v string) string {
			if v == get(s) {
				return ""
			}
			return "kvlab cannot change " + p.name + " at run time (" + how + ")"
		}
		return p
	}
	addConfigParam(fixed(boolParam("appendonly", "no"), func(s *Server) string {
		if s.engineStat("aof_enabled") == "1" {
			return "yes"
		}
		return "no"
	}, "the engine decides: restart with --engine wal for an append-only log"))
	addConfigParam(fixed(enumParam("appendfsync", "everysec", "everysec", "always", "no"), func(s *Server) string {
		if v := s.engineStat("wal_fsync_policy"); v != "" {
			return v
		}
		return "everysec"
	}, "restart with --engine-opt fsync=POLICY"))
	addConfigParam(fixed(intParam("port", 0, 65535, "6379"), func(s *Server) string { return portOf(s.Addr()) }, "restart with --addr"))
	addConfigParam(fixed(strParam("bind", ""), func(s *Server) string {
		if i := strings.LastIndexByte(s.cfg.Addr, ':'); i > 0 {
			return strings.Trim(s.cfg.Addr[:i], "[]")
		}
		return ""
	}, "restart with --addr"))
	addConfigParam(fixed(strParam("dir", ""), func(s *Server) string { return s.cfg.Dir }, "restart with --dir"))
	for _, p := range []*configParam{intParam("databases", 1, intMax, strconv.Itoa(keyspace.NumDBs)),
		intParam("io-threads", 1, 128, "1"), intParam("tcp-backlog", 0, intMax, "511"),
		enumParam("enable-debug-command", "no", "no", "yes", "local"), enumParam("enable-protected-configs", "no", "no", "yes", "local"),
		enumParam("enable-module-command", "no", "no", "yes", "local"), strParam("appendfilename", "appendonly.aof"),
		strParam("appenddirname", "appendonlydir")} {
		p.immutable = true
		addConfigParam(p)
	}

	// Redis's tuning parameters: validated, stored and reported back.
	for _, p := range []*configParam{
		withAlias(intParam("hash-max-listpack-entries", 0, longMax, "512"), "hash-max-ziplist-entries"),
		withAlias(memParam("hash-max-listpack-value", 0, longMax, "64"), "hash-max-ziplist-value"),
		intParam("set-max-intset-entries", 0, longMax, "512"),
		intParam("set-max-listpack-entries", 0, longMax, "128"),
		memParam("set-max-listpack-value", 0, longMax, "64"),
		withAlias(intParam("zset-max-listpack-entries", 0, longMax, "128"), "zset-max-ziplist-entries"),
		withAlias(memParam("zset-max-listpack-value", 0, longMax, "64"), "zset-max-ziplist-value"),
		withAlias(intParam("list-max-listpack-size", -1<<31, intMax, "-2"), "list-max-ziplist-size"),
		intParam("list-compress-depth", 0, intMax, "0"),
		intParam("stream-node-max-entries", 0, longMax, "100"),
		memParam("stream-node-max-bytes", 0, longMax, "4096"),
		intParam("maxmemory-eviction-tenacity", 0, 100, "10"),
		memParam("maxmemory-clients", 0, longMax, "0"),
		intParam("active-expire-effort", 1, 10, "1"),
		intParam("tcp-keepalive", 0, intMax, "300"),
		intParam("tracking-table-max-keys", 0, longMax, "1000000"),
		intParam("acllog-max-len", 0, longMax, "128"),
		memParam("auto-aof-rewrite-min-size", 0, longMax, "67108864"),
		intParam("auto-aof-rewrite-percentage", 0, intMax, "100"),
		intParam("active-defrag-cycle-min", 1, 99, "1"), intParam("active-defrag-cycle-max", 1, 99, "25"),
		intParam("active-defrag-threshold-lower", 0, 1000, "10"), intParam("active-defrag-threshold-upper", 0, 1000, "100"),
		memParam("active-defrag-ignore-bytes", 1, longMax, "104857600"),
		intParam("active-defrag-max-scan-fields", 1, longMax, "1000"),
		boolParam("activerehashing", "yes"), boolParam("activedefrag", "no"), boolParam("dynamic-hz", "yes"),
		boolParam("lazyfree-lazy-eviction", "no"), boolParam("lazyfree-lazy-expire", "no"),
		boolParam("lazyfree-lazy-server-del", "no"), boolParam("lazyfree-lazy-user-del", "no"),
		boolParam("lazyfree-lazy-user-flush", "no"), boolParam("latency-tracking", "yes"),
		boolParam("rdbcompression", "yes"), boolParam("rdbchecksum", "yes"), boolParam("stop-writes-on-bgsave-error", "yes"),
		boolParam("aof-use-rdb-preamble", "yes"), boolParam("no-appendfsync-on-rewrite", "no"),
		boolParam("aof-rewrite-incremental-fsync", "yes"), boolParam("rdb-save-incremental-fsync", "yes"),
		boolParam("aof-timestamp-enabled", "no"), boolParam("jemalloc-bg-thread", "yes"),
		enumParam("loglevel", "notice", "debug", "verbose", "notice", "warning", "nothing"),
		enumParam("sanitize-dump-payload", "no", "no", "yes", "clients"),
		strParam("dbfilename", "dump.rdb"),
	} {
		addConfigParam(p)
	}
	p = intParam("hz", 0, intMax, "10")
	p.check = func(v string) (string, string) {
		n, _ := strconv.ParseInt(v, 10, 64)
		return strconv.FormatInt(min(max(n, 1), 500), 10), "" // Redis clamps hz to 1..500
	}
	addConfigParam(p)
	p = strParam("latency-tracking-info-percentiles", "50 99 99.9")
	p.check = func(v string) (string, string) {
		var out []string
		for _, f := range strings.Fields(v) {
			x, err := strconv.ParseFloat(f, 64)
			if err != nil || x < 0 || x > 100 {
				return "", "latency-tracking-info-percentiles parameter should be between 0.0 and 100.0"
			}
			out = append(out, strconv.FormatFloat(x, 'f', -1, 64))
		}
		return strings.Join(out, " "), ""
	}
	addConfigParam(p)
}

// checkSave validates "save": pairs of seconds and changes, or "".
func checkSave(v string) (string, string) {
	f := strings.Fields(v)
	if len(f)%2 != 0 {
		return "", "Invalid save parameters"
	}
	for _, x := range f {
		if n, err := strconv.ParseInt(x, 10, 64); err != nil || n < 0 {
			return "", "Invalid save parameters"
		}
	}
	return strings.Join(f, " "), ""
}

// initConfig gives a new server its parameters: defaults, then what Config sets.
func (s *Server) initConfig() error {
	s.conf.values = make(map[string]string, len(configParams))
	l := s.cfg.Limits
	d := resp.DefaultLimits()
	if l.MaxBulkLen <= 0 {
		l.MaxBulkLen = d.MaxBulkLen
	}
	if l.MaxQueryBuffer <= 0 {
		l.MaxQueryBuffer = d.MaxQueryBuffer
	}
	s.set.limits.Store(&l)
	start := map[string]string{
		"maxmemory": strconv.FormatInt(s.cfg.MaxMemory, 10), "proto-max-bulk-len": strconv.FormatInt(l.MaxBulkLen, 10),
		"client-query-buffer-limit": strconv.FormatInt(l.MaxQueryBuffer, 10),
	}
	if s.cfg.MaxMemoryPolicy != "" {
		start["maxmemory-policy"] = s.cfg.MaxMemoryPolicy
	}
	if s.cfg.MaxClients > 0 {
		start["maxclients"] = strconv.Itoa(s.cfg.MaxClients)
	}
	for name, p := range configParams {
		v, ok := start[name]
		if !ok {
			v = p.def
		}
		canon, msg := p.validate(v)
		if msg != "" {
			return fmt.Errorf("server: config %s %q: %s", name, v, msg)
		}
		if p.apply != nil && !p.fixed {
			if msg := p.apply(s, canon); msg != "" {
				return fmt.Errorf("server: config %s %q: %s", name, v, msg)
			}
		}
		s.conf.values[name] = canon
	}
	return nil
}

// validate checks v against the parameter's kind and returns its canonical form or Redis's error detail.
func (p *configParam) validate(v string) (string, string) {
	switch p.kind {
	case kindInt, kindMemory:
		var n int64
		var err error
		if p.kind == kindMemory {
			n, err = units.ParseBytes(v)
			if err != nil && strings.HasPrefix(v, "-") && p.min < 0 {
				n, err = strconv.ParseInt(v, 10, 64)
			}
			if err != nil {
				return "", "argument must be a memory value"
			}
		} else if n, err = strconv.ParseInt(v, 10, 64); err != nil {
			return "", "argument couldn't be parsed into an integer"
		}
		if n < p.min || n > p.max {
			return "", "argument must be between " + strconv.FormatInt(p.min, 10) + " and " + strconv.FormatInt(p.max, 10) + " inclusive"
		}
		v = strconv.FormatInt(n, 10)
	case kindBool:
		switch strings.ToLower(v) {
		case "yes", "no":
			v = strings.ToLower(v)
		default:
			return "", "argument must be 'yes' or 'no'"
		}
	case kindEnum:
		found := false
		for _, e := range p.enum {
			if strings.EqualFold(e, v) {
				v, found = e, true
				break
			}
		}
		if !found {
			return "", "argument(s) must be one of the following: " + strings.Join(p.enum, ", ")
		}
	}
	if p.check != nil {
		return p.check(v)
	}
	return v, ""
}

// configGet returns the value of the parameter called name (canonical or alias).
func (s *Server) configGet(name string) string {
	p := configByName[name]
	if p == nil {
		return ""
	}
	if p.get != nil {
		return p.get(s)
	}
	s.conf.mu.Lock()
	defer s.conf.mu.Unlock()
	return s.conf.values[p.name]
}

func cmdConfigGet(x *keyspace.Ctx) {
	s := connOf(x).s
	var names []string
	seen := map[*configParam]bool{}
	seenName := map[string]bool{}
	for _, a := range x.Args[2:] {
		pat := string(a)
		if !strings.ContainsAny(pat, "[*?") {
			// An exact name is reported as given, as Redis does.
			if p := configByName[strings.ToLower(pat)]; p != nil && !seenName[pat] && !seen[p] {
				seenName[pat] = true
				seen[p] = true
				names = append(names, pat)
			}
			continue
		}
		for _, n := range configNames {
			if !seenName[n] && keyspace.Match(a, []byte(n), true) {
				seenName[n] = true
				names = append(names, n)
			}
		}
	}
	x.W.Map(len(names))
	for _, n := range names {
		x.W.BulkString(n)
		x.W.BulkString(s.configGet(strings.ToLower(n)))
	}
}

func cmdConfigSet(x *keyspace.Ctx) {
	s := connOf(x).s
	args := x.Args[2:]
	if len(args)%2 != 0 {
		x.ArityError()
		return
	}
	type change struct {
		p     *configParam
		name  string
		value string
	}
	var changes []change
	// Validate every pair before applying any, as Redis 7 does.
	for i := 0; i < len(args); i += 2 {
		name := strings.ToLower(string(args[i]))
		p := configByName[name]
		if p == nil {
			x.Error("ERR Unknown option or number of arguments for CONFIG SET - '" + string(args[i]) + "'")
			return
		}
		for _, c := range changes {
			if c.p == p {
				x.Error(configSetError(name, "duplicate parameter"))
				return
			}
		}
		if p.immutable {
			x.Error(configSetError(name, "can't set immutable config"))
			return
		}
		v, msg := p.validate(string(args[i+1]))
		if msg != "" {
			x.Error(configSetError(name, msg))
			return
		}
		changes = append(changes, change{p, name, v})
	}
	// Apply in order; if one fails, restore the ones already applied.
	old := make([]string, len(changes))
	for i, c := range changes {
		old[i] = s.configGet(c.p.name)
	}
	for i, c := range changes {
		if c.p.apply != nil {
			if msg := c.p.apply(s, c.value); msg != "" {
				for j, done := range changes[:i] {
					if done.p.apply != nil && !done.p.fixed {
						done.p.apply(s, old[j])
					}
				}
				x.Error(configSetError(c.name, msg))
				return
			}
		}
	}
	s.conf.mu.Lock()
	for _, c := range changes {
		if c.p.get == nil {
			s.conf.values[c.p.name] = c.value
		}
	}
	s.conf.mu.Unlock()
	x.OK()
}

func configSetError(name, msg string) string {
	return "ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + msg
}

func cmdConfigResetStat(x *keyspace.Ctx) {
	s := connOf(x).s
	s.cmdStats = nil
	s.errorStats = nil
	s.stats.errorReplies.Store(0)
	s.stats.commands.Store(0)
	s.stats.connsReceived.Store(0)
	s.stats.rejectedConns.Store(0)
	s.stats.protocolErrors.Store(0)
	s.stats.netInput.Store(0)
	s.stats.netOutput.Store(0)
	s.stats.outbufDisconnects.Store(0)
	s.ks.ExpiredKeys.Store(0)
	s.ks.EvictedKeys.Store(0)
	s.ks.KeyspaceHits.Store(0)
	s.ks.KeyspaceMiss.Store(0)
	s.cron.peak.Store(0)
	x.OK()
}

func cmdConfigRewrite(x *keyspace.Ctx) {
	x.Error("ERR The server is running without a config file")
}

func cmdConfigHelp(x *keyspace.Ctx) {
	writeHelp(x, "CONFIG",
		"GET <pattern>",
		"    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>",
		"    Set the configuration <directive> to <value>.",
		"RESETSTAT",
		"    Reset statistics reported by the INFO command.",
		"REWRITE",
		"    Rewrite the configuration file.")
}

// writeHelp writes a HELP reply as Redis's addReplyHelp does.
func writeHelp(x *keyspace.Ctx, cmd string, lines ...string) {
	x.W.Array(len(lines) + 2)
	x.W.Simple(cmd + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		x.W.Simple(l)
	}
	x.W.Simple("HELP")
	x.W.Simple("    Print this help.")
}

// engineStat returns one of the engine's figures by name ("" when it does not report it).
func (s *Server) engineStat(name string) string {
	for _, st := range s.engine.Stats() {
		if st.Name == name {
			return st.Value
		}
	}
	return ""
}
