package keyspace

import (
	"strconv"
	"testing"
)

// FuzzBits runs the bitmap commands with arbitrary arguments and stored bytes: offsets, ranges, field types
// and values come from clients, so none may panic or index past a string.
func FuzzBits(f *testing.F) {
	f.Add([]byte("\xff\xf0\x00"), int64(7), int64(-3), int64(100), "i8", "#2", int64(-200), "BIT")
	f.Add([]byte(""), int64(0), int64(0), int64(-1), "u63", "0", int64(9223372036854775807), "BYTE")
	f.Add([]byte("foobar"), int64(4294967295), int64(-9223372036854775808), int64(9223372036854775807), "i64", "#0", int64(-1), "bit")
	f.Fuzz(func(t *testing.T, val []byte, off, start, end int64, typ, foff string, v int64, unit string) {
		c := benchCtx()
		run(c, []byte("SET"), []byte("s"), val)
		o, s, e, n := strconv.FormatInt(off&0xffff, 10), strconv.FormatInt(start, 10), strconv.FormatInt(end, 10), strconv.FormatInt(v, 10)
		for _, args := range [][]string{
			{"SETBIT", "s", o, "1"}, {"GETBIT", "s", strconv.FormatInt(off, 10)},
			{"BITCOUNT", "s", s, e}, {"BITCOUNT", "s", s, e, unit},
			{"BITPOS", "s", "0", s}, {"BITPOS", "s", "1", s, e}, {"BITPOS", "s", "0", s, e, unit},
			{"BITFIELD", "s", "GET", typ, foff, "SET", typ, o, n, "INCRBY", typ, foff, n},
			{"BITFIELD", "s", "OVERFLOW", "SAT", "INCRBY", typ, o, n, "OVERFLOW", "FAIL", "SET", typ, foff, n},
			{"BITFIELD_RO", "s", "GET", typ, foff},
			{"BITOP", "AND", "d", "s", "s"}, {"BITOP", "NOT", "d", "s"},
		} {
			b := make([][]byte, len(args))
			for i, a := range args {
				b[i] = []byte(a)
			}
			run(c, b...)
		}
	})
}
