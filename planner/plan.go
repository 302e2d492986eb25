package planner

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/kvlab/kvlab/nodeprofiles"
	"github.com/kvlab/kvlab/results"
)

// EngineFigures are measured costs of one engine class.
type EngineFigures struct {
	CPUUSPerOp float64 `yaml:"cpu_us_per_op"` // server CPU per operation, µs
	// EngineUSPerOp is a Valkey or Redis main thread's CPU per operation, µs, when measured from one (INFO
	// used_cpu_*_main_thread); 0 means the main thread does all the work, so it equals CPUUSPerOp.
	EngineUSPerOp       float64 `yaml:"engine_us_per_op,omitempty"`
	OverheadBytesPerKey float64 `yaml:"overhead_bytes_per_key"` // memory per key beyond key and value bytes
	P99ReadMS           float64 `yaml:"p99_read_ms"`
	P99WriteMS          float64 `yaml:"p99_write_ms"`
	Source              string  `yaml:"source"`
}

// Measurements are the figures sizing rests on: Cache for ElastiCache (kvlab memory engine), Durable for
// MemoryDB (kvlab wal engine).
type Measurements struct {
	Cache       EngineFigures `yaml:"cache"`
	Durable     EngineFigures `yaml:"durable"`
	HotFraction float64       `yaml:"hot_fraction"`
}

// FromResults derives measurements from result files: memory-engine runs give Cache, wal runs Durable.
func FromResults(rs []*results.Result, fallback *Measurements) (*Measurements, []string) {
	m := Measurements{}
	if fallback != nil {
		m = *fallback
	}
	var notes []string
	for _, r := range rs {
		f := EngineFigures{CPUUSPerOp: r.Server.CPUUSPerOp, Source: fmt.Sprintf("result %s (%s, %s)", r.Scenario.Name, r.Target.Engine, r.Start.Format("2006-01-02 15:04"))}
		if r.Server.EngineSource == results.EngineMainThread {
			// A Redis or Valkey server: its main thread is the engine thread of the nodes being sized. kvlab's
			// keyspace lock time is not: kvlab reads and writes sockets outside it, Valkey's main thread does not.
			f.EngineUSPerOp = r.Server.EngineUSPerOp
		}
		if r.Server.Keys > 0 {
			f.OverheadBytesPerKey = math.Max(0, r.Server.BytesPerKey-r.Scenario.ValueSizeMean-16)
		}
		for _, op := range r.Ops {
			if op.ReadOnly {
				f.P99ReadMS = math.Max(f.P99ReadMS, op.LatencyUS.P99/1000)
			} else {
				f.P99WriteMS = math.Max(f.P99WriteMS, op.LatencyUS.P99/1000)
			}
		}
		if r.Server.ProcessSharedWithLoadgen {
			notes = append(notes, f.Source+": CPU per op includes the embedded load generator (an upper bound)")
		}
		switch r.Target.Engine {
		case "memory", "external":
			m.Cache = f
		case "wal":
			m.Durable = f
		}
		if r.Scenario.HotKeyFraction > 0 {
			m.HotFraction = r.Scenario.HotKeyFraction
		}
	}
	return &m, notes
}

// Candidate is one sized deployment.
type Candidate struct {
	Service     string // ElastiCache, ElastiCache (cluster mode off), MemoryDB, ElastiCache Serverless
	NodeType    string
	Shards      int
	Replicas    int
	Nodes       int
	MemoryUtil  float64 // of usable memory per shard
	CPUUtil     float64
	NetUtil     float64
	MonthlyCost float64
	CostLines   []string
	Binding     string // the constraint that set the shard count
	Feasible    bool
	Why         string // when infeasible
	Estimated   bool   // rests on an estimated price
	Explain     []string
}

const hoursPerMonth = 730

// Plan sizes every candidate and returns them ranked: feasible ones by monthly cost, then the others.
func Plan(w *Workload, m *Measurements, cat *nodeprofiles.Catalog) []Candidate {
	var out []Candidate
	for _, n := range cat.Nodes {
		if n.Service == "elasticache" {
			out = append(out, sizeNode(w, m, cat, n, true))
			if !n.Tiering() {
				out = append(out, sizeNode(w, m, cat, n, false))
			}
		} else {
			out = append(out, sizeNode(w, m, cat, n, true))
		}
	}
	out = append(out, serverless(w, m, cat))
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Feasible != out[j].Feasible {
			return out[i].Feasible
		}
		return out[i].MonthlyCost < out[j].MonthlyCost
	})
	return out
}

