package wal

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvlab/kvlab/resp"
	"github.com/kvlab/kvlab/server"
)

// startServer runs a kvlab server on the wal engine over real TCP.
func startServer(t testing.TB, dir string, opts map[string]string) *server.Server {
	t.Helper()
	if opts == nil {
		opts = map[string]string{}
	}
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", Engine: "wal", Dir: dir, EngineOptions: opts, Log: logWriter2{t}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

type logWriter2 struct{ t testing.TB }

func (w logWriter2) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// client is a minimal RESP client over TCP.
type client struct {
	nc  net.Conn
	rr  *resp.ReplyReader
	buf []byte
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{nc: nc, rr: resp.NewReplyReader(bufio.NewReader(nc))}
}

func tryDial(addr string) (*client, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &client{nc: nc, rr: resp.NewReplyReader(bufio.NewReader(nc))}, nil
}

func (c *client) do(t testing.TB, args ...string) resp.Value {
	t.Helper()
	v, err := c.try(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

func (c *client) try(args ...string) (resp.Value, error) {
	c.buf = resp.AppendCommandStrings(c.buf[:0], args...)
	c.nc.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.nc.Write(c.buf); err != nil {
		return resp.Value{}, err
	}
	return c.rr.Read()
}

func info(t testing.TB, c *client, field string) string {
	t.Helper()
	v := c.do(t, "INFO", "everything")
	for _, line := range strings.Split(string(v.Str), "\r\n") {
		if k, val, ok := strings.Cut(line, ":"); ok && k == field {
			return val
		}
	}
	t.Fatalf("INFO has no field %q", field)
	return ""
}

// Reply gating: a write's reply waits for its record to be durable, and so does the reply of a read that
// observed that write (or its deletion) from another connection; a read of an untouched key does not wait.
func TestReplyGating(t *testing.T) {
	const delay = 300 * time.Millisecond
	srv := startServer(t, t.TempDir(), map[string]string{"commit-delay": delay.String()})
	addr := srv.Addr()
	setup := dial(t, addr)
	setup.do(t, "SET", "gone", "x") // a durable key, deleted below
	for _, tc := range []struct {
		name        string
		write, read []string
		waits       bool
	}{
		{"read of the written key", []string{"SET", "k", "v"}, []string{"GET", "k"}, true},
		{"read of a deleted key", []string{"DEL", "gone"}, []string{"GET", "gone"}, true},
		{"read of another key", []string{"SET", "k2", "v"}, []string{"GET", "untouched"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := dial(t, addr), dial(t, addr)
			start := time.Now()
			var wg sync.WaitGroup
			var writeDone time.Duration
			wg.Add(1)
			go func() {
				defer wg.Done()
				a.do(t, tc.write...)
				writeDone = time.Since(start)
			}()
			time.Sleep(delay / 6) // the write has executed (in memory) but is not durable yet
			b.do(t, tc.read...)
			readDone := time.Since(start)
			wg.Wait()
			if writeDone < delay {
				t.Fatalf("the write was acknowledged after %s, before its commit delay of %s", writeDone, delay)
			}
			if tc.waits && readDone < delay {
				t.Fatalf("the read returned after %s, before the write it observed was durable (%s)", readDone, writeDone)
			}
			if !tc.waits && readDone > delay*2/3 {
				t.Fatalf("a read of an untouched key waited %s", readDone)
			}
		})
	}
}

// Pipelined replies keep their order and leave together once the last write they depend on is durable.
func TestPipelineOrder(t *testing.T) {
	srv := startServer(t, t.TempDir(), nil)
	c := dial(t, srv.Addr())
	var buf []byte
	for i := 0; i < 100; i++ {
		buf = resp.AppendCommandStrings(buf, "INCR", "counter")
	}
	if _, err := c.nc.Write(buf); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		v, err := c.rr.Read()
		if err != nil || v.Int != int64(i) {
			t.Fatalf("reply %d: %v %v", i, v, err)
		}
	}
}

// Concurrent writers share fsyncs (group commit), and under everysec/no the replies do not wait for one.
func TestFsyncPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy  string
		workers int
		check   func(fsyncs, batches, records int) bool
		want    string
	}{
		{"always", 20, func(f, b, r int) bool { return f == b && r > b }, "one fsync per batch, batches shared by several writers"},
		{"everysec", 20, func(f, b, r int) bool { return f <= 5 }, "at most a few fsyncs (one per second)"},
		{"no", 4, func(f, b, r int) bool { return f == 0 }, "no fsync while serving"},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			srv := startServer(t, t.TempDir(), map[string]string{"fsync": tc.policy})
			var wg sync.WaitGroup
			for w := 0; w < tc.workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := dial(t, srv.Addr())
					for i := 0; i < 100; i++ {
						c.do(t, "SET", "k"+strconv.Itoa(w)+"-"+strconv.Itoa(i), "v")
					}
				}()
			}
			wg.Wait()
			c := dial(t, srv.Addr())
			n := func(f string) int { v, _ := strconv.Atoi(info(t, c, f)); return v }
			f, b, r := n("wal_fsyncs"), n("wal_batches"), n("wal_records")
			if r != tc.workers*100 || !tc.check(f, b, r) {
				t.Fatalf("fsyncs=%d batches=%d records=%d: want %s", f, b, r, tc.want)
			}
			if got := info(t, c, "wal_fsync_policy"); got != tc.policy {
				t.Fatalf("wal_fsync_policy %q", got)
			}
		})
	}
}

