package server_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// This file tests bitmap commands and INCRBYFLOAT over real TCP against Debian's redis-server: exact
// replies of edge cases in both protocols, and a randomized differential run of bit operations.

// strEdgeCases are command scripts whose every reply must be byte-for-byte Redis's (see hlsEdgeCases for the
// notation). BITCOUNT and BITPOS on a missing key with invalid arguments are left out: Redis 7.0 (the
// Debian server) answers 0 there, 7.2 (which kvlab follows) an error.
var strEdgeCases = [][]string{
	// INCRBYFLOAT computes in long double, as HINCRBYFLOAT.
	{"SET f 3.0e3", "INCRBYFLOAT f 0.1", "GET f", "INCRBYFLOAT f 0.2", "INCRBYFLOAT f -3000.3", "INCRBYFLOAT n 10.50",
		"INCRBYFLOAT n 1e400", "INCRBYFLOAT n -1e400", "INCRBYFLOAT n 1e5000", "INCRBYFLOAT n inf", "INCRBYFLOAT n -inf",
		"INCRBYFLOAT n nan", "INCRBYFLOAT n abc", "INCRBYFLOAT n ' 1'", "INCRBYFLOAT n '1 '", "INCRBYFLOAT n ''",
		"INCRBYFLOAT n 0x10", "INCRBYFLOAT n 1e-5000", "GET n", "SET e ' 5'", "INCRBYFLOAT e 1", "SET i 10",
		"INCRBYFLOAT i 0.5", "INCRBYFLOAT i 3.0000000000000000001", "SET big 1e4000", "INCRBYFLOAT big 1",
		"INCRBYFLOAT big 1e4000", "INCRBYFLOAT big 1e4000", "RPUSH l a", "INCRBYFLOAT l abc", "INCRBYFLOAT l 1",
		"INCRBYFLOAT z -0.0", "GET z", "INCRBYFLOAT", "INCRBYFLOAT a b c"},
	// SETBIT and GETBIT.
	{"SETBIT b 7 1", "SETBIT b 7 1", "GET b", "SETBIT b 7 0", "GET b", "SETBIT b 100 0", "STRLEN b", "GETBIT b 7",
		"GETBIT b 6", "GETBIT b 99999", "GETBIT nokey 0", "SETBIT b 7 2", "SETBIT b 7 -1", "SETBIT b 7 x", "SETBIT b -1 1",
		"SETBIT b x 1", "SETBIT b 4294967296 1", "SETBIT b 4294967295x 1", "GETBIT b -1", "GETBIT b 4294967296",
		"GETBIT b x", "SETBIT b 01 1", "SETBIT b +1 1", "RPUSH l a", "SETBIT l 0 1", "GETBIT l 0", "SETBIT b", "GETBIT b",
		"SET s a", "SETBIT s 6 1", "GET s", "SETBIT s 15 1", "GET s", "SET n 12", "SETBIT n 5 0", "GET n"},
	// BITCOUNT.
	{"SET s foobar", "BITCOUNT s", "BITCOUNT s 0 0", "BITCOUNT s 1 1", "BITCOUNT s 1 1 BYTE", "BITCOUNT s 5 30 BIT",
		"BITCOUNT s 5 30 bit", "BITCOUNT s 0 -1", "BITCOUNT s -2 -1", "BITCOUNT s -1 -2", "BITCOUNT s 3 1", "BITCOUNT s 100 200",
		"BITCOUNT s -100 -50", "BITCOUNT s -100 100", "BITCOUNT s 0 -1 BIT", "BITCOUNT s -9 -1 BIT", "BITCOUNT s 7 7 BIT",
		"BITCOUNT s 0", "BITCOUNT s 0 1 BYTES", "BITCOUNT s a 1", "BITCOUNT s 0 b", "BITCOUNT s 0 1 BIT x",
		"BITCOUNT nokey", "BITCOUNT nokey 0 -1", "BITCOUNT nokey 0 -1 BIT", "RPUSH l a", "BITCOUNT l", "BITCOUNT l 0 1",
		"SET e ''", "BITCOUNT e", "BITCOUNT e 0 -1", "BITCOUNT e 0 -1 BIT", "SET n 255", "BITCOUNT n", "BITCOUNT"},
	// BITPOS.
	{"SET s '\xff\xf0\x00'", "BITPOS s 0", "BITPOS s 1", "BITPOS s 0 2", "BITPOS s 1 2", "BITPOS s 1 2 -1", "BITPOS s 0 0 0",
		"BITPOS s 0 0 1", "BITPOS s 0 0 -1", "BITPOS s 1 -1", "BITPOS s 0 7 15 BIT", "BITPOS s 1 7 15 BIT", "BITPOS s 0 12 15 BIT",
		"BITPOS s 1 12 15 BIT", "BITPOS s 0 3 3 BIT", "BITPOS s 1 3 3 BIT", "BITPOS s 0 -8 -1 BIT", "BITPOS s 1 -8 -1 BIT",
		"BITPOS s 0 100", "BITPOS s 1 100", "BITPOS s 0 5 2", "BITPOS s 1 0 -100", "BITPOS s 2", "BITPOS s -1",
		"BITPOS s x", "BITPOS s 1 x", "BITPOS s 1 0 x", "BITPOS s 1 0 1 BITS", "BITPOS s 1 0 1 BIT x", "BITPOS nokey 0",
		"BITPOS nokey 1", "BITPOS nokey 0 5", "BITPOS nokey 1 0 -1 BIT", "SET ones '\xff\xff'", "BITPOS ones 0", "BITPOS ones 0 0",
		"BITPOS ones 0 0 -1", "BITPOS ones 0 0 15 BIT", "BITPOS ones 1", "SET zeros '\x00\x00'", "BITPOS zeros 1",
		"BITPOS zeros 0", "BITPOS zeros 1 0 -1 BIT", "SET e ''", "BITPOS e 0", "BITPOS e 1", "BITPOS e 0 0 -1",
		"RPUSH l a", "BITPOS l 0", "BITPOS"},
	// BITOP.
	{"SET a '\x0f\xf0'", "SET b '\xff'", "BITOP AND d a b", "GET d", "BITOP OR d a b", "GET d", "BITOP XOR d a b", "GET d",
		"BITOP NOT d a", "GET d", "BITOP and d a nokey", "GET d", "BITOP or d nokey a", "GET d", "BITOP NOT d a b",
		"BITOP NOT d", "BITOP NAND d a b", "BITOP AND d nokey1 nokey2", "EXISTS d", "SET d x", "EXPIRE d 100",
		"BITOP OR d a", "TTL d", "RPUSH l x", "BITOP AND d a l", "BITOP OR l a", "TYPE l", "SET d x",
		"BITOP XOR d nokey", "EXISTS d", "SET e ''", "BITOP OR d e e", "EXISTS d", "BITOP AND d", "BITOP"},
	// BITFIELD and BITFIELD_RO.
	{"BITFIELD bf SET i8 0 100 GET u4 0 INCRBY i8 0 100", "GET bf", "BITFIELD bf GET i64 0", "BITFIELD bf GET u63 0",
		"BITFIELD bf GET u64 0", "BITFIELD bf GET i65 0", "BITFIELD bf GET i0 0", "BITFIELD bf GET I8 0", "BITFIELD bf GET x8 0",
		"BITFIELD bf GET i 0", "BITFIELD bf GET u8 -1", "BITFIELD bf GET u8 x", "BITFIELD bf GET u8 #1", "BITFIELD bf GET u8 #-1",
		"BITFIELD bf GET u8 #x", "BITFIELD bf GET u8 '#'", "BITFIELD bf GET u8 4294967295", "BITFIELD bf GET u8 4294967296",
		"BITFIELD bf SET u8 #536870912 1", "BITFIELD bf GET u8", "BITFIELD bf SET u8 0", "BITFIELD bf INCRBY u8 0",
		"BITFIELD bf FOO", "BITFIELD bf OVERFLOW", "BITFIELD bf OVERFLOW NONE GET u8 0", "BITFIELD bf SET u8 0 x",
		"BITFIELD bf INCRBY u8 0 1.5", "BITFIELD bf", "BITFIELD nokey GET u8 0", "EXISTS nokey",
		"BITFIELD c OVERFLOW WRAP INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 102 5 OVERFLOW FAIL INCRBY u2 104 5",
		"BITFIELD c OVERFLOW wrap INCRBY u2 100 1 OVERFLOW sat INCRBY u2 102 5 OVERFLOW fail INCRBY u2 104 5", "GET c",
		"BITFIELD s SET i8 0 127 INCRBY i8 0 1 OVERFLOW SAT INCRBY i8 0 1 INCRBY i8 0 -300 OVERFLOW FAIL INCRBY i8 0 -1",
		"BITFIELD s SET u8 8 -1 SET i8 16 200 SET i8 24 -200 OVERFLOW SAT SET u8 32 -1 SET i8 40 200 SET i8 48 -200",
		"BITFIELD s OVERFLOW FAIL SET u8 56 256 SET i8 64 128 SET u8 72 255", "GET s",
		"BITFIELD w SET i64 0 9223372036854775807 INCRBY i64 0 1 OVERFLOW SAT INCRBY i64 0 9223372036854775807",
		"BITFIELD w SET i64 0 -9223372036854775808 INCRBY i64 0 -1 OVERFLOW SAT INCRBY i64 0 -1 OVERFLOW FAIL INCRBY i64 0 -1",
		"BITFIELD w SET u63 0 9223372036854775807 INCRBY u63 0 1 OVERFLOW SAT INCRBY u63 0 -1 INCRBY u63 0 -9223372036854775808",
		"BITFIELD w SET i5 3 -16 GET i5 3 GET u5 3 GET i64 1 GET u63 1 INCRBY i5 3 -1 OVERFLOW SAT INCRBY u1 4 7",
		"BITFIELD f OVERFLOW FAIL INCRBY u8 0 300", "GET f", "BITFIELD_RO bf GET u8 0 GET i4 #1", "BITFIELD_RO nokey GET u8 0",
		"BITFIELD_RO bf SET u8 0 1", "BITFIELD_RO bf INCRBY u8 0 1", "BITFIELD_RO bf OVERFLOW SAT GET u8 0",
		"BITFIELD_RO bf GET u8", "RPUSH l a", "BITFIELD l GET u8 0", "BITFIELD l SET u8 0 1", "BITFIELD_RO l GET u8 0",
		"BITFIELD l FOO", "SET n 1234", "BITFIELD n GET u16 0 SET u8 0 65", "GET n"},
}

