package tiered_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	_ "github.com/kvlab/kvlab/engines/all"
	"github.com/kvlab/kvlab/server"
)

// start serves the tiered engine from dir over real TCP with the given budget and options.
func start(t *testing.T, dir string, budget int64, policy string, opts map[string]string) (*server.Server, *redis.Client) {
	t.Helper()
	if policy == "" {
		policy = "noeviction"
	}
	return startServer(t, server.Config{Addr: "127.0.0.1:0", Engine: "tiered", Dir: dir, MaxMemory: budget,
		MaxMemoryPolicy: policy, EngineOptions: opts, Log: testWriter{t}})
}

// startServer starts a server with cfg and a client of it; both are closed at cleanup.
func startServer(t *testing.T, cfg server.Config) (*server.Server, *redis.Client) {
	t.Helper()
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close(); srv.Close() })
	return srv, rdb
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// tierInfo returns the numeric tier_* fields of INFO kvlab.
func tierInfo(t *testing.T, rdb *redis.Client) map[string]int64 {
	t.Helper()
	s, err := rdb.Info(context.Background(), "kvlab").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, line := range strings.Split(s, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.HasPrefix(k, "tier_") {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("INFO %s: %q is not a number", k, v)
			}
			out[k] = n
		}
	}
	if _, ok := out["tier_keys_disk"]; !ok {
		t.Fatalf("INFO kvlab has no tier figures:\n%s", s)
	}
	return out
}

