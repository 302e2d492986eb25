package keyspace

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"testing"
)

// Vectors computed with Redis's MurmurHash64A (C, little endian).
func TestHLLMurmurHash64A(t *testing.T) {
	inputs := []string{"", "a", "ab", "abc", "hello", "12345678", "123456789", "hello world, HyperLogLog!", "\xff\x00\x80"}
	want := [][2]uint64{
		{0xd8dfea6585bc9732, 0x0000000000000000},
		{0x53d2470a9b43b1a7, 0x071717d2d36b6b11},
		{0x0eaed676437142cf, 0x62be85b2fe53d1f8},
		{0x77ec90aeb374e502, 0x9cc9c33498a95efb},
		{0x0f656f01eecfe400, 0x1e68d17c457bf117},
		{0x95ebb86389132953, 0x758f67d162b2d202},
		{0x217532cb09f2a44d, 0x4977490251674330},
		{0x43df2d3ed438a4e3, 0x701c1735b7d41851},
		{0xfe93fc73c4134391, 0xca9776a104267ec0},
	}
	for i, in := range inputs {
		if got := murmurHash64A([]byte(in), hllSeed); got != want[i][0] {
			t.Errorf("MurmurHash64A(%q, seed) = %#x, want %#x", in, got, want[i][0])
		}
		if got := murmurHash64A([]byte(in), 0); got != want[i][1] {
			t.Errorf("MurmurHash64A(%q, 0) = %#x, want %#x", in, got, want[i][1])
		}
	}
}

func TestHLLEmpty(t *testing.T) {
	s := hllNew()
	want := []byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff")
	if !bytes.Equal(s, want) {
		t.Fatalf("empty HLL %q, want %q", s, want)
	}
	if !hllValid(s) {
		t.Fatal("empty HLL not valid")
	}
	if c, inv := hllCount(s); c != 0 || inv {
		t.Fatalf("count %d invalid %v", c, inv)
	}
	d, ok := hllSparseToDense(s)
	if !ok || len(d) != hllDenseSize || !hllValid(d) {
		t.Fatalf("to dense: ok %v len %d", ok, len(d))
	}
}

func TestHLLDenseRegisters(t *testing.T) {
	regs := make([]byte, hllDenseRegsSize)
	for i := 0; i < hllRegisters; i++ {
		hllDenseSetReg(regs, i, uint8((i*7+3)&hllRegisterMax))
	}
	for i := 0; i < hllRegisters; i++ {
		if v := hllDenseGet(regs, i); v != uint8((i*7+3)&hllRegisterMax) {
			t.Fatalf("register %d = %d", i, v)
		}
	}
	var histo [64]int
	hllDenseRegHisto(regs, &histo)
	total := 0
	for _, n := range histo {
		total += n
	}
	if total != hllRegisters {
		t.Fatalf("histogram counts %d registers", total)
	}
}

// The sparse encoding, with its promotion to dense, must hold exactly the registers a dense HLL fed the
// same elements holds, and estimate the same cardinality, at every size.
func TestHLLSparseDenseAgree(t *testing.T) {
	sparse := hllNew()
	dense := make([]byte, hllDenseSize)
	copy(dense, "HYLL")
	promotedAt := -1
	for n := 1; n <= 20000; n++ {
		ele := []byte("element:" + strconv.Itoa(n))
		var r int
		sparse, r = hllAdd(sparse, ele)
		index, count := hllPatLen(ele)
		if d := hllDenseSet(dense[hllHdrSize:], index, count); d != r {
			t.Fatalf("element %d: sparse add %d, dense add %d", n, r, d)
		}
		if sparse[4] == hllEncSparse && len(sparse) > int(HLLSparseMaxBytes.Load()) {
			t.Fatalf("sparse HLL of %d bytes", len(sparse))
		}
		if promotedAt < 0 && sparse[4] == hllEncDense {
			promotedAt = n
		}
		if n%500 == 0 || n < 50 {
			var a, b [hllRegisters]uint8
			if !hllMerge(&a, sparse) || !hllMerge(&b, dense) {
				t.Fatal("merge failed")
			}
			if a != b {
				t.Fatalf("registers differ after %d elements", n)
			}
			cs, inv := hllCount(sparse)
			cd, _ := hllCount(dense)
			if inv || cs != cd || cs != hllRawCount(&a) {
				t.Fatalf("after %d: sparse %d (invalid %v), dense %d, raw %d", n, cs, inv, cd, hllRawCount(&a))
			}
			if sparse[4] == hllEncSparse {
				d, ok := hllSparseToDense(sparse)
				if !ok || !bytes.Equal(d[hllHdrSize:], dense[hllHdrSize:]) {
					t.Fatalf("after %d: sparse to dense differs", n)
				}
			}
		}
	}
	if promotedAt < 0 {
		t.Fatal("never promoted to dense")
	}
	if c, _ := hllCount(dense); c < 19000 || c > 21000 {
		t.Fatalf("estimate %d for 20000 elements", c)
	}
}

