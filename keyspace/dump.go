package keyspace

import (
	"encoding/binary"
	"hash/crc64"
	"strconv"
)

// DUMP and RESTORE. A DUMP payload is kvlab's own (Redis's RDB encoding is not reproduced), framed the
// way Redis frames its payloads so corruption is caught the same way:
//
//	MarshalValue(o) | version uint16 LE | CRC-64/Jones uint64 LE of everything before it
//
// The version is DumpVersion; RESTORE rejects other versions and bad checksums with Redis's error
// "ERR DUMP payload version or checksum are wrong", and payloads whose checksum matches but whose value
// does not decode with "ERR Bad data format". A payload from real Redis is rejected (its version is an
// RDB version, never DumpVersion).

// DumpVersion is the payload format version DUMP writes (0x4B01: 'K' for kvlab, format 1).
const DumpVersion = 0x4B01

// crcJones is Redis's CRC-64 (Jones polynomial, reflected), the checksum of DUMP payloads. hash/crc64
// runs byte by byte for polynomials other than ISO and ECMA, so checksum uses slicing-by-8 tables built
// from it (a full sync checksums every value of the data set).
var (
	crcJones  = crc64.MakeTable(0x95AC9329AC4BC9B5)
	crcJones8 = makeSlicing8(crcJones)
)

func makeSlicing8(t *crc64.Table) *[8]crc64.Table {
	var s [8]crc64.Table
	s[0] = *t
	for i := 0; i < 256; i++ {
		crc := t[i]
		for j := 1; j < 8; j++ {
			crc = t[crc&0xff] ^ (crc >> 8)
			s[j][i] = crc
		}
	}
	return &s
}

// checksum is Redis's crc64(0, p): CRC-64/Jones, reflected, initial value 0 and no final inversion
// (unlike hash/crc64), computed eight bytes at a time.
func checksum(p []byte) uint64 {
	crc := uint64(0)
	t := crcJones8
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ (crc >> 8)
	}
	return crc
}

// AppendDump appends the DUMP payload of o, an object of db, to dst. A cold value is read from its tier
// (see MarshalObject); db may be nil for an object known to be hot.
func AppendDump(dst []byte, db *DB, o *Object) ([]byte, error) {
	start := len(dst)
	dst, err := MarshalObject(dst, db, o)
	if err != nil {
		return dst[:start], err
	}
	dst = binary.LittleEndian.AppendUint16(dst, DumpVersion)
	sum := checksum(dst[start:])
	return binary.LittleEndian.AppendUint64(dst, sum), nil
}

// VerifyDump checks a payload's version and checksum and returns the serialized value inside it.
func VerifyDump(p []byte) ([]byte, bool) {
	if len(p) < 10 {
		return nil, false
	}
	n := len(p) - 10
	if binary.LittleEndian.Uint16(p[n:]) != DumpVersion {
		return nil, false
	}
	if checksum(p[:n+2]) != binary.LittleEndian.Uint64(p[n+2:]) {
		return nil, false
	}
	return p[:n], true
}

// Errors of DUMP/RESTORE, as Redis 7 words them.
const (
	ErrBusyKey     = "BUSYKEY Target key name already exists."
	errBadPayload  = "ERR DUMP payload version or checksum are wrong"
	errBadFormat   = "ERR Bad data format"
	errBadTTL      = "ERR Invalid TTL value, must be >= 0"
	errBadIdletime = "ERR Invalid IDLETIME value, must be >= 0"
	errBadFreq     = "ERR Invalid FREQ value, must be >= 0 and <= 255"
)

var (
	argRESTORE = []byte("RESTORE")
	argREPLACE = []byte("REPLACE")
	argABSTTL  = []byte("ABSTTL")
)

func init() {
	const ks = CatKeyspace
	Register(
		&Command{Name: "dump", Arity: 2, Flags: FlagReadonly, FirstKey: 1, LastKey: 1, Step: 1, Categories: ks, Group: "generic", Summary: "Returns a serialized representation of the value stored at a key.", Since: "2.6.0", Handler: cmdDump},
		&Command{Name: "restore", Arity: -4, Flags: FlagWrite | FlagDenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Categories: ks | CatDangerous, Group: "generic", Summary: "Creates a key from the serialized representation of a value.", Since: "2.6.0", Handler: cmdRestore},
	)
}

func cmdDump(c *Ctx) {
	o := c.Lookup(c.Args[1])
	if o == nil {
		c.W.Null()
		return
	}
	p, err := AppendDump(nil, c.DB, o)
	if err != nil {
		c.Error("ERR kvlab: cannot serialize the value: " + err.Error())
		return
	}
	c.W.Bulk(p)
}

func cmdRestore(c *Ctx) {
	replace, absttl := false, false
	idle, freq := int64(-1), int64(-1)
	for j := 4; j < len(c.Args); j++ {
		more := len(c.Args) - j - 1
		switch a := c.Args[j]; {
		case EqualFold(a, "replace"):
			replace = true
		case EqualFold(a, "absttl"):
			absttl = true
		case EqualFold(a, "idletime") && more >= 1 && freq == -1:
			v, ok := c.ParseInt(c.Args[j+1])
			if !ok {
				return
			}
			if v < 0 {
				c.Error(errBadIdletime)
				return
			}
			idle = v
			j++
		case EqualFold(a, "freq") && more >= 1 && idle == -1:
			v, ok := c.ParseInt(c.Args[j+1])
			if !ok {
				return
			}
			if v < 0 || v > 255 {
				c.Error(errBadFreq)
				return
			}
			freq = v
			j++
		default:
			c.Error(ErrSyntax)
			return
		}
	}
	key := c.Args[1]
	if !replace && c.LookupWriteCold(key) != nil {
		c.Error(ErrBusyKey)
		return
	}
	ttl, ok := c.ParseInt(c.Args[2])
	if !ok {
		return
	}
	if ttl < 0 {
		c.Error(errBadTTL)
		return
	}
	val, ok := VerifyDump(c.Args[3])
	if !ok {
		c.Error(errBadPayload)
		return
	}
	o, err := UnmarshalValue(val)
	if err != nil {
		c.Error(errBadFormat)
		return
	}
	deleted := false
	if replace {
		deleted = c.Delete(key)
	}
	if ttl != 0 && !absttl {
		ttl += c.Now
	}
	if ttl != 0 && ttl <= c.Now && !c.Replay {
		// Already expired: nothing is created; a replaced key is gone.
		if deleted {
			c.Emit(argDEL, key)
			c.Notify('g', "del", key)
		}
		c.OK()
		return
	}
	o.ExpireAt = ttl
	if idle >= 0 {
		clock := int64(c.KS.Clock())
		o.LRU = uint32(max(clock-idle, 0))
	}
	if freq >= 0 {
		o.LFU = uint8(freq)
	}
	c.Set(key, o, false)
	if idle >= 0 {
		o.LRU = uint32(max(int64(c.KS.Clock())-idle, 0)) // Set refreshed it
	}
	var tmp [20]byte
	c.Emit(argRESTORE, key, strconv.AppendInt(tmp[:0], ttl, 10), c.Args[3], argREPLACE, argABSTTL)
	c.Notify('g', "restore", key)
	c.OK()
}
