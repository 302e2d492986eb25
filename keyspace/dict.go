package keyspace

import (
	"hash/maphash"
	"math/bits"

	"github.com/kvlab/kvlab/cluster"
)

// dict is the key → object table of one database: a chained hash table like Redis's dict. The chain link
// and the key live in the Object itself, so a key costs one table slot and no separate entry. The table
// doubles (and shrinks) incrementally: while resizing, every insert or delete moves one bucket of the old
// table, so no command pays for rehashing the whole keyspace. SCAN uses Redis's reverse-binary cursor, which
// keeps SCAN's guarantee (a key present for the whole iteration is returned at least once) across resizes.
//
// dict is not safe for concurrent use; the Keyspace lock guards it.
type dict struct {
	seed maphash.Seed
	t0   []*Object // current table (old table while resizing); len is a power of two
	t1   []*Object // new table while resizing, else nil
	// moved is, while resizing, the number of leading buckets of t0 already moved to t1.
	moved int
	count int
	// sink keeps a sum of what prefetch read, so its loads are not optimized away.
	sink uintptr
	// slots counts keys per cluster hash slot (nil unless the keyspace counts slots; see
	// Keyspace.CountSlots).
	slots []uint32
}

const minTable = 8

func newDict(seed maphash.Seed) *dict {
	return &dict{seed: seed, t0: make([]*Object, minTable)}
}

func (d *dict) hash(key string) uint64 { return maphash.String(d.seed, key) }

// slot returns the address of the chain head that holds (or would hold) a key with hash h.
func (d *dict) slot(h uint64) **Object {
	i := int(h & uint64(len(d.t0)-1))
	if d.t1 != nil && i < d.moved {
		return &d.t1[h&uint64(len(d.t1)-1)]
	}
	return &d.t0[i]
}

// get returns the object of key, or nil.
func (d *dict) get(key []byte) *Object {
	h := maphash.Bytes(d.seed, key)
	for o := *d.slot(h); o != nil; o = o.next {
		if o.hash == uint32(h) && o.key == string(key) {
			return o
		}
	}
	return nil
}

// getStr is get for a string key.
func (d *dict) getStr(key string) *Object {
	h := d.hash(key)
	for o := *d.slot(h); o != nil; o = o.next {
		if o.hash == uint32(h) && o.key == key {
			return o
		}
	}
	return nil
}

// set inserts o under key, or replaces the existing object (which keeps the key string already stored).
// It reports whether the key was new.
func (d *dict) set(key string, o *Object) bool {
	h := d.hash(key)
	p := d.slot(h)
	for cur := p; *cur != nil; cur = &(*cur).next {
		if (*cur).hash == uint32(h) && (*cur).key == key {
			old := *cur
			if old != o {
				o.key, o.next, o.hash = old.key, old.next, old.hash
				old.next = nil
				*cur = o
			}
			return false
		}
	}
	o.key, o.hash = key, uint32(h)
	o.next = *p
	*p = o
	d.count++
	if d.slots != nil {
		d.slots[cluster.KeySlotString(key)]++
	}
	d.step()
	return true
}

// del removes key and returns its object, or nil.
func (d *dict) del(key []byte) *Object {
	h := maphash.Bytes(d.seed, key)
	for cur := d.slot(h); *cur != nil; cur = &(*cur).next {
		if o := *cur; o.hash == uint32(h) && o.key == string(key) {
			*cur = o.next
			o.next = nil
			d.count--
			if d.slots != nil {
				d.slots[cluster.KeySlot(key)]--
			}
			d.step()
			return o
		}
	}
	return nil
}

// PrefetchMax is the number of keys one pass of prefetch looks up together.
const PrefetchMax = 32

// prefetch reads what looking keys up will read (each key's table slot, the object at the head of its
// chain or the next one, that object's key and a string value's first bytes), PrefetchMax keys at a time,
// all of them one step at a time: the CPU then overlaps the cache misses of different keys, where a lookup
// on its own waits for each of its misses in turn (slot, object, key). What it read goes into d.sink, so
// the loads are not optimized away.
func (d *dict) prefetch(keys [][]byte) {
	for len(keys) > PrefetchMax {
		d.prefetch(keys[:PrefetchMax])
		keys = keys[PrefetchMax:]
	}
	var hs [PrefetchMax]uint32
	var objs [PrefetchMax]*Object
	n := len(keys)
	for i := range n {
		h := maphash.Bytes(d.seed, keys[i])
		hs[i] = uint32(h)
		objs[i] = *d.slot(h)
	}
	var x uintptr
	for i := range n {
		if o := objs[i]; o != nil && o.hash != hs[i] && o.next != nil {
			objs[i] = o.next
		}
	}
	for i := range n {
		if o := objs[i]; o != nil && len(o.key) > 0 {
			x += uintptr(o.key[0])
		}
	}
	for i := range n {
		if o := objs[i]; o != nil && o.Type == TypeString && o.ptr != nil && o.c > 0 {
			x += uintptr(*(*byte)(o.ptr))
		}
	}
	d.sink += x
}

