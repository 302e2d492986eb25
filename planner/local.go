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

// cpuCeiling is the share of CPU a node can really spend on requests: the planner sizes nodes against it,
// and the local prediction uses the same model.
const cpuCeiling = 0.8

// PredictLocal predicts the closed-loop throughput a scenario reaches on this machine from a calibration
// result, with the planner's CPU model: ops/s = cores × 80% × 1e6 / (CPU µs per operation). The calibration's
// CPU per operation covers server and load generator alike when the target was embedded, which is the same
// split as the run being predicted.
func PredictLocal(m Machine, calib *results.Result) (float64, error) {
	cpu := calib.Server.CPUUSPerOp
	if cpu <= 0 {
		return 0, fmt.Errorf("planner: %s has no CPU per operation (run kvlab bench against a target whose INFO reports used_cpu_*)", calib.Scenario.Name)
	}
	return float64(m.Cores) * cpuCeiling * 1e6 / cpu, nil
}

// WriteLocal prints the local prediction with its arithmetic.
func WriteLocal(w io.Writer, m Machine, calib *results.Result) error {
	pred, err := PredictLocal(m, calib)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "this machine: %d cores, %.1f GiB, %s\n", m.Cores, m.MemoryGiB, m.CPUModel)
	fmt.Fprintf(w, "calibration: %s on %s, %.2f µs CPU per operation (%.0f ops/s measured with %d connections)\n",
		calib.Scenario.Name, calib.Target.Engine, calib.Server.CPUUSPerOp, calib.Total.OpsPerSec, calib.Config.Connections)
	fmt.Fprintf(w, "predicted throughput: %d cores × 80%% × 1e6 / %.2f µs = %.0f ops/s\n", m.Cores, calib.Server.CPUUSPerOp, pred)
	return nil
}
