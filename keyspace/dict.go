package keyspace

import (
	"hash/maphash"
	"math/bits"
)

// dict is the key → object table of one database. It is a hash table of small Go maps ("buckets") that
// doubles incrementally, like Redis's dict: while it grows, every mutation moves one old bucket into the new
// table, so no single command pays for rehashing the whole keyspace. The bucket layout gives SCAN a stable
// cursor with Redis's guarantee (a key present for the whole iteration is returned at least once), using the
// same reverse-binary cursor increment as Redis's dictScan.
//
// dict is not safe for concurrent use; the Keyspace lock guards it.
type dict struct {
	seed  maphash.Seed
	tab   []map[string]*Object // current (or, while growing, old) table; len is a power of two
	next  []map[string]*Object // larger table while growing, else nil
	split int                  // while growing: buckets of tab below split are already moved to next
	count int
}

// bucketLoad is the average number of keys per bucket that triggers a doubling.
const bucketLoad = 32

func newDict(seed maphash.Seed) *dict {
	return &dict{seed: seed, tab: make([]map[string]*Object, 1)}
}

func (d *dict) hash(key string) uint64 { return maphash.String(d.seed, key) }

// bucket returns the map that holds (or would hold) key.
func (d *dict) bucket(h uint64) *map[string]*Object {
	i := h & uint64(len(d.tab)-1)
	if d.next != nil && int(i) < d.split {
		return &d.next[h&uint64(len(d.next)-1)]
	}
	return &d.tab[i]
}

func (d *dict) get(key string) *Object {
	return (*d.bucket(d.hash(key)))[key]
}

// set inserts or replaces key. The key string is stored as given (callers pass an owned copy).
func (d *dict) set(key string, o *Object) {
	b := d.bucket(d.hash(key))
	if *b == nil {
		*b = make(map[string]*Object, 4)
	}
	if _, ok := (*b)[key]; !ok {
		d.count++
	}
	(*b)[key] = o
	d.step()
}

// replace overwrites the object of an existing key without touching the key string.
func (d *dict) replace(key string, o *Object) bool {
	b := d.bucket(d.hash(key))
	if _, ok := (*b)[key]; !ok {
		return false
	}
	(*b)[key] = o
	return true
}

func (d *dict) del(key string) bool {
	b := d.bucket(d.hash(key))
	if _, ok := (*b)[key]; !ok {
		return false
	}
	delete(*b, key)
	d.count--
	d.step()
	return true
}

// step grows the table when it is too full and moves one bucket of a growth in progress.
func (d *dict) step() {
	if d.next == nil {
		if d.count > len(d.tab)*bucketLoad {
			d.next = make([]map[string]*Object, 2*len(d.tab))
			d.split = 0
		} else {
			return
		}
	}
	old := d.tab[d.split]
	mask := uint64(len(d.next) - 1)
	for k, o := range old {
		i := d.hash(k) & mask
		if d.next[i] == nil {
			d.next[i] = make(map[string]*Object, len(old)/2+1)
		}
		d.next[i][k] = o
	}
	d.tab[d.split] = nil
	d.split++
	if d.split == len(d.tab) {
		d.tab, d.next, d.split = d.next, nil, 0
	}
}

// forEach calls fn for every key until fn returns false.
func (d *dict) forEach(fn func(k string, o *Object) bool) {
	for _, t := range [][]map[string]*Object{d.tab, d.next} {
		for _, b := range t {
			for k, o := range b {
				if !fn(k, o) {
					return
				}
			}
		}
	}
}

// scan visits the buckets addressed by cursor and returns the next cursor (0 when the iteration is over).
func (d *dict) scan(cursor uint64, fn func(k string, o *Object)) uint64 {
	visit := func(m map[string]*Object) {
		for k, o := range m {
			fn(k, o)
		}
	}
	if d.next == nil {
		m0 := uint64(len(d.tab) - 1)
		visit(d.tab[cursor&m0])
		return revInc(cursor, m0)
	}
	small, large := d.tab, d.next
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

// random returns a random key using r for bucket choice, or "" when the dict is empty.
func (d *dict) random(r uint64) (string, *Object) {
	if d.count == 0 {
		return "", nil
	}
	tabs := [][]map[string]*Object{d.tab}
	if d.next != nil {
		tabs = append(tabs, d.next)
	}
	for tries := 0; ; tries++ {
		t := tabs[int(r%uint64(len(tabs)))]
		r = r*6364136223846793005 + 1442695040888963407
		b := t[(r>>17)&uint64(len(t)-1)]
		r = r*6364136223846793005 + 1442695040888963407
		if len(b) == 0 {
			if tries > 64 {
				// A sparse table: fall back to the first key found.
				var rk string
				var ro *Object
				d.forEach(func(k string, o *Object) bool { rk, ro = k, o; return false })
				return rk, ro
			}
			continue
		}
		skip := int((r >> 33) % uint64(len(b)))
		for k, o := range b {
			if skip == 0 {
				return k, o
			}
			skip--
		}
	}
}
