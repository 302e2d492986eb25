package server_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
)

// TestHashesListsSetsGoRedis uses go-redis's typed API for hashes, lists and sets in RESP2 and RESP3
// (RESP3 changes the wire types: maps for HGETALL, sets for SMEMBERS).
func TestHashesListsSetsGoRedis(t *testing.T) {
	srv := start(t)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			rdb := client(t, srv, proto)
			rdb.FlushAll(ctx)
			if n, err := rdb.HSet(ctx, "user:1", "name", "ada", "age", "36").Result(); err != nil || n != 2 {
				t.Fatalf("HSET = %d, %v", n, err)
			}
			all, err := rdb.HGetAll(ctx, "user:1").Result()
			if err != nil || all["name"] != "ada" || all["age"] != "36" || len(all) != 2 {
				t.Fatalf("HGETALL = %v, %v", all, err)
			}
			if v, _ := rdb.HIncrBy(ctx, "user:1", "age", 1).Result(); v != 37 {
				t.Fatalf("HINCRBY = %d", v)
			}
			if f, _ := rdb.HIncrByFloat(ctx, "user:1", "score", 2.5).Result(); f != 2.5 {
				t.Fatalf("HINCRBYFLOAT = %v", f)
			}
			rdb.RPush(ctx, "jobs", "a", "b", "c")
			if v, _ := rdb.LRange(ctx, "jobs", 0, -1).Result(); fmt.Sprint(v) != "[a b c]" {
				t.Fatalf("LRANGE = %v", v)
			}
			if v, _ := rdb.LPopCount(ctx, "jobs", 2).Result(); fmt.Sprint(v) != "[a b]" {
				t.Fatalf("LPOP 2 = %v", v)
			}
			if kv, vals, _ := rdb.LMPop(ctx, "right", 1, "nope", "jobs").Result(); kv != "jobs" || fmt.Sprint(vals) != "[c]" {
				t.Fatalf("LMPOP = %q %v", kv, vals)
			}
			rdb.SAdd(ctx, "tags", "go", "redis", "kv")
			m, err := rdb.SMembers(ctx, "tags").Result()
			sort.Strings(m)
			if err != nil || fmt.Sprint(m) != "[go kv redis]" {
				t.Fatalf("SMEMBERS = %v, %v", m, err)
			}
			if ok, _ := rdb.SIsMember(ctx, "tags", "go").Result(); !ok {
				t.Fatal("SISMEMBER go = false")
			}
			if v, _ := rdb.SMIsMember(ctx, "tags", "go", "java").Result(); fmt.Sprint(v) != "[true false]" {
				t.Fatalf("SMISMEMBER = %v", v)
			}
			popped, _ := rdb.SPopN(ctx, "tags", 2).Result()
			if len(popped) != 2 {
				t.Fatalf("SPOP 2 = %v", popped)
			}
			if n, _ := rdb.SCard(ctx, "tags").Result(); n != 1 {
				t.Fatalf("SCARD after SPOP 2 = %d", n)
			}
			rdb.RPush(ctx, "list", "x")
			if err := rdb.HGet(ctx, "list", "x").Err(); err == nil || err.Error() != "WRONGTYPE Operation against a key holding the wrong kind of value" {
				t.Fatalf("HGET on a list: %v", err)
			}
			if n, _ := rdb.Exists(ctx, "jobs").Result(); n != 0 {
				t.Fatal("a list emptied by pops must be deleted")
			}
		})
	}
}
