package replication_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kvlab/kvlab/internal/proctest"
)

// These tests run the real binary over real TCP: a primary and a replica per engine.

func client(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 2 * time.Second, ReadTimeout: 10 * time.Second, PoolSize: 16})
	t.Cleanup(func() { c.Close() })
	return c
}

func info(t *testing.T, c *redis.Client, section string) map[string]string {
	t.Helper()
	s, err := c.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatalf("INFO %s: %v", section, err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(s, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// waitSynced waits until the replica applied everything the primary produced.
func waitSynced(t *testing.T, primary, replica *redis.Client) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		p := info(t, primary, "replication")["master_repl_offset"]
		r := info(t, replica, "replication")
		if r["master_link_status"] == "up" && r["slave_repl_offset"] == p && strings.Contains(info(t, primary, "replication")["slave0"], "state=online,offset="+p+",") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("replica not in sync after 20s: primary %v, replica %v", info(t, primary, "replication"), info(t, replica, "replication"))
}

// writeAllTypes writes every data type in db 0 and db 3, a transaction and TTLs.
func writeAllTypes(t *testing.T, c *redis.Client, tag string) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
	}
	must(c.Set(ctx, tag+":s", "v-"+tag, 0).Err())
	must(c.Set(ctx, tag+":ttl", "x", time.Hour).Err())
	must(c.IncrByFloat(ctx, tag+":f", 1.5).Err())
	must(c.RPush(ctx, tag+":l", "a", "b", "c").Err())
	must(c.LPop(ctx, tag+":l").Err())
	must(c.SAdd(ctx, tag+":set", "x", "y", "z").Err())
	must(c.SPop(ctx, tag+":set").Err())
	must(c.ZAdd(ctx, tag+":z", redis.Z{Score: 1, Member: "a"}, redis.Z{Score: 2.5, Member: "b"}).Err())
	must(c.HSet(ctx, tag+":h", "f1", "v1", "f2", "v2").Err())
	must(c.XAdd(ctx, &redis.XAddArgs{Stream: tag + ":x", Values: []string{"k", "v"}}).Err())
	must(c.XGroupCreate(ctx, tag+":x", "g", "0").Err())
	must(c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{tag + ":x", ">"}}).Err())
	_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, tag+":tx1")
		p.Incr(ctx, tag+":tx2")
		p.Rename(ctx, tag+":tx2", tag+":tx3")
		return nil
	})
	must(err)
	must(c.Do(ctx, "SELECT", 0).Err())
	must(c.Do(ctx, "MOVE", tag+":f", 3).Err())
	must(c.Do(ctx, "COPY", tag+":h", tag+":h3", "DB", "3").Err())
	must(c.Set(ctx, tag+":del", "x", 0).Err())
	must(c.Del(ctx, tag+":del").Err())
}

// snapshot renders every key of dbs 0 and 3 with its type, value and whether it has a TTL.
func snapshot(t *testing.T, addr string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for _, db := range []int{0, 3} {
		c := redis.NewClient(&redis.Options{Addr: addr, DB: db, MaxRetries: -1})
		keys, err := c.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(keys)
		for _, k := range keys {
			typ := c.Type(ctx, k).Val()
			var v any
			switch typ {
			case "string":
				v = c.Get(ctx, k).Val()
			case "list":
				v = c.LRange(ctx, k, 0, -1).Val()
			case "set":
				m := c.SMembers(ctx, k).Val()
				sort.Strings(m)
				v = m
			case "zset":
				v = c.ZRangeWithScores(ctx, k, 0, -1).Val()
			case "hash":
				v = c.HGetAll(ctx, k).Val()
			case "stream":
				v = fmt.Sprint(c.XRange(ctx, k, "-", "+").Val(), c.XInfoGroups(ctx, k).Val())
			}
			ttl := c.PTTL(ctx, k).Val() > 0
			out = append(out, fmt.Sprintf("db%d %s %s %v ttl=%v", db, k, typ, v, ttl))
		}
		c.Close()
	}
	return out
}

