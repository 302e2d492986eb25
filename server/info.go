package server

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
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
	"commandstats", "errorstats", "cluster", "keyspace", "kvlab"}

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
		w("redis_git_sha1", "00000000")
		w("redis_git_dirty", 0)
		w("redis_build_id", "kvlab")
		w("redis_mode", s.mode())
		w("kvlab_version", s.cfg.KvlabVersion)
		w("os", runtime.GOOS+" "+runtime.GOARCH)
		w("arch_bits", 64)
		w("monotonic_clock", "Go runtime")
		w("multiplexing_api", "goroutines")
		w("go_version", runtime.Version())
		w("process_id", os.Getpid())
		w("process_supervised", "no")
		w("run_id", s.runID)
		w("tcp_port", portOf(s.Addr()))
		up := time.Since(s.start)
		w("server_time_usec", time.Now().UnixMicro())
		w("uptime_in_seconds", int64(up.Seconds()))
		w("uptime_in_days", int64(up.Hours()/24))
		w("hz", 10)
		w("configured_hz", s.configGet("hz"))
		w("lru_clock", s.ks.Clock())
		exe, _ := os.Executable()
		w("executable", exe)
		w("config_file", "")
		w("io_threads_active", 0)
	case "clients":
		s.mu.Lock()
		n := len(s.clients)
		var pubsub, watching int
		for _, c := range s.clients {
			if isPubSub(c) {
				pubsub++
			}
			if len(c.tx.watched) > 0 {
				watching++
			}
		}
		s.mu.Unlock()
		w("connected_clients", n)
		w("cluster_connections", 0)
		w("maxclients", s.maxClients())
		w("client_recent_max_input_buffer", 0)
		w("client_recent_max_output_buffer", 0)
		w("blocked_clients", s.blockedClients())
		w("tracking_clients", 0)
		w("pubsub_clients", pubsub)
		w("watching_clients", watching)
		w("clients_in_timeout_table", s.blockedClients())
		w("total_watched_keys", len(s.watches))
		w("total_blocking_keys", len(s.blockedOn))
		w("total_blocking_keys_on_nokey", 0)
	case "memory":
		heap, heapTotal, total := memStats()
		r := rss()
		peak := s.peakMemory(int64(heap))
		startup := min(s.startHeap, int64(heap))
		w("used_memory", heap)
		w("used_memory_human", human(int64(heap)))
		w("used_memory_rss", r)
		w("used_memory_rss_human", human(r))
		w("used_memory_peak", peak)
		w("used_memory_peak_human", human(peak))
		w("used_memory_peak_perc", fmt.Sprintf("%.2f%%", 100*float64(heap)/float64(max(peak, 1))))
		w("used_memory_overhead", startup)
		w("used_memory_startup", startup)
		w("used_memory_dataset", int64(heap)-startup)
		w("used_memory_dataset_perc", fmt.Sprintf("%.2f%%", 100*float64(int64(heap)-startup)/float64(max(int64(heap), 1))))
		w("allocator_allocated", heap)
		w("allocator_active", heapTotal)
		w("allocator_resident", total)
		w("total_system_memory", totalSystemMemory())
		w("total_system_memory_human", human(totalSystemMemory()))
		w("maxmemory", s.set.maxMemory.Load())
		w("maxmemory_human", human(s.set.maxMemory.Load()))
		w("maxmemory_policy", s.maxMemoryPolicy())
		w("maxmemory_used_for_eviction", s.usedForEviction())
		if heap > 0 {
			w("mem_fragmentation_ratio", fmt.Sprintf("%.2f", float64(r)/float64(heap)))
			w("mem_fragmentation_bytes", r-int64(heap))
		}
		w("mem_not_counted_for_evict", 0)
		w("mem_replication_backlog", s.repl.BacklogBytes())
		w("mem_clients_slaves", 0)
		w("mem_clients_normal", 0)
		w("mem_aof_buffer", 0)
		w("mem_allocator", "go-"+runtime.Version())
		w("active_defrag_running", 0)
		w("lazyfree_pending_objects", 0)
		w("go_heap_total", heapTotal)
		w("go_runtime_total", total)
	case "persistence":
		w("loading", 0)
		w("async_loading", 0)
		have := map[string]bool{}
		for _, st := range s.engine.Stats() {
			if st.Section == "persistence" {
				w(st.Name, st.Value)
				have[st.Name] = true
			}
		}
		// Engines without snapshots report what Redis reports when it never saved.
		for _, d := range []struct {
			k string
			v any
		}{{"rdb_changes_since_last_save", 0}, {"rdb_bgsave_in_progress", 0}, {"rdb_last_save_time", s.start.Unix()},
			{"rdb_last_bgsave_status", "ok"}, {"rdb_last_bgsave_time_sec", -1}, {"rdb_current_bgsave_time_sec", -1},
			{"rdb_saves", 0}, {"aof_enabled", 0}, {"aof_rewrite_in_progress", 0}, {"aof_rewrite_scheduled", 0},
			{"aof_last_write_status", "ok"}} {
			if !have[d.k] {
				w(d.k, d.v)
			}
		}
	case "stats":
		ch, pat, shard := s.pubsubCounts()
		w("total_connections_received", s.stats.connsReceived.Load())
		w("total_commands_processed", s.stats.commands.Load())
		up := time.Since(s.start).Seconds()
		w("instantaneous_ops_per_sec", s.opsPerSec())
		w("total_net_input_bytes", s.stats.netInput.Load())
		w("total_net_output_bytes", s.stats.netOutput.Load())
		w("rejected_connections", s.stats.rejectedConns.Load())
		w("expired_keys", s.ks.ExpiredKeys.Load())
		w("expired_stale_perc", "0.00")
		w("expired_time_cap_reached_count", 0)
		w("expire_cycle_cpu_milliseconds", s.ks.ExpireCycleMS.Load())
		w("evicted_keys", s.ks.EvictedKeys.Load())
		w("evicted_clients", 0)
		w("keyspace_hits", s.ks.KeyspaceHits.Load())
		w("keyspace_misses", s.ks.KeyspaceMiss.Load())
		w("pubsub_channels", ch)
		w("pubsub_patterns", pat)
		w("pubsubshard_channels", shard)
		w("unexpected_error_replies", 0)
		w("total_error_replies", s.stats.errorReplies.Load())
		w("total_protocol_errors", s.stats.protocolErrors.Load())
		w("client_output_buffer_limit_disconnections", s.stats.outbufDisconnects.Load())
		w("avg_ops_per_sec_since_start", int64(float64(s.stats.commands.Load())/max(up, 1)))
	case "replication":
		s.repl.Info(w)
	case "cpu":
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		w("used_cpu_sys", fmt.Sprintf("%.6f", tv(ru.Stime)))
		w("used_cpu_user", fmt.Sprintf("%.6f", tv(ru.Utime)))
		w("used_cpu_sys_children", "0.000000")
		w("used_cpu_user_children", "0.000000")
		// kvlab's counterpart of Redis's used_cpu_*_main_thread: commands run one at a time under the
		// keyspace lock, so the time it was held is the time spent on the serialized path.
		w("kvlab_exec_lock_held_sec", fmt.Sprintf("%.6f", float64(s.stats.execLockNS.Load())/1e9))
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
	case "cluster":
		if len(infoHooks["cluster"]) == 0 {
			w("cluster_enabled", 0)
		}
	case "keyspace":
		now := time.Now().UnixMilli()
		for i := 0; i < keyspace.NumDBs; i++ {
			db := s.ks.DB(i)
			if db.Len() > 0 {
				fmt.Fprintf(b, "db%d:keys=%d,expires=%d,avg_ttl=%d\r\n", i, db.Len(), db.ExpiresLen(), avgTTL(db, now))
			}
		}
	case "kvlab":
		w("engine", s.engine.Name())
		for _, st := range s.engine.Stats() {
			if st.Section == "kvlab" && st.Name != "engine" {
				w(st.Name, st.Value)
			}
		}
		// The event loop (durable engines on Linux): the connections it watches now, the turns it ran,
		// and how often it gave a connection back to its goroutine.
		clients := 0
		if l := s.loop.Load(); l != nil {
			clients = l.clients()
		}
		w("event_loop_clients", strconv.Itoa(clients))
		w("event_loop_turns", strconv.FormatInt(s.stats.loopTurns.Load(), 10))
		w("event_loop_handbacks", strconv.FormatInt(s.stats.loopHandbacks.Load(), 10))
	}
}

// avgTTL estimates the average remaining TTL (ms) of db's keys with a TTL from a sample, as Redis's
// avg_ttl is an estimate from the expiry cycle's samples (keyspace lock held).
func avgTTL(db *keyspace.DB, now int64) int64 {
	if db.ExpiresLen() == 0 {
		return 0
	}
	var sum, n int64
	for i := 0; i < 32; i++ {
		_, o := db.RandomVolatile()
		if o == nil {
			break
		}
		if o.ExpireAt > now {
			sum += o.ExpireAt - now
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / n
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
