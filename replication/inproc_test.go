package replication_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	_ "github.com/kvlab/kvlab/engines/all"
	"github.com/kvlab/kvlab/server"
)

type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func startInProc(t *testing.T, engine string, repl server.ReplicationConfig) *server.Server {
	t.Helper()
	cfg := server.Config{Addr: "127.0.0.1:0", Engine: engine, Dir: t.TempDir(), Log: testLog{t}, Replication: repl}
	if engine == "tiered" {
		// A one-byte budget moves every value to disk: full syncs and the stream meet cold values.
		cfg.MaxMemory = 1
		cfg.EngineOptions = map[string]string{"tier-min-value": "1"}
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

// TestInProcessConcurrent runs primary and replica in this process (so -race sees both sides) with
// concurrent writers, a killed link in the middle, a small backlog, and promotion.
func TestInProcessConcurrent(t *testing.T) {
	for _, engine := range []string{"memory", "wal", "tiered"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			p := startInProc(t, engine, server.ReplicationConfig{BacklogSize: 64 << 10})
			r := startInProc(t, engine, server.ReplicationConfig{ReplicaOf: p.Addr()})
			pc, rc := client(t, p.Addr()), client(t, r.Addr())
			var wg sync.WaitGroup
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 500; i++ {
						k := fmt.Sprintf("k%d", i%50)
						pc.Incr(ctx, k)
						pc.HIncrBy(ctx, "h", k, 1)
						if i == 250 && w == 0 {
							pc.Do(ctx, "CLIENT", "KILL", "TYPE", "replica")
						}
						if i%100 == 0 {
							rc.Get(ctx, k)
							rc.Info(ctx, "replication")
							pc.Info(ctx, "replication")
						}
					}
				}()
			}
			wg.Wait()
			waitSynced(t, pc, rc)
			for i := 0; i < 50; i++ {
				k := fmt.Sprintf("k%d", i)
				if a, b := pc.Get(ctx, k).Val(), rc.Get(ctx, k).Val(); a != b {
					t.Fatalf("%s: primary %s replica %s", k, a, b)
				}
			}
			if a, b := fmt.Sprint(pc.HGetAll(ctx, "h").Val()), fmt.Sprint(rc.HGetAll(ctx, "h").Val()); a != b {
				t.Fatalf("hash differs")
			}
			// A replica of the replica (chained) gets the data set, then the stream in the right database.
			sub := startInProc(t, engine, server.ReplicationConfig{ReplicaOf: r.Addr()})
			sc := client(t, sub.Addr())
			p5 := redis.NewClient(&redis.Options{Addr: p.Addr(), DB: 5})
			defer p5.Close()
			p5.Set(ctx, "in5", "yes", 0)
			pc.Set(ctx, "in0", "yes", 0)
			waitSynced(t, pc, rc)
			waitSynced(t, rc, sc)
			if sc.Get(ctx, "k1").Val() != pc.Get(ctx, "k1").Val() || sc.Get(ctx, "in0").Val() != "yes" || sc.Exists(ctx, "in5").Val() != 0 {
				t.Fatalf("sub-replica: k1=%q in0=%q in5 exists=%d", sc.Get(ctx, "k1").Val(), sc.Get(ctx, "in0").Val(), sc.Exists(ctx, "in5").Val())
			}
			s5 := redis.NewClient(&redis.Options{Addr: sub.Addr(), DB: 5})
			defer s5.Close()
			if s5.Get(ctx, "in5").Val() != "yes" {
				t.Fatalf("sub-replica lacks db 5's key")
			}
			if n := pc.Wait(ctx, 1, 2*time.Second).Val(); n != 1 {
				t.Fatalf("WAIT = %d", n)
			}
			if err := r.Replication().Promote(""); err != nil {
				t.Fatal(err)
			}
			if err := rc.Set(ctx, "x", "1", 0).Err(); err != nil {
				t.Fatal(err)
			}
			// The old primary follows the promoted replica: it continues (PSYNC2) or resyncs.
			if err := pc.Do(ctx, "REPLICAOF", "127.0.0.1", strings.Split(r.Addr(), ":")[1]).Err(); err != nil {
				t.Fatal(err)
			}
			waitSynced(t, rc, pc)
			if v := pc.Get(ctx, "x").Val(); v != "1" {
				t.Fatalf("old primary, now replica, has x=%q", v)
			}
		})
	}
}

// TestBacklogOverflowFullResync: a replica that misses more than the backlog holds resynchronizes fully
// (sync_partial_err, then sync_full), and ends with the primary's data; WAIT times out without replicas.
func TestBacklogOverflowFullResync(t *testing.T) {
	ctx := context.Background()
	p := startInProc(t, "memory", server.ReplicationConfig{BacklogSize: 16 << 10})
	pc := client(t, p.Addr())
	if n := pc.Wait(ctx, 1, 50*time.Millisecond).Val(); n != 0 {
		t.Fatalf("WAIT without replicas = %d", n)
	}
	r := startInProc(t, "memory", server.ReplicationConfig{ReplicaOf: p.Addr()})
	rc := client(t, r.Addr())
	pc.Set(ctx, "a", "1", 0)
	waitSynced(t, pc, rc)
	// Detach the replica (REPLICAOF to a closed port), write more than the backlog, re-attach.
	rc.Do(ctx, "REPLICAOF", "127.0.0.1", "1")
	for i := 0; i < 500; i++ {
		pc.Set(ctx, fmt.Sprintf("k%d", i), strings.Repeat("x", 100), 0)
	}
	rc.Do(ctx, "REPLICAOF", "127.0.0.1", strings.Split(p.Addr(), ":")[1])
	waitSynced(t, pc, rc)
	st := info(t, pc, "stats")
	if st["sync_full"] != "2" || st["sync_partial_err"] != "1" {
		t.Fatalf("sync_full=%s sync_partial_err=%s, want 2 and 1", st["sync_full"], st["sync_partial_err"])
	}
	if n := rc.DBSize(ctx).Val(); n != 501 {
		t.Fatalf("replica has %d keys, want 501", n)
	}
	// CLIENT KILL TYPE master on the replica drops its link, which continues from the backlog.
	if n := rc.Do(ctx, "CLIENT", "KILL", "TYPE", "master").Val(); fmt.Sprint(n) != "1" {
		t.Fatalf("CLIENT KILL TYPE master = %v", n)
	}
	pc.Set(ctx, "c", "3", 0)
	waitSynced(t, pc, rc)
	// A short detachment continues from the backlog.
	rc.Do(ctx, "REPLICAOF", "127.0.0.1", "1")
	pc.Set(ctx, "b", "2", 0)
	rc.Do(ctx, "REPLICAOF", "127.0.0.1", strings.Split(p.Addr(), ":")[1])
	waitSynced(t, pc, rc)
	if st := info(t, pc, "stats"); st["sync_partial_ok"] != "2" || rc.Get(ctx, "b").Val() != "2" || rc.Get(ctx, "c").Val() != "3" {
		t.Fatalf("short detachment: sync_partial_ok=%s b=%q", st["sync_partial_ok"], rc.Get(ctx, "b").Val())
	}
}
