package server_test

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file tests the HyperLogLog commands over real TCP against Debian's redis-server: exact replies,
// and the HLL strings themselves (GET), which must be Redis's bytes in the sparse and dense encodings.

// hllHeader builds a 16-byte HLL header with the given encoding and cached cardinality bytes.
func hllHeader(enc byte, card string) string {
	return "HYLL" + string([]byte{enc, 0, 0, 0}) + card
}

// hllEdgeCases are scripts run on a flushed data set; each line is a command (split by hlsSplit unless
// it is given as a []string in hllBinaryCases).
var hllEdgeCases = [][]string{
	// PFADD return values, the cached cardinality and its stale bit.
	{"PFADD h a b c", "PFADD h a", "PFADD h", "GET h", "PFCOUNT h", "GET h", "PFCOUNT h", "PFADD h d", "GET h",
		"PFADD e", "GET e", "PFCOUNT e", "GET e", "PFCOUNT nokey", "EXISTS nokey", "PFCOUNT h e nokey", "GET h",
		"PFADD h2 c d e f", "PFCOUNT h h2", "PFCOUNT h2 h2", "PFADD h '' ' '", "PFCOUNT h", "GET h"},
	// PFMERGE into new and existing keys, with missing sources, a TTL kept, and wrong destinations.
	{"PFADD a 1 2 3", "PFADD b 3 4 5 6", "PFMERGE d a b", "GET d", "PFCOUNT d", "PFMERGE d", "GET d", "PFMERGE n",
		"GET n", "PFMERGE n nokey", "PFMERGE a b nokey", "GET a", "EXPIRE a 1000", "PFMERGE a b", "TTL a",
		"PFADD a 7", "TTL a", "SET s foo", "PFMERGE s a", "GET s", "PFMERGE d s", "GET d", "RPUSH l x", "PFMERGE l a",
		"PFMERGE d a l", "SET short HYLL", "PFMERGE short a", "PFMERGE a short", "PFMERGE s2", "EXISTS s2"},
	// Wrong types and strings that are not HLLs.
	{"SET s foo", "PFADD s a", "PFCOUNT s", "PFCOUNT s s", "PFCOUNT nokey s", "SET n 12345", "PFADD n x",
		"SADD set x", "PFADD set x", "PFCOUNT set", "PFCOUNT a set", "PFMERGE set", "HSET hash f v", "PFCOUNT hash",
		"SET hyll HYLL", "PFCOUNT hyll", "SET hdr HYLLxxxxxxxxxxxx", "PFCOUNT hdr"},
	// Arity and the debugging commands.
	{"PFADD", "PFCOUNT", "PFMERGE", "PFDEBUG", "PFDEBUG getreg", "PFDEBUG getreg a b", "PFSELFTEST x",
		"PFADD h x y z", "PFDEBUG encoding h", "PFDEBUG decode h", "PFDEBUG ENCODING h", "PFDEBUG foo h",
		"PFDEBUG foo nokey", "PFDEBUG todense h", "PFDEBUG todense h", "PFDEBUG encoding h", "PFDEBUG decode h",
		"PFCOUNT h", "STRLEN h", "PFADD g q", "PFDEBUG getreg g", "PFDEBUG encoding g", "SET s v",
		"PFDEBUG encoding s", "LPUSH l x", "PFDEBUG encoding l", "PFSELFTEST"},
	// CONFIG SET hll-sparse-max-bytes moves the promotion to dense (and is set back: it is process-wide).
	{"CONFIG SET hll-sparse-max-bytes 30", "PFADD h a b c d", "PFDEBUG encoding h", "PFADD h e f g h i j k l", "GET h",
		"PFDEBUG encoding h", "CONFIG GET hll-sparse-max-bytes", "CONFIG SET hll-sparse-max-bytes -1",
		"CONFIG SET hll-sparse-max-bytes 3000", "PFADD g a b c d e f g h i j k l", "PFDEBUG encoding g"},
}