func init() {
	// Long strings: BITCOUNT and BITPOS across whole 8-byte words and their edges.
	long := strings.Repeat("\x00", 37) + "\x08" + strings.Repeat("\xff", 40) + "\x7f"
	strEdgeCases = append(strEdgeCases, []string{"SET L '" + long + "'", "BITCOUNT L", "BITCOUNT L 3 60", "BITCOUNT L 301 620 BIT",
		"BITPOS L 1", "BITPOS L 0 38", "BITPOS L 0 38 78", "BITPOS L 0 38 -2", "BITPOS L 1 300 303 BIT", "BITPOS L 0 304 630 BIT",
		"BITPOS L 0 304 631 BIT", "BITPOS L 0 38", "SETBIT L 1000 1", "BITCOUNT L", "BITPOS L 1 79", "BITOP NOT N L", "BITCOUNT N",
		"BITPOS N 0", "BITPOS N 1 2"})
}

// TestStringEdgeCases runs strEdgeCases against kvlab and redis-server in RESP2 and RESP3.
func TestStringEdgeCases(t *testing.T) { compareScripts(t, strEdgeCases) }

// TestBitmapRedis72: BITCOUNT and BITPOS check their arguments before looking at the key, as Redis 7.2
// does, so a missing key does not hide a syntax error.
func TestBitmapRedis72(t *testing.T) {
	kv := hlsDial(t, start(t).Addr())
	for cmd, want := range map[string]string{
		"BITCOUNT nokey 0":           "-ERR syntax error",
		"BITCOUNT nokey 0 1 FOO":     "-ERR syntax error",
		"BITCOUNT nokey x 1":         "-ERR value is not an integer or out of range",
		"BITPOS nokey 1 0 1 FOO":     "-ERR syntax error",
		"BITPOS nokey 2":             "-ERR The bit argument must be 1 or 0.",
		"BITPOS nokey 1 x":           "-ERR value is not an integer or out of range",
		"BITPOS nokey 1 0 1 BIT 9":   "-ERR syntax error",
		"BITCOUNT nokey 0 -1 BIT":    ":0",
		"BITPOS nokey 0 0 -1 BIT":    ":0",
		"BITFIELD_RO nokey GET i8 0": "*[:0]",
	} {
		if got := hlsExact(kv.do(t, hlsSplit(cmd)...), false); got != want {
			t.Errorf("%s = %s, want %s", cmd, got, want)
		}
	}
}

