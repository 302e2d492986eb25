package keyspace

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/kvlab/kvlab/resp"
)

// zxHarness runs sorted set and stream commands through their handlers, as the server does (one Ctx per
// command, effects recorded), and keeps every command's effects with its time for a replay.
type zxHarness struct {
	t     testing.TB
	ks    *Keyspace
	now   int64
	proto int
	log   []zxRecord
}

type zxRecord struct {
	buf []byte
	now int64
}

func newZXHarness(t testing.TB) *zxHarness {
	return &zxHarness{t: t, ks: New(), now: 1_700_000_000_000, proto: 2}
}

// do runs one command and returns its reply.
func (h *zxHarness) do(args ...string) resp.Value {
	h.t.Helper()
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	return h.doBytes(bargs)
}

func (h *zxHarness) doBytes(args [][]byte) resp.Value {
	h.t.Helper()
	w := &resp.Writer{Proto: h.proto}
	cmd, msg := Resolve(args)
	if msg != "" {
		w.Error(msg)
	} else {
		eff := &Effects{}
		c := &Ctx{Args: args, W: w, KS: h.ks, DB: h.ks.DB(0), Cmd: cmd, Now: h.now, Effects: eff}
		cmd.Handler(c)
		if c.Block != nil {
			w.NullArray() // what the server replies on timeout
		}
		if eff.N > 0 {
			h.log = append(h.log, zxRecord{append([]byte(nil), eff.Buf...), h.now})
		}
	}
	v, err := resp.NewReplyReader(bytes.NewReader(w.Buf)).Read()
	if err != nil {
		h.t.Fatalf("%q: unreadable reply %q: %v", args, w.Buf, err)
	}
	return v
}

// replay applies every recorded effect to a fresh keyspace.
func (h *zxHarness) replay() *Keyspace {
	h.t.Helper()
	ks := New()
	for i, r := range h.log {
		if err := ks.ApplyEffects(r.buf, r.now); err != nil {
			h.t.Fatalf("replay of record %d: %v", i, err)
		}
	}
	return ks
}

// zxModel is a sorted slice model of a sorted set for checking the index.
type zxModel struct {
	m     map[string]float64
	order []string
}

func (m *zxModel) sorted() []string {
	out := make([]string, 0, len(m.m))
	for k := range m.m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if m.m[a] != m.m[b] {
			return m.m[a] < m.m[b]
		}
		return a < b
	})
	return out
}

// TestZSetIndexModel drives a ZSet with random inserts, score updates and deletes (growing to thousands of
// members and shrinking back, so leaves and inner nodes split and merge), and checks the tree's invariants,
// ranks, positions, range seeks and the hash against a sorted model.
func TestZSetIndexModel(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		rnd := rand.New(rand.NewPCG(seed, 2))
		z := NewZSet()
		m := &zxModel{m: map[string]float64{}}
		members := 40
		for step := 0; step < 60000; step++ {
			switch {
			case step == 15000:
				members = 5000
			case step == 40000:
				members = 60
			}
			member := fmt.Sprintf("m%04d", rnd.IntN(members))
			score := float64(rnd.IntN(400)) / 2
			switch rnd.IntN(5) {
			case 0, 1:
				z.Add(member, score)
				m.m[member] = score
			case 2:
				_, in := m.m[member]
				if z.remove(member) != in {
					t.Fatalf("step %d: remove(%s) disagrees", step, member)
				}
				delete(m.m, member)
			case 3:
				if step < 40000 && rnd.IntN(4) != 0 {
					z.Add(member, score)
					m.m[member] = score
					continue
				}
				r := &zrangeSpec{min: float64(rnd.IntN(400)) / 2, max: float64(rnd.IntN(400)) / 2, minex: rnd.IntN(2) == 0}
				if r.max-r.min > 40 {
					r.max = r.min + 40
				}
				n := z.deleteInRange(r)
				removed := 0
				for k, s := range m.m {
					if r.gteMinScore(s) && r.lteMaxScore(s) {
						delete(m.m, k)
						removed++
					}
				}
				if n != removed {
					t.Fatalf("step %d: deleteInRange removed %d, want %d", step, n, removed)
				}
			case 4:
				if rnd.IntN(50) == 0 {
					zxCheckModel(t, z, m)
				}
			}
		}
		zxCheckModel(t, z, m)
		for k := range m.m {
			z.remove(k)
		}
		if z.Len() != 0 || z.tree.root != nil || z.tree.first != nil {
			t.Fatal("emptied set keeps tree nodes")
		}
	}
}

