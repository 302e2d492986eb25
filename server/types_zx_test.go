package server_test

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kvlab/kvlab/resp"
	"github.com/kvlab/kvlab/server"
)

// Sorted sets and streams over real TCP: go-redis scenarios in both protocols, blocking wake-ups between
// clients, and a randomized differential run against Debian's redis-server comparing every reply.

func zxCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// zxM returns a helper that unwraps (value, error), failing the test on an error.
func zxM(t *testing.T) func(v any, err error) any {
	return func(v any, err error) any {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func zxEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}

// TestZXSortedSetsGoRedis drives the sorted set commands through go-redis v9, in RESP2 and RESP3, checking
// that the client decodes every reply shape (flat and nested WITHSCORES, doubles, pops with keys).
func TestZXSortedSetsGoRedis(t *testing.T) {
	srv := start(t)
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			ctx := zxCtx(t)
			m, m2 := zxM(t), zxM2(t)
			rdb := client(t, srv, proto)
			m(rdb.FlushAll(ctx).Result())
			zxEqual(t, "ZADD", m(rdb.ZAdd(ctx, "board", redis.Z{Score: 10, Member: "ann"}, redis.Z{Score: 25.5, Member: "bob"},
				redis.Z{Score: 17, Member: "cid"}, redis.Z{Score: 1234567, Member: "dan"}).Result()), int64(4))
			zxEqual(t, "ZADD GT CH", m(rdb.ZAddArgs(ctx, "board", redis.ZAddArgs{GT: true, Ch: true, Members: []redis.Z{{Score: 5, Member: "ann"}, {Score: 30, Member: "bob"}}}).Result()), int64(1))
			zxEqual(t, "ZINCRBY", m(rdb.ZIncrBy(ctx, "board", 2.5, "cid").Result()), 19.5)
			zxEqual(t, "ZADD INCR", m(rdb.ZAddArgsIncr(ctx, "board", redis.ZAddArgs{Members: []redis.Z{{Score: 1, Member: "ann"}}}).Result()), 11.0)
			zxEqual(t, "ZSCORE", m(rdb.ZScore(ctx, "board", "dan").Result()), 1234567.0)
			zxEqual(t, "ZMSCORE", m(rdb.ZMScore(ctx, "board", "ann", "nobody").Result()), []float64{11, 0})
			zxEqual(t, "ZREVRANK", m(rdb.ZRevRank(ctx, "board", "cid").Result()), int64(2))
			zxEqual(t, "ZRANK WITHSCORE", m(rdb.ZRankWithScore(ctx, "board", "bob").Result()), redis.RankScore{Rank: 2, Score: 30})
			zxEqual(t, "ZREVRANGE WITHSCORES", m(rdb.ZRevRangeWithScores(ctx, "board", 0, 1).Result()),
				[]redis.Z{{Score: 1234567, Member: "dan"}, {Score: 30, Member: "bob"}})
			zxEqual(t, "ZRANGE BYSCORE LIMIT", m(rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: "board", Start: "(11", Stop: "+inf", ByScore: true, Count: 2}).Result()),
				[]redis.Z{{Score: 19.5, Member: "cid"}, {Score: 30, Member: "bob"}})
			zxEqual(t, "ZRANGEBYLEX", m(rdb.ZRangeByLex(ctx, "board", &redis.ZRangeBy{Min: "-", Max: "+"}).Result()), []string{"ann", "cid", "bob", "dan"})
			zxEqual(t, "ZCOUNT", m(rdb.ZCount(ctx, "board", "11", "(30").Result()), int64(2))
			zxEqual(t, "ZCARD", m(rdb.ZCard(ctx, "board").Result()), int64(4))

			m(rdb.ZAdd(ctx, "other", redis.Z{Score: 1, Member: "ann"}, redis.Z{Score: 2, Member: "eve"}).Result())
			zxEqual(t, "ZUNION WITHSCORES", m(rdb.ZUnionWithScores(ctx, redis.ZStore{Keys: []string{"board", "other"}, Weights: []float64{1, 10}}).Result()),
				[]redis.Z{{Score: 19.5, Member: "cid"}, {Score: 20, Member: "eve"}, {Score: 21, Member: "ann"}, {Score: 30, Member: "bob"}, {Score: 1234567, Member: "dan"}})
			zxEqual(t, "ZINTERSTORE", m(rdb.ZInterStore(ctx, "both", &redis.ZStore{Keys: []string{"board", "other"}, Aggregate: "MAX"}).Result()), int64(1))
			zxEqual(t, "ZDIFF", m(rdb.ZDiff(ctx, "board", "other").Result()), []string{"cid", "bob", "dan"})
			zxEqual(t, "ZINTERCARD", m(rdb.ZInterCard(ctx, 0, "board", "other").Result()), int64(1))
			zxEqual(t, "ZRANGESTORE", m(rdb.ZRangeStore(ctx, "top", redis.ZRangeArgs{Key: "board", Start: 0, Stop: 1, Rev: true}).Result()), int64(2))
			zxEqual(t, "ZRANDMEMBER all", m(rdb.ZRandMemberWithScores(ctx, "top", 5).Result()),
				[]redis.Z{{Score: 1234567, Member: "dan"}, {Score: 30, Member: "bob"}})
			if rm := m(rdb.ZRandMember(ctx, "board", -5).Result()).([]string); len(rm) != 5 {
				t.Fatalf("ZRANDMEMBER -5 returned %d members", len(rm))
			}
			zxEqual(t, "ZSCAN", m2(rdb.ZScan(ctx, "board", 0, "*n*", 10).Result()), []any{[]string{"ann", "11", "dan", "1234567"}, uint64(0)})

			zxEqual(t, "ZPOPMIN", m(rdb.ZPopMin(ctx, "board").Result()), []redis.Z{{Score: 11, Member: "ann"}})
			zxEqual(t, "ZPOPMAX 2", m(rdb.ZPopMax(ctx, "board", 2).Result()), []redis.Z{{Score: 1234567, Member: "dan"}, {Score: 30, Member: "bob"}})
			zxEqual(t, "ZMPOP", m2(rdb.ZMPop(ctx, "min", 5, "nokey", "board").Result()), []any{"board", []redis.Z{{Score: 19.5, Member: "cid"}}})
			zxEqual(t, "EXISTS after last pop", m(rdb.Exists(ctx, "board").Result()), int64(0))
			zxEqual(t, "BZPOPMIN", *m(rdb.BZPopMin(ctx, time.Second, "nokey", "other").Result()).(*redis.ZWithKey), redis.ZWithKey{Key: "other", Z: redis.Z{Score: 1, Member: "ann"}})
			zxEqual(t, "BZMPOP", m2(rdb.BZMPop(ctx, time.Second, "max", 1, "other").Result()), []any{"other", []redis.Z{{Score: 2, Member: "eve"}}})

			m(rdb.ZAdd(ctx, "r", redis.Z{Score: 1, Member: "a"}, redis.Z{Score: 2, Member: "b"}, redis.Z{Score: 3, Member: "c"}).Result())
			zxEqual(t, "ZREMRANGEBYSCORE", m(rdb.ZRemRangeByScore(ctx, "r", "(1", "2").Result()), int64(1))
			zxEqual(t, "ZREM", m(rdb.ZRem(ctx, "r", "a", "zz").Result()), int64(1))
			err := rdb.ZAdd(ctx, "r", redis.Z{Score: 1, Member: "x"}, redis.Z{Score: 2, Member: "y"}).Err()
			zxEqual(t, "ZADD err", err, error(nil))
			if err := rdb.Set(ctx, "str", "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
			if err := rdb.ZAdd(ctx, "str", redis.Z{Score: 1, Member: "a"}).Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGTYPE") {
				t.Fatalf("ZADD on a string: %v", err)
			}
		})
	}
}