// TestBitmapDifferential runs random bit commands on a few keys against kvlab and redis-server and compares
// every reply, then the final strings.
func TestBitmapDifferential(t *testing.T) {
	redisAddr := hlsStartRedis(t)
	kv, rd := hlsDial(t, start(t).Addr()), hlsDial(t, redisAddr)
	rng := rand.New(rand.NewPCG(7, 11))
	keys := []string{"a", "b", "c"}
	key := func() string { return keys[rng.IntN(len(keys))] }
	off := func() int64 { return rng.Int64N(200) - 20 }
	types := []string{"u1", "u3", "u8", "u13", "u32", "u63", "i1", "i4", "i8", "i17", "i32", "i64"}
	unit := func() []string {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{"BYTE"}
		}
		return []string{"BIT"}
	}
	for i := 0; i < 4000; i++ {
		var cmd []string
		switch rng.IntN(8) {
		case 0, 1:
			cmd = []string{"SETBIT", key(), fmt.Sprint(rng.Int64N(300)), fmt.Sprint(rng.IntN(2))}
		case 2:
			cmd = []string{"GETBIT", key(), fmt.Sprint(rng.Int64N(300))}
		case 3:
			cmd = append([]string{"BITCOUNT", key(), fmt.Sprint(off()), fmt.Sprint(off())}, unit()...)
		case 4:
			cmd = []string{"BITPOS", key(), fmt.Sprint(rng.IntN(2))}
			switch rng.IntN(3) {
			case 1:
				cmd = append(cmd, fmt.Sprint(off()))
			case 2:
				cmd = append(append(cmd, fmt.Sprint(off()), fmt.Sprint(off())), unit()...)
			}
		case 5:
			ops := []string{"AND", "OR", "XOR", "NOT"}
			op := ops[rng.IntN(4)]
			cmd = []string{"BITOP", op, key(), key()}
			if op != "NOT" {
				cmd = append(cmd, key())
			}
		default:
			cmd = []string{"BITFIELD", key()}
			for range 1 + rng.IntN(3) {
				typ := types[rng.IntN(len(types))]
				o := fmt.Sprint(rng.Int64N(150))
				if rng.IntN(4) == 0 {
					o = fmt.Sprint("#", rng.IntN(5))
				}
				switch rng.IntN(4) {
				case 0:
					cmd = append(cmd, "GET", typ, o)
				case 1:
					cmd = append(cmd, "SET", typ, o, fmt.Sprint(rng.Int64()-rng.Int64()))
				case 2:
					cmd = append(cmd, "INCRBY", typ, o, fmt.Sprint(rng.Int64N(1000)-500))
				default:
					cmd = append(cmd, "OVERFLOW", []string{"WRAP", "SAT", "FAIL"}[rng.IntN(3)], "INCRBY", typ, o,
						fmt.Sprint(rng.Int64()>>rng.IntN(63)))
				}
			}
		}
		a, b := hlsExact(kv.do(t, cmd...), false), hlsExact(rd.do(t, cmd...), false)
		if a != b {
			t.Fatalf("step %d: %q\n  kvlab:        %s\n  redis-server: %s", i, cmd, a, b)
		}
	}
	for _, k := range keys {
		if a, b := hlsExact(kv.do(t, "GET", k), false), hlsExact(rd.do(t, "GET", k), false); a != b {
			t.Fatalf("GET %s:\n  kvlab:        %s\n  redis-server: %s", k, a, b)
		}
	}
}
