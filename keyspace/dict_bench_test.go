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
