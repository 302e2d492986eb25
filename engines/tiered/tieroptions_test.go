package tiered

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// TestTierCacheKeepsBlocks guards tierOptions against a block cache that Pebble's memtable reservation
// leaves no room in (the cache then keeps no block and every Get reads its index and filter blocks from
// the file): after values are written the demoter's way and flushed, repeated Gets must hit the cache.
func TestTierCacheKeepsBlocks(t *testing.T) {
	db, err := pebble.Open(t.TempDir(), tierOptions(func(string, ...any) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 60000 // about 32 MB: several memtables' worth, so tables are flushed while writing
	val := []byte(strings.Repeat("v", 530))
	key := func(i int) []byte { return pkey(1, uint32(i)*2654435761, fmt.Sprintf("key:%08d", i)) }
	b := db.NewBatch()
	for i := 0; i < n; i++ {
		b.Set(key(i), val, nil)
		if b.Len() > maxBatchBytes {
			if err := b.Commit(pebble.NoSync); err != nil {
				t.Fatal(err)
			}
			b = db.NewBatch()
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		v, closer, err := db.Get(key(rng.IntN(n)))
		if err != nil || len(v) != len(val) {
			t.Fatalf("Get: %d bytes, %v", len(v), err)
		}
		closer.Close()
	}
	m := db.Metrics()
	t.Logf("block cache: %d hits, %d misses, %d bytes held", m.BlockCache.Hits, m.BlockCache.Misses, m.BlockCache.Size)
	if m.BlockCache.Size == 0 || m.BlockCache.Hits < m.BlockCache.Misses {
		t.Fatalf("the block cache keeps too little: %d hits, %d misses, %d bytes held (Pebble reserves the memtables out of it)",
			m.BlockCache.Hits, m.BlockCache.Misses, m.BlockCache.Size)
	}
}
