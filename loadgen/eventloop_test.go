package loadgen

import (
	"context"
	"crypto/tls"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIOMode checks which I/O mode a run gets: the event loop where it applies, the goroutine mode for
// TLS, cluster mode and open loop with follow-ups, and an error when the event loop is forced where it
// does not apply.
func TestIOMode(t *testing.T) {
	plain := scenario(t, setScenario)
	followUps := scenario(t, `name: t
keyspaces:
  k: {pattern: "key:{id}", count: 10}
values:
  v: {size: {fixed: 8}}
operations:
  - name: read
    weight: 1
    keyspace: k
    value: v
    commands:
      - [GET, "{key}"]
    on_miss:
      - [SET, "{key}", "{value}"]
`)
	tlsTarget := Target{Addr: "127.0.0.1:1", TLS: &tls.Config{}}
	auto := IOGoroutines
	if eventLoopOS {
		auto = IOEventLoop
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		sc   bool // scenario with follow-ups
		want string
		bad  bool
	}{
		{name: "default", cfg: Config{}, want: auto},
		{name: "auto", cfg: Config{IO: IOAuto}, want: auto},
		{name: "goroutines", cfg: Config{IO: IOGoroutines}, want: IOGoroutines},
		{name: "auto closed loop with follow-ups", cfg: Config{}, sc: true, want: auto},
		{name: "auto open loop", cfg: Config{Rate: 100}, want: auto},
		{name: "auto open loop with follow-ups", cfg: Config{Rate: 100}, sc: true, want: IOGoroutines},
		{name: "auto TLS", cfg: Config{Target: tlsTarget}, want: IOGoroutines},
		{name: "auto cluster", cfg: Config{Cluster: true}, want: IOGoroutines},
		{name: "eventloop TLS", cfg: Config{IO: IOEventLoop, Target: tlsTarget}, bad: true},
		{name: "eventloop cluster", cfg: Config{IO: IOEventLoop, Cluster: true}, bad: true},
		{name: "eventloop open loop with follow-ups", cfg: Config{IO: IOEventLoop, Rate: 100}, sc: true, bad: true},
		{name: "unknown", cfg: Config{IO: "threads"}, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := plain
			if tc.sc {
				sc = followUps
			}
			p, err := compile(sc, 1)
			if err != nil {
				t.Fatal(err)
			}
			cfg := tc.cfg
			cfg.Duration = time.Second
			err = cfg.normalize()
			mode := ""
			if err == nil {
				mode, err = cfg.ioMode(p)
			}
			if tc.bad {
				if err == nil {
					t.Fatalf("got mode %q, want an error", mode)
				}
				return
			}
			if err != nil || mode != tc.want {
				t.Fatalf("got %q, %v; want %q", mode, err, tc.want)
			}
		})
	}
}

// startRedis starts a standalone redis-server on a loopback port and returns its address; it skips the
// test when redis-server is not installed.
func startRedis(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not on PATH (make deps-redis installs it)")
	}
	dir := t.TempDir()
	port := strconv.Itoa(freePort(t))
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := "127.0.0.1:" + port
	waitFor(t, 10*time.Second, func() bool { return redisCLI(t, addr, "PING") == "PONG" })
	return addr
}

// commandCalls returns how many times redis-server ran each command (INFO commandstats).
func commandCalls(t *testing.T, addr string) map[string]int64 {
	t.Helper()
	calls := map[string]int64{}
	for _, line := range strings.Split(redisCLI(t, addr, "INFO", "commandstats"), "\n") {
		name, rest, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "cmdstat_"), ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.SplitN(rest, ",", 2)[0], 10, 64)
		calls[name] = n
	}
	return calls
}

// bigValueScenario mixes SET and GET of 64 KiB values (replies span many reads and a pipelined batch
// fills the socket) with a MULTI/EXEC operation.
const bigValueScenario = `name: big
keyspaces:
  k: {pattern: "key:{id}", count: 64}
values:
  v: {size: {fixed: 65536}}
operations:
  - name: set
    weight: 2
    keyspace: k
    value: v
    commands:
      - [SET, "{key}", "{value}"]
  - name: get
    weight: 2
    keyspace: k
    commands:
      - [GET, "{key}"]
  - name: count
    weight: 1
    keyspace: k
    mode: multi
    commands:
      - [INCR, "n:{key}"]
      - [EXPIRE, "n:{key}", "60"]
`

// TestIOModesAgainstRedis runs every I/O mode, closed and open loop, against a real redis-server over TCP
// with large pipelined values and MULTI/EXEC, and checks that every operation the server executed was
// recorded once, without errors.
func TestIOModesAgainstRedis(t *testing.T) {
	addr := startRedis(t)
	forEachIO(t, func(t *testing.T, io string) {
		for _, rate := range []float64{0, 400} {
			t.Run("rate="+strconv.FormatFloat(rate, 'f', -1, 64), func(t *testing.T) {
				if redisCLI(t, addr, "CONFIG", "RESETSTAT") != "OK" {
					t.Fatal("CONFIG RESETSTAT failed")
				}
				res, err := Run(context.Background(), scenario(t, bigValueScenario), Config{Target: Target{Addr: addr},
					Connections: 4, Pipeline: 16, Threads: 2, Rate: rate, Duration: time.Second, IO: io})
				if err != nil {
					t.Fatal(err)
				}
				if res.Config.IO != io {
					t.Errorf("result says I/O mode %q, want %q", res.Config.IO, io)
				}
				if res.Total.Errors != 0 || len(res.Errors) != 0 {
					t.Fatalf("errors: %d %v", res.Total.Errors, res.Errors)
				}
				calls := commandCalls(t, addr)
				for _, c := range []struct{ op, cmd string }{{"set", "set"}, {"get", "get"}, {"count", "exec"}, {"count", "incr"}} {
					if n := res.Op(c.op).Count; n == 0 || n != calls[c.cmd] {
						t.Errorf("operation %s recorded %d times, server ran %s %d times", c.op, n, c.cmd, calls[c.cmd])
					}
				}
				if rate > 0 {
					if n := res.Total.Count; n < 340 || n > 460 {
						t.Errorf("open loop at 400 ops/s for 1 s recorded %d operations", n)
					}
				}
				if got := redisCLI(t, addr, "STRLEN", "key:1"); got != "65536" && got != "0" {
					t.Errorf("STRLEN key:1 = %s, want 65536", got)
				}
			})
		}
	})
}

// TestEventLoopCancel: cancelling the run while the server holds every reply must end it at once, not
// after the run's duration or the end-of-run drain.
func TestEventLoopCancel(t *testing.T) {
	if !eventLoopOS {
		t.Skip("no event loop on this platform")
	}
	srv := newStallServer(t)
	srv.stallFor.Store(int64(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	for _, rate := range []float64{0, 100} {
		Run(ctx, scenario(t, setScenario), Config{Target: srv.target(), Connections: 2, Rate: rate,
			Duration: time.Minute, IO: IOEventLoop})
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancelled runs took %v", d)
	}
}
