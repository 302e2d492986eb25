package server_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	_ "github.com/kvlab/kvlab/engines/all"
	"github.com/kvlab/kvlab/server"
)

func start(t testing.TB) *server.Server {
	t.Helper()
	return startConfig(t, server.Config{Addr: "127.0.0.1:0", Engine: "memory", Log: logWriter{t}})
}

// startConfig starts a server with cfg, each mod applied to it first, and stops it when the test ends.
func startConfig(t testing.TB, cfg server.Config, mod ...func(*server.Config)) *server.Server {
	t.Helper()
	for _, m := range mod {
		m(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// startWal starts a server on the wal engine, its snapshots only on request (snapshot-every-bytes 0).
func startWal(t testing.TB, mod ...func(*server.Config)) *server.Server {
	t.Helper()
	return startConfig(t, server.Config{Addr: "127.0.0.1:0", Engine: "wal", Dir: t.TempDir(), Log: logWriter{t},
		EngineOptions: map[string]string{"snapshot-every-bytes": "0"}}, mod...)
}

// eachClient runs f for clients 0..n-1 concurrently and fails the test with the first error.
func eachClient(t testing.TB, n int, f func(g int) error) {
	t.Helper()
	var eg errgroup.Group
	for g := range n {
		eg.Go(func() error { return f(g) })
	}
	if err := eg.Wait(); err != nil {
		t.Fatal(err)
	}
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func client(t testing.TB, srv *server.Server, proto int) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: proto, DisableIdentity: false})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// TestGoRedis exercises the foundation through go-redis v9 over real TCP in both protocols.
func TestGoRedis(t *testing.T) {
	srv := start(t)
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			ctx := context.Background()
			rdb := client(t, srv, proto)
			if err := rdb.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			if err := rdb.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
			if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "v" {
				t.Fatalf("GET = %q, %v", v, err)
			}
			if _, err := rdb.Get(ctx, "nope").Result(); err != redis.Nil {
				t.Fatalf("GET missing: want redis.Nil, got %v", err)
			}
			if ttl, err := rdb.TTL(ctx, "k").Result(); err != nil || ttl < 59*time.Second || ttl > time.Minute {
				t.Fatalf("TTL = %v, %v", ttl, err)
			}
			if n, err := rdb.IncrBy(ctx, "n", 41).Result(); err != nil || n != 41 {
				t.Fatalf("INCRBY = %d, %v", n, err)
			}
			if f, err := rdb.IncrByFloat(ctx, "f", 1.5).Result(); err != nil || f != 1.5 {
				t.Fatalf("INCRBYFLOAT = %v, %v", f, err)
			}
			if vals, err := rdb.MGet(ctx, "k", "nope", "n").Result(); err != nil || vals[0] != "v" || vals[1] != nil || vals[2] != "41" {
				t.Fatalf("MGET = %v, %v", vals, err)
			}
			err := rdb.Incr(ctx, "k").Err()
			if err == nil || err.Error() != "ERR value is not an integer or out of range" {
				t.Fatalf("INCR on a string: %v", err)
			}
			// Pipelining: many commands in one write, replies in order.
			pipe := rdb.Pipeline()
			cmds := make([]*redis.IntCmd, 100)
			for i := range cmds {
				cmds[i] = pipe.Incr(ctx, "p")
			}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			for i, c := range cmds {
				if c.Val() != int64(i+1) {
					t.Fatalf("pipelined INCR %d = %d", i, c.Val())
				}
			}
			// SCAN visits every key exactly once when nothing changes.
			for i := 0; i < 500; i++ {
				rdb.Set(ctx, fmt.Sprintf("scan:%d", i), i, 0)
			}
			seen := map[string]int{}
			var cursor uint64
			for {
				keys, next, err := rdb.Scan(ctx, cursor, "scan:*", 37).Result()
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range keys {
					seen[k]++
				}
				if cursor = next; cursor == 0 {
					break
				}
			}
			if len(seen) != 500 {
				t.Fatalf("SCAN saw %d keys, want 500", len(seen))
			}
			if name, err := rdb.ClientGetName(ctx).Result(); err != redis.Nil {
				t.Fatalf("CLIENT GETNAME on a fresh connection = %q, %v", name, err)
			}
			list, err := rdb.ClientList(ctx).Result()
			if err != nil || !strings.Contains(list, "cmd=client|list") {
				t.Fatalf("CLIENT LIST = %q, %v", list, err)
			}
			if n, err := rdb.DBSize(ctx).Result(); err != nil || n < 500 {
				t.Fatalf("DBSIZE = %d, %v", n, err)
			}
		})
	}
}

