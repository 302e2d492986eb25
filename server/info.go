package server

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/kvlab/kvlab/engines"
	"github.com/kvlab/kvlab/internal/units"
	"github.com/kvlab/kvlab/keyspace"
)

func init() {
	keyspace.Register(&keyspace.Command{Name: "info", Arity: -1, Flags: keyspace.FlagLoading | keyspace.FlagStale,
		Categories: keyspace.CatDangerous, Group: "server", Summary: "Returns information and statistics about the server.",
		Since: "1.0.0", Handler: cmdInfo})
}

// infoSections lists the sections of INFO in Redis's order; "default" and "all" select from it.
var infoSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu",
	"commandstats", "errorstats", "keyspace", "kvlab"}

// notDefault are the sections only shown on request or with "all"/"everything".
var notDefault = map[string]bool{"commandstats": true, "errorstats": true}

// infoHooks let other files append fields to a section: each returns "name:value\r\n" lines.
var infoHooks = map[string][]func(s *Server) string{}

func cmdInfo(x *keyspace.Ctx) {
	s := connOf(x).s
	want := map[string]bool{}
	if len(x.Args) == 1 {
		want["default"] = true
	}
	for _, a := range x.Args[1:] {
		want[strings.ToLower(string(a))] = true
	}
	var b strings.Builder
	for _, sec := range infoSections {
		all := want["all"] || want["everything"]
		if !(want[sec] || all || (want["default"] && !notDefault[sec])) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		fmt.Fprintf(&b, "# %s\r\n", strings.ToUpper(sec[:1])+sec[1:])
		s.infoSection(&b, sec)
		for _, h := range infoHooks[sec] {
			b.WriteString(h(s))
		}
	}
	x.W.Verbatim("txt", b.String())
}

// memStats reads the heap figures cheaply (runtime/metrics, no stop-the-world).
func memStats() (heapObjects, heapTotal, total uint64) {
	sample := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/total:bytes"},
	}
	metrics.Read(sample)
	return sample[0].Value.Uint64(), sample[0].Value.Uint64() + sample[1].Value.Uint64(), sample[2].Value.Uint64()
}

// UsedMemory returns the bytes the Go heap holds in live and not yet collected objects (INFO used_memory).
func UsedMemory() int64 {
	h, _, _ := memStats()
	return int64(h)
}

// LiveHeap returns the heap bytes found live by the last garbage collection: what the data set really
// occupies, without garbage not yet collected (maxmemory decisions use it).
func LiveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return UsedMemory()
	}
	return int64(s[0].Value.Uint64())
}

// rss reads the resident set size of this process from /proc (0 where unavailable).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res int64
	fmt.Sscan(string(b), &size, &res)
	return res * int64(os.Getpagesize())
}

func human(n int64) string { return units.FormatBytes(n) }

