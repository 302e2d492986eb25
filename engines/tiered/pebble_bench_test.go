package tiered

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// tierValue is the value loadTier writes: 530 bytes, a 500-byte value and its serialization.
var tierValue = []byte(strings.Repeat("v", 530))

// tierKey is loadTier's Pebble key for value i.
func tierKey(i int) []byte { return pkey(1, uint32(i)*2654435761, fmt.Sprintf("key:%08d", i)) }

// loadTier opens a store with tierOptions and writes n values the way the demoter writes them (unsynced
// batches of about maxBatchBytes, keys in random order).
func loadTier(tb testing.TB, n int) *pebble.DB {
	tb.Helper()
	db, err := pebble.Open(tb.TempDir(), tierOptions(func(string, ...any) {}))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	batch := db.NewBatch()
	for _, i := range rand.New(rand.NewPCG(3, 4)).Perm(n) {
		batch.Set(tierKey(i), tierValue, nil)
		if batch.Len() > maxBatchBytes {
			if err := batch.Commit(pebble.NoSync); err != nil {
				tb.Fatal(err)
			}
			batch = db.NewBatch()
		}
	}
	if err := batch.Commit(pebble.NoSync); err != nil {
		tb.Fatal(err)
	}
	return db
}

// getRandom reads count values of loadTier's n at random keys, and reports the first that fails (it does
// not call Fatal, so goroutines other than the test's may use it).
func getRandom(db *pebble.DB, n, count int, rng *rand.Rand) error {
	for i := 0; i < count; i++ {
		v, closer, err := db.Get(tierKey(rng.IntN(n)))
		if err != nil || len(v) != len(tierValue) {
			return fmt.Errorf("Get: %d bytes, %v", len(v), err)
		}
		closer.Close()
	}
	return nil
}

// BenchmarkPebbleGet measures the tier's point read on its own: a store with tierOptions holding 500,000
// values of 530 bytes, read at random keys.
func BenchmarkPebbleGet(b *testing.B) {
	const n = 500000
	db := loadTier(b, n)
	time.Sleep(3 * time.Second) // let compactions catch up as they would between a server's demotion rounds
	b.Logf("after load:\n%s", db.Metrics())
	rng := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	if err := getRandom(db, n, b.N, rng); err != nil {
		b.Fatal(err)
	}
}

// TestTierCacheKeepsBlocks guards tierOptions against a block cache that Pebble's memtable reservation
// leaves no room in (the cache then keeps no block and every Get reads its index and filter blocks from
// the file): after values are written the demoter's way and flushed, repeated Gets must hit the cache.
func TestTierCacheKeepsBlocks(t *testing.T) {
	const n = 60000 // about 32 MB: several memtables' worth, so tables are flushed while writing
	db := loadTier(t, n)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := getRandom(db, n, 20000, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	m := db.Metrics()
	t.Logf("block cache: %d hits, %d misses, %d bytes held", m.BlockCache.Hits, m.BlockCache.Misses, m.BlockCache.Size)
	if m.BlockCache.Size == 0 || m.BlockCache.Hits < m.BlockCache.Misses {
		t.Fatalf("the block cache keeps too little: %d hits, %d misses, %d bytes held (Pebble reserves the memtables out of it)",
			m.BlockCache.Hits, m.BlockCache.Misses, m.BlockCache.Size)
	}
}
