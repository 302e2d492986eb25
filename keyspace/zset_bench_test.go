package keyspace

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/tidwall/btree"

	"github.com/kvlab/kvlab/resp"
)

// zxBench runs one command handler repeatedly with a reused context, as the server does.
type zxBench struct {
	ks *Keyspace
	c  Ctx
	w  resp.Writer
}

func newZXBench(ks *Keyspace) *zxBench {
	b := &zxBench{ks: ks}
	b.w.Proto = 2
	b.c = Ctx{W: &b.w, KS: ks, DB: ks.DB(0), Now: 1_700_000_000_000}
	return b
}

func (b *zxBench) run(args [][]byte) {
	cmd, msg := Resolve(args)
	if msg != "" {
		panic(msg)
	}
	b.w.Reset()
	b.c.Args, b.c.Cmd, b.c.Block = args, cmd, nil
	cmd.Handler(&b.c)
	if len(b.w.Buf) > 0 && b.w.Buf[0] == '-' {
		panic(fmt.Sprintf("%q: %s", args, b.w.Buf))
	}
}

func zxArgs(a ...string) [][]byte {
	out := make([][]byte, len(a))
	for i, s := range a {
		out[i] = []byte(s)
	}
	return out
}

const zxLeaderboardSize = 1_000_000

var (
	zxBoardOnce sync.Once
	zxBoard     *Keyspace
)

// zxLeaderboard is a keyspace with one sorted set "board" of 1M members (player:N with random scores).
func zxLeaderboard() *Keyspace {
	zxBoardOnce.Do(func() {
		r := rand.New(rand.NewPCG(7, 7))
		z := NewZSet()
		for i := 0; i < zxLeaderboardSize; i++ {
			z.Add("player:"+strconv.Itoa(i), float64(r.IntN(10_000_000)))
		}
		zxBoard = New()
		zxBoard.DB(0).Load("board", NewValue(TypeZSet, z))
	})
	return zxBoard
}

// BenchmarkZAdd measures ZADD through its handler: inserting new members into a growing set, and updating
// the score of members of a 1M-member set.
func BenchmarkZAdd(b *testing.B) {
	b.Run("insert", func(b *testing.B) {
		zb := newZXBench(New())
		r := rand.New(rand.NewPCG(1, 1))
		args := make([][][]byte, 1<<16)
		for i := range args {
			args[i] = zxArgs("ZADD", "z", strconv.Itoa(r.IntN(1_000_000)), "m"+strconv.Itoa(i)+":"+strconv.Itoa(r.IntN(1<<30)))
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			a := args[i&(len(args)-1)]
			if i >= len(args) && i&(len(args)-1) == 0 {
				b.StopTimer()
				zb.ks.Flush(-1)
				b.StartTimer()
			}
			zb.run(a)
		}
	})
	b.Run("update/members=1M", func(b *testing.B) {
		zb := newZXBench(zxLeaderboard())
		r := rand.New(rand.NewPCG(2, 2))
		args := make([][][]byte, 1<<16)
		for i := range args {
			args[i] = zxArgs("ZADD", "board", strconv.Itoa(r.IntN(10_000_000)), "player:"+strconv.Itoa(r.IntN(zxLeaderboardSize)))
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			zb.run(args[i&(len(args)-1)])
		}
	})
}