// zxM2 is zxM for (value, value, error).
func zxM2(t *testing.T) func(a, b any, err error) []any {
	return func(a, b any, err error) []any {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return []any{a, b}
	}
}

// TestZXStreamsGoRedis drives the stream commands through go-redis v9 in RESP2 and RESP3, including the
// consumer group lifecycle and the XINFO replies go-redis parses field by field (Redis 7.2's inactive and
// active-time included).
func TestZXStreamsGoRedis(t *testing.T) {
	srv := start(t)
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			ctx := zxCtx(t)
			m, m2 := zxM(t), zxM2(t)
			rdb := client(t, srv, proto)
			m(rdb.FlushAll(ctx).Result())
			before := time.Now().UnixMilli()
			id1 := m(rdb.XAdd(ctx, &redis.XAddArgs{Stream: "events", Values: []string{"type", "login", "user", "ann"}}).Result()).(string)
			id2 := m(rdb.XAdd(ctx, &redis.XAddArgs{Stream: "events", Values: map[string]any{"type": "click"}}).Result()).(string)
			ms, err := strconv.ParseInt(strings.SplitN(id1, "-", 2)[0], 10, 64)
			if err != nil || ms < before-1000 || ms > time.Now().UnixMilli()+1000 {
				t.Fatalf("XADD * id %q is not the current time", id1)
			}
			if id2 <= id1 && len(id2) == len(id1) {
				t.Fatalf("ids not increasing: %s then %s", id1, id2)
			}
			zxEqual(t, "XADD explicit", m(rdb.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "5-1", Values: []string{"a", "1"}}).Result()), "5-1")
			m(rdb.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "6-*", Values: []string{"a", "2"}}).Result())
			m(rdb.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "7-0", Values: []string{"a", "3"}}).Result())
			if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "7-0", Values: []string{"a", "4"}}).Err(); err == nil ||
				err.Error() != "ERR The ID specified in XADD is equal or smaller than the target stream top item" {
				t.Fatalf("XADD with a small ID: %v", err)
			}
			zxEqual(t, "XLEN", m(rdb.XLen(ctx, "s").Result()), int64(3))
			zxEqual(t, "XRANGE", m(rdb.XRangeN(ctx, "s", "(5-1", "+", 1).Result()), []redis.XMessage{{ID: "6-0", Values: map[string]any{"a": "2"}}})
			zxEqual(t, "XREVRANGE", m(rdb.XRevRangeN(ctx, "s", "+", "-", 1).Result()), []redis.XMessage{{ID: "7-0", Values: map[string]any{"a": "3"}}})
			zxEqual(t, "XREAD", m(rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{"s", "6-0"}, Block: -1}).Result()),
				[]redis.XStream{{Stream: "s", Messages: []redis.XMessage{{ID: "7-0", Values: map[string]any{"a": "3"}}}}})
			if _, err := rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{"s", "$"}, Block: -1}).Result(); err != redis.Nil {
				t.Fatalf("XREAD $ without BLOCK: %v", err)
			}

			zxEqual(t, "XGROUP CREATE", m(rdb.XGroupCreate(ctx, "s", "workers", "0").Result()), "OK")
			got := m(rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "workers", Consumer: "w1", Streams: []string{"s", ">"}, Count: 2, Block: -1}).Result())
			zxEqual(t, "XREADGROUP", got, []redis.XStream{{Stream: "s", Messages: []redis.XMessage{{ID: "5-1", Values: map[string]any{"a": "1"}}, {ID: "6-0", Values: map[string]any{"a": "2"}}}}})
			m(rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "workers", Consumer: "w2", Streams: []string{"s", ">"}, Block: -1}).Result())
			zxEqual(t, "XPENDING", *m(rdb.XPending(ctx, "s", "workers").Result()).(*redis.XPending),
				redis.XPending{Count: 3, Lower: "5-1", Higher: "7-0", Consumers: map[string]int64{"w1": 2, "w2": 1}})
			ext := m(rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "s", Group: "workers", Start: "-", End: "+", Count: 10, Consumer: "w1"}).Result()).([]redis.XPendingExt)
			if len(ext) != 2 || ext[0].ID != "5-1" || ext[0].Consumer != "w1" || ext[0].RetryCount != 1 || ext[0].Idle < 0 || ext[0].Idle > 5*time.Second {
				t.Fatalf("XPENDING extended = %+v", ext)
			}
			// History re-delivery counts a delivery.
			m(rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "workers", Consumer: "w1", Streams: []string{"s", "0"}, Block: -1}).Result())
			ext = m(rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "s", Group: "workers", Start: "-", End: "+", Count: 1}).Result()).([]redis.XPendingExt)
			zxEqual(t, "delivery count after history read", ext[0].RetryCount, int64(2))
			zxEqual(t, "XCLAIM", m(rdb.XClaimJustID(ctx, &redis.XClaimArgs{Stream: "s", Group: "workers", Consumer: "w2", Messages: []string{"5-1"}}).Result()), []string{"5-1"})
			zxEqual(t, "XAUTOCLAIM", m2(rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: "s", Group: "workers", Consumer: "w3", Start: "0", Count: 1}).Result()), []any{[]redis.XMessage{{ID: "5-1", Values: map[string]any{"a": "1"}}}, "6-0"})
			zxEqual(t, "XACK", m(rdb.XAck(ctx, "s", "workers", "5-1", "6-0", "9-9").Result()), int64(2))

			groups := m(rdb.XInfoGroups(ctx, "s").Result())
			zxEqual(t, "XINFO GROUPS", groups, []redis.XInfoGroup{{Name: "workers", Consumers: 3, Pending: 1, LastDeliveredID: "7-0", EntriesRead: 3, Lag: 0}})
			cons := m(rdb.XInfoConsumers(ctx, "s", "workers").Result()).([]redis.XInfoConsumer)
			if len(cons) != 3 || cons[0].Name != "w1" || cons[1].Name != "w2" || cons[1].Pending != 1 || cons[2].Name != "w3" ||
				cons[0].Idle < 0 || cons[0].Idle > 5*time.Second || cons[0].Inactive < 0 {
				t.Fatalf("XINFO CONSUMERS = %+v", cons)
			}
			info := m(rdb.XInfoStream(ctx, "s").Result()).(*redis.XInfoStream)
			if info.Length != 3 || info.RadixTreeKeys != 1 || info.Groups != 1 || info.LastGeneratedID != "7-0" || info.EntriesAdded != 3 ||
				info.FirstEntry.ID != "5-1" || info.LastEntry.ID != "7-0" || info.RecordedFirstEntryID != "5-1" || info.MaxDeletedEntryID != "0-0" {
				t.Fatalf("XINFO STREAM = %+v", info)
			}
			full := m(rdb.XInfoStreamFull(ctx, "s", 0).Result()).(*redis.XInfoStreamFull)
			if len(full.Entries) != 3 || len(full.Groups) != 1 || full.Groups[0].PelCount != 1 || len(full.Groups[0].Consumers) != 3 ||
				full.Groups[0].Pending[0].ID != "7-0" || full.Groups[0].Pending[0].Consumer != "w2" ||
				time.Since(full.Groups[0].Consumers[0].SeenTime) > time.Minute {
				t.Fatalf("XINFO STREAM FULL = %+v", full)
			}
			zxEqual(t, "XDEL", m(rdb.XDel(ctx, "s", "6-0", "1-1").Result()), int64(1))
			zxEqual(t, "XTRIM", m(rdb.XTrimMaxLen(ctx, "s", 1).Result()), int64(1))
			zxEqual(t, "XGROUP DELCONSUMER", m(rdb.XGroupDelConsumer(ctx, "s", "workers", "w2").Result()), int64(1))
			zxEqual(t, "XGROUP DESTROY", m(rdb.XGroupDestroy(ctx, "s", "workers").Result()), int64(1))
			if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "workers", Consumer: "w1", Streams: []string{"s", ">"}, Block: -1}).Err(); err == nil ||
				!strings.HasPrefix(err.Error(), "NOGROUP") {
				t.Fatalf("XREADGROUP on a destroyed group: %v", err)
			}
		})
	}
}

