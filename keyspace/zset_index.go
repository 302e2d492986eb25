package keyspace

import (
	"hash/maphash"
	"math/bits"
	"sort"
)

// The sorted set index is a counted B+tree ordered by (score, member): items live in leaves (linked for
// in-order walks), inner nodes keep a lower-bound key per child and every node keeps the number of items
// below it. Those counts make rank-of-item and item-at-rank O(log n) — what ZRANK/ZREVRANK and
// ZRANGE by index need — while the wide nodes keep the locality of a B-tree. github.com/tidwall/btree keeps
// subtree counts too but exposes no rank-of-item lookup (only GetAt), so ZRANK over it would be a binary
// search of GetAt calls, O(log² n); BenchmarkZSetIndex in zset_bench_test.go measures both.
//
// The member → score lookup is a separate intrusive chained hash table (zsetHash) of zentry, whose chain
// link lives in the entry, so ZSCAN can use Redis's reverse-binary cursor and keep SCAN's guarantee across
// inserts, deletes and resizes.

const (
	ztMaxItems    = 64 // items per leaf before it splits
	ztMaxChildren = 64 // children per inner node before it splits
	ztMaxHeight   = 16
	// zslMaxListpackEntries and zslMaxListpackValue are Redis's zset-max-listpack-entries/-value defaults:
	// OBJECT ENCODING reports "listpack" while a set stays within both.
	zslMaxListpackEntries = 128
	zslMaxListpackValue   = 64
)

// zitem is one member in the tree.
type zitem struct {
	score  float64
	member string
}

// zbefore reports whether a sorts strictly before b: by score, then member bytes.
func zbefore(a, b *zitem) bool {
	return a.score < b.score || a.score == b.score && a.member < b.member
}

// znode is a node of the tree. A leaf has items (and prev/next links); an inner node has children and
// keys, where keys[i] is a lower bound of every item in children[i+1] and above every item in children[i].
type znode struct {
	count      int
	items      []zitem
	keys       []zitem
	children   []*znode
	prev, next *znode
}

func (n *znode) leaf() bool { return n.children == nil }

// ztree is the ordered index of a sorted set.
type ztree struct {
	root        *znode
	first, last *znode // leftmost and rightmost leaves
}

func (t *ztree) len() int {
	if t.root == nil {
		return 0
	}
	return t.root.count
}

// zpos is a position in the tree: item i of leaf n (n nil: no position).
type zpos struct {
	n *znode
	i int
}

func (p zpos) ok() bool { return p.n != nil }

// item returns the item at p; the pointer is valid until the tree changes.
func (p zpos) item() *zitem { return &p.n.items[p.i] }

func (p zpos) next() zpos {
	if p.i+1 < len(p.n.items) {
		return zpos{p.n, p.i + 1}
	}
	if p.n.next == nil {
		return zpos{}
	}
	return zpos{p.n.next, 0}
}

func (p zpos) prev() zpos {
	if p.i > 0 {
		return zpos{p.n, p.i - 1}
	}
	if p.n.prev == nil {
		return zpos{}
	}
	return zpos{p.n.prev, len(p.n.prev.items) - 1}
}

func (t *ztree) firstPos() zpos {
	if t.first == nil {
		return zpos{}
	}
	return zpos{t.first, 0}
}

func (t *ztree) lastPos() zpos {
	if t.last == nil {
		return zpos{}
	}
	return zpos{t.last, len(t.last.items) - 1}
}

// ztPath records a descent: the inner nodes and the child index taken in each.
type ztPath struct {
	nodes [ztMaxHeight]*znode
	idx   [ztMaxHeight]int
	depth int
}

// seek finds the first item for which before is false (before must hold for a prefix of the order) and
// returns its position and 0-based rank; the position is empty when every item is before. The path of the
// descent is recorded when path is not nil.
func (t *ztree) seek(before func(*zitem) bool, path *ztPath) (zpos, int) {
	n := t.root
	if n == nil {
		return zpos{}, 0
	}
	rank := 0
	for !n.leaf() {
		i := sort.Search(len(n.keys), func(j int) bool { return !before(&n.keys[j]) })
		for j := 0; j < i; j++ {
			rank += n.children[j].count
		}
		if path != nil {
			path.nodes[path.depth], path.idx[path.depth] = n, i
			path.depth++
		}
		n = n.children[i]
	}
	i := sort.Search(len(n.items), func(j int) bool { return !before(&n.items[j]) })
	rank += i
	if i == len(n.items) {
		if n.next == nil {
			return zpos{}, rank
		}
		return zpos{n.next, 0}, rank
	}
	return zpos{n, i}, rank
}