// ztCheck verifies the tree's structure: subtree counts, key bounds, node sizes and the leaf chain.
func ztCheck(t *testing.T, tr *ztree) {
	t.Helper()
	if tr.root == nil {
		if tr.first != nil || tr.last != nil {
			t.Fatal("empty tree with leaves")
		}
		return
	}
	var leaves []*znode
	var walk func(n *znode, lo, hi *zitem) int
	walk = func(n *znode, lo, hi *zitem) int {
		if n.leaf() {
			if len(n.items) == 0 && n != tr.root || len(n.items) > ztMaxItems {
				t.Fatalf("leaf of %d items", len(n.items))
			}
			for i := range n.items {
				it := &n.items[i]
				if i > 0 && !zbefore(&n.items[i-1], it) || lo != nil && zbefore(it, lo) || hi != nil && !zbefore(it, hi) {
					t.Fatalf("item %v out of order or out of its bounds", *it)
				}
			}
			leaves = append(leaves, n)
			if n.count != len(n.items) {
				t.Fatalf("leaf count %d, %d items", n.count, len(n.items))
			}
			return n.count
		}
		if len(n.children) == 0 || len(n.children) > ztMaxChildren || len(n.keys) != len(n.children)-1 {
			t.Fatalf("inner node with %d children, %d keys", len(n.children), len(n.keys))
		}
		total := 0
		for i, c := range n.children {
			clo, chi := lo, hi
			if i > 0 {
				clo = &n.keys[i-1]
			}
			if i < len(n.keys) {
				chi = &n.keys[i]
			}
			total += walk(c, clo, chi)
		}
		if total != n.count {
			t.Fatalf("inner count %d, children hold %d", n.count, total)
		}
		return total
	}
	walk(tr.root, nil, nil)
	if tr.first != leaves[0] || tr.last != leaves[len(leaves)-1] {
		t.Fatal("first/last leaf")
	}
	for i, l := range leaves {
		if i > 0 && l.prev != leaves[i-1] || i < len(leaves)-1 && l.next != leaves[i+1] {
			t.Fatalf("leaf chain broken at %d", i)
		}
	}
}

func zxCheckModel(t *testing.T, z *ZSet, m *zxModel) {
	t.Helper()
	ztCheck(t, &z.tree)
	want := m.sorted()
	if z.Len() != len(want) || z.hash.count != len(want) {
		t.Fatalf("len = %d (hash %d), want %d", z.Len(), z.hash.count, len(want))
	}
	i := 0
	prev := zpos{}
	for p := z.tree.firstPos(); p.ok(); p = p.next() {
		it := p.item()
		if it.member != want[i] || it.score != m.m[want[i]] {
			t.Fatalf("position %d: %s=%v, want %s=%v", i, it.member, it.score, want[i], m.m[want[i]])
		}
		if pp := p.prev(); pp != prev {
			t.Fatalf("position %d: prev is not the previous position", i)
		}
		if r, ok := z.tree.rank(it); !ok || r != i {
			t.Fatalf("rank(%s) = %d %v, want %d", it.member, r, ok, i)
		}
		if got := z.tree.at(i); got != p {
			t.Fatalf("at(%d) = %v", i, got)
		}
		if e := z.hash.get(it.member); e == nil || e.score != it.score {
			t.Fatalf("hash entry of %s", it.member)
		}
		prev = p
		i++
	}
	if z.tree.lastPos() != prev {
		t.Fatal("last position")
	}
	// Score ranges: first/last in range and their ranks agree with a linear scan.
	for _, r := range []zrangeSpec{{min: 3, max: 7}, {min: 3, max: 7, minex: true, maxex: true}, {min: -1, max: 0.5}, {min: 190, max: 300}, {min: 5, max: 5}, {min: 50, max: 150}} {
		r := r
		first, last := -1, -1
		for j, k := range want {
			if r.gteMinScore(m.m[k]) && r.lteMaxScore(m.m[k]) {
				if first < 0 {
					first = j
				}
				last = j
			}
		}
		p, rank := z.firstInRange(&r)
		if p.ok() != (first >= 0) || p.ok() && (rank != first || p.item().member != want[first]) {
			t.Fatalf("firstInRange(%+v) = %v/%d, want index %d", r, p, rank, first)
		}
		p, rank = z.lastInRange(&r)
		if p.ok() != (last >= 0) || p.ok() && (rank != last || p.item().member != want[last]) {
			t.Fatalf("lastInRange(%+v) = %v/%d, want index %d", r, p, rank, last)
		}
		if n := z.countInRange(&r); first >= 0 && n != last-first+1 || first < 0 && n != 0 {
			t.Fatalf("countInRange(%+v) = %d", r, n)
		}
	}
}

