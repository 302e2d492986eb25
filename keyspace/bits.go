package keyspace

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// Bitmap commands (Redis's bitops.c): strings read and written as arrays of bits, the most significant bit
// of the first byte being bit 0. Argument checks, replies and error texts follow Redis 7.2, which parses
// BITCOUNT's and BITPOS's arguments before looking the key up (7.0 answered 0 for a missing key whatever
// the arguments).

const (
	errBitOffset     = "ERR bit offset is not an integer or out of range"
	errBitValue      = "ERR bit is not an integer or out of range"
	errBitArg        = "ERR The bit argument must be 1 or 0."
	errBitopNot      = "ERR BITOP NOT must be called with a single source key."
	errBitfieldType  = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
	errBitfieldOver  = "ERR Invalid OVERFLOW type specified"
	errBitfieldRO    = "ERR BITFIELD_RO only supports the GET subcommand"
	maxBitOffsetByte = maxStringLen // proto-max-bulk-len: a bit offset must address a byte below it
)

func init() {
	const w, r, d, f = FlagWrite, FlagReadonly, FlagDenyOOM, FlagFast
	b := CatBitmap
	Register(
		&Command{Name: "setbit", Arity: 4, Flags: w | d, FirstKey: 1, LastKey: 1, Step: 1, Categories: b, Group: "bitmap", Summary: "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", Since: "2.2.0", Handler: cmdSetBit},
		&Command{Name: "getbit", Arity: 3, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: b, Group: "bitmap", Summary: "Returns a bit value by offset.", Since: "2.2.0", Handler: cmdGetBit},
		&Command{Name: "bitcount", Arity: -2, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Categories: b, Group: "bitmap", Summary: "Counts the number of set bits (population counting) in a string.", Since: "2.6.0", Handler: cmdBitCount},
		&Command{Name: "bitpos", Arity: -3, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Categories: b, Group: "bitmap", Summary: "Finds the first set (1) or clear (0) bit in a string.", Since: "2.8.7", Handler: cmdBitPos},
		&Command{Name: "bitop", Arity: -4, Flags: w | d, FirstKey: 2, LastKey: -1, Step: 1, Categories: b, Group: "bitmap", Summary: "Performs bitwise operations on multiple strings, and stores the result.", Since: "2.6.0", Handler: cmdBitOp},
		&Command{Name: "bitfield", Arity: -2, Flags: w | d, FirstKey: 1, LastKey: 1, Step: 1, Categories: b, Group: "bitmap", Summary: "Performs arbitrary bitfield integer operations on strings.", Since: "3.2.0", Handler: cmdBitField},
		&Command{Name: "bitfield_ro", Arity: -2, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: b, Group: "bitmap", Summary: "Performs arbitrary read-only bitfield integer operations on strings.", Since: "6.0.0", Handler: cmdBitField},
	)
}

// bitOffset parses a bit offset the way Redis's getBitOffsetFromArgument does: a non-negative integer
// addressing a byte below proto-max-bulk-len; with hash (BITFIELD), "#N" means N times the field's width.
func (c *Ctx) bitOffset(arg []byte, hash bool, width int) (uint64, bool) {
	useHash := hash && width > 0 && len(arg) > 0 && arg[0] == '#'
	if useHash {
		arg = arg[1:]
	}
	n, err := ParseInt(arg)
	if err == nil && useHash {
		n *= int64(width) // wraps like Redis's long long, then fails the range check
	}
	if err != nil || n < 0 || n>>3 >= maxBitOffsetByte {
		c.Error(errBitOffset)
		return 0, false
	}
	return uint64(n), true
}

// bitString returns the string at key for a write reaching bit maxBit, created or zero-padded so that it
// holds that bit (Redis's lookupStringForBitCommand); nil after replying WRONGTYPE. grown reports whether
// the string was created or lengthened.
func (c *Ctx) bitString(key []byte, maxBit uint64) (o *Object, grown bool) {
	o = c.LookupWrite(key)
	if o != nil && o.Type != TypeString {
		c.Error(ErrWrongType)
		return nil, false
	}
	return c.padString(key, o, int(maxBit>>3)+1)
}

// padString makes the string o of key (nil: create it) at least n bytes long, zero-padded, as SETRANGE
// and the bit commands write past a string's end; grown reports whether it was created or lengthened.
func (c *Ctx) padString(key []byte, o *Object, n int) (_ *Object, grown bool) {
	if o == nil {
		o = NewString(make([]byte, n))
		c.Set(key, o, false)
		return o, true
	}
	if s := o.Str(); len(s) < n {
		o.SetStr(append(s, make([]byte, n-len(s))...))
		return o, true
	}
	return o, false
}