func (s *Server) infoSection(b *strings.Builder, sec string) {
	w := func(k string, v any) { fmt.Fprintf(b, "%s:%v\r\n", k, v) }
	switch sec {
	case "server":
		w("redis_version", Version)
		w("redis_mode", "standalone")
		w("kvlab_version", s.cfg.KvlabVersion)
		w("os", runtime.GOOS+" "+runtime.GOARCH)
		w("arch_bits", 64)
		w("multiplexing_api", "goroutines")
		w("go_version", runtime.Version())
		w("process_id", os.Getpid())
		w("tcp_port", portOf(s.Addr()))
		up := time.Since(s.start)
		w("server_time_usec", time.Now().UnixMicro())
		w("uptime_in_seconds", int64(up.Seconds()))
		w("uptime_in_days", int64(up.Hours()/24))
		w("hz", 10)
		w("lru_clock", s.ks.Clock())
		exe, _ := os.Executable()
		w("executable", exe)
	case "clients":
		s.mu.Lock()
		n := len(s.clients)
		s.mu.Unlock()
		w("connected_clients", n)
		w("cluster_connections", 0)
		w("maxclients", s.maxClients())
		w("blocked_clients", s.blockedClients())
		w("tracking_clients", 0)
		w("clients_in_timeout_table", s.blockedClients())
	case "memory":
		heap, heapTotal, total := memStats()
		r := rss()
		w("used_memory", heap)
		w("used_memory_human", human(int64(heap)))
		w("used_memory_rss", r)
		w("used_memory_rss_human", human(r))
		w("used_memory_peak", s.peakMemory(int64(heap)))
		w("used_memory_peak_human", human(s.peakMemory(int64(heap))))
		w("used_memory_dataset", heap)
		w("total_system_memory", totalSystemMemory())
		w("maxmemory", s.maxMemory.Load())
		w("maxmemory_human", human(s.maxMemory.Load()))
		w("maxmemory_policy", s.maxMemoryPolicy())
		if heap > 0 {
			w("mem_fragmentation_ratio", fmt.Sprintf("%.2f", float64(r)/float64(heap)))
		}
		w("mem_allocator", "go")
		w("go_heap_total", heapTotal)
		w("go_runtime_total", total)
	case "persistence":
		w("loading", 0)
		w("async_loading", 0)
		for _, st := range s.engine.Stats() {
			if st.Section == "persistence" {
				w(st.Name, st.Value)
			}
		}
	case "stats":
		w("total_connections_received", s.stats.connsReceived.Load())
		w("total_commands_processed", s.stats.commands.Load())
		up := time.Since(s.start).Seconds()
		w("instantaneous_ops_per_sec", s.opsPerSec())
		w("total_net_input_bytes", s.stats.netInput.Load())
		w("total_net_output_bytes", s.stats.netOutput.Load())
		w("rejected_connections", s.stats.rejectedConns.Load())
		w("expired_keys", s.ks.ExpiredKeys.Load())
		w("evicted_keys", s.ks.EvictedKeys.Load())
		w("keyspace_hits", s.ks.KeyspaceHits.Load())
		w("keyspace_misses", s.ks.KeyspaceMiss.Load())
		w("total_error_replies", s.stats.errorReplies.Load())
		w("total_protocol_errors", s.stats.protocolErrors.Load())
		w("avg_ops_per_sec_since_start", int64(float64(s.stats.commands.Load())/max(up, 1)))
	case "replication":
		w("role", "master")
		w("connected_slaves", 0)
		w("master_repl_offset", 0)
	case "cpu":
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		w("used_cpu_sys", fmt.Sprintf("%.6f", tv(ru.Stime)))
		w("used_cpu_user", fmt.Sprintf("%.6f", tv(ru.Utime)))
	case "commandstats":
		type row struct {
			name string
			st   *commandStats
		}
		var rows []row
		for c, st := range s.cmdStats {
			rows = append(rows, row{c.FullName(), st})
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].name < rows[j].name })
		for _, r := range rows {
			calls := r.st.calls.Load()
			us := r.st.usec.Load()
			per := 0.0
			if calls > 0 {
				per = float64(us) / float64(calls)
			}
			fmt.Fprintf(b, "cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d\r\n",
				r.name, calls, us, per, r.st.rejected.Load(), r.st.failed.Load())
		}
	case "errorstats":
		var names []string
		for n := range s.errorStats {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(b, "errorstat_%s:count=%d\r\n", n, s.errorStats[n])
		}
	case "keyspace":
		for i := 0; i < keyspace.NumDBs; i++ {
			db := s.ks.DB(i)
			if db.Len() > 0 {
				fmt.Fprintf(b, "db%d:keys=%d,expires=%d,avg_ttl=0\r\n", i, db.Len(), db.ExpiresLen())
			}
		}
	case "kvlab":
		w("engine", s.engine.Name())
		for _, st := range s.engine.Stats() {
			if st.Section == "kvlab" && st.Name != "engine" {
				w(st.Name, st.Value)
			}
		}
	}
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func portOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[i+1:]
	}
	return addr
}

func totalSystemMemory() int64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}

// EngineStats exposes the engine's figures (for tests and metrics).
func (s *Server) EngineStats() []engines.Stat { return s.engine.Stats() }
