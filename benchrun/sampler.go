package benchrun

import (
	"bufio"
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/kvlab/kvlab/loadgen"
	"github.com/kvlab/kvlab/resp"
	"github.com/kvlab/kvlab/results"
)

// sampler polls the server's INFO twice a second on its own connection. INFO works the same on kvlab,
// Redis, Valkey and the managed services, so the figures mean the same everywhere: used_memory,
// used_memory_rss, connected_clients, keys, used_cpu_user + used_cpu_sys, commandstats totals, and the time
// spent on the server's serialized command path: kvlab's kvlab_exec_lock_held_sec, or Redis's (and
// Valkey's) used_cpu_user_main_thread + used_cpu_sys_main_thread.
type sampler struct {
	target  loadgen.Target
	mu      sync.Mutex // guards samples
	samples []sample
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once
}

type sample struct {
	at        time.Time
	s         results.ServerSample
	execCalls int64
	execUS    int64
	// engineSec is the serialized path's time in seconds; engineOK is false when INFO reports none.
	engineSec float64
	engineOK  bool
	engineSrc string
	// hostBusy is the busy CPU time of the whole machine the load generator runs on (every process),
	// in seconds; hostOK is false where it cannot be read.
	hostBusy float64
	hostOK   bool
}

// hostBusySeconds reads the machine's busy CPU time (every core, every process) from /proc/stat through
// gopsutil: user, system, nice, interrupts and steal (time the hypervisor gave to other guests).
func hostBusySeconds() (float64, bool) {
	ts, err := cpu.Times(false)
	if err != nil || len(ts) == 0 {
		return 0, false
	}
	t := ts[0]
	return t.User + t.System + t.Nice + t.Irq + t.Softirq + t.Steal, true
}

func newSampler(t loadgen.Target) *sampler {
	return &sampler{target: t, quit: make(chan struct{}), done: make(chan struct{})}
}

func (s *sampler) start() {
	go func() {
		defer close(s.done)
		conn, rr, err := s.dial()
		if err != nil {
			return
		}
		defer conn.Close()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			if smp, ok := s.poll(conn, rr); ok {
				s.mu.Lock()
				s.samples = append(s.samples, smp)
				s.mu.Unlock()
			}
			select {
			case <-s.quit:
				return
			case <-t.C:
			}
		}
	}()
}

func (s *sampler) stop() {
	s.once.Do(func() {
		close(s.quit)
		<-s.done
	})
}

func (s *sampler) dial() (net.Conn, *resp.ReplyReader, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	var nc net.Conn
	var err error
	if s.target.TLS != nil {
		nc, err = tls.DialWithDialer(&d, "tcp", s.target.Addr, s.target.TLS)
	} else {
		nc, err = d.Dial("tcp", s.target.Addr)
	}
	if err != nil {
		return nil, nil, err
	}
	rr := resp.NewReplyReader(bufio.NewReader(nc))
	if s.target.Password != "" {
		args := []string{"AUTH", s.target.Password}
		if s.target.Username != "" {
			args = []string{"AUTH", s.target.Username, s.target.Password}
		}
		nc.Write(resp.AppendCommandStrings(nil, args...))
		rr.Read()
	}
	return nc, rr, nil
}

