package server

import (
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kvlab/kvlab/keyspace"
)

// LATENCY: the latency monitor and per-command latency histograms.
//
// When latency-monitor-threshold (ms) is set, a command that runs at least that long is recorded as an
// event sample — "command", or "fast-command" for commands flagged fast — keeping, as Redis does, one
// sample per second (the highest) and the last 160 seconds. LATENCY HISTOGRAM reports, per command, the
// calls and a cumulative histogram with power-of-two microsecond buckets, fed by every command (one atomic
// add) as Redis's latency-tracking does.

const latencyHistoryLen = 160

// latencyEvent is the history of one event.
type latencyEvent struct {
	samples [][2]int64 // unix seconds, ms
	max     int64
}

func init() {
	const adm, ld, st = keyspace.FlagAdmin | keyspace.FlagNoScript, keyspace.FlagLoading, keyspace.FlagStale
	keyspace.Register(&keyspace.Command{Name: "latency", Arity: -2, Group: "server", Summary: "A container for latency diagnostics commands.", Since: "2.8.13",
		Subcommands: map[string]*keyspace.Command{
			"latest":    {Name: "latest", Arity: 2, Flags: adm | ld | st, Group: "server", Summary: "Returns the latest latency samples for all events.", Since: "2.8.13", Handler: cmdLatencyLatest},
			"history":   {Name: "history", Arity: 3, Flags: adm | ld | st, Group: "server", Summary: "Returns timestamp-latency samples for an event.", Since: "2.8.13", Handler: cmdLatencyHistory},
			"reset":     {Name: "reset", Arity: -2, Flags: adm | ld | st, Group: "server", Summary: "Resets the latency data for one or more events.", Since: "2.8.13", Handler: cmdLatencyReset},
			"doctor":    {Name: "doctor", Arity: 2, Flags: adm | ld | st, Group: "server", Summary: "Returns a human-readable latency analysis report.", Since: "2.8.13", Handler: cmdLatencyDoctor},
			"histogram": {Name: "histogram", Arity: -2, Flags: adm | ld | st, Group: "server", Summary: "Returns the cumulative distribution of latencies of a subset or all commands.", Since: "7.0.0", Handler: cmdLatencyHistogram},
			"help":      {Name: "help", Arity: 2, Flags: ld | st, Group: "server", Summary: "Returns helpful text about the different subcommands.", Since: "2.8.13", Handler: cmdLatencyHelp},
		}})
}

// latencyRecord adds a sample of event (keyspace lock held, as for every caller).
func (s *Server) latencyRecord(event string, ms int64) {
	s.latMu.Lock()
	defer s.latMu.Unlock()
	if s.latency == nil {
		s.latency = map[string]*latencyEvent{}
	}
	e := s.latency[event]
	if e == nil {
		e = &latencyEvent{}
		s.latency[event] = e
	}
	now := time.Now().Unix()
	if n := len(e.samples); n > 0 && e.samples[n-1][0] == now {
		e.samples[n-1][1] = max(e.samples[n-1][1], ms)
	} else {
		e.samples = append(e.samples, [2]int64{now, ms})
		if len(e.samples) > latencyHistoryLen {
			e.samples = append(e.samples[:0], e.samples[1:]...)
		}
	}
	e.max = max(e.max, ms)
}

func cmdLatencyLatest(x *keyspace.Ctx) {
	s := connOf(x).s
	s.latMu.Lock()
	defer s.latMu.Unlock()
	names := make([]string, 0, len(s.latency))
	for n := range s.latency {
		names = append(names, n)
	}
	sort.Strings(names)
	x.W.Array(len(names))
	for _, name := range names {
		e := s.latency[name]
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
	e := s.latency[string(x.Args[2])]
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
			if _, ok := s.latency[string(a)]; ok {
				delete(s.latency, string(a))
				n++
			}
		}
	} else {
		s.latency = nil
	}
	x.W.Int(int64(n))
}

func cmdLatencyDoctor(x *keyspace.Ctx) {
	s := connOf(x).s
	th := s.set.latencyThreshold.Load()
	var b strings.Builder
	s.latMu.Lock()
	switch {
	case th == 0:
		b.WriteString("kvlab: latency monitoring is disabled. Enable it with CONFIG SET latency-monitor-threshold <milliseconds>.")
	case len(s.latency) == 0:
		b.WriteString("kvlab: no command took " + strconv.FormatInt(th, 10) + " ms or more since the monitor was enabled or reset.")
	default:
		names := make([]string, 0, len(s.latency))
		for n := range s.latency {
			names = append(names, n)
		}
		sort.Strings(names)
		b.WriteString("kvlab: latency spikes of " + strconv.FormatInt(th, 10) + " ms or more:\n")
		for _, n := range names {
			e := s.latency[n]
			var sum int64
			for _, smp := range e.samples {
				sum += smp[1]
			}
			b.WriteString("  " + n + ": " + strconv.Itoa(len(e.samples)) + " samples, average " +
				strconv.FormatInt(sum/int64(len(e.samples)), 10) + " ms, worst " + strconv.FormatInt(e.max, 10) + " ms\n")
		}
		b.WriteString("Commands run one at a time under the keyspace lock: a slow command (large KEYS, SMEMBERS, LRANGE, FLUSHALL) delays every client. See SLOWLOG GET.")
	}
	s.latMu.Unlock()
	x.W.Verbatim("txt", b.String())
}

// histBuckets are the latency histogram's buckets: bucket i counts calls of at most 2^i µs.
const histBuckets = 32

// histBucket returns the bucket of a duration in microseconds.
func histBucket(us int64) int {
	if us <= 1 {
		return 0
	}
	return min(bits.Len64(uint64(us-1)), histBuckets-1)
}

func cmdLatencyHistogram(x *keyspace.Ctx) {
	s := connOf(x).s
	type row struct {
		name string
		st   *commandStats
	}
	var rows []row
	want := map[string]bool{}
	for _, a := range x.Args[2:] {
		want[strings.ToLower(string(a))] = true
	}
	for cmd, st := range s.cmdStats {
		if len(want) > 0 && !want[cmd.FullName()] {
			continue
		}
		if st.calls.Load() > 0 {
			rows = append(rows, row{cmd.FullName(), st})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].name < rows[j].name })
	x.W.Map(len(rows))
	for _, r := range rows {
		x.W.BulkString(r.name)
		x.W.Map(2)
		x.W.BulkString("calls")
		x.W.Int(r.st.calls.Load())
		x.W.BulkString("histogram_usec")
		var counts [histBuckets]int64
		n := 0
		for i := range counts {
			counts[i] = r.st.hist[i].Load()
			if counts[i] > 0 {
				n = i + 1
			}
		}
		nonEmpty := 0
		for i := 0; i < n; i++ {
			if counts[i] > 0 {
				nonEmpty++
			}
		}
		x.W.Map(nonEmpty)
		var cum int64
		for i := 0; i < n; i++ {
			cum += counts[i]
			if counts[i] > 0 {
				x.W.Int(1 << i)
				x.W.Int(cum)
			}
		}
	}
}

func cmdLatencyHelp(x *keyspace.Ctx) {
	writeHelp(x, "LATENCY",
		"DOCTOR",
		"    Return a human readable latency analysis report.",
		"HISTORY <event>",
		"    Return time-latency samples for the <event> class.",
		"LATEST",
		"    Return the latest latency samples for all events.",
		"RESET [<event> ...]",
		"    Reset latency data of one or more <event> classes.",
		"    (default: reset all data for all event classes)",
		"HISTOGRAM [COMMAND ...]",
		"    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
		"    If no commands are specified then all histograms are replied.")
}
