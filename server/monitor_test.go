package server_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kvlab/kvlab/resp"
	"github.com/kvlab/kvlab/server"
)

// monLine is Redis's MONITOR line (the leading '+' is the simple string's type byte).
var monLine = regexp.MustCompile(`^([0-9]+)\.([0-9]{6}) \[([0-9]+) (lua|unix:[^\]]+|[0-9a-f.:\[\]]+:[0-9]+)\] (".*")$`)

// monitorScript runs, on fresh raw connections to addr, commands whose MONITOR lines are compared with
// redis-server's: binary arguments, several databases, MULTI/EXEC, EVAL, passwords, refused and admin
// commands. It ends with ECHO end.
func monitorScript(t *testing.T, addr string) {
	a, b := hlsDial(t, addr), hlsDial(t, addr)
	a.do(t, "SET", "a", `x"y\z`)
	a.do(t, "SELECT", "3")
	a.do(t, "SET", "b\x01\xff\n\r\t\a\b\x7f é\x00", "123")
	b.do(t, "SELECT", "2")
	b.do(t, "RPUSH", "l", "", " ")
	a.do(t, "MULTI")
	a.do(t, "SET", "k", "v")
	a.do(t, "INCR", "n")
	a.do(t, "SELECT", "4")
	a.do(t, "EXEC")
	a.do(t, "SELECT", "0")
	a.do(t, "EVAL", "redis.call('set','k','v'); return redis.call('get','k')", "0")
	a.do(t, "EVALSHA", "0123456789012345678901234567890123456789", "0")
	a.do(t, "AUTH", "s3cret-1")
	a.do(t, "AUTH", "default", "s3cret-2")
	a.do(t, "HELLO", "2", "AUTH", "default", "s3cret-3", "SETNAME", "nm")
	a.do(t, "CONFIG", "GET", "maxmemory") // admin: not fed
	a.do(t, "CLIENT", "LIST")             // admin: not fed
	a.do(t, "CLIENT", "SETNAME", "xx")
	a.do(t, "GET")    // arity: not fed
	a.do(t, "NOSUCH") // unknown: not fed
	a.do(t, "MIGRATE", "127.0.0.1", "1", "k", "0", "10", "AUTH2", "us", "s3cret-4")
	a.do(t, "PING")
	b.do(t, "GET", "l")
	a.do(t, "ECHO", "end")
}

// readMonitor reads a monitor's lines until ECHO end, checking their format, and returns them without the
// timestamp, the client address replaced by "client" (the database and "lua" kept).
func readMonitor(t *testing.T, m *hlsConn) []string {
	t.Helper()
	var out []string
	for {
		v, err := m.read(10 * time.Second)
		if err != nil {
			t.Fatalf("monitor read: %v (so far %q)", err, out)
		}
		if v.Kind != '+' {
			t.Fatalf("monitor got %c %q", v.Kind, v.Str)
		}
		g := monLine.FindStringSubmatch(string(v.Str))
		if g == nil {
			t.Fatalf("bad monitor line %q", v.Str)
		}
		who := g[4]
		if who != "lua" {
			who = "client"
		}
		out = append(out, g[3]+" "+who+" "+g[5])
		if g[5] == `"ECHO" "end"` {
			return out
		}
	}
}

func TestMonitorMatchesRedis(t *testing.T) {
	srv := start(t)
	raddr := hlsStartRedis(t)
	var got [2][]string
	for i, addr := range []string{srv.Addr(), raddr} {
		m := hlsDial(t, addr)
		if v := m.do(t, "MONITOR"); v.Kind != '+' || string(v.Str) != "OK" {
			t.Fatalf("MONITOR = %c %q", v.Kind, v.Str)
		}
		monitorScript(t, addr)
		got[i] = readMonitor(t, m)
	}
	if strings.Join(got[0], "\n") != strings.Join(got[1], "\n") {
		t.Fatalf("kvlab's monitor lines differ from redis-server's:\nkvlab:\n%s\nredis:\n%s", strings.Join(got[0], "\n"), strings.Join(got[1], "\n"))
	}
	for _, l := range got[0] {
		if strings.Contains(l, "s3cret") {
			t.Fatalf("a password leaked: %q", l)
		}
	}
	t.Logf("%d identical lines:\n%s", len(got[0]), strings.Join(got[0], "\n"))
}