// zxConn is a raw RESP client that keeps replies exact, for comparing two servers.
type zxConn struct {
	nc  net.Conn
	rr  *resp.ReplyReader
	buf []byte
}

func zxDial(t testing.TB, addr string) *zxConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &zxConn{nc: nc, rr: resp.NewReplyReader(bufio.NewReader(nc))}
}

// send writes a command without reading its reply.
func (c *zxConn) send(args ...string) error {
	c.buf = resp.AppendCommandStrings(c.buf[:0], args...)
	_, err := c.nc.Write(c.buf)
	return err
}

// read reads one reply, waiting at most d.
func (c *zxConn) read(d time.Duration) (resp.Value, error) {
	c.nc.SetReadDeadline(time.Now().Add(d))
	return c.rr.Read()
}

func (c *zxConn) do(t testing.TB, args ...string) resp.Value {
	t.Helper()
	if err := c.send(args...); err != nil {
		t.Fatal(err)
	}
	v, err := c.read(10 * time.Second)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return v
}

// zxRequireBlocking skips when the server answers no blocking command (the server side of blocking is
// built separately from the handlers): a BZPOPMIN with a 50 ms timeout must come back as a timeout.
func zxRequireBlocking(t *testing.T, srv *server.Server) {
	t.Helper()
	c := zxDial(t, srv.Addr())
	if err := c.send("BZPOPMIN", "zx:probe", "0.05"); err != nil {
		t.Fatal(err)
	}
	v, err := c.read(2 * time.Second)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Skip("the server does not park blocked clients yet (no reply to a timed-out BZPOPMIN)")
	}
	if err != nil || v.Kind != '*' || !v.Null {
		t.Fatalf("BZPOPMIN timeout reply = %v, %v; want a null array", v, err)
	}
}

