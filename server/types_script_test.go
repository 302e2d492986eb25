package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kvlab/kvlab/server"
)

// This file tests Lua scripting (EVAL, EVALSHA, EVAL_RO, SCRIPT): exact replies compared with Debian's
// redis-server in RESP2 and RESP3, durability of a script's effects on the wal engine, replication of
// its effects, and go-redis's Script helper.

// scriptEdgeCases use hlsSplit's notation: '...' keeps spaces (Lua strings in them use double quotes).
var scriptEdgeCases = [][]string{
	// Conversions, Lua to Redis.
	{"EVAL 'return 1' 0", "EVAL 'return 3.99' 0", "EVAL 'return -3.99' 0", "EVAL 'return 1e20' 0", "EVAL 'return 0/0' 0",
		"EVAL 'return \"str\"' 0", "EVAL 'return true' 0", "EVAL 'return false' 0", "EVAL 'return nil' 0", "EVAL 'return' 0",
		"EVAL 'return {}' 0", "EVAL 'return {a=1}' 0", "EVAL 'return {1,2,3,\"ciao\",{1,2}}' 0", "EVAL 'return {1,2,nil,4}' 0",
		"EVAL 'return {\"a\", 1.5, 2.7, true, false}' 0", "EVAL 'return {ok=\"fine\"}' 0", "EVAL 'return {err=\"MY err\"}' 0",
		"EVAL 'return {err=\"xy\"}' 0", "EVAL 'return {1, {err=\"e\"}, {ok=\"o\"}, false, true}' 0",
		"EVAL 'return \"a\\r\\nb\"' 0", "EVAL 'return {double=1.5}' 0", "EVAL 'return {big_number=\"123\"}' 0"},
	// Conversions, Redis to Lua.
	{"SET s abc", "RPUSH l a b c", "HSET h f v", "SADD st m", "SET n 10",
		"EVAL 'return redis.call(\"get\",\"s\")' 0", "EVAL 'return redis.call(\"get\",\"nokey\")' 0",
		"EVAL 'return type(redis.call(\"get\",\"nokey\"))' 0", "EVAL 'return redis.call(\"incr\",\"n\")' 0",
		"EVAL 'return redis.call(\"lrange\",\"l\",0,-1)' 0", "EVAL 'return redis.call(\"ping\")' 0",
		"EVAL 'return redis.call(\"ping\")[\"ok\"]' 0", "EVAL 'return redis.call(\"type\",\"s\")' 0",
		"EVAL 'return redis.call(\"hgetall\",\"h\")' 0", "EVAL 'return redis.call(\"smembers\",\"st\")' 0",
		"EVAL 'return redis.call(\"set\",\"k\",3.14)' 0", "GET k", "EVAL 'return redis.call(\"set\",\"k\",5)' 0", "GET k",
		"EVAL 'local t = redis.pcall(\"incr\",\"s\"); return {type(t), t.err}' 0"},
	// RESP3 inside the script.
	{"HSET h f v", "SADD st m", "ZADD z 1.5 a",
		"EVAL 'redis.setresp(3); return redis.call(\"hgetall\",\"h\")' 0",
		"EVAL 'redis.setresp(3); local t = redis.call(\"hgetall\",\"h\"); return t.map.f' 0",
		"EVAL 'redis.setresp(3); return redis.call(\"smembers\",\"st\")' 0",
		"EVAL 'redis.setresp(3); return redis.call(\"get\",\"nokey\")' 0",
		"EVAL 'redis.setresp(3); return type(redis.call(\"get\",\"nokey\"))' 0",
		"EVAL 'redis.setresp(3); return redis.call(\"zscore\",\"z\",\"a\")' 0",
		"EVAL 'redis.setresp(3); return redis.call(\"zscore\",\"z\",\"a\").double' 0",
		"EVAL 'redis.setresp(3); return redis.call(\"zrange\",\"z\",0,-1,\"withscores\")' 0",
		"EVAL 'redis.setresp(3); return false' 0", "EVAL 'redis.setresp(3); return true' 0",
		"EVAL 'return redis.setresp(4)' 0", "EVAL 'return redis.setresp()' 0"},
	// KEYS and ARGV, numkeys.
	{"EVAL 'return {KEYS[1], ARGV[1], #KEYS, #ARGV}' 1 k a b", "EVAL 'return #KEYS' 0", "EVAL 'return KEYS' 2 a b",
		"EVAL 'return ARGV' 0 x y z", "EVAL 'return 1' -1", "EVAL 'return 1' 2 a", "EVAL 'return 1' x",
		"EVAL 'return 1' 1", "EVAL 'return 1'", "EVALSHA abc", "EVAL_RO 'return 1' -1"},
	// Script cache.
	{"SCRIPT LOAD 'return \"hello\"'", "SCRIPT EXISTS e0fb0f52c534c89df7fde03b10bfab010c9648ca 0000000000000000000000000000000000000000",
		"EVALSHA e0fb0f52c534c89df7fde03b10bfab010c9648ca 0", "EVALSHA E0FB0F52C534C89DF7FDE03B10BFAB010C9648CA 0",
		"EVALSHA_RO e0fb0f52c534c89df7fde03b10bfab010c9648ca 0",
		"EVALSHA ffffffffffffffffffffffffffffffffffffffff 0", "EVALSHA short 0",
		"EVAL 'return 42' 0", "SCRIPT EXISTS 1fa00e76656cc152ad327c13fe365858fd7be306", "SCRIPT EXISTS e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
		"SCRIPT FLUSH", "SCRIPT EXISTS e0fb0f52c534c89df7fde03b10bfab010c9648ca", "EVALSHA e0fb0f52c534c89df7fde03b10bfab010c9648ca 0",
		"SCRIPT LOAD 'return 2'", "SCRIPT FLUSH ASYNC", "SCRIPT FLUSH SYNC", "SCRIPT FLUSH bad", "SCRIPT KILL",
		"SCRIPT HELP", "SCRIPT", "SCRIPT nosuch", "SCRIPT LOAD", "SCRIPT EXISTS"},
	// Errors from redis.call and pcall.
	{"SET s abc",
		"EVAL 'return redis.call(\"incr\",\"s\")' 0", "EVAL 'return redis.pcall(\"incr\",\"s\")' 0",
		"EVAL 'return redis.call(\"nosuch\")' 0", "EVAL 'return redis.pcall(\"nosuch\")' 0",
		"EVAL 'return redis.call(\"get\")' 0", "EVAL 'return redis.pcall(\"get\")' 0", "EVAL 'return redis.call()' 0",
		"EVAL 'return redis.call({})' 0", "EVAL 'return redis.call(1.5)' 0",
		"EVAL 'return redis.call(\"multi\")' 0", "EVAL 'return redis.call(\"exec\")' 0", "EVAL 'return redis.call(\"subscribe\",\"c\")' 0",
		"EVAL 'return redis.call(\"eval\",\"return 1\",0)' 0",
		"EVAL 'local ok, e = pcall(redis.call, \"incr\", \"s\"); return {tostring(ok), type(e), e}' 0",
		"EVAL 'local ok, e = pcall(function() error({err=\"X y\"}) end); return {type(e), e}' 0",
		"EVAL 'local ok, e = pcall(function() error(\"boo\") end); return {type(e), e}' 0",
		"EVAL 'local ok, e = pcall(redis.call, \"incr\", \"s\"); error(e)' 0",
		"EVAL 'error(\"boom\")' 0", "EVAL 'error({err=\"MY x\"})' 0", "EVAL 'error()' 0", "EVAL 'error(12)' 0",
		"EVAL '\nredis.call(\"incr\",\"s\")' 0",
		"EVAL 'return redis.error_reply(\"X y\")' 0", "EVAL 'return redis.error_reply(\"xy\")' 0",
		"EVAL 'return redis.error_reply(\"-FOO a\")' 0", "EVAL 'return redis.error_reply(\"a\\r\\nb\")' 0",
		"EVAL 'return redis.status_reply(\"FINE\")' 0", "EVAL 'return redis.error_reply()' 0",
		"EVAL 'return redis.sha1hex(\"\")' 0", "EVAL 'return redis.sha1hex(\"abc\")' 0",
		"EVAL 'return redis.REDIS_VERSION' 0", "EVAL 'return redis.REDIS_VERSION_NUM' 0",
		"EVAL 'redis.log(redis.LOG_WARNING, \"hello from a script\"); return 1' 0",
		"EVAL 'return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}' 0"},
	// Read-only scripts.
	{"SET k v", "EVAL_RO 'return redis.call(\"set\",\"a\",\"b\")' 0", "EVAL_RO 'return redis.pcall(\"set\",\"a\",\"b\")' 0",
		"EVAL_RO 'return redis.call(\"get\",\"k\")' 1 k", "EXISTS a",
		"SCRIPT LOAD 'return redis.call(\"del\",KEYS[1])'", "EVALSHA_RO 3c665acac4725cd4eaa7b0562c3af70d387f7bb3 1 k",
		"EVALSHA 3c665acac4725cd4eaa7b0562c3af70d387f7bb3 1 k", "EXISTS k"},
	// The sandbox.
	{"EVAL 'x = 1' 0", "EVAL 'return y' 0", "EVAL 'return _G.x' 0", "EVAL 'local t = {}; t.x = 1; return t.x' 0",
		"EVAL 'return type(os)' 0", "EVAL 'return type(io)' 0", "EVAL 'return type(loadfile)' 0", "EVAL 'return type(dofile)' 0",
		"EVAL 'return type(print)' 0", "EVAL 'return {type(string), type(table), type(math), type(bit), type(redis)}' 0",
		"EVAL 'return string.format(\"%d-%s\", 5, \"x\")' 0", "EVAL 'return table.concat({1,2,3}, \",\")' 0",
		"EVAL 'return math.floor(3.7)' 0", "EVAL 'return tonumber(\"42\") + 1' 0", "EVAL 'return tostring(12)' 0",
		"EVAL 'return {bit.band(12, 10), bit.bor(12, 10), bit.bxor(12, 10), bit.lshift(1, 4), bit.tohex(255)}' 0",
		"EVAL 'return select(\"#\", 1, 2, 3)' 0", "EVAL 'return unpack({1, 2})' 0",
		"EVAL 'return {pcall(function() return 1, 2 end)}' 0", "EVAL 'return tostring(nil)' 0", "EVAL 'local a = {} return #a' 0",
		"EVAL 'return string.rep(\"ab\", 3)' 0", "EVAL 'return (\"x\"):upper()' 0", "EVAL 'return type(loadstring)' 0", "EVAL 'return type(setfenv)' 0", "EVAL 'return type(coroutine)' 0",
		"EVAL 'return {type(getfenv), type(newproxy), type(xpcall), type(load), type(collectgarbage)}' 0", "EVAL 'return #ARGV' 0 a b"},
	// A rate limiter: INCR + EXPIRE.
	{"SCRIPT LOAD 'local n = redis.call(\"incr\", KEYS[1]) if n == 1 then redis.call(\"expire\", KEYS[1], ARGV[1]) end if n > tonumber(ARGV[2]) then return 0 end return n'",
		"EVAL 'local n = redis.call(\"incr\", KEYS[1]) if n == 1 then redis.call(\"expire\", KEYS[1], ARGV[1]) end if n > tonumber(ARGV[2]) then return 0 end return n' 1 rl 60 2",
		"EVAL 'local n = redis.call(\"incr\", KEYS[1]) if n == 1 then redis.call(\"expire\", KEYS[1], ARGV[1]) end if n > tonumber(ARGV[2]) then return 0 end return n' 1 rl 60 2",
		"EVAL 'local n = redis.call(\"incr\", KEYS[1]) if n == 1 then redis.call(\"expire\", KEYS[1], ARGV[1]) end if n > tonumber(ARGV[2]) then return 0 end return n' 1 rl 60 2",
		"TTL rl", "GET rl"},
	// Compare-and-set.
	{"SET cas v1",
		"EVAL 'if redis.call(\"get\", KEYS[1]) == ARGV[1] then return redis.call(\"set\", KEYS[1], ARGV[2]) end return false' 1 cas v1 v2",
		"EVAL 'if redis.call(\"get\", KEYS[1]) == ARGV[1] then return redis.call(\"set\", KEYS[1], ARGV[2]) end return false' 1 cas v1 v3",
		"GET cas",
		"EVAL 'if redis.call(\"get\", KEYS[1]) == ARGV[1] then redis.call(\"del\", KEYS[1]) return 1 end return 0' 1 cas v2",
		"EXISTS cas"},
	// Databases and keys.
	{"SET k db0", "EVAL 'redis.call(\"select\", 1); redis.call(\"set\", \"k\", \"db1\"); return redis.call(\"get\", \"k\")' 0",
		"GET k", "SELECT 1", "GET k", "SELECT 0",
		"COMMAND GETKEYS EVAL 'return 1' 2 a b c", "COMMAND GETKEYS EVALSHA abc 1 a", "COMMAND GETKEYS EVAL_RO 'return 1' 1 x y"},
}

