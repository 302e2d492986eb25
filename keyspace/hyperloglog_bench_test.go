package keyspace

import (
	"strconv"
	"testing"
)

// BenchmarkPFAdd adds one element per call to a HyperLogLog past its sparse phase (unique visitors).
func BenchmarkPFAdd(b *testing.B) {
	c := benchCtx()
	elems := make([][]byte, 4096)
	for i := range elems {
		elems[i] = []byte("visitor:" + strconv.Itoa(i))
	}
	args := [][]byte{[]byte("PFADD"), []byte("uv"), nil}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		args[2] = elems[i&4095]
		run(c, args...)
	}
}

// BenchmarkPFCount counts a dense HyperLogLog whose cached cardinality a PFADD has just invalidated.
func BenchmarkPFCount(b *testing.B) {
	c := benchCtx()
	for i := 0; i < 20000; i++ {
		run(c, []byte("PFADD"), []byte("uv"), []byte("visitor:"+strconv.Itoa(i)))
	}
	add := [][]byte{[]byte("PFADD"), []byte("uv"), nil}
	count := [][]byte{[]byte("PFCOUNT"), []byte("uv")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		add[2] = []byte("more:" + strconv.Itoa(i))
		run(c, add...)
		run(c, count...)
	}
}