// waitFor polls INFO until cond holds (the demoter works in the background).
func waitFor(t *testing.T, rdb *redis.Client, what string, cond func(map[string]int64) bool) map[string]int64 {
	t.Helper()
	var in map[string]int64
	for i := 0; i < 500; i++ {
		if in = tierInfo(t, rdb); cond(in) {
			return in
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; tier figures: %v", what, in)
	return nil
}

func value(i int) string { return fmt.Sprintf("%06d:%s", i, strings.Repeat("v", 200)) }

// fill writes n strings and one key of every other type.
func fill(t *testing.T, rdb *redis.Client, n int) {
	t.Helper()
	ctx := context.Background()
	p := rdb.Pipeline()
	for i := 0; i < n; i++ {
		p.Set(ctx, fmt.Sprint("s:", i), value(i), 0)
	}
	for i := 0; i < 100; i++ {
		p.HSet(ctx, "h", fmt.Sprint("f", i), value(i))
		p.RPush(ctx, "l", value(i))
		p.SAdd(ctx, "set", value(i))
		p.ZAdd(ctx, "z", redis.Z{Score: float64(i), Member: value(i)})
		p.XAdd(ctx, &redis.XAddArgs{Stream: "x", ID: fmt.Sprintf("%d-1", i+1), Values: []string{"v", value(i)}})
	}
	p.Set(ctx, "ttl", value(-1), time.Hour)
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

// check reads everything fill wrote back and compares.
func check(t *testing.T, rdb *redis.Client, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		if got, err := rdb.Get(ctx, fmt.Sprint("s:", i)).Result(); err != nil || got != value(i) {
			t.Fatalf("GET s:%d = %.20q, %v; want %.20q", i, got, err, value(i))
		}
	}
	h, err := rdb.HGetAll(ctx, "h").Result()
	if err != nil || len(h) != 100 || h["f42"] != value(42) {
		t.Fatalf("HGETALL h: %d fields, %v", len(h), err)
	}
	l, err := rdb.LRange(ctx, "l", 0, -1).Result()
	if err != nil || len(l) != 100 || l[99] != value(99) {
		t.Fatalf("LRANGE l: %d elements, %v", len(l), err)
	}
	if ok, err := rdb.SIsMember(ctx, "set", value(7)).Result(); err != nil || !ok {
		t.Fatalf("SISMEMBER set: %v %v", ok, err)
	}
	if sc, err := rdb.ZScore(ctx, "z", value(64)).Result(); err != nil || sc != 64 {
		t.Fatalf("ZSCORE z: %v %v", sc, err)
	}
	if xs, err := rdb.XRange(ctx, "x", "-", "+").Result(); err != nil || len(xs) != 100 || xs[5].Values["v"] != value(5) {
		t.Fatalf("XRANGE x: %d entries, %v", len(xs), err)
	}
	if ttl, err := rdb.TTL(ctx, "ttl").Result(); err != nil || ttl <= 0 {
		t.Fatalf("TTL ttl = %v %v", ttl, err)
	}
}

// TestColdValuesRoundTrip moves most of a data set to disk, reads every value back over TCP, and checks that
// DEL, overwrite and FLUSHALL reclaim the tier.
func TestColdValuesRoundTrip(t *testing.T) {
	ctx := context.Background()
	_, rdb := start(t, t.TempDir(), 64<<10, "", nil)
	const n = 3000
	fill(t, rdb, n)
	in := waitFor(t, rdb, "values to move to disk", func(m map[string]int64) bool {
		return m["tier_keys_disk"] > n/2 && m["tier_bytes_ram"] <= m["tier_budget_bytes"]
	})
	t.Logf("after fill: %v", in)
	check(t, rdb, n)
	after := tierInfo(t, rdb)
	if after["tier_promotions"] == 0 || after["tier_misses"] == 0 || after["tier_read_bytes"] == 0 {
		t.Fatalf("reading cold values promoted nothing: %v", after)
	}
	if after["tier_written_bytes"] == 0 || after["tier_demotions"] < n/2 {
		t.Fatalf("demotions not counted: %v", after)
	}

	// Deleting and overwriting cold keys reclaims their bytes on disk.
	in = waitFor(t, rdb, "values back on disk", func(m map[string]int64) bool { return m["tier_keys_disk"] > n/2 })
	keys := make([]string, 0, n/2)
	for i := 0; i < n/2; i++ {
		keys = append(keys, fmt.Sprint("s:", i))
	}
	if err := rdb.Unlink(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	for i := n / 2; i < n; i++ {
		if err := rdb.Set(ctx, fmt.Sprint("s:", i), "short", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	del := tierInfo(t, rdb)
	if del["tier_reclaims"] <= in["tier_reclaims"] || del["tier_bytes_disk"] >= in["tier_bytes_disk"] {
		t.Fatalf("DEL and overwrite did not reclaim the tier: before %v, after %v", in, del)
	}
	for i := n / 2; i < n; i += 97 {
		if got := rdb.Get(ctx, fmt.Sprint("s:", i)).Val(); got != "short" {
			t.Fatalf("s:%d = %.20q after overwrite", i, got)
		}
	}
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	flushed := waitFor(t, rdb, "an empty tier", func(m map[string]int64) bool {
		return m["tier_keys_disk"] == 0 && m["tier_bytes_disk"] == 0 && m["tier_bytes_ram"] == 0
	})
	if flushed["tier_keys_ram"] != 0 {
		t.Fatalf("after FLUSHALL: %v", flushed)
	}
}

// TestSnapshotIncludesColdValues saves a snapshot while most values are on disk, restarts on the same
// directory (the tier starts empty and is rebuilt from the snapshot and log), and reads everything back.
func TestSnapshotIncludesColdValues(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, rdb := start(t, dir, 64<<10, "", nil)
	const n = 2000
	fill(t, rdb, n)
	waitFor(t, rdb, "values to move to disk", func(m map[string]int64) bool { return m["tier_keys_disk"] > n/2 })
	if err := rdb.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// A write after the snapshot comes back from the log.
	if err := rdb.Set(ctx, "after", "snapshot", 0).Err(); err != nil {
		t.Fatal(err)
	}
	rdb.Close()
	srv.Close()
	_, rdb = start(t, dir, 64<<10, "", nil)
	check(t, rdb, n)
	if got := rdb.Get(ctx, "after").Val(); got != "snapshot" {
		t.Fatalf("after = %q", got)
	}
}

// TestTierFull fills a capped tier: noeviction answers OOM, an evicting policy evicts (cold keys included).
func TestTierFull(t *testing.T) {
	ctx := context.Background()
	opts := map[string]string{"tier-max-bytes": "100kb"}
	_, rdb := start(t, t.TempDir(), 32<<10, "noeviction", opts)
	var oom error
	for i := 0; i < 5000 && oom == nil; i++ {
		if err := rdb.Set(ctx, fmt.Sprint("k", i), value(i), 0).Err(); err != nil {
			oom = err
		}
		if i%100 == 0 {
			time.Sleep(5 * time.Millisecond) // let the demoter fill the tier
		}
	}
	want := "OOM command not allowed when used memory > 'maxmemory'."
	if oom == nil || oom.Error() != want {
		t.Fatalf("writing past a full tier: %v, want %q", oom, want)
	}
	in := tierInfo(t, rdb)
	if in["tier_full"] != 1 {
		t.Fatalf("tier not reported full: %v", in)
	}
	// Reads still work, and so does freeing space.
	if got := rdb.Get(ctx, "k1").Val(); got != value(1) {
		t.Fatalf("GET k1 = %.20q", got)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	for i := 5000; i < 5500; i++ {
		if err := rdb.Set(ctx, fmt.Sprint("k", i), value(i), 0).Err(); err != nil {
			t.Fatalf("SET with allkeys-lru: %v", err)
		}
	}
	st, err := rdb.Info(ctx, "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(st, "evicted_keys:0\r\n") {
		t.Fatalf("nothing evicted:\n%s", st)
	}
	if got := rdb.Get(ctx, "k5499").Val(); got != value(5499) {
		t.Fatalf("GET k5499 = %.20q", got)
	}
}

// BenchmarkGet reads 500-byte values over TCP from a tiered server whose budget holds all of them (hot) or
// almost none (cold: every GET promotes a value from Pebble, and the demoter moves others back out).
func BenchmarkGet(b *testing.B) {
	for _, tc := range []struct {
		name   string
		budget int64
	}{{"hot", 1 << 30}, {"cold", 64 << 10}} {
		b.Run(tc.name, func(b *testing.B) {
			srv, err := server.New(server.Config{Addr: "127.0.0.1:0", Engine: "tiered", Dir: b.TempDir(), MaxMemory: tc.budget, Log: io.Discard})
			if err != nil {
				b.Fatal(err)
			}
			if err := srv.Start(); err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
			defer rdb.Close()
			ctx := context.Background()
			const n = 20000
			p := rdb.Pipeline()
			for i := 0; i < n; i++ {
				p.Set(ctx, fmt.Sprint("k", i), strings.Repeat("x", 500), 0)
			}
			if _, err := p.Exec(ctx); err != nil {
				b.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond) // let the demoter settle
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := rdb.Get(ctx, fmt.Sprint("k", (i*7919)%n)).Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestModifiedValuesAfterPromotion runs a random mix of commands of every type on a tiered server whose
// budget holds a few values, so values cycle between RAM and disk all the time, and the same commands on a
// memory server: every reply must match. A value read back from the tier keeps its copy there until it is
// modified; a modification that failed to invalidate the copy would bring an old value back.
func TestModifiedValuesAfterPromotion(t *testing.T) {
	ctx := context.Background()
	_, tiered := start(t, t.TempDir(), 4<<10, "", map[string]string{"tier-min-value": "1"})
	_, memory := startServer(t, server.Config{Addr: "127.0.0.1:0", Engine: "memory", Log: testWriter{t}})

	rng := rand.New(rand.NewPCG(7, 11))
	const keys = 40
	pad := strings.Repeat("p", 150) // values big enough that a few fill the budget
	key := func(kind string) string { return fmt.Sprintf("%s:%d", kind, rng.IntN(keys)) }
	xid := 0 // stream IDs, increasing
	cmds := []func() []any{
		func() []any { return []any{"SET", key("s"), fmt.Sprint(pad, rng.IntN(1000))} },
		func() []any { return []any{"GET", key("s")} },
		func() []any { return []any{"APPEND", key("s"), "+a"} },
		func() []any { return []any{"SETRANGE", key("s"), rng.IntN(20), "RANGE"} },
		func() []any { return []any{"GETSET", key("s"), fmt.Sprint(pad, "gs")} },
		func() []any { return []any{"INCRBY", key("n"), rng.IntN(100)} },
		func() []any { return []any{"GET", key("n")} },
		func() []any {
			return []any{"HSET", key("h"), fmt.Sprint("f", rng.IntN(5)), fmt.Sprint(pad, rng.IntN(100))}
		},
		func() []any { return []any{"HINCRBY", key("h"), "count", 1} },
		func() []any { return []any{"HGET", key("h"), fmt.Sprint("f", rng.IntN(5))} },
		func() []any { return []any{"HGET", key("h"), "count"} },
		func() []any { return []any{"RPUSH", key("l"), fmt.Sprint(pad, rng.IntN(100))} },
		func() []any { return []any{"LPOP", key("l")} },
		func() []any { return []any{"LRANGE", key("l"), 0, -1} },
		func() []any { return []any{"SADD", key("t"), fmt.Sprint(pad, rng.IntN(8))} },
		func() []any { return []any{"SREM", key("t"), fmt.Sprint(pad, rng.IntN(8))} },
		func() []any { return []any{"SCARD", key("t")} },
		func() []any { return []any{"ZADD", key("z"), rng.IntN(50), fmt.Sprint(pad, rng.IntN(8))} },
		func() []any { return []any{"ZINCRBY", key("z"), 2, fmt.Sprint(pad, rng.IntN(8))} },
		func() []any { return []any{"ZRANGE", key("z"), 0, -1, "WITHSCORES"} },
		func() []any { xid++; return []any{"XADD", key("x"), fmt.Sprint(xid, "-1"), "f", pad} },
		func() []any { return []any{"XLEN", key("x")} },
		func() []any { return []any{"XGROUP", "CREATE", key("x"), "g", "0", "MKSTREAM"} },
		func() []any { return []any{"XREADGROUP", "GROUP", "g", "c", "COUNT", 1, "STREAMS", key("x"), ">"} },
		func() []any { return []any{"XPENDING", key("x"), "g"} },
		func() []any { return []any{"DEL", key("s")} },
		// Commands that give up a value's arena chunk while still reading it, or outgrow it.
		func() []any { return []any{"GETDEL", key("s")} },
		func() []any { return []any{"SET", key("s"), fmt.Sprint(pad, "sg"), "GET"} },
		func() []any { return []any{"APPEND", key("s"), strings.Repeat("g", 300)} },
		func() []any { return []any{"SETRANGE", key("s"), 400, "far"} },
		func() []any { return []any{"SET", key("s"), "short"} },
		func() []any { return []any{"GETEX", key("s"), "PX", 100000} },
		func() []any { return []any{"RENAME", key("s"), key("s")} },
		func() []any { return []any{"COPY", key("h"), key("h"), "REPLACE"} },
		func() []any { return []any{"EXPIRE", key("l"), 100000} },
		func() []any { return []any{"TTL", key("l")} },
	}
	same := func(c []any) {
		t.Helper()
		want, werr := memory.Do(ctx, c...).Result()
		got, gerr := tiered.Do(ctx, c...).Result()
		if fmt.Sprint(want, werr) != fmt.Sprint(got, gerr) {
			t.Fatalf("%v:\n memory: %.200v %v\n tiered: %.200v %v", c, want, werr, got, gerr)
		}
	}
	for i := 0; i < 4000; i++ {
		same(cmds[rng.IntN(len(cmds))]())
		if i%100 == 99 {
			time.Sleep(20 * time.Millisecond) // let the demoter move values out
		}
	}
	// Every key, read back in full.
	for i := 0; i < keys; i++ {
		same([]any{"GET", fmt.Sprint("s:", i)})
		same([]any{"GET", fmt.Sprint("n:", i)})
		same([]any{"HGETALL", fmt.Sprint("h:", i)})
		same([]any{"LRANGE", fmt.Sprint("l:", i), 0, -1})
		same([]any{"SMEMBERS", fmt.Sprint("t:", i)})
		same([]any{"ZRANGE", fmt.Sprint("z:", i), 0, -1, "WITHSCORES"})
		same([]any{"XLEN", fmt.Sprint("x:", i)})
		same([]any{"XINFO", "GROUPS", fmt.Sprint("x:", i)})
	}
	in := tierInfo(t, tiered)
	t.Logf("tier figures: %v", in)
	if in["tier_clean_demotions"] == 0 || in["tier_promotions"] == 0 {
		t.Fatalf("values did not cycle through the tier: %v", in)
	}
}

// TestBudgetCountsOverhead checks that the budget bounds the RAM the engine holds for values besides their
// bytes (Pebble's block cache and memtables, the arena's free space, the hot list) with the values: once
// demotions settle, hot bytes plus that overhead are within the budget.
func TestBudgetCountsOverhead(t *testing.T) {
	const budget = 8 << 20
	_, rdb := start(t, t.TempDir(), budget, "", nil)
	const n = 60000 // about 13 MB of values
	fill(t, rdb, n)
	in := waitFor(t, rdb, "values to move to disk", func(m map[string]int64) bool {
		return m["tier_keys_disk"] > n/4 && m["tier_bytes_ram"]+m["tier_ram_overhead_bytes"] <= m["tier_budget_bytes"]
	})
	t.Logf("tier figures: %v", in)
	// An 8 MB budget counts an eighth of itself for Pebble's memory, and the arena and the list add to it.
	if got := in["tier_ram_overhead_bytes"]; got <= budget/8 {
		t.Fatalf("tier_ram_overhead_bytes = %d, want more than Pebble's share %d", got, budget/8)
	}
	if got, want := in["tier_hot_limit_bytes"], budget-in["tier_ram_overhead_bytes"]; got != want {
		t.Fatalf("tier_hot_limit_bytes = %d, want the budget less the overhead, %d", got, want)
	}
	check(t, rdb, n)
}

// TestArenaGivesBackPages churns values through RAM and the tier, deletes most keys, and checks that the
// arena holding the hot values shrinks back to about their size (compaction) with every value intact.
func TestArenaGivesBackPages(t *testing.T) {
	ctx := context.Background()
	_, rdb := start(t, t.TempDir(), 1<<20, "", nil)
	const n = 12000 // about 2.5 MB of values for a 1 MB budget
	fill(t, rdb, n)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, i := range rng.Perm(n) { // promotions and demotions in random order
		if got, err := rdb.Get(ctx, fmt.Sprint("s:", i)).Result(); err != nil || got != value(i) {
			t.Fatalf("GET s:%d = %.20q, %v", i, got, err)
		}
	}
	p := rdb.Pipeline()
	for i := 0; i < n; i++ {
		if i%10 != 0 {
			p.Del(ctx, fmt.Sprint("s:", i))
		}
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	// What remains fits in the budget; read it all back so the arena holds it, then let compaction run.
	for i := 0; i < n; i += 10 {
		if got, err := rdb.Get(ctx, fmt.Sprint("s:", i)).Result(); err != nil || got != value(i) {
			t.Fatalf("GET s:%d = %.20q, %v", i, got, err)
		}
	}
	in := waitFor(t, rdb, "the arena to shrink to its values", func(in map[string]int64) bool {
		// A value's class: at most two pages of slack (one partly filled, one spare).
		return in["tier_arena_used_bytes"] > 0 && in["tier_arena_bytes"] <= in["tier_arena_used_bytes"]+2*64<<10
	})
	t.Logf("tier figures: %v", in)
	for i := 0; i < n; i++ {
		got, err := rdb.Get(ctx, fmt.Sprint("s:", i)).Result()
		if i%10 == 0 && (err != nil || got != value(i)) {
			t.Fatalf("GET s:%d = %.20q, %v; want %.20q", i, got, err, value(i))
		}
		if i%10 != 0 && err != redis.Nil {
			t.Fatalf("GET s:%d of a deleted key = %.20q, %v", i, got, err)
		}
	}
}

// TestConfigSetMaxmemory changes the RAM budget of a running server with CONFIG SET maxmemory, as Redis
// applies a new limit at once: a lower budget moves values to disk, a higher one lets reads bring them back,
// and 0 (no budget) is refused with the budget left as it was.
func TestConfigSetMaxmemory(t *testing.T) {
	ctx := context.Background()
	const budget = 8 << 20
	_, rdb := start(t, t.TempDir(), budget, "", nil)
	const n = 30000 // about 6.5 MB of values: all in RAM under 8 MB
	fill(t, rdb, n)
	in := waitFor(t, rdb, "the values to settle in RAM", func(m map[string]int64) bool {
		return m["tier_budget_bytes"] == budget && m["tier_keys_disk"] == 0 && m["tier_keys_ram"] > n
	})
	t.Logf("8 MB: %v", in)

	if err := rdb.ConfigSet(ctx, "maxmemory", "4mb").Err(); err != nil {
		t.Fatal(err)
	}
	if got := rdb.ConfigGet(ctx, "maxmemory").Val()["maxmemory"]; got != strconv.Itoa(4<<20) {
		t.Fatalf("CONFIG GET maxmemory = %q after CONFIG SET maxmemory 4mb", got)
	}
	low := waitFor(t, rdb, "values to move to disk under the lower budget", func(m map[string]int64) bool {
		return m["tier_budget_bytes"] == 4<<20 && m["tier_keys_disk"] > n/3 && m["tier_bytes_ram"] <= m["tier_hot_limit_bytes"]
	})
	t.Logf("4 MB: %v", low)
	check(t, rdb, n)

	err := rdb.ConfigSet(ctx, "maxmemory", "0").Err()
	if err == nil || !strings.Contains(err.Error(), "CONFIG SET failed (possibly related to argument 'maxmemory')") ||
		!strings.Contains(err.Error(), "needs a RAM budget") {
		t.Fatalf("CONFIG SET maxmemory 0 on the tiered engine: %v, want an error saying a budget is needed", err)
	}
	if got := tierInfo(t, rdb)["tier_budget_bytes"]; got != 4<<20 {
		t.Fatalf("tier_budget_bytes = %d after a refused CONFIG SET maxmemory 0, want 4 MB", got)
	}
	if got := rdb.ConfigGet(ctx, "maxmemory").Val()["maxmemory"]; got != strconv.Itoa(4<<20) {
		t.Fatalf("CONFIG GET maxmemory = %q after a refused CONFIG SET maxmemory 0", got)
	}

	if err := rdb.ConfigSet(ctx, "maxmemory", "16mb").Err(); err != nil {
		t.Fatal(err)
	}
	// Reading every value brings the cold ones back, and under the higher budget they stay. A demoter round
	// that began under the lower budget finishes to its target, so a value read early may go back to disk
	// once more: read again until none is left there.
	deadline := time.Now().Add(10 * time.Second)
	for {
		check(t, rdb, n)
		high := tierInfo(t, rdb)
		if high["tier_budget_bytes"] == 16<<20 && high["tier_keys_disk"] == 0 && high["tier_keys_ram"] > n {
			t.Logf("16 MB: %v", high)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("values still on disk after reading them all under a 16 MB budget: %v", high)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
