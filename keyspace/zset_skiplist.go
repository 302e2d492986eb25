package keyspace

import (
	"hash/maphash"
	"math/bits"
)

// The sorted set index is Redis's skiplist (t_zset.c): nodes ordered by (score, member) with a span on every
// forward link, so the rank of a node is the sum of the spans crossed on the way to it and the node at a
// rank is found by walking spans — both O(log n). A skiplist was chosen over github.com/tidwall/btree
// because that B-tree keeps subtree counts but exposes no rank-of-item lookup (only GetAt), which makes
// ZRANK O(log² n); BenchmarkZSetIndex in zset_bench_test.go measures both structures side by side.
//
// The member → node lookup is an intrusive chained hash table (zsetHash) whose chain link lives in the node,
// so a member costs one node and one bucket slot, and ZSCAN can use Redis's reverse-binary cursor, which
// keeps SCAN's guarantee across inserts, deletes and resizes.

const (
	zslMaxLevel = 32
	// zslMaxListpackEntries and zslMaxListpackValue are Redis's zset-max-listpack-entries/-value defaults:
	// OBJECT ENCODING reports "listpack" while a set stays within both.
	zslMaxListpackEntries = 128
	zslMaxListpackValue   = 64
)

type zslLevel struct {
	forward *zslNode
	span    int
}

// zslNode is one member of a sorted set: in the skiplist by (score, member) and in the hash by member.
type zslNode struct {
	member   string
	score    float64
	backward *zslNode
	hnext    *zslNode
	level    []zslLevel
}

// Nodes of the common low levels are allocated together with their level array (one allocation).
type (
	zslNode1 struct {
		n zslNode
		l [1]zslLevel
	}
	zslNode2 struct {
		n zslNode
		l [2]zslLevel
	}
	zslNode3 struct {
		n zslNode
		l [3]zslLevel
	}
	zslNode4 struct {
		n zslNode
		l [4]zslLevel
	}
)

func newZslNode(level int, score float64, member string) *zslNode {
	var n *zslNode
	switch level {
	case 1:
		a := &zslNode1{}
		n = &a.n
		n.level = a.l[:]
	case 2:
		a := &zslNode2{}
		n = &a.n
		n.level = a.l[:]
	case 3:
		a := &zslNode3{}
		n = &a.n
		n.level = a.l[:]
	case 4:
		a := &zslNode4{}
		n = &a.n
		n.level = a.l[:]
	default:
		n = &zslNode{level: make([]zslLevel, level)}
	}
	n.score, n.member = score, member
	return n
}

// zslBefore reports whether (score, member) of n sorts strictly before (score, member).
func zslBefore(n *zslNode, score float64, member string) bool {
	return n.score < score || (n.score == score && n.member < member)
}

// zskiplist is the ordered index of a sorted set.
type zskiplist struct {
	header *zslNode
	tail   *zslNode
	length int
	level  int
	rnd    uint64 // xorshift state for node levels
}

func (zsl *zskiplist) init() {
	zsl.header = &zslNode{level: make([]zslLevel, zslMaxLevel)}
	zsl.level = 1
	zsl.rnd = 0x9e3779b97f4a7c15
}

// randomLevel returns a level in [1, zslMaxLevel] with P(level > k) = 1/4^k, as Redis's ZSKIPLIST_P=0.25.
func (zsl *zskiplist) randomLevel() int {
	x := zsl.rnd
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	zsl.rnd = x
	lvl := bits.TrailingZeros64(x)/2 + 1
	if lvl > zslMaxLevel {
		lvl = zslMaxLevel
	}
	return lvl
}

// insert adds a new node; the caller guarantees member is not present.
func (zsl *zskiplist) insert(score float64, member string) *zslNode {
	var update [zslMaxLevel]*zslNode
	var rank [zslMaxLevel]int
	x := zsl.header
	for i := zsl.level - 1; i >= 0; i-- {
		if i != zsl.level-1 {
			rank[i] = rank[i+1]
		}
		for f := x.level[i].forward; f != nil && zslBefore(f, score, member); f = x.level[i].forward {
			rank[i] += x.level[i].span
			x = f
		}
		update[i] = x
	}
	level := zsl.randomLevel()
	if level > zsl.level {
		for i := zsl.level; i < level; i++ {
			rank[i] = 0
			update[i] = zsl.header
			update[i].level[i].span = zsl.length
		}
		zsl.level = level
	}
	x = newZslNode(level, score, member)
	for i := 0; i < level; i++ {
		x.level[i].forward = update[i].level[i].forward
		update[i].level[i].forward = x
		x.level[i].span = update[i].level[i].span - (rank[0] - rank[i])
		update[i].level[i].span = rank[0] - rank[i] + 1
	}
	for i := level; i < zsl.level; i++ {
		update[i].level[i].span++
	}
	if update[0] != zsl.header {
		x.backward = update[0]
	}
	if x.level[0].forward != nil {
		x.level[0].forward.backward = x
	} else {
		zsl.tail = x
	}
	zsl.length++
	return x
}