func TestReplication(t *testing.T) {
	for _, engine := range []string{"memory", "wal"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			args := func(extra ...string) []string {
				a := []string{"--engine", engine}
				if engine != "memory" {
					a = append(a, "--dir", t.TempDir())
				}
				return append(a, extra...)
			}
			p := proctest.Start(t, args()...)
			pc := client(t, p.Addr)
			writeAllTypes(t, pc, "before") // reaches the replica by the full sync
			r := proctest.Start(t, args("--replicaof", p.Addr)...)
			rc := client(t, r.Addr)
			waitSynced(t, pc, rc)
			writeAllTypes(t, pc, "after") // reaches it by the stream
			waitSynced(t, pc, rc)
			want := snapshot(t, p.Addr)
			if got := snapshot(t, r.Addr); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("replica differs from primary:\nprimary:\n%s\nreplica:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
			}
			if len(want) < 20 {
				t.Fatalf("too few keys written: %v", want)
			}

			// Writes are refused on the replica; reads and admin commands work.
			if err := rc.Set(ctx, "k", "v", 0).Err(); err == nil || err.Error() != "READONLY You can't write against a read only replica." {
				t.Fatalf("SET on replica: %v", err)
			}
			if err := rc.Get(ctx, "before:s").Err(); err != nil {
				t.Fatalf("GET on replica: %v", err)
			}

			// INFO replication on both.
			pi, ri := info(t, pc, "replication"), info(t, rc, "replication")
			for _, k := range []string{"role", "connected_slaves", "slave0", "master_failover_state", "master_replid", "master_replid2",
				"master_repl_offset", "second_repl_offset", "repl_backlog_active", "repl_backlog_size",
				"repl_backlog_first_byte_offset", "repl_backlog_histlen"} {
				if _, ok := pi[k]; !ok {
					t.Errorf("primary INFO replication lacks %s: %v", k, pi)
				}
			}
			for _, k := range []string{"master_host", "master_port", "master_link_status", "master_last_io_seconds_ago",
				"master_sync_in_progress", "slave_read_repl_offset", "slave_repl_offset", "slave_priority", "slave_read_only",
				"replica_announced"} {
				if _, ok := ri[k]; !ok {
					t.Errorf("replica INFO replication lacks %s: %v", k, ri)
				}
			}
			if pi["role"] != "master" || ri["role"] != "slave" || pi["connected_slaves"] != "1" || len(pi["master_replid"]) != 40 ||
				pi["master_replid"] != ri["master_replid"] || ri["master_link_status"] != "up" {
				t.Fatalf("INFO replication: primary %v replica %v", pi, ri)
			}
			_, rport, _ := net.SplitHostPort(r.Addr)
			if !strings.Contains(pi["slave0"], "port="+rport+",state=online,offset=") {
				t.Errorf("slave0: %q", pi["slave0"])
			}
			if role := rc.Do(ctx, "ROLE").Val(); fmt.Sprint(role) != fmt.Sprintf("[slave 127.0.0.1 %s connected %s]", strings.Split(p.Addr, ":")[1], ri["slave_repl_offset"]) {
				t.Errorf("ROLE on replica: %v", role)
			}

			// WAIT: one replica acknowledges.
			pc.Set(ctx, "w", "1", 0)
			if n, err := pc.Wait(ctx, 1, 5*time.Second).Result(); err != nil || n != 1 {
				t.Fatalf("WAIT 1 5000 = %d, %v", n, err)
			}

			// Partial resync after the replica's connection is killed.
			if n, err := pc.Do(ctx, "CLIENT", "KILL", "TYPE", "replica").Int(); err != nil || n != 1 {
				t.Fatalf("CLIENT KILL TYPE replica = %d, %v", n, err)
			}
			writeAllTypes(t, pc, "during")
			waitSynced(t, pc, rc)
			st := info(t, pc, "stats")
			if st["sync_full"] != "1" || st["sync_partial_ok"] != "1" {
				t.Fatalf("after a killed link: sync_full=%s sync_partial_ok=%s (want 1 and 1)", st["sync_full"], st["sync_partial_ok"])
			}
			want = snapshot(t, p.Addr)
			if got := snapshot(t, r.Addr); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("after partial resync the replica differs:\nprimary:\n%s\nreplica:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
			}
			if engine == "wal" {
				pk, rk := info(t, pc, "kvlab"), info(t, rc, "kvlab")
				if rk["kvlab_primary_lsn_applied"] != pk["wal_lsn"] {
					t.Errorf("replica applied primary LSN %s, primary is at %s", rk["kvlab_primary_lsn_applied"], pk["wal_lsn"])
				}
				// The replica's own log holds what it applied: it survives a restart with the data.
				r.Restart(t)
				rc2 := client(t, r.Addr)
				waitSynced(t, pc, rc2)
				if got := snapshot(t, r.Addr); strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("after restart the replica differs")
				}
			}

			// REPLICAOF NO ONE: the replica becomes a primary that takes writes.
			if err := rc.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
				t.Fatal(err)
			}
			ri = info(t, rc, "replication")
			if ri["role"] != "master" || ri["master_replid2"] != pi["master_replid"] || ri["second_repl_offset"] == "-1" {
				t.Fatalf("after REPLICAOF NO ONE: %v", ri)
			}
			if err := rc.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatalf("SET after promotion: %v", err)
			}
		})
	}
}