// BenchmarkZRevRank measures ZREVRANK of random members of a 1M-member leaderboard (O(log n) via spans).
func BenchmarkZRevRank(b *testing.B) {
	zb := newZXBench(zxLeaderboard())
	r := rand.New(rand.NewPCG(3, 3))
	args := make([][][]byte, 1<<14)
	for i := range args {
		args[i] = zxArgs("ZREVRANK", "board", "player:"+strconv.Itoa(r.IntN(zxLeaderboardSize)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		zb.run(args[i&(len(args)-1)])
	}
}

// BenchmarkZRevRangeTop10 measures ZREVRANGE board 0 9 WITHSCORES on the 1M-member leaderboard.
func BenchmarkZRevRangeTop10(b *testing.B) {
	zb := newZXBench(zxLeaderboard())
	args := zxArgs("ZREVRANGE", "board", "0", "9", "WITHSCORES")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		zb.run(args)
	}
}

// BenchmarkZRevRange measures ZREVRANGE pages of the 1M-member leaderboard at the top, in the middle (an
// O(log n) seek to rank 500000) and by score.
func BenchmarkZRevRange(b *testing.B) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"top10", []string{"ZREVRANGE", "board", "0", "9"}},
		{"top100-withscores", []string{"ZREVRANGE", "board", "0", "99", "WITHSCORES"}},
		{"rank=500000/count=10", []string{"ZREVRANGE", "board", "500000", "500009"}},
		{"byscore/limit=10", []string{"ZREVRANGEBYSCORE", "board", "5000000", "-inf", "LIMIT", "0", "10"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			zb := newZXBench(zxLeaderboard())
			args := zxArgs(tc.args...)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				zb.run(args)
			}
		})
	}
}

// zxBTreeIndex is the alternative index measured by BenchmarkZSetIndex: github.com/tidwall/btree ordered by
// (score, member). It has subtree counts but no rank-of-item lookup, so rank is a binary search over GetAt:
// O(log² n).
type zxBTreeItem struct {
	score  float64
	member string
}

func zxBTreeLess(a, b zxBTreeItem) bool {
	return a.score < b.score || a.score == b.score && a.member < b.member
}

func zxBTreeRank(t *btree.BTreeG[zxBTreeItem], it zxBTreeItem) int {
	return sort.Search(t.Len(), func(i int) bool {
		x, _ := t.GetAt(i)
		return !zxBTreeLess(x, it)
	})
}

// BenchmarkZSetIndex compares the counted B+tree used by sorted sets with tidwall/btree on the operations a
// leaderboard needs, at 1M members: insert, rank of an item, and the top 10 in descending order.
func BenchmarkZSetIndex(b *testing.B) {
	const n = zxLeaderboardSize
	r := rand.New(rand.NewPCG(5, 5))
	items := make([]zxBTreeItem, n)
	for i := range items {
		items[i] = zxBTreeItem{float64(r.IntN(10_000_000)), "player:" + strconv.Itoa(i)}
	}
	zt := &ztree{}
	tr := btree.NewBTreeGOptions(zxBTreeLess, btree.Options{NoLocks: true})
	for _, it := range items {
		zt.insert(zitem{it.score, it.member})
		tr.Set(it)
	}
	b.Run("counted-bptree/insert", func(b *testing.B) {
		t := &ztree{}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if i%n == 0 && i > 0 {
				t = &ztree{}
			}
			it := items[i%n]
			t.insert(zitem{it.score, it.member})
		}
	})
	b.Run("tidwall-btree/insert", func(b *testing.B) {
		t := btree.NewBTreeGOptions(zxBTreeLess, btree.Options{NoLocks: true})
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if i%n == 0 && i > 0 {
				t.Clear()
			}
			t.Set(items[i%n])
		}
	})
	b.Run("counted-bptree/rank", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			it := items[(i*7919)%n]
			if _, ok := zt.rank(&zitem{it.score, it.member}); !ok {
				b.Fatal("missing")
			}
		}
	})
	b.Run("tidwall-btree/rank", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			it := items[(i*7919)%n]
			if zxBTreeRank(tr, it) >= n {
				b.Fatal("missing")
			}
		}
	})
	b.Run("counted-bptree/top10", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p := zt.lastPos()
			for j := 0; j < 10; j++ {
				p = p.prev()
			}
		}
	})
	b.Run("tidwall-btree/top10", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			j := 0
			tr.Reverse(func(zxBTreeItem) bool { j++; return j < 10 })
		}
	})
}
