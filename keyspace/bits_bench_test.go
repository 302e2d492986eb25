package keyspace

import (
	"strconv"
	"testing"
)

// BenchmarkSetBit sets bits spread over a 1 Mbit bitmap (a daily-active-users bitmap).
func BenchmarkSetBit(b *testing.B) {
	c := benchCtx()
	offs := make([][]byte, 1024)
	for i := range offs {
		offs[i] = []byte(strconv.Itoa(i * 1021 % (1 << 20)))
	}
	args := [][]byte{[]byte("SETBIT"), []byte("dau"), nil, []byte("1")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		args[2] = offs[i&1023]
		run(c, args...)
	}
}

// BenchmarkBitCount counts the set bits of a 128 KB string.
func BenchmarkBitCount(b *testing.B) {
	c := benchCtx()
	run(c, []byte("SETBIT"), []byte("dau"), []byte(strconv.Itoa(1<<20-1)), []byte("1"))
	args := [][]byte{[]byte("BITCOUNT"), []byte("dau")}
	b.SetBytes(1 << 17)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		run(c, args...)
	}
}

// BenchmarkBitField runs a mixed BITFIELD (counters in a string) as rate limiters use it.
func BenchmarkBitField(b *testing.B) {
	c := benchCtx()
	args := [][]byte{[]byte("BITFIELD"), []byte("ctr"), []byte("OVERFLOW"), []byte("SAT"), []byte("INCRBY"), []byte("u16"),
		nil, []byte("1"), []byte("GET"), []byte("u16"), nil}
	offs := make([][]byte, 256)
	for i := range offs {
		offs[i] = []byte("#" + strconv.Itoa(i))
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		args[6], args[10] = offs[i&255], offs[i&255]
		run(c, args...)
	}
}
