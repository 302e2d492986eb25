package planner

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvlab/kvlab/nodeprofiles"
	"github.com/kvlab/kvlab/results"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testCatalog is small and round so the expected figures can be worked out by hand.
const testCatalog = `read_at: "test"
sources: {T: test}
reserved_discount: {one_year: 0.3, three_year: 0.5, source: T}
services:
  memorydb: {data_written_per_gb: {redis: 0.2, valkey: 0.04}, valkey_free_written_gb_month: 0, snapshot_gb_month: 0.1, valkey_node_discount: 0, source: T}
  serverless:
    valkey: {gb_hour: 0.1, million_ecpu: 0.002, min_gb: 0.1, source: T}
    redis: {gb_hour: 0.1, million_ecpu: 0.002, min_gb: 1, source: T}
    max_gb: 5000
    max_ecpu_per_sec: 15000000
nodes:
  - {service: elasticache, type: cache.small, family: x, vcpu: 2, memory_gib: 10, net: [1, 10], price: 0.1, source: T}
  - {service: elasticache, type: cache.tier, family: d, vcpu: 2, memory_gib: 10, ssd_gib: 40, net: [1, 10], price: 0.15, source: T}
  - {service: memorydb, type: db.small, family: x, vcpu: 2, memory_gib: 10, net: [1, 10], price: 0.2, source: T}
`

func cat(t *testing.T) *nodeprofiles.Catalog {
	t.Helper()
	c, err := nodeprofiles.Parse("test", []byte(testCatalog))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// figures: 10 µs/op → 80,000 ops/s per node at 80%; 0 overhead so data = items × (key + value).
var figs = &Measurements{Cache: EngineFigures{CPUUSPerOp: 10, Source: "test"}, Durable: EngineFigures{CPUUSPerOp: 10, Source: "test"}}

func base() *Workload {
	w := &Workload{Name: "t", Items: 1000, KeyBytes: 10, ValueBytes: 90, ReadsPerSec: 100, WritesPerSec: 100, Connections: 10}
	if err := w.validate("t"); err != nil {
		panic(err)
	}
	return w
}

func find(cs []Candidate, service, node string) Candidate {
	for _, c := range cs {
		if c.Service == service && c.NodeType == node {
			return c
		}
	}
	return Candidate{}
}

func TestBindingConstraints(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mutate  func(w *Workload)
		shards  int
		binding string
	}{
		// usable = 10 GiB × 0.75 × 0.8 = 6 GiB; 20 GiB of data (200M × 100 B ≈ 18.6 GiB) → 4 shards.
		{"memory-bound", func(w *Workload) { w.Items = 200_000_000 }, 4, "memory"},
		// 200,000 writes/s ÷ 80,000 per node → 3 shards (2.5 rounded up).
		{"cpu-bound", func(w *Workload) { w.WritesPerSec = 200_000 }, 3, "cpu"},
		// 1 Gbps × 0.8 = 100 MB/s per node; 20,000 writes/s × 10,040 B ≈ 201 MB/s → 3 shards (CPU needs 1).
		{"network-bound", func(w *Workload) { w.ValueBytes = 10_000; w.WritesPerSec = 20_000 }, 3, "network"},
		// 65,000 connections per node, no replicas: 200,000 connections → 4 shards.
		{"connection-bound", func(w *Workload) { w.Connections = 200_000 }, 4, "connections"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := base()
			tc.mutate(w)
			c := find(Plan(w, figs, cat(t)), "ElastiCache", "cache.small")
			if !c.Feasible || c.Shards != tc.shards || c.Binding != tc.binding {
				t.Fatalf("got %d shards bound by %q (%s), want %d by %q\n%s", c.Shards, c.Binding, c.Why, tc.shards, tc.binding, strings.Join(c.Explain, "\n"))
			}
		})
	}
}

func TestDurabilityForcesMemoryDB(t *testing.T) {
	w := base()
	w.Durable = true
	cs := Plan(w, figs, cat(t))
	if !strings.HasPrefix(cs[0].Service, "MemoryDB") {
		t.Fatalf("top = %s", cs[0].Describe())
	}
	for _, c := range cs {
		if c.Feasible && !strings.HasPrefix(c.Service, "MemoryDB") {
			t.Fatalf("%s feasible for a durable workload", c.Describe())
		}
	}
	md := find(cs, "MemoryDB", "db.small")
	// MemoryDB keeps one replica per shard: 2 nodes × $0.2 × 730 h = $292, plus data written:
	// 100 writes/s × 100 B × 3600 × 730 / 1e9 = 26.28 GB × $0.04 = $1.05 (the snapshot rounds to $0).
	if md.Nodes != 2 || md.MonthlyCost < 293.0 || md.MonthlyCost > 293.1 {
		t.Fatalf("MemoryDB: %s", md.Describe())
	}
}

