// Package benchrun is what `kvlab bench` does: it resolves the target (an embedded kvlab engine started
// in-process on a loopback port with a temporary data directory, or any redis:// / rediss:// endpoint),
// runs the scenario with the load generator, samples the server while it runs, evaluates the scenario's
// SLOs, writes result files and prints a comparison table. With several engines and --repeat it
// interleaves the candidates (A B A B ...) so machine drift hits all of them alike.
package benchrun

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/mem"

	_ "github.com/kvlab/kvlab/engines/all" // every engine, for embedded targets
	"github.com/kvlab/kvlab/loadgen"
	"github.com/kvlab/kvlab/results"
	"github.com/kvlab/kvlab/scenarios"
	"github.com/kvlab/kvlab/server"
)

// Config is one `kvlab bench` invocation.
type Config struct {
	// Scenario is a built-in name or a file path.
	Scenario string
	// Target is "embedded:ENGINE", "redis://..." or "rediss://...". Engines, when set, runs embedded:E for
	// each E in turn.
	Target  string
	Engines []string
	// Load holds the load generator settings (its Target is filled here).
	Load        loadgen.Config
	TLSCA       string
	TLSInsecure bool
	// OutFile is the result path for a single run; OutDir receives one file per run.
	OutFile, OutDir string
	Repeat          int
	// Out receives the summary and the comparison table; Log receives the embedded servers' logs.
	Out, Log io.Writer
	// KvlabVersion and GitCommit are recorded in the results.
	KvlabVersion, GitCommit string
	// MaxMemory and EngineOptions configure embedded engines.
	MaxMemory     int64
	EngineOptions map[string]string
}

// Skipped records an engine that could not run and why.
type Skipped struct {
	Engine string
	Reason string
}