// hllBinaryCases hold HLL strings built byte by byte: corrupted, invalid and dense ones.
func hllBinaryCases() [][][]string {
	xzero100 := "\x40\x63" // XZERO:100, a sparse encoding covering 100 of the 16384 registers
	denseZero := hllHeader(0, "\x00\x00\x00\x00\x00\x00\x00\x00") + strings.Repeat("\x00", 12288)
	return [][][]string{
		// A corrupted sparse HLL: e70 and e169 hash to registers 55 and 90, "a" past the 100th.
		{{"SET", "c", hllHeader(1, "\x00\x00\x00\x00\x00\x00\x00\x80") + xzero100}, {"PFCOUNT", "c"},
			{"PFCOUNT", "c", "nokey"}, {"PFMERGE", "d", "c"}, {"EXISTS", "d"}, {"PFADD", "c", "e70", "e169", "a"},
			{"GET", "c"}, {"PFADD", "c", "e213"}, {"GET", "c"}, {"PFDEBUG", "decode", "c"}, {"PFDEBUG", "getreg", "c"},
			{"PFDEBUG", "todense", "c"}, {"GET", "c"}},
		// A valid cached cardinality is trusted whatever the registers say.
		{{"SET", "c", hllHeader(1, "\x07\x00\x00\x00\x00\x00\x00\x00") + xzero100}, {"PFCOUNT", "c"},
			{"PFCOUNT", "c", "c"}, {"SET", "c2", hllHeader(1, "\xff\xff\xff\xff\xff\xff\xff\x7f") + "\x7f\xff"},
			{"PFCOUNT", "c2"}, {"PFADD", "c2", "x"}, {"PFCOUNT", "c2"}, {"GET", "c2"}},
		// Invalid headers: encoding, magic, dense length.
		{{"SET", "x", hllHeader(2, "\x00\x00\x00\x00\x00\x00\x00\x00") + "\x7f\xff"}, {"PFADD", "x", "a"},
			{"SET", "x", "HYLX" + hllHeader(1, "\x00\x00\x00\x00\x00\x00\x00\x00")[4:] + "\x7f\xff"}, {"PFCOUNT", "x"},
			{"SET", "x", denseZero[:len(denseZero)-1]}, {"PFCOUNT", "x"}, {"SET", "x", denseZero + "\x00"},
			{"PFMERGE", "y", "x"}, {"SET", "x", hllHeader(1, "")}, {"PFCOUNT", "x"}},
		// Dense HLLs: added to, counted (cached), merged into a sparse destination (which turns dense).
		{{"SET", "d", denseZero}, {"PFCOUNT", "d"}, {"PFADD", "d", "a", "b", "c"}, {"GET", "d"}, {"PFCOUNT", "d"},
			{"GET", "d"}, {"PFADD", "s", "x", "a"}, {"PFMERGE", "s", "d"}, {"GET", "s"}, {"PFCOUNT", "s", "d"},
			{"PFMERGE", "n", "s"}, {"GET", "n"}, {"PFDEBUG", "encoding", "n"}},
		// A sparse HLL with the zero run split at the end, and XZERO opcodes of every length.
		{{"SET", "z", hllHeader(1, "\x00\x00\x00\x00\x00\x00\x00\x80") + "\x7f\xfe\x00"}, {"PFADD", "z", "e70"},
			{"GET", "z"}, {"PFCOUNT", "z"}, {"SET", "z", hllHeader(1, "\x00\x00\x00\x00\x00\x00\x00\x80") + "\x00\x7f\xfe"},
			{"PFADD", "z", "a", "e366"}, {"GET", "z"}, {"PFCOUNT", "z"}},
	}
}