// unlink removes x given the update vector (the rightmost node before x at every level).
func (zsl *zskiplist) unlink(x *zslNode, update *[zslMaxLevel]*zslNode) {
	for i := 0; i < zsl.level; i++ {
		if update[i].level[i].forward == x {
			update[i].level[i].span += x.level[i].span - 1
			update[i].level[i].forward = x.level[i].forward
		} else {
			update[i].level[i].span--
		}
	}
	if x.level[0].forward != nil {
		x.level[0].forward.backward = x.backward
	} else {
		zsl.tail = x.backward
	}
	for zsl.level > 1 && zsl.header.level[zsl.level-1].forward == nil {
		zsl.level--
	}
	zsl.length--
}

// path fills update with the rightmost node before (score, member) at every level.
func (zsl *zskiplist) path(score float64, member string, update *[zslMaxLevel]*zslNode) *zslNode {
	x := zsl.header
	for i := zsl.level - 1; i >= 0; i-- {
		for f := x.level[i].forward; f != nil && zslBefore(f, score, member); f = x.level[i].forward {
			x = f
		}
		update[i] = x
	}
	return x.level[0].forward
}

// delete removes the node (score, member) and returns it, or nil when absent.
func (zsl *zskiplist) delete(score float64, member string) *zslNode {
	var update [zslMaxLevel]*zslNode
	x := zsl.path(score, member, &update)
	if x != nil && x.score == score && x.member == member {
		zsl.unlink(x, &update)
		return x
	}
	return nil
}

// updateScore moves the node of member from score cur to score nw and returns it (the same node when its
// position does not change, as Redis's zslUpdateScore).
func (zsl *zskiplist) updateScore(n *zslNode, nw float64) *zslNode {
	var update [zslMaxLevel]*zslNode
	x := zsl.path(n.score, n.member, &update)
	if (x.backward == nil || x.backward.score < nw) && (x.level[0].forward == nil || x.level[0].forward.score > nw) {
		x.score = nw
		return x
	}
	zsl.unlink(x, &update)
	return zsl.insert(nw, x.member)
}

// rank returns the 1-based rank of (score, member), or 0 when absent.
func (zsl *zskiplist) rank(score float64, member string) int {
	rank := 0
	x := zsl.header
	for i := zsl.level - 1; i >= 0; i-- {
		for f := x.level[i].forward; f != nil && (f.score < score || (f.score == score && f.member <= member)); f = x.level[i].forward {
			rank += x.level[i].span
			x = f
		}
		if x != zsl.header && x.score == score && x.member == member {
			return rank
		}
	}
	return 0
}

// byRank returns the node at 1-based rank, or nil.
func (zsl *zskiplist) byRank(rank int) *zslNode {
	if rank < 1 || rank > zsl.length {
		return nil
	}
	traversed := 0
	x := zsl.header
	for i := zsl.level - 1; i >= 0; i-- {
		for x.level[i].forward != nil && traversed+x.level[i].span <= rank {
			traversed += x.level[i].span
			x = x.level[i].forward
		}
		if traversed == rank {
			return x
		}
	}
	return nil
}

// first returns the lowest node, or nil.
func (zsl *zskiplist) first() *zslNode { return zsl.header.level[0].forward }

// zrangeSpec is a score interval (ZRANGEBYSCORE min max, with '(' for exclusive bounds).
type zrangeSpec struct {
	min, max     float64
	minex, maxex bool
}

func (r *zrangeSpec) gteMin(v float64) bool {
	if r.minex {
		return v > r.min
	}
	return v >= r.min
}

func (r *zrangeSpec) lteMax(v float64) bool {
	if r.maxex {
		return v < r.max
	}
	return v <= r.max
}

// zlexBound is one end of a ZRANGEBYLEX interval: inf is -1 for "-", +1 for "+", 0 for a member bound.
type zlexBound struct {
	s   string
	inf int8
}

// zlexCmp compares two bounds (or a bound and a member) as Redis's sdscmplex.
func zlexCmp(a, b zlexBound) int {
	if a.inf == b.inf && a.inf != 0 {
		return 0
	}
	if a.inf < 0 || b.inf > 0 {
		return -1
	}
	if a.inf > 0 || b.inf < 0 {
		return 1
	}
	switch {
	case a.s < b.s:
		return -1
	case a.s > b.s:
		return 1
	}
	return 0
}