// TestPromoteCatchup: a wal primary (fsync always) under concurrent writes, a wal replica, kill -9 of the
// primary, then KVLAB.PROMOTE with the primary's directory: every acknowledged write must be readable on
// the promoted replica. "lagging" detaches the replica some time before the kill, so the catch-up from the
// dead primary's log is what saves the writes acknowledged meanwhile.
func TestPromoteCatchup(t *testing.T) {
	for _, mode := range []string{"connected", "lagging"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			pdir := t.TempDir()
			p := proctest.Start(t, "--engine", "wal", "--dir", pdir, "--engine-opt", "fsync=always")
			pc := client(t, p.Addr)
			r := proctest.Start(t, "--engine", "wal", "--dir", t.TempDir(), "--replicaof", p.Addr)
			rc := client(t, r.Addr)
			waitSynced(t, pc, rc)

			var mu sync.Mutex
			acked := map[string]string{} // key -> value acknowledged by the primary
			pushed := map[string]bool{}  // list elements acknowledged
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := redis.NewClient(&redis.Options{Addr: p.Addr, MaxRetries: -1, PoolSize: 1})
					defer c.Close()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						k, v := fmt.Sprintf("w%d:%d", w, i), strconv.Itoa(i)
						if err := c.Set(ctx, k, v, 0).Err(); err != nil {
							return // the primary is gone
						}
						mu.Lock()
						acked[k] = v
						mu.Unlock()
						el := fmt.Sprintf("%d/%d", w, i)
						if err := c.RPush(ctx, "list", el).Err(); err != nil {
							return
						}
						mu.Lock()
						pushed[el] = true
						mu.Unlock()
					}
				}()
			}
			time.Sleep(500 * time.Millisecond)
			if mode == "lagging" {
				// Point the replica at a closed port: it stops applying, keeping its last applied LSN.
				ln, _ := net.Listen("tcp", "127.0.0.1:0")
				dead := ln.Addr().(*net.TCPAddr).Port
				ln.Close()
				if err := rc.Do(ctx, "REPLICAOF", "127.0.0.1", dead).Err(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(300 * time.Millisecond)
			}
			p.Kill() // SIGKILL under load
			close(stop)
			wg.Wait()
			mu.Lock()
			defer mu.Unlock()
			if len(acked) < 100 {
				t.Fatalf("only %d writes acknowledged before the kill", len(acked))
			}
			if err := rc.Do(ctx, "KVLAB.PROMOTE", filepath.Clean(pdir)).Err(); err != nil {
				t.Fatalf("KVLAB.PROMOTE: %v", err)
			}
			if role := info(t, rc, "replication")["role"]; role != "master" {
				t.Fatalf("role after promotion: %s", role)
			}
			missing := 0
			for k, v := range acked {
				if got, err := rc.Get(ctx, k).Result(); err != nil || got != v {
					if missing < 5 {
						t.Errorf("acknowledged %s=%s, promoted replica has %q (%v)", k, v, got, err)
					}
					missing++
				}
			}
			list, err := rc.LRange(ctx, "list", 0, -1).Result()
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, e := range list {
				have[e] = true
			}
			for e := range pushed {
				if !have[e] {
					missing++
				}
			}
			ki := info(t, rc, "kvlab")
			t.Logf("%s: %d SETs and %d RPUSHes acknowledged; %d records caught up from the dead primary's log; applied primary LSN %s",
				mode, len(acked), len(pushed), atoi(ki["kvlab_repl_promote_catchup_records"]), ki["kvlab_primary_lsn_applied"])
			if missing > 0 {
				t.Fatalf("%d acknowledged writes lost on promotion", missing)
			}
			if mode == "lagging" && atoi(ki["kvlab_repl_promote_catchup_records"]) == 0 {
				t.Errorf("the lagging replica caught up nothing from the log: the test did not exercise the catch-up")
			}
			if err := rc.Set(ctx, "after", "1", 0).Err(); err != nil {
				t.Fatalf("write after promotion: %v", err)
			}
		})
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