func cmdSetBit(c *Ctx) {
	off, ok := c.bitOffset(c.Args[2], false, 0)
	if !ok {
		return
	}
	on, err := ParseInt(c.Args[3])
	if err != nil || on&^1 != 0 {
		c.Error(errBitValue)
		return
	}
	key := c.Args[1]
	o, grown := c.bitString(key, off)
	if o == nil {
		return
	}
	p := o.Str()
	mask := byte(1) << (7 - off&7)
	was := p[off>>3]&mask != 0
	if grown || was != (on == 1) {
		if on == 1 {
			p[off>>3] |= mask
		} else {
			p[off>>3] &^= mask
		}
		c.Modified(key, o)
		c.Notify('$', "setbit", key)
		c.Propagate()
	}
	if was {
		c.W.Int(1)
	} else {
		c.W.Int(0)
	}
}

func cmdGetBit(c *Ctx) {
	off, ok := c.bitOffset(c.Args[2], false, 0)
	if !ok {
		return
	}
	p, _, wrong := c.stringValue(c.Args[1])
	if wrong {
		return
	}
	if off>>3 < uint64(len(p)) && p[off>>3]&(1<<(7-off&7)) != 0 {
		c.W.Int(1)
		return
	}
	c.W.Int(0)
}

// bitRange parses BITCOUNT's and BITPOS's optional unit argument ("BYTE" or "BIT").
func (c *Ctx) bitRange(arg []byte) (isBit, ok bool) {
	switch {
	case EqualFold(arg, "bit"):
		return true, true
	case EqualFold(arg, "byte"):
		return false, true
	}
	c.Error(ErrSyntax)
	return false, false
}

// clampRange converts a possibly negative [start, end] range over total units the way BITCOUNT and
// BITPOS do; with isBit it returns the byte range and masks of the bits outside the range in its first and
// last bytes.
func clampRange(start, end, total int64, isBit bool) (s, e int64, firstMask, lastMask byte) {
	if start < 0 {
		start += total
	}
	if end < 0 {
		end += total
	}
	start, end = max(start, 0), max(end, 0)
	if end >= total {
		end = total - 1
	}
	if isBit && start <= end {
		firstMask = ^byte(0xff >> (start & 7))
		lastMask = byte(1<<(7-end&7)) - 1
		start >>= 3
		end >>= 3
	}
	return start, end, firstMask, lastMask
}

func cmdBitCount(c *Ctx) {
	var start, end int64
	isBit := false
	switch len(c.Args) {
	case 2:
	case 4, 5:
		var ok bool
		if start, ok = c.ParseInt(c.Args[2]); !ok {
			return
		}
		if end, ok = c.ParseInt(c.Args[3]); !ok {
			return
		}
		if len(c.Args) == 5 {
			if isBit, ok = c.bitRange(c.Args[4]); !ok {
				return
			}
		}
	default:
		c.Error(ErrSyntax)
		return
	}
	p, exists, wrong := c.stringValue(c.Args[1])
	if wrong {
		return
	}
	if !exists {
		c.W.Int(0)
		return
	}
	var firstMask, lastMask byte
	if len(c.Args) == 2 {
		start, end = 0, int64(len(p))-1
	} else {
		total := int64(len(p))
		if isBit {
			total <<= 3
		}
		if start < 0 && end < 0 && start > end {
			c.W.Int(0)
			return
		}
		start, end, firstMask, lastMask = clampRange(start, end, total, isBit)
	}
	if start > end {
		c.W.Int(0)
		return
	}
	n := popcount(p[start : end+1])
	n -= int64(bits.OnesCount8(p[start]&firstMask) + bits.OnesCount8(p[end]&lastMask))
	c.W.Int(n)
}

// popcount counts the set bits of p.
func popcount(p []byte) int64 {
	var n int
	for len(p) >= 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(p))
		p = p[8:]
	}
	for _, b := range p {
		n += bits.OnesCount8(b)
	}
	return int64(n)
}