// TestScriptEdgeCases compares scripting replies with redis-server's in RESP2 and RESP3.
func TestScriptEdgeCases(t *testing.T) { compareScripts(t, scriptEdgeCases) }

// TestScriptDurable runs writing scripts on the wal engine, restarts the server on the same directory and
// checks the data: the log holds the script's effects (its commands), not the EVAL.
func TestScriptDurable(t *testing.T) {
	dir := t.TempDir()
	cfg := server.Config{Addr: "127.0.0.1:0", Engine: "wal", Dir: dir, Log: logWriter{t},
		EngineOptions: map[string]string{"snapshot-every-bytes": "0"}}
	ctx := context.Background()
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	const script = `redis.call("incr", KEYS[1]); redis.call("hset", KEYS[2], "f", ARGV[1]); redis.call("rpush", KEYS[3], ARGV[1], ARGV[2]); return redis.call("get", KEYS[1])`
	for i := 0; i < 5; i++ {
		if v, err := rdb.Eval(ctx, script, []string{"n", "h", "l"}, fmt.Sprint(i), "x").Result(); err != nil || v != fmt.Sprint(i+1) {
			t.Fatalf("EVAL %d = %v, %v", i, v, err)
		}
	}
	// A script that fails half-way keeps the writes it made (as Redis: no rollback).
	if err := rdb.Eval(ctx, `redis.call("set", "before", "1"); redis.call("incr", "h")`, nil).Err(); err == nil {
		t.Fatal("EVAL incr on a hash succeeded")
	}
	// Randomness and time resolve to values: the effect is the SET with the value written.
	if err := rdb.Eval(ctx, `return redis.call("set", "t", redis.call("time")[1])`, nil).Err(); err != nil {
		t.Fatal(err)
	}
	tv := rdb.Get(ctx, "t").Val()
	rdb.Close()
	srv.Close()

	srv2 := startConfig(t, cfg)
	rdb2 := client(t, srv2, 2)
	if v := rdb2.Get(ctx, "n").Val(); v != "5" {
		t.Fatalf("after restart n = %q", v)
	}
	if v := rdb2.HGet(ctx, "h", "f").Val(); v != "4" {
		t.Fatalf("after restart h.f = %q", v)
	}
	if v := rdb2.LLen(ctx, "l").Val(); v != 10 {
		t.Fatalf("after restart LLEN l = %d", v)
	}
	if v := rdb2.Get(ctx, "before").Val(); v != "1" {
		t.Fatalf("after restart before = %q", v)
	}
	if v := rdb2.Get(ctx, "t").Val(); v != tv || tv == "" {
		t.Fatalf("after restart t = %q, want %q", v, tv)
	}
}

