package keyspace

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
)

// HyperLogLog commands (Redis 7's hyperloglog.c, ported byte for byte): an HLL is a plain string holding
// Redis's own representation, so GET, DUMP/RESTORE and replication carry the same bytes as Redis and a
// value copied from Redis works here.
//
// The string starts with a 16-byte header: "HYLL", the encoding (0 dense, 1 sparse), three unused bytes and
// the cached cardinality (64-bit little endian; the top bit of its last byte set means "stale"). Then come
// either 16384 6-bit registers packed LSB first (dense, exactly 12288 bytes) or a run-length encoding of
// the registers (sparse) made of ZERO (00xxxxxx: 1-64 zero registers), XZERO (01xxxxxx yyyyyyyy: 1-16384
// zero registers) and VAL (1vvvvvxx: 1-4 registers set to 1-32) opcodes. A sparse HLL is promoted to
// dense when a register needs a value above 32 or when it would grow past hll-sparse-max-bytes.
//
// The C code reads one byte past the end of the string in a few places (sds strings are NUL terminated);
// hllAt returns that 0 here.

const (
	hllP              = 14
	hllQ              = 64 - hllP
	hllRegisters      = 1 << hllP
	hllPMask          = hllRegisters - 1
	hllBits           = 6
	hllRegisterMax    = 1<<hllBits - 1
	hllHdrSize        = 16
	hllDenseRegsSize  = (hllRegisters*hllBits + 7) / 8
	hllDenseSize      = hllHdrSize + hllDenseRegsSize
	hllEncDense       = 0
	hllEncSparse      = 1
	hllMaxEncoding    = 1
	hllSparseValMax   = 32
	hllSparseValLen   = 4
	hllSparseZeroLen  = 64
	hllSparseXZeroLen = 16384
	hllAlphaInf       = 0.721347520444481703680 // 0.5/ln(2)
	hllSeed           = 0xadc83b19
	hllCardOff        = 8 // offset of the cached cardinality in the header
	errHLLWrongType   = "WRONGTYPE Key is not a valid HyperLogLog string value."
	errHLLInvalid     = "INVALIDOBJ Corrupted HLL object detected"
)

// HLLSparseMaxBytes is hll-sparse-max-bytes: the size (header included) past which a sparse HLL is
// promoted to the dense encoding.
var HLLSparseMaxBytes atomic.Int64

func init() {
	HLLSparseMaxBytes.Store(3000)
	const w, r, d, f, a = FlagWrite, FlagReadonly, FlagDenyOOM, FlagFast, FlagAdmin
	h := CatHyperLogLog
	Register(
		&Command{Name: "pfadd", Arity: -2, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: h, Group: "hyperloglog", Summary: "Adds the specified elements to the specified HyperLogLog.", Since: "2.8.9", Handler: cmdPFAdd},
		&Command{Name: "pfcount", Arity: -2, Flags: r, FirstKey: 1, LastKey: -1, Step: 1, Categories: h, Group: "hyperloglog", Summary: "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).", Since: "2.8.9", Handler: cmdPFCount},
		&Command{Name: "pfmerge", Arity: -2, Flags: w | d, FirstKey: 1, LastKey: -1, Step: 1, Categories: h, Group: "hyperloglog", Summary: "Merge N different HyperLogLogs into a single one.", Since: "2.8.9", Handler: cmdPFMerge},
		&Command{Name: "pfdebug", Arity: 3, Flags: w | d | a, FirstKey: 2, LastKey: 2, Step: 1, Categories: h, Group: "hyperloglog", Summary: "Internal commands for debugging HyperLogLog values", Since: "2.8.9", Handler: cmdPFDebug},
		&Command{Name: "pfselftest", Arity: 1, Flags: a, Categories: h, Group: "hyperloglog", Summary: "An internal command for testing HyperLogLog values", Since: "2.8.9", Handler: cmdPFSelfTest},
	)
}

