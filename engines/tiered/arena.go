package tiered

import (
	"sync/atomic"
	"unsafe"

	"github.com/kvlab/kvlab/keyspace"
)

// arena holds the engine's hot string values in pages of arenaPageSize bytes, each page cut into chunks of
// one size class, so that the engine, not Go's allocator, decides where a value sits.
//
// With Go's allocator every value is an object of its own, and a value demoted at random leaves a hole
// that only a value of the same size class fills again. After a data set four times the budget has been
// loaded and served, the heap held about 100 MB of such holes for a 256 MB budget: memory the collector can
// never give back, which the process's memory limit had to leave room for on top of the budget. In the
// arena, compact moves the values of the sparsest page of a class into the free chunks of the others and
// drops the page, so the free space stays within a few per cent of the values. And a value read back from
// the tier is copied straight into a free chunk: promotions, the engine's main source of garbage, allocate
// nothing.
//
// A chunk belongs to one object (arenaPage.owner), whose Str aliases the chunk, with the chunk's size as
// its capacity: a command may change the value in place, within the chunk, as it may any string. The
// arena is guarded by the keyspace lock. Moving or reusing a chunk under the lock is safe because nothing
// holds a value's bytes outside it: replies, log effects, snapshot captures and demotion batches are
// copies made under the lock. One case remains inside a command: a command may still read a value it has
// just deleted or replaced (GETDEL's reply, SET ... GET). So the chunks commands give up are freed by the
// engine's settle, after the command (Engine.drops, Engine.writes), never during it.
//
// Pages are ordinary Go allocations without pointers (the collector sees one object per page, not one per
// value); byAddr finds a chunk's page from the value's address.
type arena struct {
	classes []arenaClass
	byAddr  map[uintptr]*arenaPage // every runtime page (runtimePage bytes) of every arena page
	min     int                    // the smallest value kept here (shorter ones are never demoted)

	// Read by Stats without the lock.
	pageBytes atomic.Int64 // bytes of pages held
	usedBytes atomic.Int64 // bytes of chunks in use
}

const (
	arenaPageSize = 64 << 10
	arenaMax      = 4096 // larger values stay with Go's allocator, which gives them spans of their own
	// runtimePage is the alignment of Go's allocations larger than 32 KB, the key unit of arena.byAddr.
	runtimePage = 8 << 10
)

// arenaSizes are the chunk sizes: steps of 16 bytes to 256, then 8 classes per doubling, so a value
// wastes at most an eighth of its chunk, as with Go's own size classes.
var arenaSizes, arenaClassOf = func() ([]int, []uint8) {
	var sizes []int
	for s := 16; s <= 256; s += 16 {
		sizes = append(sizes, s)
	}
	for base := 256; base < arenaMax; base *= 2 {
		for s := base + base/8; s <= 2*base; s += base / 8 {
			sizes = append(sizes, s)
		}
	}
	of := make([]uint8, arenaMax/16+1) // by (n+15)/16
	c := 0
	for i := range of {
		for sizes[c] < i*16 {
			c++
		}
		of[i] = uint8(c)
	}
	return sizes, of
}()

// arenaClass is one size class.
type arenaClass struct {
	size, perPage int
	partial       []*arenaPage // pages with a free chunk; allocation takes from the last
	pages, used   int          // pages held, chunks in use
}

// arenaPage is one page of chunks.
type arenaPage struct {
	mem   []byte
	class uint8
	pos   int32              // index in its class's partial list, -1 when full
	owner []*keyspace.Object // per chunk: the object whose value it holds, nil when free
	free  []uint16           // the free chunks
}

func newArena(min int) *arena {
	a := &arena{classes: make([]arenaClass, len(arenaSizes)), byAddr: map[uintptr]*arenaPage{}, min: max(min, 1)}
	for i, s := range arenaSizes {
		a.classes[i] = arenaClass{size: s, perPage: arenaPageSize / s}
	}
	return a
}

// fits reports whether a string value of n bytes belongs in the arena.
func (a *arena) fits(n int) bool { return n >= a.min && n <= arenaMax }

// alloc returns a chunk for o's value of n bytes (a.fits(n)): length n, capacity the chunk's size.
func (a *arena) alloc(o *keyspace.Object, n int) []byte {
	ci := arenaClassOf[(n+15)/16]
	c := &a.classes[ci]
	var p *arenaPage
	if k := len(c.partial); k > 0 {
		p = c.partial[k-1]
	} else {
		p = a.newPage(ci)
	}
	slot := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	if len(p.free) == 0 {
		c.removePartial(p)
	}
	p.owner[slot] = o
	c.used++
	a.usedBytes.Add(int64(c.size))
	off := int(slot) * c.size
	return p.mem[off : off+n : off+c.size]
}