// TestScriptReplicated checks that a script's writes reach a replica (as effects) and that a script
// writing on the replica is refused.
func TestScriptReplicated(t *testing.T) {
	ctx := context.Background()
	p := start(t)
	r := startConfig(t, server.Config{Addr: "127.0.0.1:0", Engine: "memory", Log: logWriter{t},
		Replication: server.ReplicationConfig{ReplicaOf: p.Addr()}})
	pc, rc := client(t, p, 2), client(t, r, 2)
	for i := 0; i < 3; i++ {
		if err := pc.Eval(ctx, `redis.call("incr", KEYS[1]); return redis.call("sadd", KEYS[2], ARGV[1])`, []string{"c", "s"}, i).Err(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for rc.Get(ctx, "c").Val() != "3" || rc.SCard(ctx, "s").Val() != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("replica: c = %q, SCARD s = %d", rc.Get(ctx, "c").Val(), rc.SCard(ctx, "s").Val())
		}
		time.Sleep(20 * time.Millisecond)
	}
	err := rc.Eval(ctx, `return redis.call("set", "x", "y")`, nil).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "READONLY You can't write against a read only replica. script: ") {
		t.Fatalf("EVAL write on a replica: %v", err)
	}
	if v, err := rc.Eval(ctx, `return redis.call("get", "c")`, nil).Result(); err != nil || v != "3" {
		t.Fatalf("EVAL read on a replica: %v, %v", v, err)
	}
}