func (w *Workload) dataBytes(overhead float64) float64 {
	return float64(w.Items) * (w.KeyBytes + w.ValueBytes + overhead) * (1 + w.Growth)
}

func discount(w *Workload, cat *nodeprofiles.Catalog) float64 {
	switch w.Pricing {
	case "reserved-1y":
		return 1 - cat.ReservedDiscount.OneYear
	case "reserved-3y":
		return 1 - cat.ReservedDiscount.ThreeYear
	}
	return 1
}

func sizeNode(w *Workload, m *Measurements, cat *nodeprofiles.Catalog, n nodeprofiles.Node, clusterMode bool) Candidate {
	c := Candidate{Service: "ElastiCache", NodeType: n.Type, Replicas: w.Replicas, Estimated: n.Estimated}
	figs := m.Cache
	if n.Service == "memorydb" {
		c.Service, figs = "MemoryDB", m.Durable
		if c.Replicas == 0 {
			c.Replicas = 1 // MemoryDB is Multi-AZ: at least one replica per shard
		}
	} else if !clusterMode {
		c.Service = "ElastiCache (cluster mode off)"
	}
	if n.Tiering() {
		c.Service += " data tiering"
	}
	ex := func(format string, a ...any) { c.Explain = append(c.Explain, fmt.Sprintf(format, a...)) }
	ex("figures from %s", figs.Source)
	if n.Service == "elasticache" && w.Durable {
		c.Why = "durability required: ElastiCache acknowledges writes before they are durable (MemoryDB does not)"
		return c
	}
	// Memory.
	data := w.dataBytes(figs.OverheadBytesPerKey)
	ex("data = %d items × (%.0f key + %.0f value + %.0f overhead B) × (1 + %.2f growth) = %.2f GiB",
		w.Items, w.KeyBytes, w.ValueBytes, figs.OverheadBytesPerKey, w.Growth, data/(1<<30))
	reserve := w.ReservedShare
	if n.Tiering() && n.Service == "memorydb" {
		reserve = 0.19 // MemoryDB data tiering reserves 19% of DRAM (S6)
	}
	usable := n.MemoryGiB * (1 << 30) * (1 - reserve) * w.TargetUtil
	capacity := usable
	shardsMem := math.Ceil(data / capacity)
	if n.Tiering() {
		hot := w.HotFraction
		if hot == 0 {
			hot = m.HotFraction
		}
		if hot == 0 || hot > 0.2 {
			c.Why = fmt.Sprintf("data tiering needs a hot set <= 20%% of keys; the access skew gives %.0f%% (set hot_fraction or measure with a skewed scenario)", hot*100)
			return c
		}
		// Keys and metadata stay in RAM, and so should the hot values; cold values live on the SSD.
		keysRAM := float64(w.Items) * (1 + w.Growth) * (w.KeyBytes + figs.OverheadBytesPerKey)
		hotRAM := float64(w.Items) * (1 + w.Growth) * hot * w.ValueBytes
		capacity = usable + n.SSDGiB*(1<<30)*w.TargetUtil
		shardsMem = math.Max(math.Ceil((keysRAM+hotRAM)/usable), math.Ceil(data/capacity))
		ex("tiering: hot fraction %.2f; RAM holds keys %.2f GiB + hot values %.2f GiB; RAM+SSD capacity %.2f GiB per shard",
			hot, keysRAM/(1<<30), hotRAM/(1<<30), capacity/(1<<30))
	}
	ex("usable memory per node = %.2f GiB × (1 − %.0f%% reserved) × %.0f%% target = %.2f GiB → %.0f shard(s) for memory",
		n.MemoryGiB, reserve*100, w.TargetUtil*100, usable/(1<<30), shardsMem)
	// CPU: the node model of capacity.go. Valkey and Redis execute commands on one engine thread (the main
	// thread), which also does the network I/O unless I/O threads take it (from 2xlarge: enhanced I/O
	// multiplexing).
	capa := nodeCapacity(n, figs)
	if strings.HasPrefix(n.Family, "t") {
		ex("burstable %s: sustained CPU is the 20%% baseline, not 80%%", n.Family)
	}
	ex("CPU: engine thread time per op = %s", engineNote(n, figs, capa.EngineUSPerOp))
	perNode, binding, _ := capa.OpsPerSec()
	for _, b := range capa.Bounds() {
		ex("CPU: %s bound: %s", b.Name, b.Formula)
	}
	perShardLoad := w.WritesPerSec + w.ReadsPerSec/float64(1+c.Replicas)
	shardsCPU := math.Ceil(perShardLoad / perNode)
	ex("CPU: %.0f ops/s per node (the %s binds); primaries carry %.0f writes/s + %.0f reads/s ÷ %d nodes per shard → %.0f shard(s)",
		perNode, binding.Name, w.WritesPerSec, w.ReadsPerSec, 1+c.Replicas, shardsCPU)
	// Network: baseline bandwidth, not burst.
	bytesPerOp := w.KeyBytes + w.ValueBytes + 40
	netPerSec := (w.ReadsPerSec/float64(1+c.Replicas) + w.WritesPerSec*float64(1+c.Replicas)) * bytesPerOp
	netCap := n.Net[0] * 1e9 / 8 * 0.8
	shardsNet := math.Ceil(netPerSec / netCap)
	ex("network: %.1f MB/s across primaries (replication included) vs %.2f Gbps baseline at 80%% → %.0f shard(s)", netPerSec/1e6, n.Net[0], shardsNet)
	shardsConn := math.Ceil(float64(w.Connections) / (65000 * float64(1+c.Replicas)))
	shards := math.Max(math.Max(shardsMem, shardsCPU), math.Max(math.Max(shardsNet, shardsConn), 1))
	c.Binding = "memory"
	switch shards {
	case shardsCPU:
		c.Binding = "cpu"
	case shardsNet:
		c.Binding = "network"
	case shardsConn:
		c.Binding = "connections"
	}
	if shards == shardsMem && shardsMem >= math.Max(shardsCPU, shardsNet) {
		c.Binding = "memory"
	}
	if shards == 1 && shardsMem <= 1 && shardsCPU <= 1 && shardsNet <= 1 {
		c.Binding = "none (smallest deployment)"
	}
	c.Shards = int(shards)
	if !clusterMode && c.Shards > 1 {
		c.Why = fmt.Sprintf("cluster mode off allows one shard; %s needs %d", c.Binding, c.Shards)
		return c
	}
	if c.Shards > 500 {
		c.Why = "more than 500 shards"
		return c
	}
	c.Nodes = c.Shards * (1 + c.Replicas)
	c.MemoryUtil = data / (float64(c.Shards) * capacity) * w.TargetUtil
	c.CPUUtil = perShardLoad / float64(c.Shards) / (perNode / capa.Ceiling)
	c.NetUtil = netPerSec / float64(c.Shards) / (n.Net[0] * 1e9 / 8)
	if w.P99TargetMS > 0 {
		p99 := figs.P99ReadMS
		if w.WritesPerSec > 0 {
			p99 = math.Max(p99, figs.P99WriteMS)
		}
		if p99 > w.P99TargetMS {
			c.Why = fmt.Sprintf("measured p99 %.2f ms exceeds the %.2f ms target", p99, w.P99TargetMS)
			return c
		}
	}
	price := n.Price
	if n.Service == "memorydb" && w.Engine == "valkey" {
		price *= 1 - cat.Services.MemoryDB.ValkeyNodeDiscount
	}
	nodeCost := float64(c.Nodes) * price * hoursPerMonth * discount(w, cat)
	c.MonthlyCost = nodeCost
	c.CostLines = append(c.CostLines, fmt.Sprintf("nodes: %d × $%.3f/h × %d h × %.2f (%s) = $%.0f", c.Nodes, price, hoursPerMonth, discount(w, cat), w.Pricing, nodeCost))
	if n.Service == "memorydb" {
		gbWritten := w.WritesPerSec * (w.KeyBytes + w.ValueBytes) * 3600 * hoursPerMonth / 1e9
		rate := cat.Services.MemoryDB.DataWrittenPerGB[w.Engine]
		billable := gbWritten
		if w.Engine == "valkey" {
			billable = math.Max(0, gbWritten-cat.Services.MemoryDB.ValkeyFreeGBMonth)
		}
		written := billable * rate
		snap := data / (1 << 30) * cat.Services.MemoryDB.SnapshotGBMonth
		c.MonthlyCost += written + snap
		c.CostLines = append(c.CostLines, fmt.Sprintf("data written: %.0f GB/month (%.0f billable) × $%.2f = $%.0f", gbWritten, billable, rate, written),
			fmt.Sprintf("snapshot storage: %.1f GB × $%.3f = $%.0f", data/(1<<30), cat.Services.MemoryDB.SnapshotGBMonth, snap))
	}
	c.Feasible = true
	return c
}