// descend walks to the leaf whose key range holds it (keys[i-1] <= it < keys[i] at every inner node),
// recording the path, and returns the leaf and the rank of its first item.
func (t *ztree) descend(it *zitem, path *ztPath) (*znode, int) {
	n := t.root
	rank := 0
	for !n.leaf() {
		i := sort.Search(len(n.keys), func(j int) bool { return zbefore(it, &n.keys[j]) })
		for j := 0; j < i; j++ {
			rank += n.children[j].count
		}
		path.nodes[path.depth], path.idx[path.depth] = n, i
		path.depth++
		n = n.children[i]
	}
	return n, rank
}

// find returns the position and 0-based rank of item it (ok false when it is not in the tree).
func (t *ztree) find(it *zitem, path *ztPath) (zpos, int, bool) {
	if t.root == nil {
		return zpos{}, 0, false
	}
	n, rank := t.descend(it, path)
	i := sort.Search(len(n.items), func(j int) bool { return !zbefore(&n.items[j], it) })
	if i == len(n.items) || n.items[i].score != it.score || n.items[i].member != it.member {
		return zpos{}, 0, false
	}
	return zpos{n, i}, rank + i, true
}

// rank returns the 0-based rank of it (ok false when absent).
func (t *ztree) rank(it *zitem) (int, bool) {
	var path ztPath
	_, r, ok := t.find(it, &path)
	return r, ok
}

// at returns the item of 0-based rank r.
func (t *ztree) at(r int) zpos {
	if r < 0 || r >= t.len() {
		return zpos{}
	}
	n := t.root
	for !n.leaf() {
		i := 0
		for ; r >= n.children[i].count; i++ {
			r -= n.children[i].count
		}
		n = n.children[i]
	}
	return zpos{n, r}
}

// insert adds it, which must not be in the tree.
func (t *ztree) insert(it zitem) {
	if t.root == nil {
		leaf := &znode{items: make([]zitem, 0, 4)}
		t.root, t.first, t.last = leaf, leaf, leaf
	}
	var path ztPath
	n, _ := t.descend(&it, &path)
	for d := 0; d < path.depth; d++ {
		path.nodes[d].count++
	}
	i := sort.Search(len(n.items), func(j int) bool { return !zbefore(&n.items[j], &it) })
	n.items = append(n.items, zitem{})
	copy(n.items[i+1:], n.items[i:])
	n.items[i] = it
	n.count++
	if len(n.items) <= ztMaxItems {
		return
	}
	// Split the leaf, then every inner node on the path that overflows.
	right := &znode{items: make([]zitem, len(n.items)-len(n.items)/2, ztMaxItems+1)}
	copy(right.items, n.items[len(n.items)/2:])
	clear(n.items[len(n.items)/2:])
	n.items = n.items[:len(n.items)/2]
	n.count, right.count = len(n.items), len(right.items)
	right.prev, right.next = n, n.next
	if n.next != nil {
		n.next.prev = right
	} else {
		t.last = right
	}
	n.next = right
	sep, child := right.items[0], right
	for d := path.depth - 1; ; d-- {
		if d < 0 {
			root := &znode{keys: []zitem{sep}, children: []*znode{t.root, child}}
			root.count = t.root.count + child.count
			t.root = root
			return
		}
		p, ci := path.nodes[d], path.idx[d]
		p.keys = append(p.keys, zitem{})
		copy(p.keys[ci+1:], p.keys[ci:])
		p.keys[ci] = sep
		p.children = append(p.children, nil)
		copy(p.children[ci+2:], p.children[ci+1:])
		p.children[ci+1] = child
		if len(p.children) <= ztMaxChildren {
			return
		}
		mid := len(p.children) / 2
		r := &znode{children: append(make([]*znode, 0, ztMaxChildren+1), p.children[mid:]...),
			keys: append(make([]zitem, 0, ztMaxChildren), p.keys[mid:]...)}
		sep = p.keys[mid-1]
		clear(p.children[mid:])
		p.children = p.children[:mid]
		clear(p.keys[mid-1:])
		p.keys = p.keys[:mid-1]
		p.count = 0
		for _, c := range p.children {
			p.count += c.count
		}
		for _, c := range r.children {
			r.count += c.count
		}
		child = r
	}
}

