package resp

import (
	"bytes"
	"strings"
	"testing"
)

// BenchmarkReader parses a pipeline of SET/GET commands (16 per batch, as redis-benchmark -P 16 sends).
func BenchmarkReader(b *testing.B) {
	var batch []byte
	for i := 0; i < 8; i++ {
		batch = AppendCommandStrings(batch, "SET", "key:000000000042", strings.Repeat("v", 100))
		batch = AppendCommandStrings(batch, "GET", "key:000000000042")
	}
	src := bytes.NewReader(batch)
	r := NewReader(src, Limits{})
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src.Reset(batch)
		for j := 0; j < 16; j++ {
			if _, err := r.ReadCommand(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(16*b.N), "ns/cmd")
}

// BenchmarkWriter encodes the replies of a GET-heavy pipeline.
func BenchmarkWriter(b *testing.B) {
	w := Writer{Proto: 2, Buf: make([]byte, 0, 1<<16)}
	val := []byte(strings.Repeat("v", 100))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w.Reset()
		for j := 0; j < 16; j++ {
			w.Bulk(val)
		}
	}
	b.SetBytes(int64(len(w.Buf)))
}

// BenchmarkReplySkip consumes replies the way the load generator does.
func BenchmarkReplySkip(b *testing.B) {
	replies := bytes.Repeat([]byte("+OK\r\n$100\r\n"+strings.Repeat("v", 100)+"\r\n"), 8)
	src := bytes.NewReader(replies)
	rr := NewReplyReader(src)
	b.SetBytes(int64(len(replies)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		src.Reset(replies)
		rr.r, rr.w, rr.err = 0, 0, nil
		for j := 0; j < 16; j++ {
			if _, _, err := rr.Skip(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
