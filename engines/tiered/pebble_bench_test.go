package tiered

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// BenchmarkPebbleGet measures the tier's point read on its own: a store with tierOptions holding 500,000
// values of 530 bytes (written the way the demoter writes them: unsynced batches of about 2 MB), read at
// random keys.
func BenchmarkPebbleGet(b *testing.B) {
	db, err := pebble.Open(b.TempDir(), tierOptions(func(string, ...any) {}))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const n = 500000
	val := []byte(strings.Repeat("v", 530))
	batch := db.NewBatch()
	for _, i := range rand.New(rand.NewPCG(3, 4)).Perm(n) {
		batch.Set(pkey(1, uint32(i)*2654435761, fmt.Sprintf("key:%08d", i)), val, nil)
		if batch.Len() > 2<<20 {
			if err := batch.Commit(pebble.NoSync); err != nil {
				b.Fatal(err)
			}
			batch = db.NewBatch()
		}
	}
	if err := batch.Commit(pebble.NoSync); err != nil {
		b.Fatal(err)
	}
	time.Sleep(3 * time.Second) // let compactions catch up as they would between a server's demotion rounds
	b.Logf("after load:\n%s", db.Metrics())
	rng := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := rng.IntN(n)
		v, closer, err := db.Get(pkey(1, uint32(j)*2654435761, fmt.Sprintf("key:%08d", j)))
		if err != nil || len(v) != len(val) {
			b.Fatal(err)
		}
		closer.Close()
	}
}