// enhancedIOFactor is how much of a Valkey main thread's per-operation work remains on it when I/O threads
// take the socket reads and writes (ElastiCache enhanced I/O multiplexing, nodes with 8 vCPUs or more):
// the engine thread time per operation is divided by it.
const enhancedIOFactor = 2.5

// nodeCapacity is the CPU model of an AWS node running Valkey or Redis: every vCPU for request work, one
// engine thread for commands, planned to 80% (a burstable node's 20% baseline).
func nodeCapacity(n nodeprofiles.Node, figs EngineFigures) Capacity {
	cpu := figs.CPUUSPerOp
	if cpu <= 0 {
		cpu = 10
	}
	engine := figs.EngineUSPerOp
	if engine <= 0 {
		engine = cpu
	}
	if n.VCPU >= 8 {
		engine /= enhancedIOFactor
	}
	ceiling := cpuCeiling
	if strings.HasPrefix(n.Family, "t") {
		// Burstable nodes sustain only their baseline (20% of a vCPU for t4g); bursts run on credits.
		ceiling = 0.2
	}
	return Capacity{Cores: float64(n.VCPU), CPUUSPerOp: cpu, EngineUSPerOp: engine, Ceiling: ceiling}
}

// engineNote explains where a node's engine thread time per operation comes from.
func engineNote(n nodeprofiles.Node, figs EngineFigures, engine float64) string {
	src := fmt.Sprintf("the CPU per op, %.2f µs (the main thread does the network I/O too)", figs.CPUUSPerOp)
	if figs.CPUUSPerOp <= 0 {
		src = "10.00 µs (no measured CPU per op)"
	}
	if figs.EngineUSPerOp > 0 {
		src = fmt.Sprintf("the main thread's CPU per op, %.2f µs", figs.EngineUSPerOp)
	}
	if n.VCPU >= 8 {
		return fmt.Sprintf("%s ÷ %.1f (enhanced I/O multiplexing: I/O threads take the socket work) = %.2f µs", src, enhancedIOFactor, engine)
	}
	return src
}