// murmurHash64A is MurmurHash2, 64-bit version, reading words little endian as Redis does on every
// architecture.
func murmurHash64A(key []byte, seed uint32) uint64 {
	const m = 0xc6a4a7935bd1e995
	const r = 47
	h := uint64(seed) ^ uint64(len(key))*m
	n := len(key) &^ 7
	for i := 0; i < n; i += 8 {
		k := binary.LittleEndian.Uint64(key[i:])
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
	}
	tail := key[n:]
	switch len(tail) {
	case 7:
		h ^= uint64(tail[6]) << 48
		fallthrough
	case 6:
		h ^= uint64(tail[5]) << 40
		fallthrough
	case 5:
		h ^= uint64(tail[4]) << 32
		fallthrough
	case 4:
		h ^= uint64(tail[3]) << 24
		fallthrough
	case 3:
		h ^= uint64(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint64(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint64(tail[0])
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

// hllPatLen returns the register an element hashes to and the length of the 000..1 pattern of the rest of
// its hash (1 to Q+1).
func hllPatLen(ele []byte) (index int, count uint8) {
	hash := murmurHash64A(ele, hllSeed)
	index = int(hash & hllPMask)
	hash >>= hllP
	hash |= 1 << hllQ
	count = 1
	for bit := uint64(1); hash&bit == 0; bit <<= 1 {
		count++
	}
	return index, count
}

// hllAt returns s[i], or 0 past the end (the NUL terminator C reads there).
func hllAt(s []byte, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// Dense registers: regs is the 12288 bytes after the header.

func hllDenseGet(regs []byte, i int) uint8 {
	b := i * hllBits / 8
	fb := uint(i * hllBits & 7)
	b0, b1 := uint(regs[b]), uint(hllAt(regs, b+1))
	return uint8((b0>>fb | b1<<(8-fb)) & hllRegisterMax)
}

func hllDenseSetReg(regs []byte, i int, v uint8) {
	b := i * hllBits / 8
	fb := uint(i * hllBits & 7)
	fb8 := 8 - fb
	regs[b] &^= byte(hllRegisterMax << fb)
	regs[b] |= byte(uint(v) << fb)
	if b+1 < len(regs) { // Redis writes the NUL terminator here, with 0 bits
		regs[b+1] &^= byte(hllRegisterMax >> fb8)
		regs[b+1] |= byte(uint(v) >> fb8)
	}
}

// hllDenseSet raises register i to count; it reports 1 when the register changed.
func hllDenseSet(regs []byte, i int, count uint8) int {
	if count > hllDenseGet(regs, i) {
		hllDenseSetReg(regs, i, count)
		return 1
	}
	return 0
}

func hllDenseRegHisto(regs []byte, histo *[64]int) {
	r := regs
	for j := 0; j < 1024; j++ {
		histo[r[0]&63]++
		histo[(r[0]>>6|r[1]<<2)&63]++
		histo[(r[1]>>4|r[2]<<4)&63]++
		histo[(r[2]>>2)&63]++
		histo[r[3]&63]++
		histo[(r[3]>>6|r[4]<<2)&63]++
		histo[(r[4]>>4|r[5]<<4)&63]++
		histo[(r[5]>>2)&63]++
		histo[r[6]&63]++
		histo[(r[6]>>6|r[7]<<2)&63]++
		histo[(r[7]>>4|r[8]<<4)&63]++
		histo[(r[8]>>2)&63]++
		histo[r[9]&63]++
		histo[(r[9]>>6|r[10]<<2)&63]++
		histo[(r[10]>>4|r[11]<<4)&63]++
		histo[(r[11]>>2)&63]++
		r = r[12:]
	}
}

// Sparse opcodes.

func hllIsZero(b byte) bool  { return b&0xc0 == 0 }
func hllIsXZero(b byte) bool { return b&0xc0 == 0x40 }
func hllIsVal(b byte) bool   { return b&0x80 != 0 }
func hllZeroLen(b byte) int  { return int(b&0x3f) + 1 }
func hllXZeroLen(s []byte, p int) int {
	return (int(s[p]&0x3f)<<8 | int(hllAt(s, p+1))) + 1
}
func hllValValue(b byte) int { return int(b>>2&0x1f) + 1 }
func hllValLen(b byte) int   { return int(b&3) + 1 }
func hllValOp(val, n int) byte {
	return byte((val-1)<<2|(n-1)) | 0x80
}
func hllXZeroOp(n int) (byte, byte) {
	l := n - 1
	return byte(l>>8) | 0x40, byte(l)
}

// hllSparseToDense returns the dense form of the HLL string s (s itself when already dense); ok is false
// when the sparse representation is corrupted.
func hllSparseToDense(s []byte) (dense []byte, ok bool) {
	if s[4] == hllEncDense {
		return s, true
	}
	dense = make([]byte, hllDenseSize)
	copy(dense, s[:hllHdrSize]) // the magic and the cached cardinality
	dense[4] = hllEncDense
	regs := dense[hllHdrSize:]
	idx := 0
	for p := hllHdrSize; p < len(s); {
		switch b := s[p]; {
		case hllIsZero(b):
			idx += hllZeroLen(b)
			p++
		case hllIsXZero(b):
			idx += hllXZeroLen(s, p)
			p += 2
		default:
			runlen, val := hllValLen(b), hllValValue(b)
			if runlen+idx > hllRegisters {
				p = len(s) // overflow
				continue
			}
			for ; runlen > 0; runlen-- {
				hllDenseSetReg(regs, idx, uint8(val))
				idx++
			}
			p++
		}
	}
	if idx != hllRegisters {
		return nil, false
	}
	return dense, true
}

// hllSparseSet raises register index of the sparse HLL string s to count, promoting it to dense when
// needed. It returns the (possibly reallocated) string and 1 when a register changed, 0 when not, -1 when
// the representation is corrupted.
func hllSparseSet(s []byte, index int, count uint8) ([]byte, int) {
	var (
		p, prev, next, first, span, runlen int
		isZero, isXZero, isVal             bool
		end                                = len(s)
	)
	if count > hllSparseValMax {
		return hllPromote(s, index, count)
	}
	// Step 1: locate the opcode covering index.
	p, prev = hllHdrSize, -1
	for p < end {
		oplen := 1
		switch b := s[p]; {
		case hllIsZero(b):
			span = hllZeroLen(b)
		case hllIsVal(b):
			span = hllValLen(b)
		default:
			span = hllXZeroLen(s, p)
			oplen = 2
		}
		if index <= first+span-1 {
			break
		}
		prev = p
		p += oplen
		first += span
	}
	if span == 0 || p >= end {
		return s, -1
	}
	if hllIsXZero(s[p]) {
		next = p + 2
	} else {
		next = p + 1
	}
	if next >= end {
		next = -1
	}
	switch b := s[p]; {
	case hllIsZero(b):
		isZero, runlen = true, hllZeroLen(b)
	case hllIsXZero(b):
		isXZero, runlen = true, hllXZeroLen(s, p)
	default:
		isVal, runlen = true, hllValLen(b)
	}

	// Step 2: the trivial cases, then the split of the opcode into up to three.
	if isVal {
		if hllValValue(s[p]) >= int(count) {
			return s, 0
		}
		if runlen == 1 {
			s[p] = hllValOp(int(count), 1)
			return hllSparseMerged(s, prev, end), 1
		}
	}
	if isZero && runlen == 1 {
		s[p] = hllValOp(int(count), 1)
		return hllSparseMerged(s, prev, end), 1
	}
	var seq [5]byte
	n := 0
	last := first + span - 1
	if isZero || isXZero {
		zeros := func(l int) {
			if l > hllSparseZeroLen {
				seq[n], seq[n+1] = hllXZeroOp(l)
				n += 2
			} else {
				seq[n] = byte(l - 1)
				n++
			}
		}
		if index != first {
			zeros(index - first)
		}
		seq[n] = hllValOp(int(count), 1)
		n++
		if index != last {
			zeros(last - index)
		}
	} else {
		cur := hllValValue(s[p])
		if index != first {
			seq[n] = hllValOp(cur, index-first)
			n++
		}
		seq[n] = hllValOp(int(count), 1)
		n++
		if index != last {
			seq[n] = hllValOp(cur, last-index)
			n++
		}
	}

	// Step 3: put the new sequence in place of the old opcode.
	oldlen := 1
	if isXZero {
		oldlen = 2
	}
	delta := n - oldlen
	if delta > 0 && int64(len(s)+delta) > HLLSparseMaxBytes.Load() {
		return hllPromote(s, index, count)
	}
	newLen := len(s) + delta
	if delta > 0 {
		if cap(s) < newLen {
			grown := make([]byte, len(s), newLen+3)
			copy(grown, s)
			s = grown
		}
		s = s[:newLen]
	}
	if delta != 0 && next >= 0 {
		copy(s[next+delta:], s[next:end])
	}
	s = s[:newLen]
	copy(s[p:], seq[:n]) // a byte past the end (a truncated XZERO at the end) is dropped, as sds's terminator
	end += delta
	return hllSparseMerged(s, prev, end), 1
}

// hllSparseMerged is the end of a sparse update (Redis's "updated:" label): it merges adjacent VAL
// opcodes with the same value within five opcodes of prev, then marks the cached cardinality stale.
func hllSparseMerged(s []byte, prev, end int) []byte {
	p := prev
	if p < 0 {
		p = hllHdrSize
	}
	for scan := 5; p < end && scan > 0; {
		scan--
		if hllIsXZero(s[p]) {
			p += 2
			continue
		} else if hllIsZero(s[p]) {
			p++
			continue
		}
		if p+1 < end && hllIsVal(s[p+1]) {
			v1, v2 := hllValValue(s[p]), hllValValue(s[p+1])
			if v1 == v2 {
				if l := hllValLen(s[p]) + hllValLen(s[p+1]); l <= hllSparseValLen {
					s[p+1] = hllValOp(v1, l)
					copy(s[p:], s[p+1:end])
					s = s[:len(s)-1]
					end--
					continue
				}
			}
		}
		p++
	}
	s[hllCardOff+7] |= 0x80
	return s
}

// hllPromote converts s to dense and sets the register there (Redis's "promote:" label).
func hllPromote(s []byte, index int, count uint8) ([]byte, int) {
	d, ok := hllSparseToDense(s)
	if !ok {
		return s, -1
	}
	return d, hllDenseSet(d[hllHdrSize:], index, count)
}

func hllSparseRegHisto(sparse []byte, histo *[64]int) (invalid bool) {
	idx := 0
	for p := 0; p < len(sparse); {
		switch b := sparse[p]; {
		case hllIsZero(b):
			n := hllZeroLen(b)
			idx += n
			histo[0] += n
			p++
		case hllIsXZero(b):
			n := hllXZeroLen(sparse, p)
			idx += n
			histo[0] += n
			p += 2
		default:
			n := hllValLen(b)
			idx += n
			histo[hllValValue(b)] += n
			p++
		}
	}
	return idx != hllRegisters
}

// hllSigma and hllTau are the helpers of Ertl's estimator ("New cardinality estimation algorithms for
// HyperLogLog sketches", arXiv:1702.01284). The float64 conversions keep each product rounded on its own,
// as C compiles it (no fused multiply-add).
func hllSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		zPrime := z
		z += float64(x * y)
		y += y
		if zPrime == z {
			return z
		}
	}
}

func hllTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		zPrime := z
		y *= 0.5
		t := 1 - x
		z -= float64(float64(t*t) * y)
		if zPrime == z {
			return z / 3
		}
	}
}

// hllEstimate computes the cardinality from the register histogram.
func hllEstimate(histo *[64]int) uint64 {
	m := float64(hllRegisters)
	z := float64(m * hllTau((m-float64(histo[hllQ+1]))/m))
	for j := hllQ; j >= 1; j-- {
		z += float64(histo[j])
		z *= 0.5
	}
	z += float64(m * hllSigma(float64(histo[0])/m))
	alpha := float64(hllAlphaInf)
	return uint64(math.Round(alpha * m * m / z))
}

// hllCount estimates the cardinality of the HLL string s; invalid reports a corrupted sparse encoding.
func hllCount(s []byte) (card uint64, invalid bool) {
	var histo [64]int
	if s[4] == hllEncDense {
		hllDenseRegHisto(s[hllHdrSize:], &histo)
	} else {
		invalid = hllSparseRegHisto(s[hllHdrSize:], &histo)
	}
	return hllEstimate(&histo), invalid
}

// hllRawCount estimates the cardinality of registers held one per byte (multi-key PFCOUNT).
func hllRawCount(regs *[hllRegisters]uint8) uint64 {
	var histo [64]int
	for _, r := range regs {
		histo[r]++
	}
	return hllEstimate(&histo)
}

// hllAdd adds ele to the HLL string s: 1 when a register changed, 0 when not, -1 when corrupted.
func hllAdd(s []byte, ele []byte) ([]byte, int) {
	index, count := hllPatLen(ele)
	switch s[4] {
	case hllEncDense:
		return s, hllDenseSet(s[hllHdrSize:], index, count)
	case hllEncSparse:
		return hllSparseSet(s, index, count)
	}
	return s, -1
}

// hllMerge raises max[i] to the registers of the HLL string s; false when its sparse form is corrupted.
func hllMerge(max *[hllRegisters]uint8, s []byte) bool {
	if s[4] == hllEncDense {
		regs := s[hllHdrSize:]
		for i := range max {
			if v := hllDenseGet(regs, i); v > max[i] {
				max[i] = v
			}
		}
		return true
	}
	i := 0
	for p := hllHdrSize; p < len(s); {
		switch b := s[p]; {
		case hllIsZero(b):
			i += hllZeroLen(b)
			p++
		case hllIsXZero(b):
			i += hllXZeroLen(s, p)
			p += 2
		default:
			runlen, val := hllValLen(b), uint8(hllValValue(b))
			if runlen+i > hllRegisters {
				return false // overflow
			}
			for ; runlen > 0; runlen-- {
				if val > max[i] {
					max[i] = val
				}
				i++
			}
			p++
		}
	}
	return i == hllRegisters
}

// hllNew returns an empty HLL: sparse, one XZERO opcode per 16384 registers.
func hllNew() []byte {
	s := make([]byte, hllHdrSize+2, 64)
	copy(s, "HYLL")
	s[4] = hllEncSparse
	s[hllHdrSize], s[hllHdrSize+1] = hllXZeroOp(hllRegisters)
	return s
}

// hllValid reports whether s is a valid HLL string (Redis's isHLLObjectOrReply without the type check).
func hllValid(s []byte) bool {
	if len(s) < hllHdrSize || string(s[:4]) != "HYLL" || s[4] > hllMaxEncoding {
		return false
	}
	return s[4] != hllEncDense || len(s) == hllDenseSize
}

// hllOf checks that o is an HLL string and returns its bytes; after replying an error it returns ok=false.
func (c *Ctx) hllOf(o *Object) ([]byte, bool) {
	if o.Type != TypeString {
		c.Error(ErrWrongType)
		return nil, false
	}
	s := o.Str()
	if !hllValid(s) {
		c.Error(errHLLWrongType)
		return nil, false
	}
	return s, true
}

// hllStore makes s the value of key: a new key when o is nil, else the updated object (s may be a new
// buffer after a promotion or a growth).
func (c *Ctx) hllStore(key []byte, o *Object, s []byte) {
	if o == nil {
		c.Set(key, NewString(s), false)
		return
	}
	o.SetStr(s)
	c.Modified(key, o)
}

// PFADD key [element ...] => 1 when a register changed (or the key was created), else 0.
func cmdPFAdd(c *Ctx) {
	key := c.Args[1]
	o := c.LookupWrite(key)
	updated := 0
	var s []byte
	if o == nil {
		s = hllNew()
		updated++
	} else {
		var ok bool
		if s, ok = c.hllOf(o); !ok {
			return
		}
	}
	for j := 2; j < len(c.Args); j++ {
		var r int
		s, r = hllAdd(s, c.Args[j])
		switch r {
		case 1:
			updated++
		case -1:
			// Redis keeps the registers the elements before this one raised (without propagating them);
			// here they are kept and logged as the PFADD of those elements, so replicas and the log agree.
			if updated > 0 {
				c.hllStore(key, o, s)
				c.Emit(c.Args[:j]...)
			}
			c.Error(errHLLInvalid)
			return
		}
	}
	if updated > 0 {
		s[hllCardOff+7] |= 0x80
		c.hllStore(key, o, s)
		c.Dirty += updated - 1
		c.Notify('$', "pfadd", key)
		c.Propagate()
		c.W.Int(1)
		return
	}
	c.W.Int(0)
}

// PFCOUNT key [key ...] => the estimated cardinality of one HLL (cached in it) or of the union of several.
func cmdPFCount(c *Ctx) {
	if len(c.Args) > 2 {
		var max [hllRegisters]uint8
		for _, key := range c.Args[1:] {
			o := c.Lookup(key)
			if o == nil {
				continue
			}
			s, ok := c.hllOf(o)
			if !ok {
				return
			}
			if !hllMerge(&max, s) {
				c.Error(errHLLInvalid)
				return
			}
		}
		c.W.Int(int64(hllRawCount(&max)))
		return
	}
	key := c.Args[1]
	o := c.Lookup(key)
	if o == nil {
		c.W.Int(0)
		return
	}
	s, ok := c.hllOf(o)
	if !ok {
		return
	}
	if s[hllCardOff+7]&0x80 == 0 {
		c.W.Int(int64(binary.LittleEndian.Uint64(s[hllCardOff:])))
		return
	}
	card, invalid := hllCount(s)
	if invalid {
		c.Error(errHLLInvalid)
		return
	}
	// Caching the cardinality modifies the string: like Redis, the command is then propagated.
	if o = c.LookupWrite(key); o != nil {
		s = o.Str()
		binary.LittleEndian.PutUint64(s[hllCardOff:], card)
		c.Modified(key, o)
		c.Propagate()
	}
	c.W.Int(int64(card))
}

// PFMERGE destkey [sourcekey ...] => OK; the destination takes the maximum of every register.
func cmdPFMerge(c *Ctx) {
	var max [hllRegisters]uint8
	dense := false
	for _, key := range c.Args[1:] {
		o := c.Lookup(key)
		if o == nil {
			continue
		}
		s, ok := c.hllOf(o)
		if !ok {
			return
		}
		if s[4] == hllEncDense {
			dense = true
		}
		if !hllMerge(&max, s) {
			c.Error(errHLLInvalid)
			return
		}
	}
	key := c.Args[1]
	o := c.LookupWrite(key)
	var s []byte
	if o == nil {
		s = hllNew()
	} else {
		s = o.Str() // checked above as a source
	}
	if dense {
		d, ok := hllSparseToDense(s)
		if !ok {
			c.Error(errHLLInvalid)
			return
		}
		s = d
	}
	for j, v := range max {
		if v == 0 {
			continue
		}
		if s[4] == hllEncDense {
			hllDenseSet(s[hllHdrSize:], j, v)
		} else {
			s, _ = hllSparseSet(s, j, v)
		}
	}
	s[hllCardOff+7] |= 0x80
	c.hllStore(key, o, s)
	c.Notify('$', "pfadd", key) // Redis's event for PFMERGE too
	c.Propagate()
	c.OK()
}

// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key
func cmdPFDebug(c *Ctx) {
	sub := c.Args[1]
	key := c.Args[2]
	o := c.LookupWrite(key)
	if o == nil {
		c.Error("ERR The specified key does not exist")
		return
	}
	s, ok := c.hllOf(o)
	if !ok {
		return
	}
	toDense := func() bool {
		d, ok := hllSparseToDense(s)
		if !ok {
			c.Error(errHLLInvalid)
			return false
		}
		s = d
		c.hllStore(key, o, s)
		c.Propagate() // the encoding changed
		return true
	}
	switch strings.ToLower(string(sub)) {
	case "getreg":
		if s[4] == hllEncSparse && !toDense() {
			return
		}
		c.W.Array(hllRegisters)
		for j := 0; j < hllRegisters; j++ {
			c.W.Int(int64(hllDenseGet(s[hllHdrSize:], j)))
		}
	case "decode":
		if s[4] != hllEncSparse {
			c.Error("ERR HLL encoding is not sparse")
			return
		}
		var out []byte
		for p := hllHdrSize; p < len(s); {
			switch b := s[p]; {
			case hllIsZero(b):
				out = append(strconv.AppendInt(append(out, "z:"...), int64(hllZeroLen(b)), 10), ' ')
				p++
			case hllIsXZero(b):
				out = append(strconv.AppendInt(append(out, "Z:"...), int64(hllXZeroLen(s, p)), 10), ' ')
				p += 2
			default:
				out = strconv.AppendInt(append(out, "v:"...), int64(hllValValue(b)), 10)
				out = append(strconv.AppendInt(append(out, ','), int64(hllValLen(b)), 10), ' ')
				p++
			}
		}
		c.W.Bulk([]byte(strings.Trim(string(out), " ")))
	case "encoding":
		if s[4] == hllEncDense {
			c.W.Simple("dense")
		} else {
			c.W.Simple("sparse")
		}
	case "todense":
		if s[4] == hllEncSparse {
			if !toDense() {
				return
			}
			c.W.Int(1)
			return
		}
		c.W.Int(0)
	default:
		c.Error("ERR Unknown PFDEBUG subcommand '" + string(sub) + "'")
	}
}

// PFSELFTEST checks the dense register accessors and the estimate's error, with sparse and dense HLLs
// fed the same elements (Redis's self test).
func cmdPFSelfTest(c *Ctx) {
	regs := make([]byte, hllDenseRegsSize)
	var bytes [hllRegisters]uint8
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	for j := 0; j < 1000; j++ {
		for i := range bytes {
			r := uint8(rng.Uint32() & hllRegisterMax)
			bytes[i] = r
			hllDenseSetReg(regs, i, r)
		}
		for i := range bytes {
			if v := hllDenseGet(regs, i); v != bytes[i] {
				c.Error("TESTFAILED Register " + strconv.Itoa(i) + " should be " + strconv.Itoa(int(bytes[i])) +
					" but is " + strconv.Itoa(int(v)))
				return
			}
		}
	}
	dense := make([]byte, hllDenseSize)
	copy(dense, "HYLL")
	sparse := hllNew()
	relerr := 1.04 / math.Sqrt(hllRegisters)
	checkpoint := int64(1)
	seed := rng.Uint64()
	var ele [8]byte
	for j := int64(1); j <= 10000000; j++ {
		binary.LittleEndian.PutUint64(ele[:], uint64(j)^seed)
		index, count := hllPatLen(ele[:])
		hllDenseSet(dense[hllHdrSize:], index, count)
		sparse, _ = hllAdd(sparse, ele[:])
		if j != checkpoint {
			continue
		}
		if j < HLLSparseMaxBytes.Load()/2 && sparse[4] != hllEncSparse {
			c.Error("TESTFAILED sparse encoding not used")
			return
		}
		cd, _ := hllCount(dense)
		if cs, _ := hllCount(sparse); cd != cs {
			c.Error("TESTFAILED dense/sparse disagree")
			return
		}
		abserr := checkpoint - int64(cd)
		maxerr := uint64(math.Ceil(relerr * 6 * float64(checkpoint)))
		if j == 10 {
			maxerr = 1
		}
		if abserr < 0 {
			abserr = -abserr
		}
		if abserr > int64(maxerr) {
			c.Error("TESTFAILED Too big error. card:" + strconv.FormatInt(checkpoint, 10) + " abserr:" +
				strconv.FormatInt(abserr, 10))
			return
		}
		checkpoint *= 10
	}
	c.OK()
}
