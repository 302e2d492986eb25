package planner

import (
	"fmt"
	"math"
)

// cpuCeiling is the share of a node's CPU the planner lets requests use: nodes are sized against it, and
// the local prediction uses the same model.
const cpuCeiling = 0.8

// Capacity is the planner's CPU model of one node. Request work (reading, parsing, writing replies) can
// run on every core the server uses, but commands execute one at a time on an engine thread: Redis's and
// Valkey's main thread, kvlab's keyspace lock. A node's throughput is therefore bounded twice:
//
//	cores:  ops/s ≤ min(Ceiling × Cores, Cores − OtherCores) × 1e6 / CPUUSPerOp
//	engine: ops/s ≤ Ceiling × 1e6 / EngineUSPerOp
//
// and the smaller bound binds.
type Capacity struct {
	// Cores are the cores the server's threads can run on.
	Cores float64
	// OtherCores is the CPU other processes take on a shared machine, in cores (0 on a dedicated node).
	OtherCores float64
	// CPUUSPerOp is the CPU one operation costs over every thread, µs.
	CPUUSPerOp float64
	// EngineUSPerOp is the time one operation holds the engine thread, µs; 0 when unknown (no bound).
	EngineUSPerOp float64
	// Ceiling is the share of a core, and of the engine thread, to plan to (cpuCeiling, or a burstable
	// node's baseline).
	Ceiling float64
}

// Bound is one limit on a node's throughput with its arithmetic.
type Bound struct {
	Name      string // "cores" or "engine thread"
	OpsPerSec float64
	Formula   string
}

// Bounds returns the cores bound and, when the engine thread's time per operation is known, the engine
// bound. A zero CPU per operation leaves the cores bound out.
func (c Capacity) Bounds() []Bound {
	var out []Bound
	if c.CPUUSPerOp > 0 {
		usable := c.Ceiling * c.Cores
		why := fmt.Sprintf("%.0f%% × %g cores", c.Ceiling*100, c.Cores)
		if c.OtherCores > 0 {
			left := math.Max(0, c.Cores-c.OtherCores)
			why = fmt.Sprintf("min(%s, %g − %.2f cores other processes used)", why, c.Cores, c.OtherCores)
			usable = math.Min(usable, left)
		}
		ops := usable * 1e6 / c.CPUUSPerOp
		out = append(out, Bound{Name: "cores", OpsPerSec: ops,
			Formula: fmt.Sprintf("%s = %.2f cores × 1e6 / %.2f µs CPU per op = %.0f ops/s", why, usable, c.CPUUSPerOp, ops)})
	}
	if c.EngineUSPerOp > 0 {
		ops := c.Ceiling * 1e6 / c.EngineUSPerOp
		out = append(out, Bound{Name: "engine thread", OpsPerSec: ops,
			Formula: fmt.Sprintf("%.0f%% × 1e6 / %.3f µs engine time per op = %.0f ops/s", c.Ceiling*100, c.EngineUSPerOp, ops)})
	}
	return out
}

// OpsPerSec returns the node's throughput at the ceiling and the bound that sets it; ok is false when
// neither figure is known.
func (c Capacity) OpsPerSec() (ops float64, binding Bound, ok bool) {
	for i, b := range c.Bounds() {
		if i == 0 || b.OpsPerSec < binding.OpsPerSec {
			binding = b
		}
		ok = true
	}
	return binding.OpsPerSec, binding, ok
}
