// Package results defines kvlab's result file: a versioned JSON document that records what a benchmark run
// measured (per-operation throughput, latency percentiles and the full HDR histograms, a per-second
// timeline, errors by reply prefix, server figures sampled during the run, and the host). The planner sizes
// deployments from these files and the gate compares them; the schema is written down in README.md.
package results

import (
	"encoding/base64"
	"fmt"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// SchemaVersion is the version written in every file; Load rejects other versions.
const SchemaVersion = 1

// Kind identifies a kvlab result file.
const Kind = "kvlab.result"

// Histogram bounds shared by every recorder: 1 µs .. 60 s with 3 significant digits.
const (
	HistMinUS  = 1
	HistMaxUS  = 60_000_000
	HistDigits = 3
)

// Histogram is the HdrHistogram type results use (microseconds).
type Histogram = hdrhistogram.Histogram

// NewHistogram returns a histogram with the shared bounds.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(HistMinUS, HistMaxUS, HistDigits)
}

// Result is one run of one scenario against one target.
type Result struct {
	Schema   int          `json:"schema"`
	Kind     string       `json:"kind"`
	Scenario ScenarioInfo `json:"scenario"`
	Target   TargetInfo   `json:"target"`
	Config   RunConfig    `json:"config"`
	Start    time.Time    `json:"start"`
	End      time.Time    `json:"end"`
	// Ops holds one entry per scenario operation, in the scenario's order.
	Ops []OpStats `json:"ops"`
	// Total aggregates every operation.
	Total    OpStats          `json:"total"`
	Timeline []TimelinePoint  `json:"timeline"`
	Errors   map[string]int64 `json:"errors"`
	Server   ServerStats      `json:"server"`
	Host     HostInfo         `json:"host"`
	SLOs     []SLOResult      `json:"slos,omitempty"`
	Repeat   *RepeatInfo      `json:"repeat,omitempty"`
	// Notes are statements a reader must know to interpret the figures (e.g. coordinated-omission
	// correction, a load generator sharing the process with the server).
	Notes []string `json:"notes,omitempty"`
	// Cluster holds the per-shard figures of a cluster run (kvlab bench --cluster); absent otherwise.
	Cluster *ClusterStats `json:"cluster,omitempty"`
}

// ClusterStats describes a run against a Redis cluster.
type ClusterStats struct {
	// TopologySource is the command the slot map came from: "CLUSTER SHARDS" or "CLUSTER SLOTS".
	TopologySource string `json:"topology_source"`
	// ReadFromReplicas is true when read-only operations went to replicas (READONLY connections).
	ReadFromReplicas bool `json:"read_from_replicas"`
	// ConnectionsPerShard is the number of connections to each shard primary (config.connections).
	ConnectionsPerShard int `json:"connections_per_shard"`
	// Moved and Ask count the redirections the load generator followed in the measured phase.
	Moved int64 `json:"moved"`
	Ask   int64 `json:"ask"`
	// TryAgain counts re-sent operations a migrating slot answered -TRYAGAIN.
	TryAgain int64 `json:"tryagain"`
	// Refreshes counts slot map loads (the first one included).
	Refreshes int64 `json:"refreshes"`
	// Shards holds one entry per shard, by primary address.
	Shards []ShardStats `json:"shards"`
}

// ShardStats are the figures of one shard: the operations it served (on its primary and replicas) and the
// redirections its nodes answered with.
type ShardStats struct {
	Primary   string   `json:"primary"` // host:port
	Replicas  []string `json:"replicas,omitempty"`
	Slots     int      `json:"slots"`
	Count     int64    `json:"count"`
	Errors    int64    `json:"errors"`
	OpsPerSec float64  `json:"ops_per_sec"`
	LatencyUS Latency  `json:"latency_us"`
	Histogram string   `json:"histogram"`
	Moved     int64    `json:"moved"`
	Ask       int64    `json:"ask"`
	TryAgain  int64    `json:"tryagain"`
}