// TestScriptGoRedis uses go-redis's Script, which tries EVALSHA and falls back to EVAL on NOSCRIPT.
func TestScriptGoRedis(t *testing.T) {
	srv := start(t)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			rdb := client(t, srv, proto)
			rdb.FlushAll(ctx)
			rdb.ScriptFlush(ctx)
			incrBy := redis.NewScript(`return redis.call("incrby", KEYS[1], ARGV[1])`)
			if ok := rdb.ScriptExists(ctx, incrBy.Hash()).Val(); len(ok) != 1 || ok[0] {
				t.Fatalf("SCRIPT EXISTS before = %v", ok)
			}
			if n, err := incrBy.Run(ctx, rdb, []string{"n"}, 5).Int(); err != nil || n != 5 {
				t.Fatalf("Run = %d, %v", n, err)
			}
			if ok := rdb.ScriptExists(ctx, incrBy.Hash()).Val(); len(ok) != 1 || !ok[0] {
				t.Fatalf("SCRIPT EXISTS after = %v", ok)
			}
			if n, err := incrBy.EvalSha(ctx, rdb, []string{"n"}, 2).Int(); err != nil || n != 7 {
				t.Fatalf("EvalSha = %d, %v", n, err)
			}
			if n, err := incrBy.RunRO(ctx, rdb, []string{"n"}, 1).Int(); err == nil {
				t.Fatalf("RunRO of a writing script = %d", n)
			}
			get := redis.NewScript(`return redis.call("get", KEYS[1])`)
			if v, err := get.RunRO(ctx, rdb, []string{"n"}).Text(); err != nil || v != "7" {
				t.Fatalf("RunRO = %q, %v", v, err)
			}
			if _, err := get.Run(ctx, rdb, []string{"nokey"}).Result(); err != redis.Nil {
				t.Fatalf("Run on a missing key: %v", err)
			}
			tbl := redis.NewScript(`return {1, "two", {3}, {ok="OK"}}`)
			if v, err := tbl.Run(ctx, rdb, nil).Slice(); err != nil || fmt.Sprint(v) != "[1 two [3] OK]" {
				t.Fatalf("Run table = %v, %v", v, err)
			}
			if sha, err := rdb.ScriptLoad(ctx, `return 1`).Result(); err != nil || sha != "e0e1f9fabfc9d4800c877a703b823ac0578ff8db" {
				t.Fatalf("SCRIPT LOAD = %q, %v", sha, err)
			}
		})
	}
}