// TestZXBlockingWakeUps checks that blocked BZPOPMIN, BZMPOP, XREAD and XREADGROUP clients are served by
// writes from other clients, that XREAD BLOCK $ waits for entries after the ID at the time of blocking, and
// that timeouts reply with a null array.
func TestZXBlockingWakeUps(t *testing.T) {
	srv := start(t)
	zxRequireBlocking(t, srv)
	writer := zxDial(t, srv.Addr())

	t.Run("bzpopmin", func(t *testing.T) {
		c := zxDial(t, srv.Addr())
		if err := c.send("BZPOPMIN", "q1", "q2", "5"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		writer.do(t, "ZADD", "q2", "3", "job")
		v, err := c.read(5 * time.Second)
		if err != nil || len(v.Elems) != 3 || string(v.Elems[0].Str) != "q2" || string(v.Elems[1].Str) != "job" || string(v.Elems[2].Str) != "3" {
			t.Fatalf("BZPOPMIN woke with %v, %v", v, err)
		}
		if n := writer.do(t, "EXISTS", "q2"); n.Int != 0 {
			t.Fatal("the popped set should be gone")
		}
	})
	t.Run("bzmpop", func(t *testing.T) {
		c := zxDial(t, srv.Addr())
		if err := c.send("BZMPOP", "5", "1", "q3", "MAX", "COUNT", "2"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		writer.do(t, "ZADD", "q3", "1", "a", "2", "b", "3", "c")
		v, err := c.read(5 * time.Second)
		if err != nil || len(v.Elems) != 2 || string(v.Elems[0].Str) != "q3" || len(v.Elems[1].Elems) != 2 {
			t.Fatalf("BZMPOP woke with %v, %v", v, err)
		}
		if n := writer.do(t, "ZCARD", "q3"); n.Int != 1 {
			t.Fatalf("ZCARD after BZMPOP COUNT 2 = %d", n.Int)
		}
	})
	t.Run("xread-dollar", func(t *testing.T) {
		writer.do(t, "XADD", "st", "1-0", "f", "old")
		c := zxDial(t, srv.Addr())
		if err := c.send("XREAD", "BLOCK", "5000", "STREAMS", "st", "$"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		writer.do(t, "XADD", "st", "2-0", "f", "new")
		v, err := c.read(5 * time.Second)
		if err != nil || !strings.Contains(v.String(), "2-0") || strings.Contains(v.String(), "1-0") {
			t.Fatalf("XREAD BLOCK $ woke with %v, %v", v, err)
		}
	})
	t.Run("xreadgroup", func(t *testing.T) {
		writer.do(t, "XGROUP", "CREATE", "jobs", "g", "$", "MKSTREAM")
		c := zxDial(t, srv.Addr())
		if err := c.send("XREADGROUP", "GROUP", "g", "w", "BLOCK", "5000", "STREAMS", "jobs", ">"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		writer.do(t, "XADD", "jobs", "10-0", "task", "x")
		v, err := c.read(5 * time.Second)
		if err != nil || !strings.Contains(v.String(), "10-0") {
			t.Fatalf("XREADGROUP BLOCK woke with %v, %v", v, err)
		}
		if p := writer.do(t, "XPENDING", "jobs", "g"); len(p.Elems) != 4 || p.Elems[0].Int != 1 {
			t.Fatalf("XPENDING after a blocked delivery = %v", p)
		}
	})
	t.Run("fifo", func(t *testing.T) {
		// Two clients blocked on the same key are served in the order they blocked.
		a, b := zxDial(t, srv.Addr()), zxDial(t, srv.Addr())
		if err := a.send("BZPOPMIN", "fifo", "5"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Millisecond)
		if err := b.send("BZPOPMIN", "fifo", "5"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Millisecond)
		writer.do(t, "ZADD", "fifo", "1", "first", "2", "second")
		va, err := a.read(5 * time.Second)
		if err != nil || len(va.Elems) != 3 || string(va.Elems[1].Str) != "first" {
			t.Fatalf("first blocked client got %v, %v", va, err)
		}
		vb, err := b.read(5 * time.Second)
		if err != nil || len(vb.Elems) != 3 || string(vb.Elems[1].Str) != "second" {
			t.Fatalf("second blocked client got %v, %v", vb, err)
		}
	})
	t.Run("xreadgroup-destroyed-group", func(t *testing.T) {
		// A consumer blocked on a group that is destroyed gets NOGROUP when its command runs again.
		writer.do(t, "XGROUP", "CREATE", "gone", "g", "$", "MKSTREAM")
		c := zxDial(t, srv.Addr())
		if err := c.send("XREADGROUP", "GROUP", "g", "w", "BLOCK", "5000", "STREAMS", "gone", ">"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		writer.do(t, "XGROUP", "DESTROY", "gone", "g")
		v, err := c.read(5 * time.Second)
		if err != nil || v.Kind != '-' || !strings.HasPrefix(string(v.Str), "NOGROUP") {
			t.Fatalf("blocked XREADGROUP after DESTROY = %v, %v", v, err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		c := zxDial(t, srv.Addr())
		startAt := time.Now()
		v := c.do(t, "XREAD", "BLOCK", "100", "STREAMS", "nothing", "$")
		if !v.Null || time.Since(startAt) < 90*time.Millisecond {
			t.Fatalf("XREAD BLOCK 100 = %v after %v", v, time.Since(startAt))
		}
	})
}

var zxSeed = flag.Uint64("zx.seed", 0, "seed of TestZXDifferential (0: from the clock)")

// zxStartRedis starts Debian's redis-server without persistence on a free port (skipping when it is not
// installed) and returns its address.
func zxStartRedis(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("redis-server did not start on %s", addr)
	return ""
}

// zxDiffZSetOp returns a random sorted set command whose reply is deterministic in Redis 7.0 and 7.2 alike:
// scores are halves (printed identically by %.17g and 7.2's formatter), sets stay small (ZSCAN returns them
// whole), and ZRANDMEMBER asks for more than the set holds.
//
// With big set, two keys hold up to 400 members (skiplist-encoded in Redis); lexicographic ranges (whose
// result on mixed scores depends on Redis's random skiplist levels) and ZSCAN (cursor order) are left out.
func zxDiffZSetOp(r *rand.Rand, big bool) []string {
	k := func() string { return fmt.Sprint("z", r.IntN(4)) }
	m := func() string { return fmt.Sprint("m", r.IntN(25)) }
	if big {
		k = func() string { return fmt.Sprint("z", r.IntN(2)) }
		m = func() string { return fmt.Sprint("m", r.IntN(400)) }
		switch r.IntN(8) {
		case 0:
			args := []string{"ZADD", k()}
			for n := 0; n < 20; n++ {
				args = append(args, fmt.Sprint(r.IntN(100)), m())
			}
			return args
		case 1:
			return []string{"ZRANGE", k(), "0", "-1", "WITHSCORES"}
		}
	}
	sc := func() string { return strconv.FormatFloat(float64(r.IntN(41)-20)/2, 'f', -1, 64) }
	pick := func(o ...string) string { return o[r.IntN(len(o))] }
	bound := func() string {
		switch r.IntN(6) {
		case 0:
			return "-inf"
		case 1:
			return "+inf"
		}
		return pick("(", "") + sc()
	}
	lex := func() string { return pick("-", "+", "[m1", "(m2", "[m", "(m15", "[m9") }
	switch r.IntN(32) {
	case 0, 1, 2, 3:
		args := []string{"ZADD", k()}
		for _, o := range []string{"NX", "XX", "GT", "LT", "CH"} {
			if r.IntN(7) == 0 {
				args = append(args, o)
			}
		}
		if r.IntN(8) == 0 {
			return append(args, "INCR", sc(), m())
		}
		for n := 1 + r.IntN(4); n > 0; n-- {
			args = append(args, sc(), m())
		}
		return args
	case 4:
		return []string{"ZINCRBY", k(), sc(), m()}
	case 5:
		return []string{"ZSCORE", k(), m()}
	case 6:
		return []string{"ZMSCORE", k(), m(), m()}
	case 7:
		return []string{pick("ZRANK", "ZREVRANK"), k(), m()}
	case 8:
		return []string{"ZRANGE", k(), fmt.Sprint(r.IntN(10) - 5), fmt.Sprint(r.IntN(10) - 5), pick("WITHSCORES", "REV", "")}
	case 9:
		args := []string{pick("ZRANGEBYSCORE", "ZREVRANGEBYSCORE"), k(), bound(), bound(), pick("WITHSCORES", "")}
		if r.IntN(2) == 0 {
			args = append(args, "LIMIT", fmt.Sprint(r.IntN(4)-1), fmt.Sprint(r.IntN(5)-1))
		}
		return args
	case 10:
		if big {
			return []string{"ZCARD", k()}
		}
		args := []string{pick("ZRANGEBYLEX", "ZREVRANGEBYLEX"), k(), lex(), lex()}
		if r.IntN(2) == 0 {
			args = append(args, "LIMIT", fmt.Sprint(r.IntN(3)), fmt.Sprint(r.IntN(4)-1))
		}
		return args
	case 11:
		return []string{"ZRANGE", k(), bound(), bound(), "BYSCORE", pick("REV", ""), "LIMIT", fmt.Sprint(r.IntN(3)), fmt.Sprint(r.IntN(4)), pick("WITHSCORES", "")}
	case 12:
		return []string{"ZCOUNT", k(), bound(), bound()}
	case 13:
		if big {
			return []string{"ZREVRANK", k(), m()}
		}
		return []string{"ZLEXCOUNT", k(), lex(), lex()}
	case 14:
		return []string{"ZREM", k(), m(), m(), m()}
	case 15:
		return []string{"ZREMRANGEBYRANK", k(), fmt.Sprint(r.IntN(6) - 3), fmt.Sprint(r.IntN(6) - 3)}
	case 16:
		return []string{"ZREMRANGEBYSCORE", k(), bound(), bound()}
	case 17:
		if big {
			return []string{"ZRANGE", k(), "-10", "-1", "REV", "WITHSCORES"}
		}
		return []string{"ZREMRANGEBYLEX", k(), lex(), lex()}
	case 18:
		return []string{"ZCARD", k()}
	case 19:
		return []string{pick("ZPOPMIN", "ZPOPMAX"), k(), pick("", "0", "1", "3")}
	case 20:
		return []string{"ZMPOP", "3", k(), k(), k(), pick("MIN", "MAX"), pick("", "COUNT 2")}
	case 21:
		return []string{pick("ZUNION", "ZINTER"), "2", k(), k(), "WEIGHTS", fmt.Sprint(r.IntN(4) - 1), fmt.Sprint(r.IntN(3)),
			"AGGREGATE", pick("SUM", "MIN", "MAX"), pick("WITHSCORES", "")}
	case 22:
		return []string{pick("ZUNIONSTORE", "ZINTERSTORE"), k(), "3", k(), k(), k(), pick("AGGREGATE MAX", "WEIGHTS 1 2 -1", "")}
	case 23:
		return []string{"ZDIFF", "2", k(), k()}
	case 24:
		return []string{"ZDIFFSTORE", k(), "2", k(), k()}
	case 25:
		return []string{"ZINTERCARD", "2", k(), k(), "LIMIT", fmt.Sprint(r.IntN(3))}
	case 26:
		return []string{"ZRANGESTORE", k(), k(), bound(), bound(), "BYSCORE", "LIMIT", "0", fmt.Sprint(r.IntN(4))}
	case 27:
		return []string{"ZRANDMEMBER", k(), "1000", pick("WITHSCORES", "")}
	case 28:
		if big {
			return []string{"ZCOUNT", k(), bound(), bound()}
		}
		return []string{"ZSCAN", k(), "0", pick("", "MATCH m1*")}
	case 29:
		return []string{"ZDIFF", "2", k(), k(), "WITHSCORES"}
	case 30:
		if r.IntN(4) == 0 {
			return []string{"DEL", k()}
		}
		return []string{"TYPE", k()}
	}
	if r.IntN(2) == 0 {
		// Plain sets are inputs too, with score 1.
		if r.IntN(2) == 0 {
			return []string{"SADD", "plain", m(), m(), m()}
		}
		return []string{pick("ZUNION", "ZINTER", "ZDIFF"), "2", pick("plain", k()), pick("plain", k()), "WITHSCORES"}
	}
	return []string{pick("ZADD", "ZRANGE", "ZINCRBY"), k(), pick("x", "1", "(1")}
}

// zxDiffStreamOp returns a random stream command with a deterministic reply: explicit IDs (the clocks of
// the two servers differ), no idle times (XPENDING's extended form, XINFO CONSUMERS), and values of varied
// sizes and shapes so that node boundaries — visible through MAXLEN ~ and radix-tree-keys — are exercised.
func zxDiffStreamOp(r *rand.Rand, next *uint64) []string {
	k := func() string { return fmt.Sprint("s", r.IntN(2)) }
	g := func() string { return fmt.Sprint("g", r.IntN(2)) }
	c := func() string { return fmt.Sprint("c", r.IntN(3)) }
	pick := func(o ...string) string { return o[r.IntN(len(o))] }
	old := func() string { return fmt.Sprintf("%d-%d", *next-uint64(r.IntN(200)), r.IntN(2)) }
	val := func() string {
		switch r.IntN(6) {
		case 0:
			return strings.Repeat("v", 1+r.IntN(1500))
		case 1:
			return fmt.Sprint(r.IntN(100000) - 50000)
		case 2:
			return "1"
		}
		return fmt.Sprint("val", r.IntN(100))
	}
	switch r.IntN(26) {
	case 0, 1, 2, 3, 4, 5, 6:
		*next += uint64(1 + r.IntN(2))
		args := []string{"XADD", k()}
		switch r.IntN(6) {
		case 0:
			args = append(args, "MAXLEN", pick("~", "="), fmt.Sprint(50+r.IntN(200)))
		case 1:
			args = append(args, "MINID", pick("~", "="), old())
		case 2:
			args = append(args, "NOMKSTREAM")
		}
		args = append(args, pick(fmt.Sprintf("%d-%d", *next, r.IntN(2)), fmt.Sprintf("%d-*", *next), old()))
		for n := 1 + r.IntN(3); n > 0; n-- {
			args = append(args, pick("f", "g", "12", "long-field-name"), val())
		}
		return args
	case 7:
		return []string{"XLEN", k()}
	case 8:
		return []string{pick("XRANGE", "XREVRANGE"), k(), pick("-", "+", old(), "("+old()), pick("-", "+", old(), "("+old()), "COUNT", fmt.Sprint(r.IntN(4))}
	case 9:
		return []string{"XDEL", k(), old(), old()}
	case 10:
		if r.IntN(2) == 0 {
			return []string{"XTRIM", k(), "MAXLEN", pick("~", "="), fmt.Sprint(50 + r.IntN(250))}
		}
		return []string{"XTRIM", k(), "MINID", pick("~", "="), old(), pick("", "LIMIT 150")}
	case 11:
		return []string{"XREAD", "COUNT", fmt.Sprint(r.IntN(3)), "STREAMS", "s0", "s1", old(), pick("$", "0", old())}
	case 12:
		return []string{"XGROUP", "CREATE", k(), g(), pick("$", "0", old()), pick("MKSTREAM", "ENTRIESREAD 3", "")}
	case 13:
		switch r.IntN(4) {
		case 0:
			return []string{"XGROUP", "SETID", k(), g(), pick("$", "0", old())}
		case 1:
			return []string{"XGROUP", "CREATECONSUMER", k(), g(), c()}
		case 2:
			return []string{"XGROUP", "DELCONSUMER", k(), g(), c()}
		}
		if r.IntN(4) == 0 {
			return []string{"XGROUP", "DESTROY", k(), g()}
		}
		return []string{"XINFO", "GROUPS", k()}
	case 14, 15, 16, 17:
		return []string{"XREADGROUP", "GROUP", g(), c(), "COUNT", fmt.Sprint(r.IntN(4)), pick("NOACK", "", ""), "STREAMS", k(), pick(">", ">", "0", old())}
	case 18:
		return []string{"XACK", k(), g(), old(), old()}
	case 19:
		return []string{"XPENDING", k(), g()}
	case 20:
		return []string{"XCLAIM", k(), g(), c(), "0", old(), old(), pick("JUSTID", ""), pick("FORCE", ""), pick("RETRYCOUNT 5", "")}
	case 21:
		return []string{"XAUTOCLAIM", k(), g(), c(), "0", pick("0", old()), "COUNT", fmt.Sprint(1 + r.IntN(3)), pick("JUSTID", "")}
	case 22:
		return []string{"XINFO", "STREAM", k()}
	case 23:
		return []string{"XSETID", k(), fmt.Sprintf("%d-%d", *next+uint64(r.IntN(3)), r.IntN(3))}
	case 24:
		if r.IntN(6) == 0 {
			return []string{"DEL", k()}
		}
		return []string{"XPENDING", k(), g(), "IDLE", "100000000", "-", "+", "10"}
	}
	return []string{"XINFO", "STREAM", k()}
}

// zxMaskRadixNodes replaces the value after "radix-tree-nodes" (rax internals kvlab estimates) in an
// XINFO STREAM reply.
func zxMaskRadixNodes(v resp.Value) resp.Value {
	for i := 0; i+1 < len(v.Elems); i++ {
		if string(v.Elems[i].Str) == "radix-tree-nodes" {
			v.Elems[i+1] = resp.Value{Kind: ':'}
		}
	}
	return v
}

// TestZXDifferential sends the same random command sequence to kvlab and to redis-server and compares every
// reply, for sorted sets and streams, in RESP2 and RESP3, then compares the final contents key by key.
func TestZXDifferential(t *testing.T) {
	redisAddr := zxStartRedis(t)
	srv := start(t)
	for _, tc := range []struct {
		name  string
		proto string
		ops   int
		gen   func(r *rand.Rand, next *uint64) []string
	}{
		{"zset/resp2", "2", 3000, func(r *rand.Rand, _ *uint64) []string { return zxDiffZSetOp(r, false) }},
		{"zset/resp3", "3", 1000, func(r *rand.Rand, _ *uint64) []string { return zxDiffZSetOp(r, false) }},
		{"zset-big/resp2", "2", 2000, func(r *rand.Rand, _ *uint64) []string { return zxDiffZSetOp(r, true) }},
		{"stream/resp2", "2", 4000, zxDiffStreamOp},
		{"stream/resp3", "3", 1000, zxDiffStreamOp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kv, rd := zxDial(t, srv.Addr()), zxDial(t, redisAddr)
			for _, c := range []*zxConn{kv, rd} {
				c.do(t, "FLUSHALL")
				c.do(t, "HELLO", tc.proto)
			}
			seed := *zxSeed
			if seed == 0 {
				seed = uint64(time.Now().UnixNano())
			}
			t.Logf("seed %d", seed)
			r := rand.New(rand.NewPCG(seed, 11))
			next := uint64(1000)
			var history []string
			maxNodes := int64(0)
			check := func(args []string) {
				a, b := kv.do(t, args...), rd.do(t, args...)
				if args[0] == "XINFO" && len(args) > 1 && args[1] == "STREAM" {
					a, b = zxMaskRadixNodes(a), zxMaskRadixNodes(b)
					for i := 0; i+1 < len(b.Elems); i++ {
						if string(b.Elems[i].Str) == "radix-tree-keys" {
							maxNodes = max(maxNodes, b.Elems[i+1].Int)
						}
					}
				}
				short := make([]string, len(args))
				for i, a := range args {
					if len(a) > 20 {
						a = fmt.Sprintf("%s...(%d bytes)", a[:8], len(a))
					}
					short[i] = a
				}
				history = append(history, strings.Join(short, " "))
				if a.String() != b.String() {
					if len(history) > 25 {
						history = history[len(history)-25:]
					}
					t.Fatalf("seed %d, op %s:\nkvlab:        %s\nredis-server: %s\nlast commands:\n%s", seed, history[len(history)-1], a.String(), b.String(), strings.Join(history, "\n"))
				}
			}
			for i := 0; i < tc.ops; i++ {
				// "" is an absent option and "A B" an option with its value; values never contain spaces.
				var args []string
				for _, a := range tc.gen(r, &next) {
					switch {
					case a == "":
					case strings.Contains(a, " "):
						args = append(args, strings.Fields(a)...)
					default:
						args = append(args, a)
					}
				}
				// Redis 7.2 (and kvlab) create the consumer of XCLAIM, XAUTOCLAIM and XREADGROUP up front;
				// 7.0 only when it claims or serves something. Creating it first keeps both in step.
				switch args[0] {
				case "XCLAIM", "XAUTOCLAIM":
					check([]string{"XGROUP", "CREATECONSUMER", args[1], args[2], args[3]})
				case "XREADGROUP":
					check([]string{"XGROUP", "CREATECONSUMER", args[len(args)-2], args[2], args[3]})
				}
				check(args)
			}
			if strings.HasPrefix(tc.name, "stream/resp2") && maxNodes < 3 {
				t.Fatalf("the streams never grew past %d nodes: node boundaries were not exercised", maxNodes)
			}
			// Final sweep: every key's whole content.
			keys := kv.do(t, "KEYS", "*")
			var names []string
			for _, k := range keys.Elems {
				names = append(names, string(k.Str))
			}
			sort.Strings(names)
			check([]string{"DBSIZE"})
			for _, k := range names {
				if k == "plain" {
					continue // a set used as an input; its members come back in hash order
				}
				if strings.HasPrefix(k, "z") {
					check([]string{"ZRANGE", k, "0", "-1", "WITHSCORES"})
				} else {
					check([]string{"XRANGE", k, "-", "+"})
					check([]string{"XINFO", "STREAM", k})
					check([]string{"XINFO", "GROUPS", k})
				}
			}
		})
	}
}