func serverless(w *Workload, m *Measurements, cat *nodeprofiles.Catalog) Candidate {
	c := Candidate{Service: "ElastiCache Serverless", NodeType: "serverless (" + w.Engine + ")"}
	if w.Durable {
		c.Why = "durability required: Serverless is a cache"
		return c
	}
	p := cat.Services.Serverless.Valkey
	if w.Engine == "redis" {
		p = cat.Services.Serverless.Redis
	}
	gb := math.Max(w.dataBytes(m.Cache.OverheadBytesPerKey)/1e9, p.MinGB)
	ecpuPerOp := math.Max(1, (w.KeyBytes+w.ValueBytes)/1024)
	ecpuPerSec := (w.ReadsPerSec + w.WritesPerSec) * ecpuPerOp
	if gb > cat.Services.Serverless.MaxGB || ecpuPerSec > cat.Services.Serverless.MaxECPUPerSec {
		c.Why = "beyond a Serverless cache's limits (5,000 GB, 15M ECPU/s)"
		return c
	}
	storage := gb * p.GBHour * hoursPerMonth
	ecpu := ecpuPerSec * 3600 * hoursPerMonth / 1e6 * p.MillionECPU
	c.MonthlyCost = storage + ecpu
	c.CostLines = []string{fmt.Sprintf("storage: %.2f GB × $%.3f/GB-h × %d h = $%.0f (%s)", gb, p.GBHour, hoursPerMonth, storage, p.Source),
		fmt.Sprintf("ECPU: %.0f/s × %d h × 3600 s / 1e6 × $%.4f = $%.0f (1 ECPU per KB transferred)", ecpuPerSec, hoursPerMonth, p.MillionECPU, ecpu)}
	c.Binding = "usage-billed"
	c.Feasible = true
	return c
}

// Describe is a one-line summary of a candidate.
func (c Candidate) Describe() string {
	if !c.Feasible {
		return fmt.Sprintf("%s %s: not feasible: %s", c.Service, c.NodeType, c.Why)
	}
	est := ""
	if c.Estimated {
		est = " (estimated price)"
	}
	return fmt.Sprintf("%s %s × %d shard(s) × %d node(s)/shard = %d nodes, $%.0f/month%s, bound by %s",
		c.Service, c.NodeType, c.Shards, 1+c.Replicas, c.Nodes, c.MonthlyCost, est, c.Binding)
}