// BenchmarkEvalIncr measures a cached script doing one INCR per call.
func BenchmarkEvalIncr(b *testing.B) {
	srv := start(b)
	rdb := client(b, srv, 2)
	ctx := context.Background()
	s := redis.NewScript(`return redis.call("incr", KEYS[1])`)
	s.Load(ctx, rdb)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.EvalSha(ctx, rdb, []string{"n"}).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestScriptTiered runs scripts over cold values (the tiered engine with a one-byte budget moves every
// value to disk): the declared keys are loaded before the script runs.
func TestScriptTiered(t *testing.T) {
	ctx := context.Background()
	srv := startConfig(t, server.Config{Addr: "127.0.0.1:0", Engine: "tiered", Dir: t.TempDir(), Log: logWriter{t},
		MaxMemory: 1, EngineOptions: map[string]string{"tier-min-value": "1"}})
	rdb := client(t, srv, 2)
	for i := 0; i < 50; i++ {
		rdb.Set(ctx, fmt.Sprint("k", i), strings.Repeat("v", 100)+fmt.Sprint(i), 0)
		rdb.RPush(ctx, fmt.Sprint("l", i), "a", "b", "c")
	}
	for i := 0; i < 50; i++ {
		v, err := rdb.Eval(ctx, `return {redis.call("get", KEYS[1]), redis.call("lrange", KEYS[2], 0, -1)}`,
			[]string{fmt.Sprint("k", i), fmt.Sprint("l", i)}).Slice()
		if err != nil || len(v) != 2 || v[0] != strings.Repeat("v", 100)+fmt.Sprint(i) || fmt.Sprint(v[1]) != "[a b c]" {
			t.Fatalf("EVAL %d = %v, %v", i, v, err)
		}
	}
}

// TestScriptACL checks that redis.call applies the caller's ACL rules to each command.
func TestScriptACL(t *testing.T) {
	ctx := context.Background()
	srv := start(t)
	admin := client(t, srv, 2)
	if err := admin.Do(ctx, "ACL", "SETUSER", "lim", "on", "nopass", "+@all", "-set", "~k*").Err(); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "lim", Password: "x"})
	t.Cleanup(func() { rdb.Close() })
	err := rdb.Eval(ctx, `return redis.call("set", "k1", "v")`, nil).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "ERR The user executing the script can't run this command or subcommand script: ") {
		t.Fatalf("SET from a script without permission: %v", err)
	}
	err = rdb.Eval(ctx, `return redis.call("get", "other")`, nil).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "ERR The user executing the script can't access at least one of the keys mentioned in the command script: ") {
		t.Fatalf("GET of a forbidden key from a script: %v", err)
	}
	if v, err := rdb.Eval(ctx, `redis.call("incr", "k2"); return redis.call("get", "k2")`, nil).Result(); err != nil || v != "1" {
		t.Fatalf("allowed script = %v, %v", v, err)
	}
}