// Run executes the benchmark and returns the results written.
func Run(ctx context.Context, cfg Config) ([]*results.Result, []Skipped, error) {
	sc, err := scenarios.Load(cfg.Scenario)
	if err != nil {
		return nil, nil, err
	}
	applyDefaults(sc, &cfg)
	targets := []string{cfg.Target}
	if len(cfg.Engines) > 0 {
		targets = nil
		for _, e := range cfg.Engines {
			t := "embedded:" + strings.TrimSpace(e)
			if slices.Contains(targets, t) {
				return nil, nil, fmt.Errorf("--engines lists %s twice; use --repeat N to run each engine N times", strings.TrimSpace(e))
			}
			targets = append(targets, t)
		}
	}
	if cfg.Repeat <= 0 {
		cfg.Repeat = 1
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	host := hostInfo(cfg)
	var out []*results.Result
	var skipped []Skipped
	dead := map[string]bool{}
	for rep := 1; rep <= cfg.Repeat; rep++ {
		for ti, t := range targets {
			if dead[t] {
				continue
			}
			if cfg.Repeat > 1 {
				fmt.Fprintf(cfg.Out, "== %s on %s (repetition %d of %d)\n", sc.Name, t, rep, cfg.Repeat)
			} else {
				fmt.Fprintf(cfg.Out, "== %s on %s\n", sc.Name, t)
			}
			res, err := runOne(ctx, sc, t, cfg)
			if err != nil {
				if ctx.Err() != nil {
					return out, skipped, err // interrupted: loadgen's error says in which phase
				}
				if len(targets) == 1 {
					return out, skipped, err
				}
				fmt.Fprintf(cfg.Out, "   skipped: %v\n", err)
				skipped = append(skipped, Skipped{Engine: t, Reason: err.Error()})
				dead[t] = true
				continue
			}
			res.Host = host
			if cfg.Repeat > 1 {
				res.Repeat = &results.RepeatInfo{Index: rep, Of: cfg.Repeat}
			}
			path := cfg.OutFile
			if path == "" && cfg.OutDir != "" {
				name := fmt.Sprintf("%s-%s", sc.Name, res.Target.Engine)
				if cfg.Repeat > 1 {
					name += fmt.Sprintf("-r%d", rep)
				}
				path = filepath.Join(cfg.OutDir, name+"-"+res.Start.Format("20060102-150405")+".json")
			}
			if path != "" {
				if len(targets) > 1 || cfg.Repeat > 1 {
					if cfg.OutFile != "" {
						ext := filepath.Ext(path)
						path = strings.TrimSuffix(path, ext) + fmt.Sprintf("-%s-r%d", res.Target.Engine, rep) + ext
					}
				}
				if err := results.Save(path, res); err != nil {
					return out, skipped, err
				}
				fmt.Fprintf(cfg.Out, "   wrote %s\n", path)
			}
			out = append(out, res)
			if ctx.Err() != nil {
				err := fmt.Errorf("%w: the run on %s was measured until then", context.Cause(ctx), t)
				if left := (cfg.Repeat-rep)*len(targets) + len(targets) - 1 - ti; left > 0 {
					err = fmt.Errorf("%w; %d more run(s) were not started", err, left)
				}
				return out, skipped, err
			}
		}
	}
	if len(out) == 0 {
		return nil, skipped, fmt.Errorf("benchrun: no target could run (%d skipped)", len(skipped))
	}
	return out, skipped, nil
}

func applyDefaults(sc *scenarios.Scenario, cfg *Config) {
	d := sc.Defaults
	if cfg.Load.Connections == 0 {
		cfg.Load.Connections = d.Connections
	}
	if cfg.Load.Pipeline == 0 {
		cfg.Load.Pipeline = d.Pipeline
	}
	if cfg.Load.Duration == 0 {
		if v, err := time.ParseDuration(d.Duration); err == nil {
			cfg.Load.Duration = v
		} else {
			cfg.Load.Duration = 30 * time.Second
		}
	}
	if cfg.Load.Warmup < 0 {
		cfg.Load.Warmup = 0
		if v, err := time.ParseDuration(d.Warmup); err == nil {
			cfg.Load.Warmup = v
		}
	}
}

// DefaultTieredBudget is the RAM budget of an embedded tiered engine when the run sets none.
const DefaultTieredBudget = 16 << 20

// runOne runs the scenario once against one target.
func runOne(ctx context.Context, sc *scenarios.Scenario, target string, cfg Config) (*results.Result, error) {
	lc := cfg.Load
	info := results.TargetInfo{URL: target, Engine: "external", Cluster: lc.Cluster}
	var notes []string
	if lc.ReadFromReplicas && !lc.Cluster {
		return nil, fmt.Errorf("--read-from-replicas needs --cluster")
	}
	if engine, ok := strings.CutPrefix(target, "embedded:"); ok {
		if lc.Cluster {
			return nil, fmt.Errorf("--cluster needs a redis:// or rediss:// target (the seed node of a cluster), not %s", target)
		}
		dir, err := os.MkdirTemp("", "kvlab-bench-"+engine+"-")
		if err != nil {
			return nil, fmt.Errorf("benchrun: temp dir: %w", err)
		}
		defer os.RemoveAll(dir)
		logw := cfg.Log
		if logw == nil {
			logw = io.Discard
		}
		maxmem := cfg.MaxMemory
		if engine == "tiered" && maxmem <= 0 {
			// The tiered engine needs a RAM budget; without one the demo keeps a small one, so values do
			// go to disk.
			maxmem = DefaultTieredBudget
			notes = append(notes, fmt.Sprintf("tiered: no --maxmemory given, so a %d MB RAM budget was used (values over it live on disk)", maxmem>>20))
		}
		srv, err := server.New(server.Config{Addr: "127.0.0.1:0", Engine: engine, Dir: dir, MaxMemory: maxmem,
			EngineOptions: cfg.EngineOptions, Log: logw, KvlabVersion: cfg.KvlabVersion})
		if err != nil {
			return nil, fmt.Errorf("engine %s is not available: %w", engine, err)
		}
		if err := srv.Start(); err != nil {
			srv.Close()
			return nil, err
		}
		defer srv.Close()
		lc.Target = loadgen.Target{Addr: srv.Addr()}
		info.Engine = engine
		info.URL = "embedded:" + engine + " (" + srv.Addr() + ")"
		notes = append(notes, "embedded target: the server runs in the load generator's process, so CPU and RSS include the load generator")
	} else {
		t, err := loadgen.ParseURL(target, cfg.TLSCA, cfg.TLSInsecure)
		if err != nil {
			return nil, err
		}
		lc.Target = t
		info.TLS = t.TLS != nil
		if lc.Cluster {
			notes = append(notes, "cluster: the server figures (memory, keys, CPU) are sampled from the seed node only")
		}
	}
	sampler := newSampler(lc.Target)
	defer sampler.stop()
	sampler.start()
	res, err := loadgen.Run(ctx, sc, lc)
	if err != nil {
		return nil, err
	}
	sampler.stop()
	res.Target = info
	if res.Errors["MOVED"] > 0 && !lc.Cluster {
		notes = append(notes, "MOVED errors: the target is a Redis cluster node; run with --cluster to route by hash slot")
	}
	res.Notes = append(res.Notes, notes...)
	res.Scenario.Name = sc.Name
	res.Scenario.File = sc.File
	res.Scenario.Description = strings.TrimSpace(sc.Description)
	var keys int64
	for _, ks := range sc.Keyspaces {
		keys += ks.Count
	}
	res.Scenario.KeyCount = keys
	res.Scenario.ValueSizeMean = meanValueSize(sc)
	embedded := strings.HasPrefix(target, "embedded:")
	res.Server = sampler.summary(res.Start, res.End, res.Total.Count, embedded)
	res.Server.ProcessSharedWithLoadgen = embedded
	for i := range res.Timeline {
		if s := sampler.at(res.Start.Add(time.Duration(res.Timeline[i].T) * time.Second)); s != nil {
			res.Timeline[i].UsedMemory, res.Timeline[i].RSS = s.UsedMemory, s.RSS
		}
	}
	for _, slo := range sc.SLOs {
		op := res.Op(slo.Op)
		if op == nil {
			continue
		}
		h, err := results.DecodeHistogram(op.Histogram)
		if err != nil {
			return nil, err
		}
		measured := float64(h.ValueAtPercentile(slo.Percentile))
		limit := float64(slo.MaxDur.Microseconds())
		res.SLOs = append(res.SLOs, results.SLOResult{Op: slo.Op, Percentile: slo.Percentile, LimitUS: limit,
			MeasuredUS: measured, Met: measured <= limit && op.Count > 0})
	}
	results.Show(cfg.Out, res)
	return res, nil
}

func meanValueSize(sc *scenarios.Scenario) float64 {
	var total float64
	n := 0
	for _, v := range sc.Values {
		switch {
		case v.Size != nil && len(v.Size.Weighted) > 0:
			var sum, w float64
			for _, x := range v.Size.Weighted {
				sum += float64(x.Size) * x.Weight
				w += x.Weight
			}
			total += sum / w
		case v.Size != nil && v.Size.Max > 0:
			total += float64(v.Size.Min+v.Size.Max) / 2
		case v.Size != nil:
			total += float64(v.Size.Fixed)
		default:
			total += float64(12 * len(v.JSON)) // a JSON field averages about a dozen bytes
		}
		n++
	}
	if n == 0 {
		return 0
	}
	return total / float64(n)
}

func hostInfo(cfg Config) results.HostInfo {
	h := results.HostInfo{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, GoVersion: runtime.Version(),
		KvlabVersion: cfg.KvlabVersion, GitCommit: cfg.GitCommit}
	if infos, err := cpu.Info(); err == nil && len(infos) > 0 {
		h.CPUModel = infos[0].ModelName
	}
	if vm, err := mem.VirtualMemory(); err == nil {
		h.MemoryBytes = vm.Total
	}
	return h
}