// TestConcurrentClients drives many connections at once (run with -race).
func TestConcurrentClients(t *testing.T) {
	srv := start(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rdb := client(t, srv, 2)
			for i := 0; i < 200; i++ {
				if err := rdb.Incr(ctx, "shared").Err(); err != nil {
					t.Error(err)
					return
				}
				if err := rdb.Set(ctx, fmt.Sprintf("k%d:%d", g, i), i, time.Duration(i%3)*time.Second).Err(); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	rdb := client(t, srv, 2)
	if n, _ := rdb.Get(ctx, "shared").Int(); n != 1600 {
		t.Fatalf("shared counter = %d, want 1600", n)
	}
}

// TestProtocolErrorClosesConnection checks Redis's reply to malformed input and that the server survives.
func TestProtocolErrorClosesConnection(t *testing.T) {
	srv := start(t)
	for _, tc := range []struct{ in, want string }{
		{"*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"*2\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"},
		{"SET \"a b\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
	} {
		nc, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		nc.Write([]byte(tc.in))
		var buf [256]byte
		n, _ := nc.Read(buf[:])
		if got := string(buf[:n]); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
		// The server closes the connection after a protocol error.
		if _, err := nc.Read(buf[:]); err == nil {
			t.Errorf("%q: connection still open", tc.in)
		}
		nc.Close()
	}
	rdb := client(t, srv, 2)
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("server unusable after protocol errors: %v", err)
	}
}

// TestInlineCommands covers the telnet-style inline protocol.
func TestInlineCommands(t *testing.T) {
	srv := start(t)
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	nc.Write([]byte("SET greeting \"hello world\"\r\nGET greeting\r\nPING\r\n"))
	want := "+OK\r\n$11\r\nhello world\r\n+PONG\r\n"
	buf := make([]byte, 0, 64)
	for len(buf) < len(want) {
		var tmp [64]byte
		n, err := nc.Read(tmp[:])
		if err != nil {
			t.Fatalf("read: %v (got %q)", err, buf)
		}
		buf = append(buf, tmp[:n]...)
	}
	if string(buf) != want {
		t.Fatalf("got %q, want %q", buf, want)
	}
}

// TestRedisCLI runs Debian's redis-cli against kvlab.
func TestRedisCLI(t *testing.T) {
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skip("redis-cli not installed (make deps-redis)")
	}
	srv := start(t)
	host, port, _ := net.SplitHostPort(srv.Addr())
	run := func(args ...string) string {
		out, err := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := run("SET", "a", "1"); got != "OK" {
		t.Fatalf("SET: %q", got)
	}
	if got := run("INCR", "a"); got != "2" {
		t.Fatalf("INCR: %q", got)
	}
	if got := run("--no-raw", "GET", "nope"); got != "(nil)" {
		t.Fatalf("GET missing: %q", got)
	}
	if got := run("-3", "HELLO", "3"); !strings.Contains(got, "proto") {
		t.Fatalf("HELLO 3: %q", got)
	}
}

// TestRedisBenchmark runs redis-benchmark's standard tests against kvlab and requires no errors.
func TestRedisBenchmark(t *testing.T) {
	if _, err := exec.LookPath("redis-benchmark"); err != nil {
		t.Skip("redis-benchmark not installed (make deps-redis)")
	}
	srv := start(t)
	host, port, _ := net.SplitHostPort(srv.Addr())
	out, err := exec.Command("redis-benchmark", "-h", host, "-p", port, "-t", "set,get,incr,mset", "-n", "5000",
		"-c", "10", "-P", "4", "-q").CombinedOutput()
	if err != nil {
		t.Fatalf("redis-benchmark: %v\n%s", err, out)
	}
	s := string(out)
	for _, test := range []string{"SET", "GET", "INCR", "MSET"} {
		if !strings.Contains(s, test) {
			t.Errorf("redis-benchmark output lacks %s:\n%s", test, s)
		}
	}
	if strings.Contains(strings.ToLower(s), "error") {
		t.Fatalf("redis-benchmark reported errors:\n%s", s)
	}
}

// TestShutdownCommand stops the server from a client.
func TestShutdownCommand(t *testing.T) {
	srv := start(t)
	rdb := client(t, srv, 2)
	rdb.Do(context.Background(), "SHUTDOWN", "NOSAVE")
	select {
	case <-srv.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("server still running 5s after SHUTDOWN")
	}
}

// TestActiveExpiry checks that expired keys are reclaimed by the background cycle without being accessed.
func TestActiveExpiry(t *testing.T) {
	srv := start(t)
	ctx := context.Background()
	rdb := client(t, srv, 2)
	pipe := rdb.Pipeline()
	for i := 0; i < 5000; i++ {
		pipe.Set(ctx, fmt.Sprintf("tmp:%d", i), "v", 100*time.Millisecond)
	}
	for i := 0; i < 100; i++ {
		pipe.Set(ctx, fmt.Sprintf("keep:%d", i), "v", 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := rdb.DBSize(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("DBSIZE still %d 10s after the TTLs passed: active expiry is not reclaiming keys", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	info, err := rdb.Info(ctx, "stats").Result()
	if err != nil || !strings.Contains(info, "expired_keys:5000") {
		t.Fatalf("INFO stats should count 5000 expired keys: %v\n%s", err, info)
	}
}

// TestExecLockHeldGrows checks INFO cpu's kvlab_exec_lock_held_sec: the time commands held the keyspace
// lock grows with the commands executed and stays below the wall time they took.
func TestExecLockHeldGrows(t *testing.T) {
	srv := start(t)
	ctx := context.Background()
	rdb := client(t, srv, 2)
	held := func() float64 {
		t.Helper()
		info, err := rdb.Info(ctx, "cpu").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "kvlab_exec_lock_held_sec:"); ok {
				var f float64
				if _, err := fmt.Sscan(v, &f); err != nil {
					t.Fatalf("kvlab_exec_lock_held_sec %q: %v", v, err)
				}
				return f
			}
		}
		t.Fatalf("INFO cpu has no kvlab_exec_lock_held_sec:\n%s", info)
		return 0
	}
	before := held()
	began := time.Now()
	pipe := rdb.Pipeline()
	for i := 0; i < 20000; i++ {
		pipe.Set(ctx, fmt.Sprintf("k:%d", i), strings.Repeat("v", 100), 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	wall := time.Since(began).Seconds()
	after := held()
	if d := after - before; d <= 0 || d > wall {
		t.Fatalf("lock held %.6f s for 20000 SETs taking %.6f s of wall time", d, wall)
	}
}