// delete removes it and reports whether it was in the tree. Leaves and inner nodes that become small are
// merged into a sibling (at a quarter full, when the two fit in three quarters of a node).
func (t *ztree) delete(it *zitem) bool {
	var path ztPath
	p, _, ok := t.find(it, &path)
	if !ok {
		return false
	}
	n := p.n
	copy(n.items[p.i:], n.items[p.i+1:])
	n.items[len(n.items)-1] = zitem{}
	n.items = n.items[:len(n.items)-1]
	n.count--
	for d := 0; d < path.depth; d++ {
		path.nodes[d].count--
	}
	t.rebalance(n, &path, path.depth-1)
	return true
}

// rebalance fixes node n (at path depth d+1) after a removal: an empty node is unlinked, a small one is
// merged with a sibling, and the root collapses while it has a single child.
func (t *ztree) rebalance(n *znode, path *ztPath, d int) {
	for {
		if d < 0 {
			// n is the root.
			if n.leaf() {
				if len(n.items) == 0 {
					t.root, t.first, t.last = nil, nil, nil
				}
				return
			}
			for !t.root.leaf() && len(t.root.children) == 1 {
				t.root = t.root.children[0]
			}
			if !t.root.leaf() && len(t.root.children) == 0 {
				t.root, t.first, t.last = nil, nil, nil
			}
			return
		}
		parent, ci := path.nodes[d], path.idx[d]
		size, max := len(n.items), ztMaxItems
		if !n.leaf() {
			size, max = len(n.children), ztMaxChildren
		}
		if size == 0 {
			t.unlink(parent, ci)
		} else if size <= max/4 {
			// Merge with the right sibling, or with the left one.
			if ci+1 < len(parent.children) && zsize(parent.children[ci+1])+size <= max*3/4 {
				t.merge(parent, ci)
			} else if ci > 0 && zsize(parent.children[ci-1])+size <= max*3/4 {
				t.merge(parent, ci-1)
			} else {
				return
			}
		} else {
			return
		}
		n, d = parent, d-1
	}
}

func zsize(n *znode) int {
	if n.leaf() {
		return len(n.items)
	}
	return len(n.children)
}

// unlink removes the empty child ci of parent.
func (t *ztree) unlink(parent *znode, ci int) {
	c := parent.children[ci]
	if c.leaf() {
		if c.prev != nil {
			c.prev.next = c.next
		} else {
			t.first = c.next
		}
		if c.next != nil {
			c.next.prev = c.prev
		} else {
			t.last = c.prev
		}
	}
	copy(parent.children[ci:], parent.children[ci+1:])
	parent.children[len(parent.children)-1] = nil
	parent.children = parent.children[:len(parent.children)-1]
	k := ci - 1
	if k < 0 {
		k = 0
	}
	if len(parent.keys) > 0 {
		copy(parent.keys[k:], parent.keys[k+1:])
		parent.keys[len(parent.keys)-1] = zitem{}
		parent.keys = parent.keys[:len(parent.keys)-1]
	}
}

// merge moves child i+1 of parent into child i.
func (t *ztree) merge(parent *znode, i int) {
	l, r := parent.children[i], parent.children[i+1]
	if l.leaf() {
		l.items = append(l.items, r.items...)
		l.next = r.next
		if r.next != nil {
			r.next.prev = l
		} else {
			t.last = l
		}
	} else {
		l.keys = append(l.keys, parent.keys[i])
		l.keys = append(l.keys, r.keys...)
		l.children = append(l.children, r.children...)
	}
	l.count += r.count
	copy(parent.children[i+1:], parent.children[i+2:])
	parent.children[len(parent.children)-1] = nil
	parent.children = parent.children[:len(parent.children)-1]
	copy(parent.keys[i:], parent.keys[i+1:])
	parent.keys[len(parent.keys)-1] = zitem{}
	parent.keys = parent.keys[:len(parent.keys)-1]
}

// zsetHashSeed seeds the member hash of every sorted set.
var zsetHashSeed = maphash.MakeSeed()

// zentry is a member's hash entry: its score and the hash chain link.
type zentry struct {
	member string
	score  float64
	hnext  *zentry
}

// zsetHash is the member → entry table: chained through zentry.hnext, power-of-two sized, resized
// incrementally (one bucket per operation) like the keyspace dict, scanned with Redis's reverse-binary cursor.
type zsetHash struct {
	t0, t1 []*zentry
	moved  int
	count  int
}

const zsetHashMin = 4

func zhash(member string) uint64 { return maphash.String(zsetHashSeed, member) }