// ScenarioInfo describes the workload that ran.
type ScenarioInfo struct {
	Name          string            `json:"name"`
	File          string            `json:"file,omitempty"`
	Description   string            `json:"description,omitempty"`
	Parameters    map[string]string `json:"parameters,omitempty"`
	KeyCount      int64             `json:"key_count"`
	ValueSizeMean float64           `json:"value_size_mean"`
	// ReadFraction is the share of operations that only read (for the planner).
	ReadFraction float64 `json:"read_fraction"`
	// HotKeyFraction is the smallest share of keys that receives 80% of accesses, derived from the key
	// distributions (for the planner's data-tiering decision).
	HotKeyFraction float64 `json:"hot_key_fraction"`
}

// TargetInfo describes where the load went.
type TargetInfo struct {
	URL     string `json:"url"`
	Engine  string `json:"engine"` // memory | wal | tiered | external
	Cluster bool   `json:"cluster"`
	TLS     bool   `json:"tls"`
}

// RunConfig records the load generator's settings.
type RunConfig struct {
	Connections int     `json:"connections"`
	Pipeline    int     `json:"pipeline"`
	Threads     int     `json:"threads"`
	Rate        float64 `json:"rate"` // ops/s; 0 = closed loop
	Duration    string  `json:"duration"`
	Warmup      string  `json:"warmup"`
	Seed        int64   `json:"seed"`
	OpenLoop    bool    `json:"open_loop"`
	// COCorrected is true when latencies are measured from each operation's intended start (open loop).
	COCorrected bool `json:"co_corrected"`
	// IO is the load generator's I/O mode: "eventloop" or "goroutines" (empty in older results).
	IO string `json:"io,omitempty"`
}

