package keyspace

import (
	"math/rand/v2"
	"testing"
)

func TestChecksumJones(t *testing.T) {
	// Redis's crc64 test vector (src/crc64.c): crc64(0, "123456789") = 0xe9c6d914c4b8d9ca.
	if got := checksum([]byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("checksum(123456789) = %#x, want Redis's 0xe9c6d914c4b8d9ca", got)
	}
	for n := 0; n < 100; n++ {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rand.IntN(256))
		}
		if a, b := checksum(p), bytewise(p); a != b {
			t.Fatalf("len %d: slicing-by-8 %#x, table %#x", n, a, b)
		}
	}
}

func TestDumpRejectsDamage(t *testing.T) {
	p, err := AppendDump(nil, nil, NewString([]byte("hello")))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := VerifyDump(p); !ok {
		t.Fatal("good payload rejected")
	}
	for i := range p {
		q := append([]byte(nil), p...)
		q[i] ^= 0x40
		if _, ok := VerifyDump(q); ok {
			t.Fatalf("payload with byte %d flipped accepted", i)
		}
	}
}

func bytewise(p []byte) uint64 {
	var crc uint64
	for _, b := range p {
		crc = crcJones[byte(crc)^b] ^ (crc >> 8)
	}
	return crc
}
