package keyspace

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
)

// zxRandomOp returns a random sorted set or stream write (or read that writes, like XREADGROUP), over a
// few keys so that commands interact.
func zxRandomOp(r *rand.Rand, now int64) []string {
	zk := func() string { return fmt.Sprint("z", r.IntN(3)) }
	sk := func() string { return fmt.Sprint("s", r.IntN(2)) }
	member := func() string { return fmt.Sprint("m", r.IntN(40)) }
	score := func() string { return fmt.Sprint(float64(r.IntN(41)-20) / 2) }
	group := func() string { return fmt.Sprint("g", r.IntN(2)) }
	consumer := func() string { return fmt.Sprint("c", r.IntN(3)) }
	id := func() string { return fmt.Sprintf("%d-%d", now-int64(r.IntN(50)), r.IntN(3)) }
	pick := func(opts ...string) string { return opts[r.IntN(len(opts))] }
	switch r.IntN(30) {
	case 0, 1, 2:
		args := []string{"ZADD", zk()}
		for _, o := range []string{"NX", "XX", "GT", "LT", "CH"} {
			if r.IntN(6) == 0 {
				args = append(args, o)
			}
		}
		if r.IntN(8) == 0 {
			return append(args, "INCR", score(), member())
		}
		for n := 1 + r.IntN(4); n > 0; n-- {
			args = append(args, score(), member())
		}
		return args
	case 3:
		return []string{"ZINCRBY", zk(), score(), member()}
	case 4:
		return []string{"ZREM", zk(), member(), member()}
	case 5:
		return []string{pick("ZPOPMIN", "ZPOPMAX"), zk(), fmt.Sprint(r.IntN(3))}
	case 6:
		return []string{"ZMPOP", "2", zk(), zk(), pick("MIN", "MAX"), "COUNT", fmt.Sprint(1 + r.IntN(3))}
	case 7:
		return []string{pick("BZPOPMIN", "BZPOPMAX"), zk(), zk(), "0.01"}
	case 8:
		return []string{"BZMPOP", "0.01", "1", zk(), pick("MIN", "MAX")}
	case 9:
		switch r.IntN(3) {
		case 0:
			return []string{"ZREMRANGEBYRANK", zk(), fmt.Sprint(r.IntN(5)), fmt.Sprint(r.IntN(10) - 5)}
		case 1:
			return []string{"ZREMRANGEBYSCORE", zk(), pick("(", "") + score(), score()}
		}
		return []string{"ZREMRANGEBYLEX", zk(), pick("[", "(") + member(), pick("+", "[m3")}
	case 10:
		return []string{pick("ZUNIONSTORE", "ZINTERSTORE"), zk(), "2", zk(), zk(), "WEIGHTS", fmt.Sprint(r.IntN(3)), "2",
			"AGGREGATE", pick("SUM", "MIN", "MAX")}
	case 11:
		return []string{"ZDIFFSTORE", zk(), "2", zk(), zk()}
	case 12:
		return []string{"ZRANGESTORE", zk(), zk(), "0", fmt.Sprint(r.IntN(5)), pick("REV", "")}
	case 13, 14, 15:
		args := []string{"XADD", sk()}
		switch r.IntN(4) {
		case 0:
			args = append(args, "MAXLEN", pick("~", "="), fmt.Sprint(20+r.IntN(200)))
		case 1:
			args = append(args, "MINID", pick("~", "="), id())
		}
		args = append(args, pick("*", "*", id(), fmt.Sprintf("%d-*", now)))
		for n := 1 + r.IntN(2); n > 0; n-- {
			args = append(args, pick("f", "g"), fmt.Sprint(r.IntN(1000)))
		}
		return args
	case 16:
		return []string{"XDEL", sk(), id(), id()}
	case 17:
		if r.IntN(2) == 0 {
			return []string{"XTRIM", sk(), "MAXLEN", pick("~", "="), fmt.Sprint(10 + r.IntN(100))}
		}
		return []string{"XTRIM", sk(), "MINID", pick("~", "="), id()}
	case 18:
		return []string{"XGROUP", "CREATE", sk(), group(), pick("$", "0", id()), pick("MKSTREAM", "")}
	case 19:
		switch r.IntN(4) {
		case 0:
			return []string{"XGROUP", "SETID", sk(), group(), pick("$", "0", id())}
		case 1:
			if r.IntN(5) == 0 {
				return []string{"XGROUP", "DESTROY", sk(), group()}
			}
			return []string{"XGROUP", "CREATE", sk(), group(), "0", "ENTRIESREAD", fmt.Sprint(r.IntN(10))}
		case 2:
			return []string{"XGROUP", "CREATECONSUMER", sk(), group(), consumer()}
		}
		return []string{"XGROUP", "DELCONSUMER", sk(), group(), consumer()}
	case 20, 21, 22:
		args := []string{"XREADGROUP", "GROUP", group(), consumer(), "COUNT", fmt.Sprint(r.IntN(4))}
		if r.IntN(5) == 0 {
			args = append(args, "NOACK")
		}
		if r.IntN(4) == 0 {
			args = append(args, "BLOCK", "10")
		}
		return append(args, "STREAMS", sk(), pick(">", ">", "0", id()))
	case 23:
		return []string{"XACK", sk(), group(), id(), id()}
	case 24:
		args := []string{"XCLAIM", sk(), group(), consumer(), fmt.Sprint(r.IntN(3)), id(), id()}
		for _, o := range []string{"JUSTID", "FORCE"} {
			if r.IntN(3) == 0 {
				args = append(args, o)
			}
		}
		if r.IntN(3) == 0 {
			args = append(args, "RETRYCOUNT", fmt.Sprint(r.IntN(5)))
		}
		if r.IntN(3) == 0 {
			args = append(args, "IDLE", fmt.Sprint(r.IntN(5)))
		}
		return args
	case 25:
		return []string{"XAUTOCLAIM", sk(), group(), consumer(), fmt.Sprint(r.IntN(3)), pick("0", id()), "COUNT", fmt.Sprint(1 + r.IntN(3)), pick("JUSTID", "")}
	case 26:
		return []string{"XSETID", sk(), fmt.Sprintf("%d-%d", now+int64(r.IntN(5)), r.IntN(3))}
	case 27:
		if r.IntN(10) == 0 {
			return []string{"DEL", pick(zk(), sk())}
		}
		return []string{"ZCARD", zk()}
	case 28:
		return []string{"XREAD", "COUNT", "2", "STREAMS", sk(), "0"}
	}
	return []string{"ZRANGE", zk(), "0", "-1"}
}