// step starts a resize when the load calls for one and moves one bucket of a resize in progress.
func (d *dict) step() {
	if d.t1 == nil {
		switch {
		case d.count > len(d.t0):
			d.t1 = make([]*Object, 2*len(d.t0))
		case len(d.t0) > minTable && d.count*8 < len(d.t0):
			size := minTable
			for size < d.count*2 {
				size *= 2
			}
			d.t1 = make([]*Object, size)
		default:
			return
		}
		d.moved = 0
	}
	// Move one non-empty bucket (visiting at most 10 empty ones, as Redis does).
	for empty := 0; d.moved < len(d.t0); {
		o := d.t0[d.moved]
		d.t0[d.moved] = nil
		d.moved++
		if o == nil {
			if empty++; empty == 10 {
				break
			}
			continue
		}
		mask := uint64(len(d.t1) - 1)
		for o != nil {
			next := o.next
			i := uint64(o.hash) & mask
			o.next = d.t1[i]
			d.t1[i] = o
			o = next
		}
		break
	}
	if d.moved == len(d.t0) {
		d.t0, d.t1, d.moved = d.t1, nil, 0
	}
}

// forEach calls fn for every object until fn returns false. fn must not modify the dict.
func (d *dict) forEach(fn func(o *Object) bool) {
	for _, t := range [2][]*Object{d.t0, d.t1} {
		for _, o := range t {
			for ; o != nil; o = o.next {
				if !fn(o) {
					return
				}
			}
		}
	}
}

// scan visits the buckets addressed by cursor and returns the next cursor (0 when the iteration is over).
// This is Redis's dictScan: with two tables it visits the small table's bucket and every bucket of the
// large table that expands from it.
func (d *dict) scan(cursor uint64, fn func(o *Object)) uint64 {
	visit := func(o *Object) {
		for ; o != nil; o = o.next {
			fn(o)
		}
	}
	if d.t1 == nil {
		m0 := uint64(len(d.t0) - 1)
		visit(d.t0[cursor&m0])
		return revInc(cursor, m0)
	}
	small, large := d.t0, d.t1
	if len(small) > len(large) {
		small, large = large, small
	}
	m0, m1 := uint64(len(small)-1), uint64(len(large)-1)
	visit(small[cursor&m0])
	for {
		visit(large[cursor&m1])
		cursor = (((cursor | m0) + 1) &^ m0) | (cursor & m0)
		if cursor&(m0^m1) == 0 {
			break
		}
	}
	return revInc(cursor, m0)
}

// revInc increments the bits of v covered by mask in reverse bit order (Redis's dictScan cursor).
func revInc(v, mask uint64) uint64 {
	v |= ^mask
	v = bits.Reverse64(v)
	v++
	return bits.Reverse64(v)
}

// random returns a random object (nil when the dict is empty), using r as the random source: a random
// non-empty bucket, then a random element of its chain, as Redis's dictGetRandomKey.
func (d *dict) random(r func() uint64) *Object {
	if d.count == 0 {
		return nil
	}
	for {
		var o *Object
		if d.t1 != nil {
			// Buckets of t0 below moved are empty; pick among the live buckets of both tables.
			live := len(d.t0) - d.moved + len(d.t1)
			i := int(r() % uint64(live))
			if i < len(d.t1) {
				o = d.t1[i]
			} else {
				o = d.t0[d.moved+i-len(d.t1)]
			}
		} else {
			o = d.t0[r()&uint64(len(d.t0)-1)]
		}
		if o == nil {
			continue
		}
		n := 0
		for p := o; p != nil; p = p.next {
			n++
		}
		for skip := int(r() % uint64(n)); skip > 0; skip-- {
			o = o.next
		}
		return o
	}
}
