package tiered

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kvlab/kvlab/keyspace"
)

func TestArenaSizeClasses(t *testing.T) {
	for n := 1; n <= arenaMax; n++ {
		size := arenaSizes[arenaClassOf[(n+15)/16]]
		if size < n {
			t.Fatalf("a value of %d bytes gets a chunk of %d", n, size)
		}
		if size-n >= 16 && (size-n)*8 > size {
			t.Fatalf("a value of %d bytes wastes %d of a %d-byte chunk (more than an eighth and 15 bytes)", n, size-n, size)
		}
	}
	for _, s := range arenaSizes {
		if arenaPageSize/s > 1<<16 {
			t.Fatalf("class %d: too many chunks per page for uint16", s)
		}
	}
}

// arenaValue is the content the test gives object i.
func arenaValue(i, n int) []byte {
	b := bytes.Repeat([]byte{byte('a' + i%26)}, n)
	copy(b, fmt.Sprint(i))
	return b
}

// TestArenaCompaction fills the arena, frees most values at random (as demotion does), compacts, and
// checks that every remaining value is intact and that the free space is back within its bound.
func TestArenaCompaction(t *testing.T) {
	a := newArena(64)
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 20000
	objs := make([]*keyspace.Object, n)
	sizes := make([]int, n)
	for i := range objs {
		sizes[i] = 64 + rng.IntN(1000)
		if i%3 == 0 {
			sizes[i] = 500 // one crowded class, as in the tiering benchmark
		}
		o := keyspace.NewString(nil)
		c := a.alloc(o, sizes[i])
		if len(c) != sizes[i] || cap(c) != arenaSizes[arenaClassOf[(sizes[i]+15)/16]] {
			t.Fatalf("alloc(%d): len %d cap %d", sizes[i], len(c), cap(c))
		}
		copy(c, arenaValue(i, sizes[i]))
		o.SetStr(c)
		objs[i] = o
	}
	full := a.pageBytes.Load()
	var live, orphans int64
	for i, o := range objs {
		if rng.IntN(4) != 0 {
			if i%7 == 0 {
				// A command gave the chunk up (a value that did not fit in place) and nothing freed it:
				// only the arena's bookkeeping still names the object, which compaction must not touch.
				orphans += int64(cap(o.Str()))
				o.SetStr(append([]byte(nil), "replaced"...))
				continue
			}
			a.release(o)
			objs[i] = nil
			continue
		}
		live += int64(cap(o.Str()))
	}
	moved := 0
	for ci := a.sparse(); ci >= 0; ci = a.sparse() {
		a.compactOne(ci)
		if moved++; moved > 10000 {
			t.Fatal("compaction does not converge")
		}
	}
	for i, o := range objs {
		if o == nil {
			continue
		}
		if want := arenaValue(i, sizes[i]); !bytes.Equal(o.Str(), want) && string(o.Str()) != "replaced" {
			t.Fatalf("object %d: value changed by compaction", i)
		}
	}
	if got := a.usedBytes.Load(); got < live || got > live+orphans {
		t.Fatalf("used bytes %d after compaction, live values %d (and %d given up)", got, live, orphans)
	}
	// Each class keeps at most max(a page, 2%) free, plus the page its last value sits in.
	var bound int64
	for _, c := range a.classes {
		if c.pages > 0 {
			bound += int64(c.used*c.size) + max(int64(2*arenaPageSize), int64(c.used*c.size)/50+arenaPageSize)
		}
	}
	if got := a.pageBytes.Load(); got > bound {
		t.Fatalf("pages hold %d bytes for %d of values (bound %d)", got, a.usedBytes.Load(), bound)
	}
	t.Logf("pages: %d KB full, %d KB after freeing 3/4 and compacting %d pages; values %d KB",
		full>>10, a.pageBytes.Load()>>10, moved, live>>10)
	// Everything freed: the arena gives back every page.
	for _, o := range objs {
		if o != nil {
			a.release(o)
		}
	}
	for ci := range a.classes { // the given-up chunks compaction did not meet
		for _, p := range append([]*arenaPage(nil), a.classes[ci].partial...) {
			for slot, o := range p.owner {
				if o != nil && p.mem != nil {
					a.free(p, slot)
				}
			}
		}
	}
	if got := a.usedBytes.Load(); got != 0 {
		t.Fatalf("used bytes %d with no value left", got)
	}
	for ci, c := range a.classes {
		if c.pages != 0 || c.used != 0 {
			t.Fatalf("class %d: %d pages, %d chunks used with no value left", arenaSizes[ci], c.pages, c.used)
		}
	}
}

func BenchmarkArenaAllocFree(b *testing.B) {
	a := newArena(64)
	objs := make([]*keyspace.Object, 4096)
	for i := range objs {
		objs[i] = keyspace.NewString(nil)
		objs[i].SetStr(a.alloc(objs[i], 500))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o := objs[i%len(objs)]
		a.release(o)
		o.SetStr(a.alloc(o, 500))
	}
}