// TestZSetScanGuarantee checks ZSCAN's contract on the member hash: across resizes, inserts and deletes
// during the iteration, every member present for the whole iteration is returned at least once.
func TestZSetScanGuarantee(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		rnd := rand.New(rand.NewPCG(seed, 9))
		z := NewZSet()
		for i := 0; i < 2000; i++ {
			z.Add(fmt.Sprintf("stable%d", i), float64(i))
		}
		seen := map[string]bool{}
		cursor := uint64(0)
		for iter := 0; ; iter++ {
			cursor = z.hash.scan(cursor, func(e *zentry) { seen[e.member] = true })
			// Churn that grows and shrinks the table while the scan runs.
			for k := 0; k < 20; k++ {
				x := fmt.Sprintf("churn%d", rnd.IntN(6000))
				if rnd.IntN(3) == 0 {
					z.remove(x)
				} else {
					z.Add(x, 1)
				}
			}
			if cursor == 0 {
				break
			}
			if iter > 1_000_000 {
				t.Fatal("scan did not finish")
			}
		}
		for i := 0; i < 2000; i++ {
			if !seen[fmt.Sprintf("stable%d", i)] {
				t.Fatalf("seed %d: stable%d never returned", seed, i)
			}
		}
	}
}

func TestZSetAppendScore(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "-0"}, {1, "1"}, {-2.25, "-2.25"}, {1.5, "1.5"},
		{1234567, "1234567"}, {1700000000123, "1700000000123"}, {0.1, "0.1"}, {zxSum(0.1, 0.2), "0.30000000000000004"},
		{3e-5, "0.00003"}, {0.000123, "0.000123"}, {1e-7, "1e-7"}, {1.5e-10, "1.5e-10"}, {1e21, "1e+21"},
		{1.5e300, "1.5e+300"}, {123456789012345678, "123456789012345680"}, {1e19, "1e+19"},
		{1234567.25, "1234567.25"}, {math.Inf(1), "inf"}, {math.Inf(-1), "-inf"}, {5e-324, "5e-324"},
		{1.7976931348623157e308, "1.7976931348623157e+308"},
	} {
		if got := string(zsetAppendScore(nil, tc.f)); got != tc.want {
			t.Errorf("zsetAppendScore(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
}

// zxSum adds at run time (a constant expression would be exact).
func zxSum(a, b float64) float64 { return a + b }

func TestZSetParseDouble(t *testing.T) {
	for _, tc := range []struct {
		in     string
		strict bool // zsetParseDouble (ZADD) accepts it
		bound  bool // zsetParseScoreBound (ZRANGEBYSCORE) accepts it
	}{
		{"1", true, true}, {"-2.5", true, true}, {"inf", true, true}, {"+inf", true, true}, {"-Infinity", true, true},
		{"nan", false, false}, {"", false, true}, {" 1", false, true}, {"1 ", false, false}, {"0x10", true, true},
		{"1e400", false, true}, {"1e-400", false, true}, {"1e-310", true, true}, {"abc", false, false},
		{"1_000", false, false}, {"1e", false, false}, {".5", true, true}, {"5.", true, true}, {"0x", false, false},
	} {
		_, ok := zsetParseDouble([]byte(tc.in))
		if ok != tc.strict {
			t.Errorf("zsetParseDouble(%q) ok=%v, want %v", tc.in, ok, tc.strict)
		}
		_, _, ok = zsetParseScoreBound([]byte(tc.in))
		if ok != tc.bound {
			t.Errorf("zsetParseScoreBound(%q) ok=%v, want %v", tc.in, ok, tc.bound)
		}
	}
}

// TestZSetMarshalRoundTrip checks TypeOps: Marshal/Unmarshal and Clone keep members, scores, order and
// encoding, and corrupt input is refused.
func TestZSetMarshalRoundTrip(t *testing.T) {
	ops := Ops(TypeZSet)
	for _, n := range []int{0, 3, 129} {
		z := NewZSet()
		for i := 0; i < n; i++ {
			z.Add(fmt.Sprintf("m%d", i), float64(i%7)-3.5)
		}
		z.Add("inf", math.Inf(1))
		b := ops.Marshal(nil, z)
		v, err := ops.Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range []any{v, ops.Clone(z)} {
			if !bytes.Equal(ops.Marshal(nil, got), b) || ops.Encoding(got) != ops.Encoding(z) || ops.Len(got) != z.Len() {
				t.Fatalf("n=%d: round trip differs", n)
			}
		}
		if want := map[bool]string{false: "listpack", true: "skiplist"}[n+1 > 128]; ops.Encoding(z) != want {
			t.Fatalf("n=%d: encoding %s, want %s", n, ops.Encoding(z), want)
		}
		if ops.Size(z) <= 0 {
			t.Fatal("size")
		}
		if _, err := ops.Unmarshal(b[:len(b)-1]); err == nil && len(b) > 2 {
			t.Fatalf("n=%d: truncated input accepted", n)
		}
	}
}

// TestZSetAPI checks the exported accessors other packages use.
func TestZSetAPI(t *testing.T) {
	z := NewZSet()
	for i, m := range []string{"c", "a", "b", "d"} {
		if !z.Add(m, float64(i%2)) {
			t.Fatalf("Add(%s) reported an existing member", m)
		}
	}
	if z.Add("d", 5) || z.Len() != 4 {
		t.Fatal("Add of an existing member")
	}
	if s, ok := z.Score("d"); !ok || s != 5 {
		t.Fatalf("Score(d) = %v %v", s, ok)
	}
	if r, ok := z.Rank("a"); !ok || r != 2 {
		t.Fatalf("Rank(a) = %d %v", r, ok)
	}
	var got []string
	z.Range(0, 2, true, func(m string, s float64) bool { got = append(got, fmt.Sprint(m, s)); return true })
	if fmt.Sprint(got) != "[d5 a1 c0]" {
		t.Fatalf("Range rev = %v", got)
	}
}

// TestZSetEncoding follows Redis's listpack → skiplist conversion: by count (128) or member length (64),
// never back except for *STORE destinations.
func TestZSetEncoding(t *testing.T) {
	h := newZXHarness(t)
	enc := func(key string) string {
		o := h.ks.DB(0).Peek([]byte(key))
		return Ops(TypeZSet).Encoding(o.Val())
	}
	h.do("ZADD", "z", "1", "a")
	if enc("z") != "listpack" {
		t.Fatal("small set should be listpack")
	}
	h.do("ZADD", "z", "2", strings.Repeat("x", 65))
	if enc("z") != "skiplist" {
		t.Fatal("a 65-byte member converts to skiplist")
	}
	h.do("ZREM", "z", strings.Repeat("x", 65))
	if enc("z") != "skiplist" {
		t.Fatal("conversion is one way")
	}
	args := []string{"ZADD", "big"}
	for i := 0; i < 129; i++ {
		args = append(args, fmt.Sprint(i), fmt.Sprint("m", i))
	}
	h.do(args...)
	if enc("big") != "skiplist" {
		t.Fatal("129 members is a skiplist")
	}
	h.do("ZRANGESTORE", "small", "big", "0", "9")
	if enc("small") != "listpack" {
		t.Fatal("a small ZRANGESTORE result is a listpack")
	}
	h.do("ZUNIONSTORE", "u", "1", "big")
	if enc("u") != "skiplist" {
		t.Fatal("a 129-member union is a skiplist")
	}
}

// TestZXKeyspaceEvents checks the keyspace events of sorted set and stream commands, names and classes, in
// the order Debian's redis-server 7.0 publishes them for the same commands (captured with PSUBSCRIBE
// __keyevent@0__:* and notify-keyspace-events KEA).
func TestZXKeyspaceEvents(t *testing.T) {
	h := newZXHarness(t)
	var got []string
	h.ks.Notify = func(db int, class byte, event string, key []byte) {
		got = append(got, fmt.Sprintf("%c %s %s", class, event, key))
	}
	for _, line := range []string{
		"ZADD z 1 a 2 b",
		"ZADD z 1 a",
		"ZINCRBY z 1 a",
		"ZADD z INCR 1 b",
		"ZREM z a",
		"ZREMRANGEBYRANK z 0 0",
		"ZADD z 1 a 2 b 3 c",
		"ZREMRANGEBYSCORE z 1 1",
		"ZREMRANGEBYLEX z [b [b",
		"ZPOPMIN z",
		"ZADD z 1 a 2 b",
		"ZPOPMAX z 5",
		"ZADD z 1 a 2 b",
		"ZMPOP 1 z MIN COUNT 1",
		"BZPOPMAX z 0",
		"ZADD z 1 a",
		"ZUNIONSTORE d 1 z",
		"ZINTERSTORE d 1 z",
		"ZDIFFSTORE d 1 z",
		"ZRANGESTORE d z 0 -1",
		"ZUNIONSTORE d 1 nokey",
		"XADD s 1-0 f v",
		"XADD s MAXLEN 1 2-0 f v",
		"XDEL s 2-0",
		"XADD s 3-0 f v",
		"XTRIM s MAXLEN 0",
		"XGROUP CREATE s g $",
		"XGROUP CREATE s2 g $ MKSTREAM",
		"XGROUP CREATECONSUMER s g c",
		"XGROUP SETID s g 0",
		"XADD s 4-0 f v",
		"XREADGROUP GROUP g c2 STREAMS s >",
		"XCLAIM s g c3 0 4-0",
		"XAUTOCLAIM s g c4 0 0",
		"XGROUP DELCONSUMER s g c",
		"XGROUP DESTROY s g",
		"XSETID s 10-0",
	} {
		h.do(strings.Fields(line)...)
	}
	want := []string{"z zadd z", "z zincr z", "z zincr z", "z zrem z", "z zremrangebyrank z", "g del z", "z zadd z",
		"z zremrangebyscore z", "z zremrangebylex z", "z zpopmin z", "g del z", "z zadd z", "z zpopmax z", "g del z",
		"z zadd z", "z zpopmin z", "z zpopmax z", "g del z", "z zadd z", "z zunionstore d", "z zinterstore d",
		"z zdiffstore d", "z zrangestore d", "g del d", "t xadd s", "t xadd s", "t xtrim s", "t xdel s", "t xadd s",
		"t xtrim s", "t xgroup-create s", "t xgroup-create s2", "t xgroup-createconsumer s", "t xgroup-setid s",
		"t xadd s", "t xgroup-createconsumer s", "t xgroup-createconsumer s", "t xgroup-createconsumer s",
		"t xgroup-delconsumer s", "t xgroup-destroy s", "t xsetid s"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
