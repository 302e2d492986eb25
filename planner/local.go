package planner

import (
	"fmt"
	"io"
	"runtime"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/mem"

	"github.com/kvlab/kvlab/results"
)

// Machine is this host seen as a node profile (kvlab plan --local).
type Machine struct {
	Cores     int
	MemoryGiB float64
	CPUModel  string
}

// LocalMachine reads this host's cores and memory with gopsutil.
func LocalMachine() Machine {
	m := Machine{Cores: runtime.NumCPU()}
	if n, err := cpu.Counts(true); err == nil && n > 0 {
		m.Cores = n
	}
	if infos, err := cpu.Info(); err == nil && len(infos) > 0 {
		m.CPUModel = infos[0].ModelName
	}
	if vm, err := mem.VirtualMemory(); err == nil {
		m.MemoryGiB = float64(vm.Total) / (1 << 30)
	}
	return m
}

// LocalCapacity is this machine seen as a node with the planner's CPU model (Capacity): its cores, less
// what other processes took during the calibration run; the calibration's CPU per operation; and its
// engine thread time per operation (kvlab's keyspace lock hold time, or a Redis main thread's CPU).
// When the calibration target was embedded, its CPU per operation covers server and load generator alike,
// which is the split of the embedded run being predicted.
func LocalCapacity(m Machine, calib *results.Result) Capacity {
	return Capacity{Cores: float64(m.Cores), OtherCores: calib.Server.OtherCPUCores, CPUUSPerOp: calib.Server.CPUUSPerOp,
		EngineUSPerOp: calib.Server.EngineUSPerOp, Ceiling: cpuCeiling}
}

// PredictLocal predicts the closed-loop throughput the calibration's scenario reaches on this machine with
// the calibration's connection count (CPU and engine time per operation grow with connections, so predict
// a count by calibrating with it): the smaller of the cores bound and the engine thread bound of Capacity.
func PredictLocal(m Machine, calib *results.Result) (float64, Bound, error) {
	if calib.Server.CPUUSPerOp <= 0 {
		return 0, Bound{}, fmt.Errorf("planner: %s has no CPU per operation (run kvlab bench against a target whose INFO reports used_cpu_*)", calib.Scenario.Name)
	}
	ops, b, _ := LocalCapacity(m, calib).OpsPerSec()
	return ops, b, nil
}

// WriteLocal prints the local prediction with its arithmetic and the bound that binds.
func WriteLocal(w io.Writer, m Machine, calib *results.Result) error {
	pred, binding, err := PredictLocal(m, calib)
	if err != nil {
		return err
	}
	s := calib.Server
	fmt.Fprintf(w, "this machine: %d cores, %.1f GiB, %s\n", m.Cores, m.MemoryGiB, m.CPUModel)
	fmt.Fprintf(w, "calibration: %s on %s, %d connections, %s: %.0f ops/s measured\n",
		calib.Scenario.Name, calib.Target.Engine, calib.Config.Connections, calib.Config.Duration, calib.Total.OpsPerSec)
	who := "the server"
	if s.ProcessSharedWithLoadgen {
		who = "server and load generator (one process)"
	}
	fmt.Fprintf(w, "  CPU per op: %.2f µs (%s)\n", s.CPUUSPerOp, who)
	switch s.EngineSource {
	case results.EngineLockHeld:
		fmt.Fprintf(w, "  engine time per op: %.3f µs holding the keyspace lock (INFO kvlab_exec_lock_held_sec)\n", s.EngineUSPerOp)
	case results.EngineMainThread:
		fmt.Fprintf(w, "  engine time per op: %.3f µs of main-thread CPU (INFO used_cpu_*_main_thread)\n", s.EngineUSPerOp)
	default:
		fmt.Fprintf(w, "  engine time per op: not reported by the target (no engine thread bound)\n")
	}
	if s.OtherCPUCores > 0 {
		fmt.Fprintf(w, "  other processes on this machine used %.2f cores during the calibration\n", s.OtherCPUCores)
	}
	if calib.Host.Cores > 0 && calib.Host.Cores != m.Cores {
		fmt.Fprintf(w, "note: the calibration ran on a %d-core host, this machine has %d cores\n", calib.Host.Cores, m.Cores)
	}
	for _, b := range LocalCapacity(m, calib).Bounds() {
		fmt.Fprintf(w, "%s bound: %s\n", b.Name, b.Formula)
	}
	fmt.Fprintf(w, "predicted throughput: %.0f ops/s (the %s bound binds; %d connections, as calibrated)\n", pred, binding.Name, calib.Config.Connections)
	return nil
}