func (a *arena) newPage(ci uint8) *arenaPage {
	c := &a.classes[ci]
	p := &arenaPage{mem: make([]byte, arenaPageSize), class: ci, pos: -1,
		owner: make([]*keyspace.Object, c.perPage), free: make([]uint16, c.perPage)}
	for i := range p.free {
		p.free[i] = uint16(c.perPage - 1 - i) // chunk 0 is taken first
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(p.mem)))
	for off := uintptr(0); off < arenaPageSize; off += runtimePage {
		a.byAddr[(base+off)/runtimePage] = p
	}
	c.pages++
	c.addPartial(p)
	a.pageBytes.Add(arenaPageSize)
	return p
}

func (c *arenaClass) addPartial(p *arenaPage) {
	p.pos = int32(len(c.partial))
	c.partial = append(c.partial, p)
}

func (c *arenaClass) removePartial(p *arenaPage) {
	i, last := int(p.pos), len(c.partial)-1
	c.partial[i] = c.partial[last]
	c.partial[i].pos = int32(i)
	c.partial[last] = nil
	c.partial = c.partial[:last]
	p.pos = -1
}

// addrOf is the address of o's value, 0 when o has no string bytes.
func addrOf(o *keyspace.Object) uintptr {
	if o.Type != keyspace.TypeString || o.Cold {
		return 0
	}
	s := o.Str()
	if cap(s) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(unsafe.SliceData(s)))
}

// at returns the page and chunk at addr if o owns that chunk (nil otherwise).
func (a *arena) at(addr uintptr, o *keyspace.Object) (*arenaPage, int) {
	if addr == 0 {
		return nil, 0
	}
	p := a.byAddr[addr/runtimePage]
	if p == nil {
		return nil, 0
	}
	off := addr - uintptr(unsafe.Pointer(unsafe.SliceData(p.mem)))
	size := uintptr(a.classes[p.class].size)
	if off%size != 0 || off/size >= uintptr(len(p.owner)) || p.owner[off/size] != o {
		return nil, 0
	}
	return p, int(off / size)
}

// locate returns the chunk o's value is in (nil when it is not in the arena).
func (a *arena) locate(o *keyspace.Object) (*arenaPage, int) { return a.at(addrOf(o), o) }

// release frees o's chunk, if its value is in one.
func (a *arena) release(o *keyspace.Object) {
	if p, slot := a.locate(o); p != nil {
		a.free(p, slot)
	}
}

// free returns a chunk to its page. A page left empty goes back to Go, unless it is the only page with room
// of a class that still holds values (the next value of the class would need a new page at once).
func (a *arena) free(p *arenaPage, slot int) {
	c := &a.classes[p.class]
	p.owner[slot] = nil
	p.free = append(p.free, uint16(slot))
	c.used--
	a.usedBytes.Add(-int64(c.size))
	if p.pos < 0 {
		c.addPartial(p)
	}
	if len(p.free) == c.perPage && (len(c.partial) > 1 || c.used == 0) {
		a.dropPage(p)
	}
}

// dropPage forgets an empty page (or one compact emptied), which the collector then frees.
func (a *arena) dropPage(p *arenaPage) {
	c := &a.classes[p.class]
	if p.pos >= 0 {
		c.removePartial(p)
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(p.mem)))
	for off := uintptr(0); off < arenaPageSize; off += runtimePage {
		delete(a.byAddr, (base+off)/runtimePage)
	}
	c.pages--
	a.pageBytes.Add(-arenaPageSize)
	p.mem, p.owner, p.free = nil, nil, nil
}

// arenaSlack is the share (1/arenaSlack) of a class's chunks that compaction lets stay free.
const arenaSlack = 50

// sparse returns a class whose free chunks are worth compacting, or -1: at least a page's worth of them
// (so the sparsest page's values fit in the others), and more than 1/arenaSlack of the class.
func (a *arena) sparse() int {
	for i := range a.classes {
		c := &a.classes[i]
		free := c.pages*c.perPage - c.used
		if free > c.perPage && free*arenaSlack > c.pages*c.perPage {
			return i
		}
	}
	return -1
}

// compactOne empties the sparsest page of class ci into the other pages of the class and drops it. It
// moves each value with Object.SetStr (keyspace lock held, no command running); a chunk whose owner no
// longer points at it is only freed.
func (a *arena) compactOne(ci int) {
	c := &a.classes[ci]
	var src *arenaPage
	for _, p := range c.partial {
		if src == nil || len(p.free) > len(src.free) {
			src = p
		}
	}
	if src == nil {
		return
	}
	c.removePartial(src) // allocate from the other pages only
	base := uintptr(unsafe.Pointer(unsafe.SliceData(src.mem)))
	for slot, o := range src.owner {
		if o == nil {
			continue
		}
		src.owner[slot] = nil
		c.used--
		a.usedBytes.Add(-int64(c.size))
		off := slot * c.size
		if addrOf(o) != base+uintptr(off) {
			continue
		}
		old := o.Str()
		dst := a.alloc(o, len(old))
		copy(dst, old)
		o.SetStr(dst)
	}
	src.free = src.free[:0]
	a.dropPage(src)
}
