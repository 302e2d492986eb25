package results

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// FormatUS renders microseconds readably ("850µs", "1.25ms", "2.1s").
func FormatUS(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", us/1e6)
	case us >= 1000:
		return fmt.Sprintf("%.2fms", us/1000)
	}
	return fmt.Sprintf("%.0fµs", us)
}

// Show writes a readable summary of r.
func Show(w io.Writer, r *Result) {
	fmt.Fprintf(w, "scenario %s on %s (engine %s)\n", r.Scenario.Name, r.Target.URL, r.Target.Engine)
	mode := "closed loop"
	if r.Config.OpenLoop {
		mode = fmt.Sprintf("open loop at %.0f ops/s, latency from intended start (coordinated-omission corrected)", r.Config.Rate)
	}
	fmt.Fprintf(w, "%s, %d connections, pipeline %d, %s measured after %s warm-up, %s\n",
		mode, r.Config.Connections, r.Config.Pipeline, r.Config.Duration, r.Config.Warmup, r.Start.Format("2006-01-02 15:04:05"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tops/s\tp50\tp90\tp99\tp99.9\tmax\terrors\t")
	rows := append(append([]OpStats{}, r.Ops...), r.Total)
	for i, op := range rows {
		name := op.Name
		if i == len(rows)-1 {
			name = "total"
		}
		l := op.LatencyUS
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%d\t\n", name, op.OpsPerSec, FormatUS(l.P50), FormatUS(l.P90),
			FormatUS(l.P99), FormatUS(l.P999), FormatUS(l.Max), op.Errors)
	}
	tw.Flush()
	if len(r.Errors) > 0 {
		var keys []string
		for k := range r.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%d", k, r.Errors[k]))
		}
		fmt.Fprintf(w, "errors by reply prefix: %s\n", strings.Join(parts, " "))
	}
	s := r.Server
	if s.Keys > 0 || s.UsedMemory > 0 {
		fmt.Fprintf(w, "server: %d keys, used_memory %s (%.0f B/key), peak RSS %s", s.Keys, bytesHuman(s.UsedMemory), s.BytesPerKey, bytesHuman(s.PeakRSS))
		if s.CPUUSPerOp > 0 {
			fmt.Fprintf(w, ", CPU %.2f µs/op", s.CPUUSPerOp)
		}
		if s.EngineUSPerOp > 0 {
			fmt.Fprintf(w, ", engine %.3f µs/op", s.EngineUSPerOp)
		}
		if s.ProcessSharedWithLoadgen {
			fmt.Fprint(w, " (process shared with the load generator)")
		}
		if s.OtherCPUCores > 0 {
			fmt.Fprintf(w, "; other processes used %.2f cores", s.OtherCPUCores)
		}
		fmt.Fprintln(w)
	}
	showCluster(w, r.Cluster)
	for _, slo := range r.SLOs {
		verdict := "met"
		if !slo.Met {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "SLO %s p%g <= %s: %s (%s)\n", slo.Op, slo.Percentile, FormatUS(slo.LimitUS), verdict, sloMeasured(r, slo))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func bytesHuman(n int64) string {
	f := float64(n)
	for _, u := range []string{"B", "KiB", "MiB", "GiB", "TiB"} {
		if f < 1024 || u == "TiB" {
			if u == "B" {
				return fmt.Sprintf("%d B", n)
			}
			return fmt.Sprintf("%.1f %s", f, u)
		}
		f /= 1024
	}
	return ""
}

// CompareTable writes one row per result (engine) and operation: the table kvlab bench prints after a
// multi-engine run.
func CompareTable(w io.Writer, rs []*Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "engine\top\tops/s\tp50\tp99\tp99.9\terrors\tB/key\t")
	for _, r := range rs {
		rows := append(append([]OpStats{}, r.Ops...), r.Total)
		for i, op := range rows {
			name := op.Name
			bpk := ""
			if i == len(rows)-1 {
				name = "total"
				if r.Server.BytesPerKey > 0 {
					bpk = fmt.Sprintf("%.0f", r.Server.BytesPerKey)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%d\t%s\t\n", r.Target.Engine, name, op.OpsPerSec,
				FormatUS(op.LatencyUS.P50), FormatUS(op.LatencyUS.P99), FormatUS(op.LatencyUS.P999), op.Errors, bpk)
		}
	}
	tw.Flush()
}

// showCluster writes the per-shard table of a cluster run.
func showCluster(w io.Writer, c *ClusterStats) {
	if c == nil {
		return
	}
	reads := "primaries"
	if c.ReadFromReplicas {
		reads = "replicas (primaries for shards without one)"
	}
	fmt.Fprintf(w, "cluster: %d shards (slot map from %s), %d connections per shard, reads from %s; redirections: %d MOVED, %d ASK, %d TRYAGAIN; %d slot map loads\n",
		len(c.Shards), c.TopologySource, c.ConnectionsPerShard, reads, c.Moved, c.Ask, c.TryAgain, c.Refreshes)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "shard\tslots\tops\tops/s\tp50\tp99\terrors\tMOVED\tASK\t")
	for _, s := range c.Shards {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\t%s\t%d\t%d\t%d\t\n", s.Primary, s.Slots, s.Count, s.OpsPerSec,
			FormatUS(s.LatencyUS.P50), FormatUS(s.LatencyUS.P99), s.Errors, s.Moved, s.Ask)
	}
	tw.Flush()
}

// sloMeasured says what an SLO was judged on: the measured percentile, or that the operation never ran in
// the measured phase (an SLO without data counts as missed).
func sloMeasured(r *Result, slo SLOResult) string {
	if op := r.Op(slo.Op); op != nil && op.Count == 0 {
		return "no " + slo.Op + " operation was measured"
	}
	return "measured " + FormatUS(slo.MeasuredUS)
}
