package loadgen

import (
	"bufio"
	"context"
	"errors"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kvlab/kvlab/resp"
	"github.com/kvlab/kvlab/scenarios"
)

// stallServer is a minimal RESP server over real TCP for load-generator tests: it answers +OK to writes,
// a null to GET, an error to "FAIL", and can stall every reply for a while (a GC pause, a failover) so
// coordinated omission can be observed.
type stallServer struct {
	ln       net.Listener
	stallFor atomic.Int64 // nanoseconds: sleep before each reply while set
	commands atomic.Int64
	wg       sync.WaitGroup
}

func newStallServer(t *testing.T) *stallServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &stallServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer nc.Close()
				rd := resp.NewReader(nc, resp.Limits{})
				bw := bufio.NewWriter(nc)
				for {
					args, err := rd.ReadCommand()
					if err != nil {
						return
					}
					s.commands.Add(1)
					if d := s.stallFor.Load(); d > 0 {
						time.Sleep(time.Duration(d))
					}
					switch strings.ToUpper(string(args[0])) {
					case "GET":
						bw.WriteString("$-1\r\n")
					case "FAIL":
						bw.WriteString("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
					default:
						bw.WriteString("+OK\r\n")
					}
					if rd.Buffered() == 0 {
						bw.Flush()
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

// forEachIO runs a test once per I/O mode this platform has.
func forEachIO(t *testing.T, test func(t *testing.T, io string)) {
	modes := []string{IOGoroutines}
	if eventLoopOS {
		modes = append(modes, IOEventLoop)
	}
	for _, io := range modes {
		t.Run(io, func(t *testing.T) { test(t, io) })
	}
}

func (s *stallServer) target() Target { return Target{Addr: s.ln.Addr().String()} }

func scenario(t *testing.T, y string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

const setScenario = `name: t
keyspaces:
  k: {pattern: "key:{id}", count: 1000}
values:
  v: {size: {fixed: 16}}
operations:
  - name: set
    weight: 1
    keyspace: k
    value: v
    commands:
      - [SET, "{key}", "{value}"]
`

// TestOpenLoopPacing: at 2000 ops/s for 2 s the generator must issue about 4000 operations (±5%), spread
// evenly over the seconds of the timeline.
func TestOpenLoopPacing(t *testing.T) {
	forEachIO(t, testOpenLoopPacing)
}

func testOpenLoopPacing(t *testing.T, io string) {
	srv := newStallServer(t)
	res, err := Run(context.Background(), scenario(t, setScenario), Config{Target: srv.target(), Connections: 4,
		Pipeline: 8, Rate: 2000, Duration: 2 * time.Second, IO: io})
	if err != nil {
		t.Fatal(err)
	}
	if res.Config.IO != io {
		t.Errorf("result says I/O mode %q, want %q", res.Config.IO, io)
	}
	got := float64(res.Total.Count)
	// ±7% overall and ±15% per second leave room for a loaded CI machine; a closed loop against this
	// server would do tens of thousands of operations per second, so pacing is what keeps it near 2000.
	if got < 3720 || got > 4280 {
		t.Fatalf("open loop at 2000 ops/s for 2s completed %v operations, want 4000 ±7%%", got)
	}
	for _, p := range res.Timeline {
		if p.OpsPerSec < 1700 || p.OpsPerSec > 2300 {
			t.Errorf("second %d: %v ops/s, want ~2000", p.T, p.OpsPerSec)
		}
	}
	if !res.Config.COCorrected {
		t.Error("open-loop result must say it is coordinated-omission corrected")
	}
}

// TestCoordinatedOmission: the server stalls 200 ms on every reply for a moment. Measured from the
// intended start (open loop), the stall shows in the high percentiles for every operation that should
// have been sent during it; the closed loop, which simply stops sending, hides most of it.
func TestCoordinatedOmission(t *testing.T) {
	forEachIO(t, testCoordinatedOmission)
}

func testCoordinatedOmission(t *testing.T, io string) {
	run := func(rate float64) float64 {
		srv := newStallServer(t)
		go func() {
			time.Sleep(700 * time.Millisecond)
			srv.stallFor.Store(int64(300 * time.Millisecond))
			time.Sleep(300 * time.Millisecond)
			srv.stallFor.Store(0)
		}()
		res, err := Run(context.Background(), scenario(t, setScenario), Config{Target: srv.target(), Connections: 1,
			Pipeline: 1, Rate: rate, Duration: 2 * time.Second, IO: io})
		if err != nil {
			t.Fatal(err)
		}
		return res.Total.LatencyUS.P90
	}
	open := run(500)
	closed := run(0)
	if open < 50_000 {
		t.Fatalf("open loop p90 = %.0fµs: the stall must show up for operations scheduled during it", open)
	}
	if closed >= open {
		t.Fatalf("closed loop p90 %.0fµs >= open loop %.0fµs: CO correction should raise latencies", closed, open)
	}
}

// TestErrorsCountedByPrefix checks error replies are counted by their first word, never dropped.
func TestErrorsCountedByPrefix(t *testing.T) {
	forEachIO(t, testErrorsCountedByPrefix)
}

func testErrorsCountedByPrefix(t *testing.T, io string) {
	srv := newStallServer(t)
	sc := scenario(t, `name: t
operations:
  - name: bad
    weight: 1
    commands:
      - [FAIL]
  - name: good
    weight: 1
    commands:
      - [PING]
`)
	res, err := Run(context.Background(), sc, Config{Target: srv.target(), Connections: 2, Pipeline: 4, Duration: 500 * time.Millisecond, IO: io})
	if err != nil {
		t.Fatal(err)
	}
	bad := res.Op("bad")
	if bad.Count == 0 || bad.Errors != bad.Count || res.Errors["WRONGTYPE"] != bad.Errors || res.Op("good").Errors != 0 {
		t.Fatalf("errors: bad=%d/%d good=%d by prefix=%v", bad.Errors, bad.Count, res.Op("good").Errors, res.Errors)
	}
}

// TestCacheAsideOnMiss: GET replies null, so every operation must follow up with its SET.
func TestCacheAsideOnMiss(t *testing.T) {
	forEachIO(t, testCacheAsideOnMiss)
}

func testCacheAsideOnMiss(t *testing.T, io string) {
	srv := newStallServer(t)
	sc, err := scenarios.Load("cache-aside")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), sc, Config{Target: srv.target(), Connections: 2, Pipeline: 2, Duration: 300 * time.Millisecond, IO: io})
	if err != nil {
		t.Fatal(err)
	}
	// Each operation sends GET and then SET: about twice as many commands as operations.
	if cmds := srv.commands.Load(); float64(cmds) < 1.9*float64(res.Total.Count) {
		t.Fatalf("%d commands for %d cache-aside operations: misses were not followed by SET", cmds, res.Total.Count)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in               string
		addr, user, pass string
		db               int
		tls, bad         bool
	}{
		{in: "redis://localhost:6380", addr: "localhost:6380"},
		{in: "redis://h", addr: "h:6379"},
		{in: "redis://:secret@h:1/2", addr: "h:1", pass: "secret", db: 2},
		{in: "rediss://app:pw@h:6379", addr: "h:6379", user: "app", pass: "pw", tls: true},
		{in: "http://h", bad: true},
		{in: "redis://h/x", bad: true},
	} {
		got, err := ParseURL(tc.in, "", false)
		if tc.bad {
			if err == nil {
				t.Errorf("%s: accepted", tc.in)
			}
			continue
		}
		if err != nil || got.Addr != tc.addr || got.Username != tc.user || got.Password != tc.pass || got.DB != tc.db || (got.TLS != nil) != tc.tls {
			t.Errorf("%s: %+v, %v", tc.in, got, err)
		}
	}
}

// TestInterrupted: a run whose context ends early (Ctrl-C in kvlab bench) reports throughput over the time
// it measured, not the time planned, and says so; ended before the measurement began, during the warm-up
// or the preload, it is an error that names the phase.
func TestInterrupted(t *testing.T) {
	forEachIO(t, func(t *testing.T, io string) {
		srv := newStallServer(t)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(1200*time.Millisecond, cancel)
		res, err := Run(ctx, scenario(t, setScenario), Config{Target: srv.target(), Connections: 4, IO: io,
			Warmup: 200 * time.Millisecond, Duration: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		measured := res.End.Sub(res.Start)
		if measured <= 0 || measured > 15*time.Second {
			t.Fatalf("measured %v of a 30 s run cancelled after about 1 s", measured)
		}
		if res.Total.Count == 0 {
			t.Fatal("nothing measured")
		}
		if want := float64(res.Total.Count) / measured.Seconds(); math.Abs(res.Total.OpsPerSec-want) > want/100 {
			t.Fatalf("ops/s %.0f, want %d operations over the %v measured = %.0f", res.Total.OpsPerSec, res.Total.Count, measured, want)
		}
		if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.HasPrefix(n, "interrupted after ") }) {
			t.Fatalf("no note of the interruption: %q", res.Notes)
		}

		ctx, cancel = context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		_, err = Run(ctx, scenario(t, setScenario), Config{Target: srv.target(), Connections: 4, IO: io,
			Warmup: time.Minute, Duration: time.Minute})
		if err == nil || !strings.Contains(err.Error(), "interrupted during the 1m0s warm-up") || !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled in the warm-up: %v", err)
		}

		srv.stallFor.Store(int64(time.Millisecond)) // a preload of 1M keys that cannot finish in time
		ctx, cancel = context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		_, err = Run(ctx, scenario(t, strings.Replace(setScenario, "count: 1000", "count: 1000000", 1)+`preload:
  - keyspace: k
    command: [SET, "{key}", "{value:v}"]
`), Config{Target: srv.target(), Connections: 4, IO: io, Duration: time.Minute})
		if err == nil || !strings.Contains(err.Error(), "preload k interrupted after") || !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled in the preload: %v", err)
		}
	})
}