func TestHLLCorrupted(t *testing.T) {
	s := hllNew()
	s[hllHdrSize], s[hllHdrSize+1] = hllXZeroOp(100) // covers 100 registers only
	if _, inv := hllCount(s); !inv {
		t.Fatal("short sparse HLL counted as valid")
	}
	var max [hllRegisters]uint8
	if hllMerge(&max, s) {
		t.Fatal("short sparse HLL merged")
	}
	if _, ok := hllSparseToDense(s); ok {
		t.Fatal("short sparse HLL converted")
	}
	if _, r := hllSparseSet(s, 5000, 3); r != -1 {
		t.Fatalf("set past the registers: %d", r)
	}
	// VAL opcodes running past the last register must not write out of range.
	over := append(hllNew()[:hllHdrSize], 0x7f, 0xfe, 0x83, 0x83)
	if _, ok := hllSparseToDense(over); ok {
		t.Fatal("overflowing sparse HLL converted")
	}
	if hllMerge(&max, over) {
		t.Fatal("overflowing sparse HLL merged")
	}
	for _, bad := range [][]byte{nil, []byte("HYLL"), []byte("HYLX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"),
		[]byte("HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"), []byte("HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff")} {
		if hllValid(bad) {
			t.Errorf("%q is valid", bad)
		}
	}
}

func TestHLLEstimator(t *testing.T) {
	var histo [64]int
	histo[0] = hllRegisters
	if c := hllEstimate(&histo); c != 0 {
		t.Fatalf("empty estimate %d", c)
	}
	histo[0], histo[1] = hllRegisters-1, 1
	if c := hllEstimate(&histo); c != 1 {
		t.Fatalf("one register estimate %d", c)
	}
	if hllTau(0) != 0 || hllTau(1) != 0 || hllTau(0.5) <= 0 {
		t.Fatal("tau")
	}
	card := make([]byte, 8)
	binary.LittleEndian.PutUint64(card, 12345)
	if card[7]&0x80 != 0 {
		t.Fatal("cache bit")
	}
}

// TestHLLEffectsReplay runs HLL commands (including a PFCOUNT that caches the cardinality, PFDEBUG
// conversions and a PFADD failing half-way on a corrupted HLL) with effects recorded and checks that a
// replay of the effects reproduces every key byte for byte.
func TestHLLEffectsReplay(t *testing.T) {
	h := newZXHarness(t)
	r := rand.New(rand.NewPCG(7, 8))
	keys := []string{"a", "b", "c"}
	for i := 0; i < 400; i++ {
		k := keys[r.IntN(len(keys))]
		switch r.IntN(6) {
		case 0, 1, 2:
			args := []string{"PFADD", k}
			for n := r.IntN(40); n > 0; n-- {
				args = append(args, strconv.Itoa(r.IntN(5000)))
			}
			h.do(args...)
		case 3:
			h.do("PFCOUNT", k)
		case 4:
			h.do("PFMERGE", k, keys[r.IntN(len(keys))])
		case 5:
			h.do("PFCOUNT", keys[r.IntN(len(keys))], k)
		}
	}
	h.do("PFADD", "s", "x")
	h.do("PFDEBUG", "TODENSE", "s")
	h.do("SET", "bad", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x40\x63") // XZERO:100
	if v := h.do("PFADD", "bad", "e70", "e169", "a"); v.Kind != '-' || string(v.Str) != errHLLInvalid {
		t.Fatalf("PFADD on a corrupted HLL: %c %s", v.Kind, v.Str)
	}
	replayed := h.replay()
	for _, k := range append(keys, "s", "bad") {
		a, b := h.ks.DB(0).Peek([]byte(k)), replayed.DB(0).Peek([]byte(k))
		if a == nil || b == nil || !bytes.Equal(a.Str(), b.Str()) {
			t.Fatalf("key %s differs after replay", k)
		}
	}
	if s := h.ks.DB(0).Peek([]byte("bad")).Str(); bytes.Equal(s, []byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x40\x63")) {
		t.Fatal("the registers set before the failing element were not kept")
	}
}
