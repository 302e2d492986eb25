package server_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kvlab/kvlab/resp"
)

// hlsOp draws a random hash, list or set command over a small key and value domain, so keys collide,
// empty out, and change type often enough to exercise WRONGTYPE.
func hlsOp(r *rand.Rand) []string {
	k := func(p string) string { return fmt.Sprintf("%s%d", p, r.IntN(3)) }
	anyKey := func() string { return []string{k("h"), k("l"), k("s")}[r.IntN(3)] }
	v := func() string { return fmt.Sprint("v", r.IntN(6)) }
	n := func(lo, hi int) string { return fmt.Sprint(lo + r.IntN(hi-lo+1)) }
	ops := [][]string{
		{"HSET", k("h"), v(), v(), v(), v()}, {"HGET", k("h"), v()}, {"HDEL", k("h"), v(), v()},
		{"HMGET", k("h"), v(), v()}, {"HGETALL", k("h")}, {"HLEN", k("h")}, {"HEXISTS", k("h"), v()},
		{"HINCRBY", k("h"), "cnt", n(-5, 5)}, {"HSETNX", k("h"), v(), v()}, {"HKEYS", k("h")}, {"HVALS", k("h")},
		{"HSTRLEN", k("h"), v()},
		{"LPUSH", k("l"), v(), v()}, {"RPUSH", k("l"), v()}, {"LPOP", k("l")}, {"RPOP", k("l"), n(0, 3)},
		{"LRANGE", k("l"), n(-4, 3), n(-3, 5)}, {"LINDEX", k("l"), n(-4, 4)}, {"LLEN", k("l")},
		{"LSET", k("l"), n(-3, 3), v()}, {"LREM", k("l"), n(-2, 2), v()}, {"LTRIM", k("l"), n(-3, 2), n(-2, 4)},
		{"LINSERT", k("l"), []string{"BEFORE", "AFTER"}[r.IntN(2)], v(), v()}, {"LPOS", k("l"), v()},
		{"LMOVE", k("l"), k("l"), []string{"LEFT", "RIGHT"}[r.IntN(2)], []string{"LEFT", "RIGHT"}[r.IntN(2)]},
		{"LPUSHX", k("l"), v()},
		{"SADD", k("s"), v(), v(), v()}, {"SREM", k("s"), v(), v()}, {"SCARD", k("s")},
		{"SISMEMBER", k("s"), v()}, {"SMISMEMBER", k("s"), v(), v()}, {"SMEMBERS", k("s")},
		{"SINTER", k("s"), k("s")}, {"SUNION", k("s"), k("s")}, {"SDIFF", k("s"), k("s")},
		{"SINTERSTORE", k("s"), k("s"), k("s")}, {"SUNIONSTORE", k("s"), k("s"), k("s")},
		{"SDIFFSTORE", k("s"), k("s"), k("s")}, {"SMOVE", k("s"), k("s"), v()}, {"SINTERCARD", "2", k("s"), k("s")},
		{"TYPE", anyKey()}, {"DEL", anyKey()}, {"EXISTS", anyKey()},
	}
	return ops[r.IntN(len(ops))]
}

// unordered lists the commands whose reply order Redis does not define.
var unordered = map[string]bool{"HGETALL": true, "HKEYS": true, "HVALS": true, "SMEMBERS": true,
	"SINTER": true, "SUNION": true, "SDIFF": true}

func normalize(cmd string, v resp.Value) string {
	if !unordered[cmd] {
		return v.String()
	}
	var parts []string
	if cmd == "HGETALL" {
		for i := 0; i+1 < len(v.Elems); i += 2 {
			parts = append(parts, v.Elems[i].String()+"="+v.Elems[i+1].String())
		}
	} else {
		for _, e := range v.Elems {
			parts = append(parts, e.String())
		}
	}
	sort.Strings(parts)
	return fmt.Sprintf("%c%s", v.Kind, strings.Join(parts, ","))
}

// TestHLSDifferential replays thousands of random hash, list and set commands against kvlab and
// Debian's redis-server and compares every reply (unordered replies are compared as sorted sets).
func TestHLSDifferential(t *testing.T) {
	redisAddr := zxStartRedis(t)
	srv := start(t)
	for _, proto := range []string{"2", "3"} {
		t.Run("resp"+proto, func(t *testing.T) {
			kv, rd := zxDial(t, srv.Addr()), zxDial(t, redisAddr)
			for _, c := range []*zxConn{kv, rd} {
				c.do(t, "FLUSHALL")
				c.do(t, "HELLO", proto)
			}
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			r := rand.New(rand.NewPCG(seed, 3))
			var history []string
			for i := 0; i < 4000; i++ {
				args := hlsOp(r)
				a, b := normalize(args[0], kv.do(t, args...)), normalize(args[0], rd.do(t, args...))
				history = append(history, strings.Join(args, " "))
				if a != b {
					if len(history) > 20 {
						history = history[len(history)-20:]
					}
					t.Fatalf("seed %d: %s\nkvlab:        %s\nredis-server: %s\nlast commands:\n%s", seed, strings.Join(args, " "), a, b, strings.Join(history, "\n"))
				}
			}
		})
	}
}
