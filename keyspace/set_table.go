package keyspace

import "math/rand/v2"

// dense is the storage behind hashes and sets: names (fields or members) and their values in dense
// parallel slices, plus a name → position index once the table outgrows a linear scan.
//
// The dense layout is what makes the random commands and SCAN behave as in Redis: SPOP, SRANDMEMBER and
// HRANDFIELD pick a uniformly random entry in O(1) (a Go map has no random access), and HSCAN/SSCAN walk
// positions with a cursor. Removal moves the last entry into the hole, so the order of entries is
// arbitrary, as it is in Redis.
//
// Small tables have no index: looking a name up among 8 entries costs about what hashing it does
// (go test ./keyspace -bench DenseFind: about 15 against 10 ns for 8 names of the same length), and
// the index of a tiny table would take more memory than its entries.
type dense[V any] struct {
	names []string
	vals  []V // parallel to names; zero-size for sets
	index map[string]int32
	// indexPeak is len(names) when index was built or last grown past it: Go maps never shrink, so the
	// index is rebuilt when the table falls far below it.
	indexPeak int
}

// tableLinearMax is the largest table searched linearly (see dense).
const tableLinearMax = 8

func (t *dense[V]) len() int { return len(t.names) }

// find returns the position of name, or -1.
func (t *dense[V]) find(name []byte) int {
	if t.index != nil {
		if i, ok := t.index[string(name)]; ok {
			return int(i)
		}
		return -1
	}
	for i, n := range t.names {
		if n == string(name) {
			return i
		}
	}
	return -1
}

// findString is find for a name held as a string.
func (t *dense[V]) findString(name string) int {
	if t.index != nil {
		if i, ok := t.index[name]; ok {
			return int(i)
		}
		return -1
	}
	for i, n := range t.names {
		if n == name {
			return i
		}
	}
	return -1
}

// has reports whether name is present.
func (t *dense[V]) has(name []byte) bool { return t.find(name) >= 0 }

// get returns the value of name.
func (t *dense[V]) get(name []byte) (V, bool) {
	if i := t.find(name); i >= 0 {
		return t.vals[i], true
	}
	var zero V
	return zero, false
}

// add appends name, which must not be present (name is retained).
func (t *dense[V]) add(name string, v V) {
	t.names = append(t.names, name)
	t.vals = append(t.vals, v)
	switch {
	case t.index != nil:
		t.index[name] = int32(len(t.names) - 1)
		t.indexPeak = max(t.indexPeak, len(t.names))
	case len(t.names) > tableLinearMax:
		t.buildIndex()
	}
}

// put sets name to v and reports whether name was added (rather than overwritten).
func (t *dense[V]) put(name []byte, v V) bool {
	if i := t.find(name); i >= 0 {
		t.vals[i] = v
		return false
	}
	t.add(string(name), v)
	return true
}

func (t *dense[V]) buildIndex() {
	t.index = make(map[string]int32, len(t.names))
	for i, n := range t.names {
		t.index[n] = int32(i)
	}
	t.indexPeak = len(t.names)
}

// removeAt deletes the entry at position i, moving the last entry into its place.
func (t *dense[V]) removeAt(i int) {
	last := len(t.names) - 1
	if t.index != nil {
		delete(t.index, t.names[i])
		if i != last {
			t.index[t.names[last]] = int32(i)
		}
	}
	t.names[i], t.vals[i] = t.names[last], t.vals[last]
	var zero V
	t.names[last], t.vals[last] = "", zero
	t.names, t.vals = t.names[:last], t.vals[:last]
	switch n := len(t.names); {
	case t.index != nil && n <= tableLinearMax/2:
		t.index = nil
	case t.index != nil && t.indexPeak > 1024 && n < t.indexPeak/4:
		t.buildIndex()
	}
	if c := cap(t.names); c > 64 && len(t.names) < c/4 {
		t.names = append([]string(nil), t.names...)
		t.vals = append([]V(nil), t.vals...)
	}
}

// remove deletes name and reports whether it was present.
func (t *dense[V]) remove(name []byte) bool {
	i := t.find(name)
	if i < 0 {
		return false
	}
	t.removeAt(i)
	return true
}

// random returns a uniformly random position (the table must not be empty).
func (t *dense[V]) random(r *rand.Rand) int { return r.IntN(len(t.names)) }

// clone returns a copy sharing the (immutable) name strings; values are copied with cp.
func (t *dense[V]) clone(cp func(V) V) dense[V] {
	n := dense[V]{names: append([]string(nil), t.names...), vals: make([]V, len(t.vals))}
	for i, v := range t.vals {
		n.vals[i] = cp(v)
	}
	if t.index != nil {
		n.buildIndex()
	}
	return n
}

// scan visits about count positions for one step of HSCAN/SSCAN and returns the next cursor (0 when done).
//
// The walk goes from the last position down: the cursor is the number of positions not visited yet. A
// removal moves the last entry into the hole; the moved entry comes from the visited top (or, when the
// cursor is past the end, from the unvisited part to a position still unvisited), so an entry present for
// the whole iteration is never skipped — at worst returned twice, as SCAN allows. Entries added during
// the iteration land above the cursor and may not be returned, as SCAN also allows.
func (t *dense[V]) scan(cursor uint64, count int, fn func(i int)) uint64 {
	top := uint64(len(t.names))
	if cursor != 0 && cursor < top {
		top = cursor
	}
	low := uint64(0)
	if top > uint64(count) {
		low = top - uint64(count)
	}
	for i := top; i > low; i-- {
		fn(int(i - 1))
	}
	return low
}