func TestHLLEdgeCases(t *testing.T) {
	redisAddr := hlsStartRedis(t)
	srv := start(t)
	var scripts [][][]string
	for _, script := range hllEdgeCases {
		var s [][]string
		for _, line := range script {
			s = append(s, []string{line})
		}
		scripts = append(scripts, s)
	}
	scripts = append(scripts, hllBinaryCases()...)
	for _, proto := range []string{"2", "3"} {
		kv, rd := hlsDial(t, srv.Addr()), hlsDial(t, redisAddr)
		for _, c := range []*hlsConn{kv, rd} {
			c.do(t, "HELLO", proto)
		}
		for n, script := range scripts {
			kv.do(t, "FLUSHALL")
			rd.do(t, "FLUSHALL")
			for _, args := range script {
				sorted := false
				show := strings.Join(args, " ")
				if len(args) == 1 {
					sorted = strings.HasPrefix(args[0], "~")
					args = hlsSplit(strings.TrimPrefix(args[0], "~"))
				}
				a, b := hlsExact(kv.do(t, args...), sorted), hlsExact(rd.do(t, args...), sorted)
				if a != b {
					if len(show) > 200 {
						show = show[:200] + "..."
					}
					t.Errorf("RESP%s script %d: %q\n  kvlab:        %.400q\n  redis-server: %.400q", proto, n, show, a, b)
				}
			}
		}
	}
}

// TestHLLCommandInfo compares what COMMAND INFO says of the HLL commands up to the ACL categories: name,
// arity, flags, key positions (kvlab's key specs are compared by acl's own tests).
func TestHLLCommandInfo(t *testing.T) {
	redisAddr := hlsStartRedis(t)
	srv := start(t)
	kv, rd := hlsDial(t, srv.Addr()), hlsDial(t, redisAddr)
	for _, name := range []string{"pfadd", "pfcount", "pfmerge", "pfdebug", "pfselftest"} {
		a, b := kv.do(t, "COMMAND", "INFO", name), rd.do(t, "COMMAND", "INFO", name)
		if len(a.Elems) != 1 || len(b.Elems) != 1 || len(a.Elems[0].Elems) < 7 || len(b.Elems[0].Elems) < 7 {
			t.Fatalf("%s: kvlab %s, redis-server %s", name, hlsExact(a, false), hlsExact(b, false))
		}
		for i := 0; i < 7; i++ {
			if x, y := hlsExact(a.Elems[0].Elems[i], false), hlsExact(b.Elems[0].Elems[i], false); x != y {
				t.Errorf("%s field %d: kvlab %s, redis-server %s", name, i, x, y)
			}
		}
	}
}

// TestHLLValueFromRedis checks that an HLL written by Redis (copied with GET/SET) works in kvlab, sparse
// and dense, and that kvlab's DUMP/RESTORE keeps the bytes. (kvlab's DUMP payloads are its own format, not
// Redis's RDB encoding, so payloads do not cross between the two servers.)
func TestHLLValueFromRedis(t *testing.T) {
	redisAddr := hlsStartRedis(t)
	srv := start(t)
	kv, rd := hlsDial(t, srv.Addr()), hlsDial(t, redisAddr)
	kv.do(t, "FLUSHALL")
	rd.do(t, "FLUSHALL")
	for _, n := range []int{10, 3000} {
		args := []string{"PFADD", "src"}
		for i := 0; i < n; i++ {
			args = append(args, "v"+strconv.Itoa(i))
		}
		rd.do(t, "DEL", "src")
		rd.do(t, args...)
		val := string(rd.do(t, "GET", "src").Str)
		kv.do(t, "SET", "viaset", val)
		dump := string(kv.do(t, "DUMP", "viaset").Str)
		if v := kv.do(t, "RESTORE", "viadump", "0", dump, "REPLACE"); v.Kind == '-' {
			t.Fatalf("RESTORE: %s", v.Str)
		}
		if got := string(kv.do(t, "GET", "viadump").Str); got != val {
			t.Fatalf("%d elements: DUMP/RESTORE changed the bytes", n)
		}
		for _, key := range []string{"viaset", "viadump"} {
			if a, b := kv.do(t, "PFCOUNT", key).Int, rd.do(t, "PFCOUNT", "src").Int; a != b {
				t.Fatalf("%d elements, %s: PFCOUNT %d, Redis %d", n, key, a, b)
			}
			kv.do(t, "PFADD", key, "extra1", "extra2")
		}
		rd.do(t, "PFADD", "src", "extra1", "extra2")
		want := string(rd.do(t, "GET", "src").Str)
		for _, key := range []string{"viaset", "viadump"} {
			if got := string(kv.do(t, "GET", key).Str); got != want {
				t.Fatalf("%d elements, %s: bytes differ from Redis's after PFADD", n, key)
			}
		}
	}
}