// Under everysec the log is fsynced in the background, as Redis's appendfsync everysec does: a sync that
// takes long (here every one is lengthened to 800 ms) holds up no write, and closing the server waits for
// the sync in flight and loses nothing.
func TestEverysecSyncsInBackground(t *testing.T) {
	slowSync = 800 * time.Millisecond
	t.Cleanup(func() { slowSync = 0 })
	dir := t.TempDir()
	srv := startServer(t, dir, map[string]string{"fsync": "everysec"})
	c := dial(t, srv.Addr())
	var slowest time.Duration
	n := 0
	for start := time.Now(); time.Since(start) < 2500*time.Millisecond; n++ {
		t0 := time.Now()
		c.do(t, "SET", "k"+strconv.Itoa(n), "v")
		slowest = max(slowest, time.Since(t0))
	}
	if got := info(t, c, "wal_fsyncs"); got == "0" {
		t.Fatalf("no fsync completed in 2.5 s of writes under everysec")
	}
	// With the sync inline, the writes that arrive during one wait for it: 800 ms.
	if slowest > 400*time.Millisecond {
		t.Fatalf("the slowest of %d SETs took %v: writes waited for an everysec fsync", n, slowest)
	}
	c.do(t, "SET", "last", "v") // a sync is most likely in flight: Close must wait for it
	if err := srv.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	srv = startServer(t, dir, nil)
	c = dial(t, srv.Addr())
	if v := c.do(t, "DBSIZE"); v.Int != int64(n+1) {
		t.Fatalf("DBSIZE after restart = %d, want %d", v.Int, n+1)
	}
}

// SAVE and BGSAVE through the server, and INFO persistence with Redis's field names.
func TestSaveAndInfo(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, nil)
	c := dial(t, srv.Addr())
	for i := 0; i < 50; i++ {
		c.do(t, "SET", "k"+strconv.Itoa(i), "v")
	}
	if v := c.do(t, "SAVE"); string(v.Str) != "OK" {
		t.Fatalf("SAVE: %v", v)
	}
	if got := info(t, c, "rdb_changes_since_last_save"); got != "0" {
		t.Fatalf("rdb_changes_since_last_save after SAVE = %s", got)
	}
	c.do(t, "SET", "after", "save")
	if got := info(t, c, "rdb_changes_since_last_save"); got != "1" {
		t.Fatalf("rdb_changes_since_last_save = %s", got)
	}
	if v := c.do(t, "BGSAVE"); string(v.Str) != "Background saving started" {
		t.Fatalf("BGSAVE: %v", v)
	}
	for i := 0; info(t, c, "rdb_bgsave_in_progress") == "1" && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	for field, want := range map[string]string{"rdb_last_bgsave_status": "ok", "aof_enabled": "1", "aof_last_write_status": "ok", "rdb_saves": "2", "wal_lsn": "51", "wal_durable_lsn": "51"} {
		if got := info(t, c, field); got != want {
			t.Fatalf("%s = %q, want %q", field, got, want)
		}
	}
}

// A transaction is one log record: MULTI/EXEC's effects are committed (and recovered) atomically.
func TestTransactionOneRecord(t *testing.T) {
	if !has("multi") {
		t.Skip("the server has no MULTI yet")
	}
	srv := startServer(t, t.TempDir(), nil)
	c := dial(t, srv.Addr())
	before, _ := strconv.Atoi(info(t, c, "wal_records"))
	c.do(t, "MULTI")
	c.do(t, "SET", "a", "1")
	c.do(t, "INCR", "n")
	c.do(t, "RPUSH", "l", "x")
	if v := c.do(t, "EXEC"); len(v.Elems) != 3 {
		t.Fatalf("EXEC: %+v", v)
	}
	after, _ := strconv.Atoi(info(t, c, "wal_records"))
	if after-before != 1 {
		t.Fatalf("the transaction took %d log records, want 1", after-before)
	}
}