// TestScriptTimeLimit: a script that runs past busy-reply-threshold is stopped with an error that says
// why (the script holds the keyspace lock, so no client could send SCRIPT KILL), keeps the writes it made,
// and the server goes on serving.
func TestScriptTimeLimit(t *testing.T) {
	ctx := context.Background()
	srv := start(t)
	rdb := client(t, srv, 2)
	if err := rdb.ConfigSet(ctx, "busy-reply-threshold", "200").Err(); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	err := rdb.Eval(ctx, `redis.call("set", KEYS[1], "before"); while true do end`, []string{"k"}).Err()
	if err == nil || !strings.Contains(err.Error(), "script stopped after running for busy-reply-threshold (200 ms)") {
		t.Fatalf("endless script: %v", err)
	}
	if d := time.Since(began); d < 200*time.Millisecond {
		t.Fatalf("stopped after %v, before the limit", d)
	}
	if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "before" {
		t.Fatalf("the write before the loop: %q, %v", v, err)
	}
	if err := rdb.ConfigSet(ctx, "lua-time-limit", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := rdb.Eval(ctx, `local n = 0; for i = 1, 3000000 do n = n + 1 end; return n`, nil).Int(); err != nil || v != 3000000 {
		t.Fatalf("with no limit: %v, %v", v, err)
	}
}