// Latency holds percentiles in microseconds.
type Latency struct {
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	P9999 float64 `json:"p9999"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// OpStats are the figures of one operation (or of all, in Total).
type OpStats struct {
	Name      string  `json:"name"`
	Count     int64   `json:"count"`
	Errors    int64   `json:"errors"`
	OpsPerSec float64 `json:"ops_per_sec"`
	// ReadOnly marks operations that do not write (the planner's read/write split).
	ReadOnly  bool    `json:"read_only"`
	LatencyUS Latency `json:"latency_us"`
	// Histogram is hdrhistogram-go's compressed encoding, base64; values are microseconds.
	Histogram string `json:"histogram"`
}

// TimelinePoint is one second of the measured phase.
type TimelinePoint struct {
	T         int     `json:"t"` // seconds since the measured phase began
	OpsPerSec float64 `json:"ops_per_sec"`
	P50US     float64 `json:"p50_us"`
	P99US     float64 `json:"p99_us"`
	Errors    int64   `json:"errors"`
	// UsedMemory and RSS are the server's at that second, when sampled.
	UsedMemory int64 `json:"used_memory,omitempty"`
	RSS        int64 `json:"rss,omitempty"`
}

// ServerSample is one sample of the server's figures.
type ServerSample struct {
	T          float64 `json:"t"` // seconds since the measured phase began (negative during preload/warm-up)
	UsedMemory int64   `json:"used_memory"`
	RSS        int64   `json:"rss"`
	Keys       int64   `json:"keys"`
	Clients    int64   `json:"clients"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

// Values of ServerStats.EngineSource.
const (
	// EngineLockHeld: kvlab's keyspace lock hold time (INFO cpu kvlab_exec_lock_held_sec). Network I/O
	// runs outside it, on every core.
	EngineLockHeld = "kvlab_exec_lock_held_sec"
	// EngineMainThread: the CPU of Redis's or Valkey's main thread (INFO cpu used_cpu_user_main_thread +
	// used_cpu_sys_main_thread), which does the network I/O too unless io-threads are enabled.
	EngineMainThread = "used_cpu_main_thread"
)

// ServerStats summarises the server during the measured phase.
type ServerStats struct {
	Samples    []ServerSample `json:"samples"`
	PeakRSS    int64          `json:"peak_rss"`
	UsedMemory int64          `json:"used_memory"`
	Keys       int64          `json:"keys"`
	// BytesPerKey is used_memory / keys at the end of the run.
	BytesPerKey float64 `json:"bytes_per_key"`
	// CPUSeconds is the server process's CPU time during the measured phase (0 when unknown).
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUUSPerOp is CPUSeconds per operation, in microseconds.
	CPUUSPerOp float64 `json:"cpu_us_per_op"`
	// ExecUSPerOp is the time the server spent executing commands per operation (INFO commandstats),
	// excluding network I/O: a lower bound of the engine's CPU cost.
	ExecUSPerOp float64 `json:"exec_us_per_op"`
	// EngineSeconds is the time the server spent on its serialized command path during the measured phase:
	// the keyspace lock's hold time for kvlab (INFO kvlab_exec_lock_held_sec), the main thread's CPU for
	// Redis and Valkey (used_cpu_*_main_thread); 0 when the server reports neither.
	EngineSeconds float64 `json:"engine_seconds,omitempty"`
	// EngineUSPerOp is EngineSeconds per operation, in microseconds: what one operation costs the engine
	// thread, which no amount of cores shares out (the planner's serialized-execution bound).
	EngineUSPerOp float64 `json:"engine_us_per_op,omitempty"`
	// EngineSource names what EngineSeconds measured: EngineLockHeld or EngineMainThread.
	EngineSource string `json:"engine_source,omitempty"`
	// ProcessSharedWithLoadgen is true for embedded targets: CPU and RSS include the load generator.
	ProcessSharedWithLoadgen bool `json:"process_shared_with_loadgen"`
	// OtherCPUCores is the CPU other processes of the machine used during the measured phase, in cores
	// (embedded targets only: the machine's busy time from /proc/stat minus this process's): what a shared
	// machine did not leave to the run.
	OtherCPUCores float64 `json:"other_cpu_cores,omitempty"`
}

// HostInfo describes the machine that ran the benchmark.
type HostInfo struct {
	CPUModel     string `json:"cpu_model"`
	Cores        int    `json:"cores"`
	MemoryBytes  uint64 `json:"memory_bytes"`
	OS           string `json:"os"`
	GoVersion    string `json:"go_version"`
	KvlabVersion string `json:"kvlab_version"`
	GitCommit    string `json:"git_commit"`
}

// SLOResult reports one SLO of the scenario.
type SLOResult struct {
	Op         string  `json:"op"`
	Percentile float64 `json:"percentile"`
	LimitUS    float64 `json:"limit_us"`
	MeasuredUS float64 `json:"measured_us"`
	Met        bool    `json:"met"`
}

// RepeatInfo places a run among interleaved repetitions (kvlab bench --repeat).
type RepeatInfo struct {
	Index int `json:"index"`
	Of    int `json:"of"`
}

// EncodeHistogram returns the base64 compressed encoding of h.
func EncodeHistogram(h *hdrhistogram.Histogram) (string, error) {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("results: encode histogram: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// DecodeHistogram decodes OpStats.Histogram.
func DecodeHistogram(s string) (*hdrhistogram.Histogram, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("results: decode histogram: %w", err)
	}
	h, err := hdrhistogram.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("results: decode histogram: %w", err)
	}
	return h, nil
}

// LatencyOf returns the percentiles of h (microseconds).
func LatencyOf(h *hdrhistogram.Histogram) Latency {
	return Latency{
		P50: float64(h.ValueAtPercentile(50)), P90: float64(h.ValueAtPercentile(90)),
		P99: float64(h.ValueAtPercentile(99)), P999: float64(h.ValueAtPercentile(99.9)),
		P9999: float64(h.ValueAtPercentile(99.99)), Max: float64(h.Max()), Mean: h.Mean(),
	}
}

// FillOp sets the count, percentiles and encoded histogram of op from h; seconds is the measured time.
func FillOp(op *OpStats, h *hdrhistogram.Histogram, seconds float64) error {
	op.Count = h.TotalCount()
	if seconds > 0 {
		op.OpsPerSec = float64(op.Count) / seconds
	}
	op.LatencyUS = LatencyOf(h)
	enc, err := EncodeHistogram(h)
	if err != nil {
		return err
	}
	op.Histogram = enc
	return nil
}

// Op returns the named operation's stats, or nil.
func (r *Result) Op(name string) *OpStats {
	for i := range r.Ops {
		if r.Ops[i].Name == name {
			return &r.Ops[i]
		}
	}
	return nil
}
