package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestConfigGetSet(t *testing.T) {
	srv := start(t)
	ctx := context.Background()
	rdb := client(t, srv, 2)
	if v, err := rdb.ConfigGet(ctx, "maxmemory*").Result(); err != nil || v["maxmemory-policy"] != "noeviction" || v["maxmemory"] != "0" {
		t.Fatalf("CONFIG GET maxmemory* = %v, %v", v, err)
	}
	if err := rdb.ConfigSet(ctx, "hash-max-listpack-entries", "256").Err(); err != nil {
		t.Fatal(err)
	}
	if v, _ := rdb.ConfigGet(ctx, "hash-max-listpack-entries").Result(); v["hash-max-listpack-entries"] != "256" {
		t.Fatalf("tuning parameter not reported back: %v", v)
	}
	err := rdb.ConfigSet(ctx, "no-such-param", "1").Err()
	if err == nil || err.Error() != "ERR Unknown option or number of arguments for CONFIG SET - 'no-such-param'" {
		t.Fatalf("unknown parameter: %v", err)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory-policy", "sometimes").Err(); err == nil {
		t.Fatal("invalid policy accepted")
	}
}

// TestMaxmemoryNoeviction: past maxmemory, noeviction refuses writes with Redis's OOM error; reads work.
func TestMaxmemoryNoeviction(t *testing.T) {
	srv := start(t)
	ctx := context.Background()
	rdb := client(t, srv, 2)
	rdb.ConfigSet(ctx, "maxmemory", fmt.Sprint(usedMemory(t, rdb)+4<<20))
	big := strings.Repeat("x", 64<<10)
	var oom error
	for i := 0; i < 2000 && oom == nil; i++ {
		if err := rdb.Set(ctx, fmt.Sprint("k", i), big, 0).Err(); err != nil {
			oom = err
		}
		if i%50 == 0 {
			time.Sleep(120 * time.Millisecond) // let the memory sampler see the growth
		}
	}
	if oom == nil || oom.Error() != "OOM command not allowed when used memory > 'maxmemory'." {
		t.Fatalf("want OOM, got %v", oom)
	}
	if err := rdb.Get(ctx, "k0").Err(); err != nil {
		t.Fatalf("reads must still work: %v", err)
	}
}

// TestMaxmemoryAllkeysLRU: with an evicting policy writes keep succeeding and keys are evicted.
func TestMaxmemoryAllkeysLRU(t *testing.T) {
	srv := start(t)
	ctx := context.Background()
	rdb := client(t, srv, 2)
	rdb.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru")
	// The test process's own heap counts as used memory: set the limit 8 MB above where it stands.
	rdb.ConfigSet(ctx, "maxmemory", fmt.Sprint(usedMemory(t, rdb)+8<<20))
	big := strings.Repeat("x", 64<<10)
	for i := 0; i < 1000; i++ {
		if err := rdb.Set(ctx, fmt.Sprint("k", i), big, 0).Err(); err != nil {
			t.Fatalf("SET %d under allkeys-lru: %v", i, err)
		}
		if i%50 == 0 {
			time.Sleep(120 * time.Millisecond)
		}
	}
	info, _ := rdb.Info(ctx, "stats").Result()
	if strings.Contains(info, "evicted_keys:0\r") {
		t.Fatalf("no key was evicted:\n%s", info)
	}
	if n, _ := rdb.DBSize(ctx).Result(); n >= 1000 {
		t.Fatalf("DBSIZE %d: nothing evicted", n)
	}
}

// TestKeyspaceNotifications: expired and set events reach __keyevent@0__ subscribers.
func TestKeyspaceNotifications(t *testing.T) {
	srv := start(t)
	ctx := context.Background()
	rdb := client(t, srv, 2)
	if err := rdb.ConfigSet(ctx, "notify-keyspace-events", "KEA").Err(); err != nil {
		t.Fatal(err)
	}
	sub := client(t, srv, 2).PSubscribe(ctx, "__keyevent@0__:*")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	rdb.Set(ctx, "n", "v", 50*time.Millisecond)
	want := map[string]bool{"__keyevent@0__:set": false, "__keyevent@0__:expired": false}
	ch := sub.Channel()
	deadline := time.After(5 * time.Second)
	for !(want["__keyevent@0__:set"] && want["__keyevent@0__:expired"]) {
		select {
		case m := <-ch:
			if _, ok := want[m.Channel]; ok && m.Payload == "n" {
				want[m.Channel] = true
			}
		case <-deadline:
			t.Fatalf("events seen: %v", want)
		}
	}
}

func usedMemory(t *testing.T, rdb interface {
	Info(context.Context, ...string) *redis.StringCmd
}) int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			var n int64
			fmt.Sscan(v, &n)
			return n
		}
	}
	t.Fatal("no used_memory in INFO")
	return 0
}
