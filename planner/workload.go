// Package planner turns a workload (items, sizes, peak reads and writes, growth, availability, durability,
// latency target, region, pricing) and measured results (CPU per operation, bytes per key, p99, access skew)
// into ranked deployments — ElastiCache node types with cluster mode on or off, MemoryDB, data tiering,
// ElastiCache Serverless — each with shards, replicas, utilisation, the binding constraint and monthly cost.
// Every figure says where it came from; Explain prints the arithmetic.
package planner

import (
	"bytes"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// Workload is the user's description of what must be served (planner/README.md documents it).
type Workload struct {
	Name          string  `yaml:"name"`
	Items         int64   `yaml:"items"`
	KeyBytes      float64 `yaml:"key_bytes"`
	ValueBytes    float64 `yaml:"value_bytes"`
	ReadsPerSec   float64 `yaml:"reads_per_sec"`
	WritesPerSec  float64 `yaml:"writes_per_sec"`
	Growth        float64 `yaml:"growth"` // fraction over the horizon, e.g. 0.5 = +50%
	Replicas      int     `yaml:"replicas"`
	MultiAZ       bool    `yaml:"multi_az"`
	Durable       bool    `yaml:"durable"`
	P99TargetMS   float64 `yaml:"p99_target_ms"`
	Connections   int     `yaml:"connections"`
	Region        string  `yaml:"region"`
	Pricing       string  `yaml:"pricing"` // on-demand | reserved-1y | reserved-3y
	Engine        string  `yaml:"engine"`  // valkey | redis
	ReservedShare float64 `yaml:"reserved_memory"`
	TargetUtil    float64 `yaml:"target_utilization"`
	// HotFraction, when set, overrides the measured share of keys receiving 80% of accesses.
	HotFraction float64 `yaml:"hot_fraction"`
	// Measured holds the figures the examples ship with when no result files are given.
	Measured *Measurements `yaml:"measured"`
}

// LoadWorkload reads and validates a workload file.
func LoadWorkload(path string) (*Workload, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("planner: %w", err)
	}
	var w Workload
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("planner: %s: %v", path, err)
	}
	if err := w.validate(path); err != nil {
		return nil, err
	}
	return &w, nil
}

func (w *Workload) validate(path string) error {
	bad := func(field, msg string) error { return fmt.Errorf("planner: %s: %s: %s", path, field, msg) }
	switch {
	case w.Items <= 0:
		return bad("items", "must be a positive number of keys")
	case w.KeyBytes <= 0:
		return bad("key_bytes", "must be positive")
	case w.ValueBytes < 0:
		return bad("value_bytes", "must be >= 0")
	case w.ReadsPerSec < 0 || w.WritesPerSec < 0:
		return bad("reads_per_sec/writes_per_sec", "must be >= 0")
	case w.Growth < 0:
		return bad("growth", "must be >= 0")
	case w.Replicas < 0 || w.Replicas > 5:
		return bad("replicas", "must be 0..5 per shard")
	}
	if w.Region == "" {
		w.Region = "us-east-1"
	}
	if w.Region != "us-east-1" {
		return bad("region", "the catalog holds us-east-1 prices; add others with --profiles")
	}
	switch w.Pricing {
	case "":
		w.Pricing = "on-demand"
	case "on-demand", "reserved-1y", "reserved-3y":
	default:
		return bad("pricing", "on-demand, reserved-1y or reserved-3y")
	}
	switch w.Engine {
	case "":
		w.Engine = "valkey"
	case "valkey", "redis":
	default:
		return bad("engine", "valkey or redis")
	}
	if w.ReservedShare == 0 {
		w.ReservedShare = 0.25
	}
	if w.TargetUtil == 0 {
		w.TargetUtil = 0.8
	}
	if w.ReservedShare < 0 || w.ReservedShare >= 1 || w.TargetUtil <= 0 || w.TargetUtil > 1 {
		return bad("reserved_memory/target_utilization", "fractions in [0, 1)")
	}
	if w.Connections == 0 {
		w.Connections = 1000
	}
	return nil
}
