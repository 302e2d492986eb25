package keyspace

import (
	"strings"
	"testing"
)

// FuzzHLL stores arbitrary bytes under a key and runs every HLL command on them: a client can SET any
// string, so corrupted or hostile HLLs must be refused with INVALIDOBJ or WRONGTYPE, never crash the server
// or read past the string.
func FuzzHLL(f *testing.F) {
	c := benchCtx()
	run(c, []byte("PFADD"), []byte("seed"), []byte("a"), []byte("b"), []byte("c"))
	f.Add(append([]byte(nil), c.Lookup([]byte("seed")).Str()...), []byte("x"))
	for i := 0; i < 3000; i++ {
		run(c, []byte("PFADD"), []byte("dense"), []byte(strings.Repeat("e", i%50)+string(rune('a'+i%26))))
	}
	f.Add(append([]byte(nil), c.Lookup([]byte("dense")).Str()...), []byte("y"))
	f.Add([]byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xfe\x00"), []byte("e70"))
	f.Add([]byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x40\x63"), []byte("a"))
	f.Fuzz(func(t *testing.T, val, elem []byte) {
		c := benchCtx()
		run(c, []byte("SET"), []byte("h"), val)
		run(c, []byte("PFADD"), []byte("o"), []byte("z"))
		for _, args := range [][][]byte{
			{[]byte("PFCOUNT"), []byte("h")},
			{[]byte("PFCOUNT"), []byte("h"), []byte("o")},
			{[]byte("PFMERGE"), []byte("m"), []byte("h"), []byte("o")},
			{[]byte("PFMERGE"), []byte("o"), []byte("h")},
			{[]byte("PFADD"), []byte("h"), elem, []byte("w")},
			{[]byte("PFDEBUG"), []byte("getreg"), []byte("h")},
			{[]byte("PFDEBUG"), []byte("decode"), []byte("h")},
			{[]byte("PFDEBUG"), []byte("todense"), []byte("h")},
			{[]byte("PFCOUNT"), []byte("h")},
		} {
			run(c, args...)
		}
	})
}