// TestHLLDifferential adds random elements in batches to several keys on kvlab and redis-server,
// comparing every PFADD, PFCOUNT and PFMERGE reply and, regularly and at the end, the HLL strings.
func TestHLLDifferential(t *testing.T) {
	redisAddr := hlsStartRedis(t)
	srv := start(t)
	seed := *hlsSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -hls.seed=%d)", seed, seed)
	total := 50000
	if testing.Short() {
		total = 8000
	}
	keys := []string{"k0", "k1", "k2", "k3", "k4"}
	for _, proto := range []string{"2", "3"} {
		t.Run("resp"+proto, func(t *testing.T) {
			kv, rd := hlsDial(t, srv.Addr()), hlsDial(t, redisAddr)
			for _, c := range []*hlsConn{kv, rd} {
				c.do(t, "HELLO", proto)
				c.do(t, "FLUSHALL")
			}
			r := rand.New(rand.NewPCG(seed, uint64(proto[0])))
			var history []string
			check := func(args ...string) {
				a, b := hlsExact(kv.do(t, args...), false), hlsExact(rd.do(t, args...), false)
				line := strings.Join(args, " ")
				if len(line) > 120 {
					line = line[:120] + "..."
				}
				history = append(history, line)
				if a != b {
					if len(history) > 20 {
						history = history[len(history)-20:]
					}
					t.Fatalf("seed %d: %q\n  kvlab:        %.300q\n  redis-server: %.300q\nlast commands:\n  %s", seed,
						line, a, b, strings.Join(history, "\n  "))
				}
			}
			element := func() string {
				switch r.IntN(4) {
				case 0: // binary, every tail length of the hash
					b := make([]byte, r.IntN(40))
					for i := range b {
						b[i] = byte(r.IntN(256))
					}
					return string(b)
				case 1: // small domain: repeats that change nothing
					return "e" + strconv.Itoa(r.IntN(500))
				default:
					return strconv.FormatUint(r.Uint64(), 36)
				}
			}
			added := 0
			for step := 0; added < total; step++ {
				// Key sizes differ: k0 stays small (sparse), k4 gets most of the elements (dense).
				key := keys[min(r.IntN(len(keys))+r.IntN(3), len(keys)-1)]
				n := 1 + r.IntN(60)
				if key == "k0" {
					n = 1 + r.IntN(3)
				}
				args := []string{"PFADD", key}
				for i := 0; i < n; i++ {
					args = append(args, element())
				}
				added += n
				check(args...)
				switch r.IntN(8) {
				case 0, 1, 2:
					check("PFCOUNT", keys[r.IntN(len(keys))])
				case 3:
					check("PFCOUNT", keys[r.IntN(len(keys))], keys[r.IntN(len(keys))], "nokey")
				case 4:
					if r.IntN(4) == 0 {
						src := keys[r.IntN(len(keys))]
						dst := "m" + strconv.Itoa(r.IntN(3))
						if r.IntN(3) == 0 {
							dst = "k1" // merge into a small key, possibly promoting it
						}
						check("PFMERGE", dst, src, keys[r.IntN(len(keys))])
						check("PFCOUNT", dst)
					}
				case 5:
					check("GET", keys[r.IntN(len(keys))])
				}
			}
			for _, key := range append(keys, "m0", "m1", "m2") {
				check("GET", key)
				check("PFCOUNT", key)
				check("GET", key)
			}
			check(append([]string{"PFCOUNT"}, keys...)...)
			encodings := map[string]bool{}
			for _, key := range keys {
				encodings[string(rd.do(t, "PFDEBUG", "encoding", key).Str)] = true
			}
			if !encodings["sparse"] || !encodings["dense"] {
				t.Fatalf("weak run: encodings reached %v", encodings)
			}
		})
	}
}
