//go:build linux && cgo && !race

// Not under the race detector: its runtime maps memory of its own that looks like a malloc arena to
// mallocArenas (a 64 MB-aligned heap at 0x306000000000).

package tiered

import (
	"bufio"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestOneMallocArena reads cold values from many threads at once, as a server's connections do, and checks
// that glibc's malloc served Pebble's blocks from its main arena only (malloc_cgo.go): no thread took an
// arena of its own, where freed blocks would stay.
func TestOneMallocArena(t *testing.T) {
	if os.Getenv("MALLOC_ARENA_MAX") != "" || os.Getenv("GLIBC_TUNABLES") != "" {
		t.Skip("MALLOC_ARENA_MAX or GLIBC_TUNABLES is set: the operator's malloc settings apply")
	}
	const n = 60000 // about 32 MB: more than the block cache, so reads keep allocating blocks
	db := loadTier(t, n)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread() // a thread of its own; it ends with the goroutine
			if err := getRandom(db, n, 3000, rand.New(rand.NewPCG(uint64(g), 7))); err != nil {
				t.Error(err) // not Fatal: this is not the test's goroutine
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if arenas := mallocArenas(t); len(arenas) > 0 {
		t.Fatalf("glibc malloc has %d arenas besides its main one (%s): threads allocating Pebble's blocks took "+
			"arenas of their own; the M_ARENA_MAX constructor in malloc_cgo.go did not run", len(arenas), strings.Join(arenas, ", "))
	}
}

// mallocArenas lists the heaps of glibc's secondary malloc arenas in this process: mappings of 64 MB
// (HEAP_MAX_SIZE) at a 64 MB boundary, readable and writable up to where the arena has grown and reserved
// without access after that, outside the Go heap's addresses.
func mallocArenas(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const heapMax = 64 << 20
	type mapping struct {
		start, end uint64
		perms      string
		anon       bool
	}
	var maps []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		lo, hi, _ := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("/proc/self/maps: %q", sc.Text())
		}
		maps = append(maps, mapping{start, end, fields[1], len(fields) < 6})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var arenas []string
	for i, m := range maps {
		if !m.anon || m.perms != "rw-p" || m.start%heapMax != 0 || m.start < 1<<44 {
			continue
		}
		whole := m.end-m.start == heapMax
		grown := i+1 < len(maps) && maps[i+1].start == m.end && maps[i+1].end == m.start+heapMax && maps[i+1].perms == "---p"
		if whole || grown {
			arenas = append(arenas, strconv.FormatUint(m.start, 16))
		}
	}
	return arenas
}