// firstBit returns the position of the first bit equal to bit in p (Redis's redisBitpos): when looking for
// a clear bit the string counts as padded with zeros, so all-ones gives the bit just past its end; when
// looking for a set bit and there is none, -1.
func firstBit(p []byte, bit int64) int64 {
	skip := byte(0)
	if bit == 0 {
		skip = 0xff
	}
	for i, b := range p {
		if b != skip {
			if bit == 0 {
				b = ^b
			}
			return int64(i)*8 + int64(bits.LeadingZeros8(b))
		}
	}
	if bit == 1 {
		return -1
	}
	return int64(len(p)) * 8
}

func cmdBitPos(c *Ctx) {
	bit, ok := c.ParseInt(c.Args[2])
	if !ok {
		return
	}
	if bit != 0 && bit != 1 {
		c.Error(errBitArg)
		return
	}
	var start, end int64
	isBit, endGiven := false, false
	switch len(c.Args) {
	case 3:
	case 4, 5, 6:
		if start, ok = c.ParseInt(c.Args[3]); !ok {
			return
		}
		if len(c.Args) == 6 {
			if isBit, ok = c.bitRange(c.Args[5]); !ok {
				return
			}
		}
		if len(c.Args) >= 5 {
			if end, ok = c.ParseInt(c.Args[4]); !ok {
				return
			}
			endGiven = true
		}
	default:
		c.Error(ErrSyntax)
		return
	}
	p, exists, wrong := c.stringValue(c.Args[1])
	if wrong {
		return
	}
	if !exists {
		// A missing key is an endless run of zeros.
		if bit == 1 {
			c.W.Int(-1)
		} else {
			c.W.Int(0)
		}
		return
	}
	var firstMask, lastMask byte
	if len(c.Args) == 3 {
		start, end = 0, int64(len(p))-1
	} else {
		total := int64(len(p))
		if !endGiven {
			end = total - 1
		}
		if isBit {
			total <<= 3
		}
		start, end, firstMask, lastMask = clampRange(start, end, total, isBit)
	}
	if start > end {
		c.W.Int(-1) // an empty range holds neither a 0 nor a 1
		return
	}
	// As Redis: the first byte (bits before the range masked), the whole bytes, then the last byte (bits
	// after the range masked); pos is relative to start, which moves past the bytes already searched, and
	// left counts the bytes from start to the end of the range.
	maskOut := func(b, m byte) byte {
		if bit == 1 {
			return b &^ m
		}
		return b | m
	}
	left := end - start + 1
	var pos int64
	done := false
	if firstMask != 0 {
		tmp := maskOut(p[start], firstMask)
		if lastMask != 0 && left == 1 {
			tmp = maskOut(tmp, lastMask)
		}
		pos = firstBit([]byte{tmp}, bit)
		if done = left == 1 || (pos != -1 && pos != 8); !done {
			start++
			left--
		}
	}
	if whole := left - int64(min(lastMask, 1)); !done && whole > 0 {
		pos = firstBit(p[start:start+whole], bit)
		if done = left == whole || (pos != -1 && pos != whole<<3); !done {
			start += whole
			left -= whole
		}
	}
	if !done {
		pos = firstBit([]byte{maskOut(p[end], lastMask)}, bit)
	}
	// With an explicit end, a clear bit "found" just past the range is not in it.
	if endGiven && bit == 0 && pos == left<<3 {
		c.W.Int(-1)
		return
	}
	if pos != -1 {
		pos += start << 3
	}
	c.W.Int(pos)
}

func cmdBitOp(c *Ctx) {
	const (
		opAnd = iota
		opOr
		opXor
		opNot
	)
	var op int
	switch a := c.Args[1]; {
	case EqualFold(a, "and"):
		op = opAnd
	case EqualFold(a, "or"):
		op = opOr
	case EqualFold(a, "xor"):
		op = opXor
	case EqualFold(a, "not"):
		op = opNot
	default:
		c.Error(ErrSyntax)
		return
	}
	if op == opNot && len(c.Args) != 4 {
		c.Error(errBitopNot)
		return
	}
	srcs := make([][]byte, 0, len(c.Args)-3)
	maxLen := 0
	for _, k := range c.Args[3:] {
		p, _, wrong := c.stringValue(k)
		if wrong {
			return
		}
		srcs = append(srcs, p) // a missing key is an empty string
		maxLen = max(maxLen, len(p))
	}
	dest := c.Args[2]
	if maxLen == 0 {
		if c.Delete(dest) {
			c.Notify('g', "del", dest)
			c.Emit(argDEL, dest)
		}
		c.W.Int(0)
		return
	}
	res := make([]byte, maxLen)
	at := func(p []byte, i int) byte {
		if i < len(p) {
			return p[i]
		}
		return 0
	}
	for i := range res {
		v := at(srcs[0], i)
		if op == opNot {
			v = ^v
		}
		for _, p := range srcs[1:] {
			switch op {
			case opAnd:
				v &= at(p, i)
			case opOr:
				v |= at(p, i)
			case opXor:
				v ^= at(p, i)
			}
		}
		res[i] = v
	}
	c.LookupWriteCold(dest) // the previous value, of any type, is replaced and its TTL dropped, as by SET
	c.Set(dest, NewString(res), false)
	c.Notify('$', "set", dest)
	c.propagateSet(dest, res, 0, false)
	c.W.Int(int64(maxLen))
}