func TestServerlessCheaperForSmallSpikyLoad(t *testing.T) {
	w := base() // 100 KB of data, 200 ops/s
	cs := Plan(w, figs, cat(t))
	if cs[0].Service != "ElastiCache Serverless" {
		t.Fatalf("top = %s", cs[0].Describe())
	}
	// storage: 0.1 GB minimum × $0.1 × 730 = $7.30; ECPU: 200/s × 3600 × 730 / 1e6 × $0.002 = $1.05.
	if got := cs[0].MonthlyCost; got < 8.3 || got > 8.4 {
		t.Fatalf("serverless cost $%.2f, want $8.35", got)
	}
}

func TestTieringCheaperForLargeColdData(t *testing.T) {
	w := base()
	w.Items = 400_000_000 // ~37 GiB: 7 cache.small shards ($511) vs 1 tiering node ($110)
	w.HotFraction = 0.1
	cs := Plan(w, figs, cat(t))
	if cs[0].Service != "ElastiCache data tiering" || cs[0].Shards != 2 {
		t.Fatalf("top = %s", cs[0].Describe())
	}
	w.HotFraction = 0.5
	if c := find(Plan(w, figs, cat(t)), "ElastiCache data tiering", "cache.tier"); c.Feasible {
		t.Fatal("tiering with a 50% hot set must not be offered")
	}
}

func TestInvalidWorkloads(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ body, field string }{
		{"items: 0\nkey_bytes: 1\n", "items"},
		{"items: 1\nkey_bytes: 0\n", "key_bytes"},
		{"items: 1\nkey_bytes: 1\nreplicas: 9\n", "replicas"},
		{"items: 1\nkey_bytes: 1\npricing: spot\n", "pricing"},
		{"items: 1\nkey_bytes: 1\nitemz: 3\n", "itemz"},
	} {
		p := filepath.Join(dir, "w.yaml")
		os.WriteFile(p, []byte(tc.body), 0o644)
		if _, err := LoadWorkload(p); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%q: %v", tc.body, err)
		}
	}
}