// TestMonitorMode checks what a monitor may still run, as against redis-server, and that RESET ends it.
func TestMonitorMode(t *testing.T) {
	srv := start(t)
	raddr := hlsStartRedis(t)
	for _, addr := range []string{srv.Addr(), raddr} {
		m := hlsDial(t, addr)
		other := hlsDial(t, addr)
		m.do(t, "MULTI")
		m.do(t, "MONITOR")
		if v := m.do(t, "EXEC"); len(v.Elems) != 1 || !strings.Contains(string(v.Elems[0].Str), "DENY BLOCKING") {
			t.Fatalf("%s: MONITOR in MULTI = %+v", addr, v)
		}
		m.do(t, "MONITOR")
		if v := m.do(t, "GET", "k"); v.Kind != '-' || string(v.Str) != "ERR Replica can't interact with the keyspace" {
			t.Fatalf("%s: GET from a monitor = %c %q", addr, v.Kind, v.Str)
		}
		if v := m.do(t, "PING"); string(v.Str) != "PONG" {
			t.Fatalf("%s: PING = %q", addr, v.Str)
		}
		if v := m.do(t, "ECHO", "x"); !strings.HasSuffix(string(v.Str), `"PING"`) { // its own PING, after PONG
			t.Fatalf("%s: after PONG: %q", addr, v.Str)
		}
		if v, _ := m.read(5 * time.Second); string(v.Str) != "x" {
			t.Fatalf("%s: ECHO = %q", addr, v.Str)
		}
		m.read(5 * time.Second) // its ECHO's line
		other.do(t, "SET", "k", "v")
		if v, _ := m.read(5 * time.Second); !strings.HasSuffix(string(v.Str), `"SET" "k" "v"`) {
			t.Fatalf("%s: monitor line = %q", addr, v.Str)
		}
		if v := m.do(t, "RESET"); string(v.Str) != "RESET" {
			t.Fatalf("%s: RESET = %q", addr, v.Str)
		}
		other.do(t, "SET", "k", "w")
		if v := m.do(t, "GET", "k"); string(v.Str) != "w" {
			t.Fatalf("%s: after RESET, GET = %c %q (still monitoring?)", addr, v.Kind, v.Str)
		}
	}
	_ = srv
}

// TestMonitorSlowDisconnected: a monitor that never reads is disconnected once its pending output passes
// the normal class's output buffer limit (monitors are normal clients in Redis), and the server keeps serving.
func TestMonitorSlowDisconnected(t *testing.T) {
	srv := start(t)
	ctx := context.Background()
	rdb := client(t, srv, 2)
	if err := rdb.ConfigSet(ctx, "client-output-buffer-limit", "normal 1mb 0 0").Err(); err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.(*net.TCPConn).SetReadBuffer(4096)
	nc.Write(resp.AppendCommandStrings(nil, "MONITOR"))
	br := bufio.NewReader(nc)
	if l, err := br.ReadString('\n'); err != nil || l != "+OK\r\n" {
		t.Fatalf("MONITOR = %q %v", l, err)
	}
	// From here on the monitor reads nothing.
	val := strings.Repeat("v", 16<<10)
	gone := false
	for i := 0; i < 20000 && !gone; i++ {
		if err := rdb.Set(ctx, "k", val, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 {
			list, err := rdb.ClientList(ctx).Result()
			if err != nil {
				t.Fatal(err)
			}
			gone = !strings.Contains(list, "flags=O")
		}
	}
	if !gone {
		t.Fatal("the monitor that does not read was never disconnected")
	}
	if v, err := rdb.Ping(ctx).Result(); err != nil || v != "PONG" {
		t.Fatalf("PING after = %q %v", v, err)
	}
	info, _ := rdb.Info(ctx, "stats").Result()
	t.Logf("disconnected; %s", grepLine(info, "client_output_buffer_limit_disconnections"))
}

func grepLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\r\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// TestMonitorWal checks the wal engine, whose single-command clients are served by the event loop, with
// go-redis clients in RESP2 and RESP3 and a raw one, in several databases.
func TestMonitorWal(t *testing.T) {
	srv := startWal(t)
	m := hlsDial(t, srv.Addr())
	m.do(t, "HELLO", "3")
	if v := m.do(t, "MONITOR"); string(v.Str) != "OK" {
		t.Fatalf("MONITOR = %q", v.Str)
	}
	ctx := context.Background()
	for proto := 2; proto <= 3; proto++ {
		rdb := client(t, srv, proto)
		if err := rdb.Set(ctx, "g", "\x00bin\xfe", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	raw := hlsDial(t, srv.Addr())
	for i := 0; i < 50; i++ { // long enough for the event loop to take the connection
		raw.do(t, "SET", "w", "1")
	}
	raw.do(t, "SELECT", "7")
	raw.do(t, "SET", "w", "2")
	raw.do(t, "ECHO", "end")
	lines := readMonitor(t, m)
	want := []string{`0 client "set" "g" "\x00bin\xfe"`, `7 client "SET" "w" "2"`}
	joined := strings.Join(lines, "\n")
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Fatalf("missing %q in:\n%s", w, joined)
		}
	}
	if n := strings.Count(joined, `0 client "SET" "w" "1"`); n != 50 {
		t.Fatalf("%d SET w 1 lines, want 50", n)
	}
}

// BenchmarkMonitor is BenchmarkPipelinedSetGet with no monitor and with one monitor reading everything:
// the command path's cost of MONITOR.
//
//	go test ./server -run XXX -bench BenchmarkMonitor -benchmem
func BenchmarkMonitor(b *testing.B) {
	b.Run("monitors=0", func(b *testing.B) { benchSetGet(b, start(b)) })
	b.Run("monitors=1", func(b *testing.B) {
		srv := start(b)
		nc, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		nc.Write(resp.AppendCommandStrings(nil, "MONITOR"))
		go io.Copy(io.Discard, nc)
		waitMonitor(b, srv)
		benchSetGet(b, srv)
	})
}

func waitMonitor(b *testing.B, srv *server.Server) {
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	rr := resp.NewReplyReader(bufio.NewReader(nc))
	for i := 0; i < 500; i++ {
		nc.Write(resp.AppendCommandStrings(nil, "CLIENT", "LIST"))
		v, err := rr.Read()
		if err != nil {
			b.Fatal(err)
		}
		if strings.Contains(string(v.Str), "flags=O") {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.Fatal("no monitor")
}