func (h *zsetHash) slot(hv uint64) **zentry {
	if h.t0 == nil {
		h.t0 = make([]*zentry, zsetHashMin)
	}
	i := int(hv & uint64(len(h.t0)-1))
	if h.t1 != nil && i < h.moved {
		return &h.t1[hv&uint64(len(h.t1)-1)]
	}
	return &h.t0[i]
}

func (h *zsetHash) get(member string) *zentry {
	if h.count == 0 {
		return nil
	}
	for e := *h.slot(zhash(member)); e != nil; e = e.hnext {
		if e.member == member {
			return e
		}
	}
	return nil
}

// getBytes is get without converting the argument to a string first.
func (h *zsetHash) getBytes(member []byte) *zentry {
	if h.count == 0 {
		return nil
	}
	for e := *h.slot(maphash.Bytes(zsetHashSeed, member)); e != nil; e = e.hnext {
		if e.member == string(member) {
			return e
		}
	}
	return nil
}

// add links e (whose member is not present).
func (h *zsetHash) add(e *zentry) {
	p := h.slot(zhash(e.member))
	e.hnext = *p
	*p = e
	h.count++
	h.step()
}

// remove unlinks the entry of member and returns it.
func (h *zsetHash) remove(member string) *zentry {
	for cur := h.slot(zhash(member)); *cur != nil; cur = &(*cur).hnext {
		if e := *cur; e.member == member {
			*cur = e.hnext
			e.hnext = nil
			h.count--
			h.step()
			return e
		}
	}
	return nil
}

func (h *zsetHash) step() {
	if h.t1 == nil {
		switch {
		case h.count > len(h.t0):
			h.t1 = make([]*zentry, 2*len(h.t0))
		case len(h.t0) > zsetHashMin && h.count*8 < len(h.t0):
			size := zsetHashMin
			for size < h.count*2 {
				size *= 2
			}
			h.t1 = make([]*zentry, size)
		default:
			return
		}
		h.moved = 0
	}
	for empty := 0; h.moved < len(h.t0); {
		e := h.t0[h.moved]
		h.t0[h.moved] = nil
		h.moved++
		if e == nil {
			if empty++; empty == 10 {
				break
			}
			continue
		}
		mask := uint64(len(h.t1) - 1)
		for e != nil {
			next := e.hnext
			i := zhash(e.member) & mask
			e.hnext = h.t1[i]
			h.t1[i] = e
			e = next
		}
		break
	}
	if h.moved == len(h.t0) {
		h.t0, h.t1, h.moved = h.t1, nil, 0
	}
}

// scan visits the buckets addressed by cursor and returns the next cursor (0 at the end): Redis's dictScan.
func (h *zsetHash) scan(cursor uint64, fn func(*zentry)) uint64 {
	if h.t0 == nil {
		return 0
	}
	visit := func(e *zentry) {
		for ; e != nil; e = e.hnext {
			fn(e)
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

// zrangeSpec is a score interval (ZRANGEBYSCORE min max, with '(' for exclusive bounds).
type zrangeSpec struct {
	min, max     float64
	minex, maxex bool
}

func (r *zrangeSpec) gteMinScore(v float64) bool {
	if r.minex {
		return v > r.min
	}
	return v >= r.min
}

func (r *zrangeSpec) lteMaxScore(v float64) bool {
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

// zslRange abstracts score and lex intervals for range walks: gteMin and lteMax test a member against the
// two ends, empty reports an interval no member can be in.
type zslRange interface {
	empty() bool
	gteMin(it *zitem) bool
	lteMax(it *zitem) bool
}

func (r *zrangeSpec) empty() bool {
	return r.min > r.max || (r.min == r.max && (r.minex || r.maxex))
}
func (r *zrangeSpec) gteMin(it *zitem) bool { return r.gteMinScore(it.score) }
func (r *zrangeSpec) lteMax(it *zitem) bool { return r.lteMaxScore(it.score) }

func (r *zlexSpec) empty() bool {
	c := zlexCmp(r.min, r.max)
	return c > 0 || (c == 0 && (r.minex || r.maxex))
}

func (r *zlexSpec) gteMin(it *zitem) bool {
	c := zlexCmp(zlexBound{s: it.member}, r.min)
	if r.minex {
		return c > 0
	}
	return c >= 0
}

func (r *zlexSpec) lteMax(it *zitem) bool {
	c := zlexCmp(zlexBound{s: it.member}, r.max)
	if r.maxex {
		return c < 0
	}
	return c <= 0
}