// TestGoldenOutputs pins the table, Markdown, JSON and Terraform outputs for the shipped iot example
// (go test ./planner -run Golden -update).
func TestGoldenOutputs(t *testing.T) {
	w, err := LoadWorkload("examples/iot-fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := nodeprofiles.Default()
	if err != nil {
		t.Fatal(err)
	}
	cs := Plan(w, w.Measured, c)
	outs := map[string]func(*bytes.Buffer) error{
		"iot-fleet.table": func(b *bytes.Buffer) error { WriteTable(b, w, cs, 5, true, nil, c.ReadAt); return nil },
		"iot-fleet.md":    func(b *bytes.Buffer) error { WriteMarkdown(b, w, cs, 5); return nil },
		"iot-fleet.json":  func(b *bytes.Buffer) error { return WriteJSON(b, cs[:3]) },
		"iot-fleet.tf":    func(b *bytes.Buffer) error { return WriteTerraform(b, w, cs) },
	}
	for name, f := range outs {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", name)
		if *update {
			os.WriteFile(golden, b.Bytes(), 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if b.String() != string(want) {
			t.Errorf("%s differs:\n%s", name, b.String())
		}
	}
}

func TestPredictLocal(t *testing.T) {
	for _, tc := range []struct {
		name               string
		cpu, engine, other float64
		want               float64
		binding            string
	}{
		// 2 cores × 0.8 × 1e6 / 16 µs = 100,000 ops/s; no engine figure, so no engine bound.
		{name: "cores only", cpu: 16, want: 100000, binding: "cores"},
		// cores: 1.6 × 1e6 / 16 = 100,000; engine: 0.8 × 1e6 / 2 µs = 400,000 → cores bind.
		{name: "cores bind", cpu: 16, engine: 2, want: 100000, binding: "cores"},
		// cores: 1.6 × 1e6 / 4 = 400,000; engine: 0.8 × 1e6 / 4 µs = 200,000 → the engine thread binds
		// (as for Redis: one thread, however many cores).
		{name: "engine binds", cpu: 4, engine: 4, want: 200000, binding: "engine thread"},
		// Other processes took 0.9 core: min(1.6, 2 − 0.9) = 1.1 cores × 1e6 / 11 µs = 100,000.
		{name: "shared machine", cpu: 11, engine: 1, other: 0.9, want: 100000, binding: "cores"},
		// Other processes took 0.3 core: min(1.6, 1.7) = 1.6 cores → the ceiling still binds: 1.6e6 / 8 = 200,000.
		{name: "light neighbours", cpu: 8, other: 0.3, want: 200000, binding: "cores"},
	} {
		calib := &results.Result{Scenario: results.ScenarioInfo{Name: "s"}}
		calib.Server.CPUUSPerOp, calib.Server.EngineUSPerOp, calib.Server.OtherCPUCores = tc.cpu, tc.engine, tc.other
		got, b, err := PredictLocal(Machine{Cores: 2}, calib)
		if err != nil || math.Abs(got-tc.want) > 1e-6 || b.Name != tc.binding {
			t.Errorf("%s: PredictLocal = %v, %q, %v; want %v bound by %s", tc.name, got, b.Name, err, tc.want, tc.binding)
		}
	}
	calib := &results.Result{Scenario: results.ScenarioInfo{Name: "s"}}
	calib.Server.EngineUSPerOp = 1
	if _, _, err := PredictLocal(Machine{Cores: 2}, calib); err == nil {
		t.Fatal("a result without CPU per operation must be refused")
	}
}

func TestWriteLocalNamesTheBinding(t *testing.T) {
	calib := &results.Result{Scenario: results.ScenarioInfo{Name: "s"}, Config: results.RunConfig{Connections: 50, Duration: "4s"}}
	calib.Server = results.ServerStats{CPUUSPerOp: 4, EngineUSPerOp: 4, EngineSource: results.EngineLockHeld, ProcessSharedWithLoadgen: true}
	var b bytes.Buffer
	if err := WriteLocal(&b, Machine{Cores: 2}, calib); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"cores bound: 80% × 2 cores = 1.60 cores × 1e6 / 4.00 µs CPU per op = 400000 ops/s",
		"engine thread bound: 80% × 1e6 / 4.000 µs engine time per op = 200000 ops/s",
		"predicted throughput: 200000 ops/s (the engine thread bound binds; 50 connections, as calibrated)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
}

// TestNodeCapacity pins the AWS node model: one engine thread whose time per operation is the measured CPU
// per operation (÷ 2.5 with enhanced I/O from 8 vCPUs), every vCPU for the cores bound, 20% on burstables.
func TestNodeCapacity(t *testing.T) {
	for _, tc := range []struct {
		node    nodeprofiles.Node
		figs    EngineFigures
		want    float64
		binding string
	}{
		// engine: 0.8 × 1e6 / 24 = 33,333; cores: 2 × 0.8 × 1e6 / 24 = 66,667.
		{nodeprofiles.Node{Type: "r", Family: "r6g", VCPU: 2}, EngineFigures{CPUUSPerOp: 24}, 1e6 * 0.8 / 24, "engine thread"},
		// engine: 24 / 2.5 = 9.6 µs → 83,333; cores: 8 × 0.8 × 1e6 / 24 = 266,667.
		{nodeprofiles.Node{Type: "r", Family: "r6g", VCPU: 8}, EngineFigures{CPUUSPerOp: 24}, 1e6 * 0.8 / 9.6, "engine thread"},
		// burstable: engine 0.2 × 1e6 / 24 = 8,333.
		{nodeprofiles.Node{Type: "t", Family: "t4g", VCPU: 2}, EngineFigures{CPUUSPerOp: 24}, 1e6 * 0.2 / 24, "engine thread"},
		// a measured main thread: engine 0.8 × 1e6 / 5 = 160,000; cores 2 × 0.8 × 1e6 / 20 = 80,000.
		{nodeprofiles.Node{Type: "r", Family: "r6g", VCPU: 2}, EngineFigures{CPUUSPerOp: 20, EngineUSPerOp: 5}, 80000, "cores"},
	} {
		got, b, ok := nodeCapacity(tc.node, tc.figs).OpsPerSec()
		if !ok || math.Abs(got-tc.want) > 1e-6 || b.Name != tc.binding {
			t.Errorf("%+v %+v: %v bound by %q, want %v by %s", tc.node, tc.figs, got, b.Name, tc.want, tc.binding)
		}
	}
}
