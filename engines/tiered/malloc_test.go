//go:build linux && cgo && !race

// Not under the race detector: its runtime serves malloc itself, so glibc's arenas would say nothing.

package tiered

import (
	"math/rand/v2"
	"os"
	"runtime"
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
	arenas, err := mallocArenas()
	if err != nil {
		t.Fatal(err)
	}
	if arenas != 1 {
		t.Fatalf("glibc malloc has %d arenas, want its main one only: threads allocating Pebble's blocks took "+
			"arenas of their own; the M_ARENA_MAX constructor in malloc_cgo.go did not run", arenas)
	}
}