// zlexSpec is a lexicographic interval.
type zlexSpec struct {
	min, max     zlexBound
	minex, maxex bool
}

func (r *zlexSpec) gteMin(m string) bool {
	c := zlexCmp(zlexBound{s: m}, r.min)
	if r.minex {
		return c > 0
	}
	return c >= 0
}

func (r *zlexSpec) lteMax(m string) bool {
	c := zlexCmp(zlexBound{s: m}, r.max)
	if r.maxex {
		return c < 0
	}
	return c <= 0
}

// zslRange abstracts score and lex intervals for the range walks below.
type zslRange interface {
	empty() bool
	gteMinNode(n *zslNode) bool
	lteMaxNode(n *zslNode) bool
}

func (r *zrangeSpec) empty() bool {
	return r.min > r.max || (r.min == r.max && (r.minex || r.maxex))
}
func (r *zrangeSpec) gteMinNode(n *zslNode) bool { return r.gteMin(n.score) }
func (r *zrangeSpec) lteMaxNode(n *zslNode) bool { return r.lteMax(n.score) }

func (r *zlexSpec) empty() bool {
	c := zlexCmp(r.min, r.max)
	return c > 0 || (c == 0 && (r.minex || r.maxex))
}
func (r *zlexSpec) gteMinNode(n *zslNode) bool { return r.gteMin(n.member) }
func (r *zlexSpec) lteMaxNode(n *zslNode) bool { return r.lteMax(n.member) }

// inRange reports whether some part of the list can be in r (Redis's zslIsInRange / zslIsInLexRange).
func (zsl *zskiplist) inRange(r zslRange) bool {
	if r.empty() {
		return false
	}
	if zsl.tail == nil || !r.gteMinNode(zsl.tail) {
		return false
	}
	if f := zsl.first(); f == nil || !r.lteMaxNode(f) {
		return false
	}
	return true
}

// firstInRange returns the first node in r and its 1-based rank, or nil.
func (zsl *zskiplist) firstInRange(r zslRange) (*zslNode, int) {
	if !zsl.inRange(r) {
		return nil, 0
	}
	rank := 0
	x := zsl.header
	for i := zsl.level - 1; i >= 0; i-- {
		for f := x.level[i].forward; f != nil && !r.gteMinNode(f); f = x.level[i].forward {
			rank += x.level[i].span
			x = f
		}
	}
	x = x.level[0].forward
	if x == nil || !r.lteMaxNode(x) {
		return nil, 0
	}
	return x, rank + 1
}

// lastInRange returns the last node in r and its 1-based rank, or nil.
func (zsl *zskiplist) lastInRange(r zslRange) (*zslNode, int) {
	if !zsl.inRange(r) {
		return nil, 0
	}
	rank := 0
	x := zsl.header
	for i := zsl.level - 1; i >= 0; i-- {
		for f := x.level[i].forward; f != nil && r.lteMaxNode(f); f = x.level[i].forward {
			rank += x.level[i].span
			x = f
		}
	}
	if x == zsl.header || !r.gteMinNode(x) {
		return nil, 0
	}
	return x, rank
}

// deleteRange removes the nodes in r, calling fn for each removed node, and returns how many it removed.
func (zsl *zskiplist) deleteRange(r zslRange, fn func(*zslNode)) int {
	var update [zslMaxLevel]*zslNode
	x := zsl.header
	for i := zsl.level - 1; i >= 0; i-- {
		for f := x.level[i].forward; f != nil && !r.gteMinNode(f); f = x.level[i].forward {
			x = f
		}
		update[i] = x
	}
	x = x.level[0].forward
	removed := 0
	for x != nil && r.lteMaxNode(x) {
		next := x.level[0].forward
		zsl.unlink(x, &update)
		fn(x)
		removed++
		x = next
	}
	return removed
}

// deleteRankRange removes the nodes of 1-based ranks start..end, calling fn for each.
func (zsl *zskiplist) deleteRankRange(start, end int, fn func(*zslNode)) int {
	var update [zslMaxLevel]*zslNode
	traversed := 0
	x := zsl.header
	for i := zsl.level - 1; i >= 0; i-- {
		for x.level[i].forward != nil && traversed+x.level[i].span < start {
			traversed += x.level[i].span
			x = x.level[i].forward
		}
		update[i] = x
	}
	traversed++
	x = x.level[0].forward
	removed := 0
	for x != nil && traversed <= end {
		next := x.level[0].forward
		zsl.unlink(x, &update)
		fn(x)
		removed++
		traversed++
		x = next
	}
	return removed
}

