package keyspace

import (
	"fmt"
	"hash/maphash"
	"testing"
)

func BenchmarkDictGet(b *testing.B) {
	for _, n := range []int{1000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			d := newDict(maphash.MakeSeed())
			keys := make([]string, n)
			for i := range keys {
				keys[i] = fmt.Sprintf("key:%012d", i)
				d.set(keys[i], &Object{})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if d.getStr(keys[(i*7919)%n]) == nil {
					b.Fatal("missing")
				}
			}
		})
	}
}

func BenchmarkDictSet(b *testing.B) {
	d := newDict(maphash.MakeSeed())
	keys := make([]string, 1<<20)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%012d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.set(keys[i&(1<<20-1)], &Object{})
	}
}

// BenchmarkDictPrefetch looks up pipelines of 16 random keys among 1M, with a command's worth of other work
// (touching 2 KB) between lookups, as a server runs a pipeline: one by one ("serial"), and after one
// prefetch of the 16 ("prefetched"), whose cache misses overlap. ns/op is per key.
//
//	go test ./keyspace -run XXX -bench BenchmarkDictPrefetch
func BenchmarkDictPrefetch(b *testing.B) {
	const n = 1_000_000
	d := newDict(maphash.MakeSeed())
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("key:%012d", i))
		d.set(string(keys[i]), NewString(make([]byte, 100)))
	}
	work := make([]byte, 2048)
	for _, mode := range []string{"serial", "prefetched"} {
		b.Run(mode, func(b *testing.B) {
			batch := make([][]byte, 16)
			next := uint64(1)
			for i := 0; i < b.N; i += len(batch) {
				for j := range batch {
					next = next*6364136223846793005 + 1442695040888963407
					batch[j] = keys[(next>>33)%n]
				}
				if mode == "prefetched" {
					d.prefetch(batch)
				}
				for _, k := range batch {
					if d.get(k) == nil {
						b.Fatal("missing")
					}
					for w := range work {
						work[w] += byte(w)
					}
				}
			}
		})
	}
}