// zxDump returns a key's value in marshalled form. For streams the consumers' seen and active times are
// zeroed: like Redis's replication, kvlab does not log a consumer's seen time for a read that delivers
// nothing, and a history re-delivery is logged as an XCLAIM, which also sets the active time.
func zxDump(o *Object) []byte {
	v := Ops(o.Type).Clone(o.Val())
	if s, ok := v.(*Stream); ok {
		for _, g := range s.groups {
			for _, c := range g.consumers {
				c.seenTime, c.activeTime = 0, 0
			}
		}
	}
	return MarshalValue(nil, NewValue(o.Type, v))
}

// TestZXEffectsReplay runs thousands of random sorted set and stream commands with effects recorded and
// replays each command's effects, at its recorded time, into a second keyspace as it goes, comparing every
// key after every command.
func TestZXEffectsReplay(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 77))
			h := newZXHarness(t)
			replayed := New()
			applied := 0
			keys := func(ks *Keyspace) []string {
				var out []string
				ks.DB(0).ForEach(func(k string, _ *Object) bool { out = append(out, k); return true })
				sort.Strings(out)
				return out
			}
			pending, groups := 0, 0
			for i := 0; i < 3000; i++ {
				h.now += int64(r.IntN(3))
				var args []string
				for _, a := range zxRandomOp(r, h.now) {
					if a != "" {
						args = append(args, a)
					}
				}
				h.do(args...)
				for ; applied < len(h.log); applied++ {
					if err := replayed.ApplyEffects(h.log[applied].buf, h.log[applied].now); err != nil {
						t.Fatalf("op %d %q: replay: %v", i, args, err)
					}
				}
				want, got := keys(h.ks), keys(replayed)
				if fmt.Sprint(want) != fmt.Sprint(got) {
					t.Fatalf("op %d %q: keys after replay %v, want %v", i, args, got, want)
				}
				for _, k := range want {
					a, b := h.ks.DB(0).Peek([]byte(k)), replayed.DB(0).Peek([]byte(k))
					if !bytes.Equal(zxDump(a), zxDump(b)) {
						t.Fatalf("op %d %q: key %s differs after replay", i, args, k)
					}
					if a.Type == TypeStream {
						for _, g := range a.Val().(*Stream).groups {
							groups++
							pending += g.pel.Len()
						}
					}
				}
			}
			// The mix must keep groups with pending entries around, or the comparison proves little.
			if len(h.log) < 1000 || groups < 3000 || pending < 3000 {
				t.Fatalf("weak run: %d effect records, %d group and %d pending observations", len(h.log), groups, pending)
			}
		})
	}
}