func (s *sampler) poll(nc net.Conn, rr *resp.ReplyReader) (sample, bool) {
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write(resp.AppendCommandStrings(nil, "INFO", "everything")); err != nil {
		return sample{}, false
	}
	v, err := rr.Read()
	if err != nil || v.Kind == '-' {
		return sample{}, false
	}
	smp := sample{at: time.Now()}
	smp.hostBusy, smp.hostOK = hostBusySeconds()
	var cpuUser, cpuSys, mainUser, mainSys, lockHeld float64
	var haveMain, haveLock bool
	for _, line := range strings.Split(string(v.Str), "\n") {
		k, val, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch {
		case k == "used_memory":
			smp.s.UsedMemory, _ = strconv.ParseInt(val, 10, 64)
		case k == "used_memory_rss":
			smp.s.RSS, _ = strconv.ParseInt(val, 10, 64)
		case k == "connected_clients":
			smp.s.Clients, _ = strconv.ParseInt(val, 10, 64)
		case k == "used_cpu_user":
			cpuUser, _ = strconv.ParseFloat(val, 64)
		case k == "used_cpu_sys":
			cpuSys, _ = strconv.ParseFloat(val, 64)
		case k == "used_cpu_user_main_thread":
			mainUser, _ = strconv.ParseFloat(val, 64)
			haveMain = true
		case k == "used_cpu_sys_main_thread":
			mainSys, _ = strconv.ParseFloat(val, 64)
			haveMain = true
		case k == "kvlab_exec_lock_held_sec":
			lockHeld, _ = strconv.ParseFloat(val, 64)
			haveLock = true
		case strings.HasPrefix(k, "db") && strings.HasPrefix(val, "keys="):
			n, _ := strconv.ParseInt(strings.TrimPrefix(strings.SplitN(val, ",", 2)[0], "keys="), 10, 64)
			smp.s.Keys += n
		case strings.HasPrefix(k, "cmdstat_") && !strings.HasPrefix(k, "cmdstat_info"):
			for _, f := range strings.Split(val, ",") {
				fk, fv, _ := strings.Cut(f, "=")
				n, _ := strconv.ParseInt(fv, 10, 64)
				switch fk {
				case "calls":
					smp.execCalls += n
				case "usec":
					smp.execUS += n
				}
			}
		}
	}
	smp.s.CPUSeconds = cpuUser + cpuSys
	switch {
	case haveLock:
		smp.engineSec, smp.engineOK, smp.engineSrc = lockHeld, true, results.EngineLockHeld
	case haveMain:
		smp.engineSec, smp.engineOK, smp.engineSrc = mainUser+mainSys, true, results.EngineMainThread
	}
	return smp, true
}

// at returns the sample closest to t, or nil.
func (s *sampler) at(t time.Time) *results.ServerSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *results.ServerSample
	bestD := time.Duration(1<<62 - 1)
	for i := range s.samples {
		d := s.samples[i].at.Sub(t)
		if d < 0 {
			d = -d
		}
		if d < bestD {
			bestD, best = d, &s.samples[i].s
		}
	}
	if bestD > time.Second {
		return nil
	}
	c := *best
	return &c
}

// summary reduces the samples to the run's server figures over [start, end] with ops operations. embedded
// says the server runs in this process, so the machine's other busy time is other processes'.
func (s *sampler) summary(start, end time.Time, ops int64, embedded bool) results.ServerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st results.ServerStats
	var first, last *sample
	for i := range s.samples {
		smp := &s.samples[i]
		rel := smp.at.Sub(start).Seconds()
		out := smp.s
		out.T = rel
		st.Samples = append(st.Samples, out)
		if smp.at.Before(start) {
			first = smp
			continue
		}
		if first == nil {
			first = smp
		}
		if smp.at.After(end.Add(time.Second)) {
			continue
		}
		last = smp
		st.PeakRSS = max(st.PeakRSS, smp.s.RSS)
	}
	if last != nil {
		st.UsedMemory, st.Keys = last.s.UsedMemory, last.s.Keys
		if st.Keys > 0 {
			st.BytesPerKey = float64(st.UsedMemory) / float64(st.Keys)
		}
	}
	if first != nil && last != nil && last != first {
		st.CPUSeconds = last.s.CPUSeconds - first.s.CPUSeconds
		// Scale to the measured window when the samples straddle it slightly.
		span := last.at.Sub(first.at).Seconds()
		window := end.Sub(start).Seconds()
		if span > 0 && ops > 0 {
			opsInSpan := float64(ops) * span / window
			st.CPUUSPerOp = st.CPUSeconds * 1e6 / opsInSpan
			if calls := last.execCalls - first.execCalls; calls > 0 {
				st.ExecUSPerOp = float64(last.execUS-first.execUS) / opsInSpan
			}
			if embedded && first.hostOK && last.hostOK {
				st.OtherCPUCores = max(0, last.hostBusy-first.hostBusy-st.CPUSeconds) / span
			}
			if first.engineOK && last.engineOK && first.engineSrc == last.engineSrc {
				st.EngineSource = last.engineSrc
				st.EngineSeconds = last.engineSec - first.engineSec
				st.EngineUSPerOp = st.EngineSeconds * 1e6 / opsInSpan
			}
		}
	}
	return st
}