// Bitfield overflow policies.
const (
	overflowWrap = iota
	overflowSat
	overflowFail
)

type bitfieldOp struct {
	offset   uint64
	value    int64 // SET's value or INCRBY's increment
	op       byte  // 'g', 's' or 'i'
	overflow int
	width    uint64
	signed   bool
}

// bitfieldType parses a BITFIELD type: i1..i64 or u1..u63 (lowercase, as in Redis).
func (c *Ctx) bitfieldType(arg []byte) (signed bool, width int, ok bool) {
	if len(arg) < 2 || (arg[0] != 'i' && arg[0] != 'u') {
		c.Error(errBitfieldType)
		return false, 0, false
	}
	signed = arg[0] == 'i'
	n, err := ParseInt(arg[1:])
	if err != nil || n < 1 || (signed && n > 64) || (!signed && n > 63) {
		c.Error(errBitfieldType)
		return false, 0, false
	}
	return signed, int(n), true
}

func cmdBitField(c *Ctx) {
	readOnlyCmd := c.Cmd.Name == "bitfield_ro"
	var opsBuf [4]bitfieldOp
	ops := opsBuf[:0]
	overflow := overflowWrap
	readOnly := true
	var highest uint64
	for j := 2; j < len(c.Args); j++ {
		rem := len(c.Args) - j - 1
		var op byte
		switch sub := c.Args[j]; {
		case EqualFold(sub, "get") && rem >= 2:
			op = 'g'
		case EqualFold(sub, "set") && rem >= 3:
			op = 's'
		case EqualFold(sub, "incrby") && rem >= 3:
			op = 'i'
		case EqualFold(sub, "overflow") && rem >= 1:
			j++
			switch a := c.Args[j]; {
			case EqualFold(a, "wrap"):
				overflow = overflowWrap
			case EqualFold(a, "sat"):
				overflow = overflowSat
			case EqualFold(a, "fail"):
				overflow = overflowFail
			default:
				c.Error(errBitfieldOver)
				return
			}
			continue
		default:
			c.Error(ErrSyntax)
			return
		}
		signed, width, ok := c.bitfieldType(c.Args[j+1])
		if !ok {
			return
		}
		off, ok := c.bitOffset(c.Args[j+2], true, width)
		if !ok {
			return
		}
		var v int64
		if op != 'g' {
			readOnly = false
			highest = max(highest, off+uint64(width)-1)
			if v, ok = c.ParseInt(c.Args[j+3]); !ok {
				return
			}
			j++
		}
		ops = append(ops, bitfieldOp{offset: off, value: v, op: op, overflow: overflow, width: uint64(width), signed: signed})
		j += 2
	}
	key := c.Args[1]
	var o *Object
	if readOnly {
		if o = c.Lookup(key); o != nil && o.Type != TypeString {
			c.Error(ErrWrongType)
			return
		}
	} else {
		if readOnlyCmd {
			c.Error(errBitfieldRO)
			return
		}
		if o, _ = c.bitString(key, highest); o == nil {
			return
		}
	}
	c.W.Array(len(ops))
	changes := 0
	for _, op := range ops {
		if op.op == 'g' {
			var p []byte
			if o != nil {
				p = o.Str()
			}
			// Copy the (up to 9) bytes the field spans, zero-padded past the end of the string.
			var buf [9]byte
			first := op.offset >> 3
			if first < uint64(len(p)) {
				copy(buf[:], p[first:])
			}
			u := getBitfield(buf[:], op.offset-first*8, op.width)
			if op.signed {
				c.W.Int(signExtend(u, op.width))
			} else {
				c.W.Int(int64(u))
			}
			continue
		}
		p := o.Str()
		old := getBitfield(p, op.offset, op.width)
		var newVal, ret uint64
		var over bool
		if op.signed {
			oldS := signExtend(old, op.width)
			var wrapped int64
			if op.op == 'i' {
				over, wrapped = signedOverflow(oldS, op.value, op.width, op.overflow)
				n := oldS + op.value
				if over {
					n = wrapped
				}
				newVal, ret = uint64(n), uint64(n)
			} else {
				over, wrapped = signedOverflow(op.value, 0, op.width, op.overflow)
				n := op.value
				if over {
					n = wrapped
				}
				newVal, ret = uint64(n), uint64(oldS)
			}
		} else {
			var wrapped uint64
			if op.op == 'i' {
				newVal = old + uint64(op.value)
				over, wrapped = unsignedOverflow(old, op.value, op.width, op.overflow)
				if over {
					newVal = wrapped
				}
				ret = newVal
			} else {
				newVal = uint64(op.value)
				over, wrapped = unsignedOverflow(newVal, 0, op.width, op.overflow)
				if over {
					newVal = wrapped
				}
				ret = old
			}
		}
		if over && op.overflow == overflowFail {
			c.W.Null()
		} else {
			c.W.Int(int64(ret))
			setBitfield(p, op.offset, op.width, newVal)
		}
		changes++
	}
	if changes > 0 {
		c.Modified(key, o)
		c.Notify('$', "setbit", key)
		c.Propagate()
	}
}