// zsetHashSeed seeds the member hash of every sorted set.
var zsetHashSeed = maphash.MakeSeed()

// zsetHash is the member → node table: chained through zslNode.hnext, power-of-two sized, resized
// incrementally (one bucket per operation) like the keyspace dict, scanned with Redis's reverse-binary cursor.
type zsetHash struct {
	t0, t1 []*zslNode
	moved  int
	count  int
}

const zsetHashMin = 4

func zhash(member string) uint64 { return maphash.String(zsetHashSeed, member) }

func (h *zsetHash) slot(hv uint64) **zslNode {
	if h.t0 == nil {
		h.t0 = make([]*zslNode, zsetHashMin)
	}
	i := int(hv & uint64(len(h.t0)-1))
	if h.t1 != nil && i < h.moved {
		return &h.t1[hv&uint64(len(h.t1)-1)]
	}
	return &h.t0[i]
}

func (h *zsetHash) get(member string) *zslNode {
	if h.count == 0 {
		return nil
	}
	for n := *h.slot(zhash(member)); n != nil; n = n.hnext {
		if n.member == member {
			return n
		}
	}
	return nil
}

// getBytes is get without converting the argument to a string first.
func (h *zsetHash) getBytes(member []byte) *zslNode {
	if h.count == 0 {
		return nil
	}
	for n := *h.slot(maphash.Bytes(zsetHashSeed, member)); n != nil; n = n.hnext {
		if n.member == string(member) {
			return n
		}
	}
	return nil
}

// add links n (whose member is not present).
func (h *zsetHash) add(n *zslNode) {
	p := h.slot(zhash(n.member))
	n.hnext = *p
	*p = n
	h.count++
	h.step()
}

// replace swaps old for nw in its chain (same member).
func (h *zsetHash) replace(old, nw *zslNode) {
	if old == nw {
		return
	}
	for cur := h.slot(zhash(old.member)); *cur != nil; cur = &(*cur).hnext {
		if *cur == old {
			nw.hnext = old.hnext
			old.hnext = nil
			*cur = nw
			return
		}
	}
}

// remove unlinks the node of member.
func (h *zsetHash) remove(member string) {
	for cur := h.slot(zhash(member)); *cur != nil; cur = &(*cur).hnext {
		if n := *cur; n.member == member {
			*cur = n.hnext
			n.hnext = nil
			h.count--
			h.step()
			return
		}
	}
}

func (h *zsetHash) step() {
	if h.t1 == nil {
		switch {
		case h.count > len(h.t0):
			h.t1 = make([]*zslNode, 2*len(h.t0))
		case len(h.t0) > zsetHashMin && h.count*8 < len(h.t0):
			size := zsetHashMin
			for size < h.count*2 {
				size *= 2
			}
			h.t1 = make([]*zslNode, size)
		default:
			return
		}
		h.moved = 0
	}
	for empty := 0; h.moved < len(h.t0); {
		n := h.t0[h.moved]
		h.t0[h.moved] = nil
		h.moved++
		if n == nil {
			if empty++; empty == 10 {
				break
			}
			continue
		}
		mask := uint64(len(h.t1) - 1)
		for n != nil {
			next := n.hnext
			i := zhash(n.member) & mask
			n.hnext = h.t1[i]
			h.t1[i] = n
			n = next
		}
		break
	}
	if h.moved == len(h.t0) {
		h.t0, h.t1, h.moved = h.t1, nil, 0
	}
}

// scan visits the buckets addressed by cursor and returns the next cursor (0 at the end): Redis's dictScan.
func (h *zsetHash) scan(cursor uint64, fn func(*zslNode)) uint64 {
	if h.t0 == nil {
		return 0
	}
	visit := func(n *zslNode) {
		for ; n != nil; n = n.hnext {
			fn(n)
		}
	}
	if h.t1 == nil {
		m0 := uint64(len(h.t0) - 1)
		visit(h.t0[cursor&m0])
		return zsetRevInc(cursor, m0)
	}
	// Buckets of t0 below moved are empty (already moved to t1), so both tables are indexed whole.
	small, large := h.t0, h.t1
	if len(small) > len(large) {
		small, large = large, small
	}
	m0, m1 := uint64(len(small)-1), uint64(len(large)-1)
	visit(small[cursor&m0])
	for {
		visit(large[cursor&m1])
		cursor = zsetRevInc(cursor, m1)
		if cursor&(m0^m1) == 0 {
			break
		}
	}
	return cursor
}

func zsetRevInc(v, mask uint64) uint64 {
	v |= ^mask
	v = bits.Reverse64(v)
	v++
	return bits.Reverse64(v)
}