// getBitfield reads width bits of p from bit offset as an unsigned integer, most significant bit first.
func getBitfield(p []byte, offset, width uint64) uint64 {
	var v uint64
	for range width {
		v = v<<1 | uint64(p[offset>>3]>>(7-offset&7)&1)
		offset++
	}
	return v
}

// setBitfield writes the low width bits of v into p at bit offset, most significant bit first.
func setBitfield(p []byte, offset, width, v uint64) {
	for j := range width {
		bit := byte(v >> (width - 1 - j) & 1)
		shift := 7 - offset&7
		p[offset>>3] = p[offset>>3]&^(1<<shift) | bit<<shift
		offset++
	}
}

// signExtend interprets the low width bits of u as a two's complement integer.
func signExtend(u, width uint64) int64 {
	if width < 64 && u&(1<<(width-1)) != 0 {
		u |= math.MaxUint64 << width
	}
	return int64(u)
}

// unsignedOverflow reports whether value+incr leaves the range of a width-bit unsigned field (Redis's
// checkUnsignedBitfieldOverflow) and the value the policy makes of it (wrapped, or saturated).
func unsignedOverflow(value uint64, incr int64, width uint64, policy int) (bool, uint64) {
	maxV := uint64(1)<<width - 1
	maxIncr := int64(maxV - value)
	minIncr := -int64(value)
	wrap := func() uint64 { return (value + uint64(incr)) &^ (math.MaxUint64 << width) }
	switch {
	case value > maxV || (incr > 0 && incr > maxIncr):
		if policy == overflowWrap {
			return true, wrap()
		}
		return true, maxV
	case incr < 0 && incr < minIncr:
		if policy == overflowWrap {
			return true, wrap()
		}
		return true, 0
	}
	return false, 0
}

// signedOverflow is unsignedOverflow for a width-bit two's complement field (checkSignedBitfieldOverflow).
func signedOverflow(value, incr int64, width uint64, policy int) (bool, int64) {
	maxV := int64(math.MaxInt64)
	if width < 64 {
		maxV = int64(1)<<(width-1) - 1
	}
	minV := -maxV - 1
	maxIncr := int64(uint64(maxV) - uint64(value))
	minIncr := minV - value
	wrap := func() int64 {
		c := uint64(value) + uint64(incr)
		if width < 64 {
			mask := uint64(math.MaxUint64) << width
			if c&(1<<(width-1)) != 0 {
				c |= mask
			} else {
				c &^= mask
			}
		}
		return int64(c)
	}
	switch {
	case value > maxV || (width != 64 && incr > maxIncr) || (value >= 0 && incr > 0 && incr > maxIncr):
		if policy == overflowWrap {
			return true, wrap()
		}
		return true, maxV
	case value < minV || (width != 64 && incr < minIncr) || (value < 0 && incr < 0 && incr < minIncr):
		if policy == overflowWrap {
			return true, wrap()
		}
		return true, minV
	}
	return false, 0
}
