package keyspace

import (
	"fmt"
	"hash/maphash"
	"testing"
)

// TestDictScanGuarantee checks SCAN's contract while the table grows during the iteration: every key
// present for the whole scan is returned at least once.
func TestDictScanGuarantee(t *testing.T) {
	for _, initial := range []int{0, 10, 31, 33, 1000, 5000} {
		t.Run(fmt.Sprint(initial), func(t *testing.T) {
			d := newDict(maphash.MakeSeed())
			for i := 0; i < initial; i++ {
				d.set(fmt.Sprintf("old:%d", i), &Object{})
			}
			seen := map[string]bool{}
			var cursor uint64
			added := 0
			for steps := 0; ; steps++ {
				cursor = d.scan(cursor, func(o *Object) { seen[o.key] = true })
				// Grow the table between the first steps (forces resizes mid-iteration), then let it settle:
				// like Redis's, the scan ends once the table stops growing.
				for j := 0; j < 50 && steps < 300; j++ {
					d.set(fmt.Sprintf("new:%d", added), &Object{})
					added++
				}
				if cursor == 0 {
					break
				}
				if steps > 10_000_000 {
					t.Fatal("scan does not terminate")
				}
			}
			for i := 0; i < initial; i++ {
				if k := fmt.Sprintf("old:%d", i); !seen[k] {
					t.Fatalf("key %s present for the whole scan was not returned", k)
				}
			}
			if d.count != initial+added {
				t.Fatalf("count = %d, want %d", d.count, initial+added)
			}
		})
	}
}

func TestDictSetGetDel(t *testing.T) {
	d := newDict(maphash.MakeSeed())
	const n = 20000
	for i := 0; i < n; i++ {
		d.set(fmt.Sprint(i), &Object{LSN: uint64(i)})
	}
	for i := 0; i < n; i++ {
		o := d.getStr(fmt.Sprint(i))
		if o == nil || o.LSN != uint64(i) {
			t.Fatalf("get %d = %v", i, o)
		}
	}
	for i := 0; i < n; i += 2 {
		if d.del([]byte(fmt.Sprint(i))) == nil {
			t.Fatalf("del %d", i)
		}
	}
	if d.count != n/2 {
		t.Fatalf("count = %d", d.count)
	}
	total := 0
	d.forEach(func(*Object) bool { total++; return true })
	if total != n/2 {
		t.Fatalf("forEach saw %d", total)
	}
	seen := map[string]bool{}
	for i := 0; i < 20000 && len(seen) < 100; i++ {
		x := uint64(i) * 0x9e3779b97f4a7c15
		o := d.random(func() uint64 { x = x*6364136223846793005 + 1442695040888963407; return x >> 11 })
		if o == nil {
			t.Fatal("random on non-empty dict returned nothing")
		}
		seen[o.key] = true
	}
	if len(seen) < 100 {
		t.Fatalf("random returned only %d distinct keys", len(seen))
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		want   bool
	}{
		{"*", "anything", true}, {"h?llo", "hello", true}, {"h?llo", "hllo", false},
		{"h*llo", "heeeello", true}, {"h[ae]llo", "hallo", true}, {"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true}, {"h[^e]llo", "hello", false}, {"h[a-b]llo", "hbllo", true},
		{"h\\?llo", "h?llo", true}, {"h\\?llo", "hello", false}, {"user:*", "user:", true},
		{"*a*b*c*", "xaybzc", true}, {"[", "", false}, {"a*", "b", false},
	} {
		if got := Match([]byte(tc.pat), []byte(tc.s), false); got != tc.want {
			t.Errorf("Match(%q, %q) = %v", tc.pat, tc.s, got)
		}
	}
	if !Match([]byte("HELLO"), []byte("hello"), true) {
		t.Error("nocase match failed")
	}
}

func TestParseInt(t *testing.T) {
	for _, tc := range []struct {
		in  string
		n   int64
		bad bool
	}{
		{"0", 0, false}, {"-1", -1, false}, {"9223372036854775807", 9223372036854775807, false},
		{"-9223372036854775808", -9223372036854775808, false}, {"9223372036854775808", 0, true},
		{"01", 0, true}, {"+1", 0, true}, {" 1", 0, true}, {"", 0, true}, {"-", 0, true}, {"-0", 0, true},
		{"1.0", 0, true}, {"99999999999999999999", 0, true},
	} {
		n, err := ParseInt([]byte(tc.in))
		if (err != nil) != tc.bad || n != tc.n {
			t.Errorf("ParseInt(%q) = %d, %v", tc.in, n, err)
		}
	}
}

func TestEffectsRoundTrip(t *testing.T) {
	var e Effects
	e.AddStrings(0, "SET", "k", "v")
	e.Add(3, []byte("DEL"), []byte(""), []byte("x"))
	var got []string
	err := DecodeEffects(e.Buf, func(db int, args [][]byte) error {
		got = append(got, fmt.Sprintf("%d:%q", db, args))
		return nil
	})
	if err != nil || len(got) != 2 || got[0] != `0:["SET" "k" "v"]` || got[1] != `3:["DEL" "" "x"]` {
		t.Fatalf("decode = %v, %v", got, err)
	}
	for cut := 0; cut < len(e.Buf); cut++ {
		// Every truncation either decodes a prefix or fails cleanly; never panics.
		_ = DecodeEffects(e.Buf[:cut], func(int, [][]byte) error { return nil })
	}
}

// TestDictShrinkScan deletes most keys during a scan (forcing a shrink) and checks survivors are returned.
func TestDictShrinkScan(t *testing.T) {
	d := newDict(maphash.MakeSeed())
	for i := 0; i < 4000; i++ {
		d.set(fmt.Sprintf("k%d", i), &Object{})
	}
	seen := map[string]bool{}
	var cursor uint64
	deleted := 0
	for {
		cursor = d.scan(cursor, func(o *Object) { seen[o.key] = true })
		for j := 0; j < 40 && deleted < 3900; j++ {
			d.del([]byte(fmt.Sprintf("k%d", deleted)))
			deleted++
		}
		if cursor == 0 {
			break
		}
	}
	for i := 3900; i < 4000; i++ {
		if !seen[fmt.Sprintf("k%d", i)] {
			t.Fatalf("k%d present for the whole scan was not returned", i)
		}
	}
	if len(d.t0) > 1024 && d.t1 == nil {
		t.Fatalf("table did not shrink: %d buckets for %d keys", len(d.t0), d.count)
	}
}

// TestScanRankOrder checks what Object.ScanRank promises: a scan meets keys in increasing rank up to keys
// of one bucket, with the table stable and while it is being resized.
func TestScanRankOrder(t *testing.T) {
	for _, n := range []int{100, 5000, 100_000} {
		for _, resizing := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d/resizing=%v", n, resizing), func(t *testing.T) {
				d := newDict(maphash.MakeSeed())
				for i := 0; i < n; i++ {
					d.set(fmt.Sprintf("key:%d", i), &Object{})
				}
				for d.t1 != nil {
					d.step()
				}
				if resizing {
					// Grow until a resize starts, then move part of it.
					for i := 0; d.t1 == nil; i++ {
						d.set(fmt.Sprintf("more:%d", i), &Object{})
					}
					if d.moved == 0 {
						d.step()
					}
				}
				// Buckets are told apart by the small table's bits; keys of one bucket may come in any order.
				bits := 0
				for 1<<bits < len(d.t0) {
					bits++
				}
				bucket := func(o *Object) uint32 { return o.ScanRank() >> (32 - bits) }
				var prev *Object
				seen, descents := 0, 0
				cursor := uint64(0)
				for {
					cursor = d.scan(cursor, func(o *Object) {
						seen++
						if prev != nil && bucket(o) < bucket(prev) {
							descents++
						}
						prev = o
					})
					if cursor == 0 {
						break
					}
				}
				if seen != d.count {
					t.Fatalf("scan met %d keys, the dict holds %d", seen, d.count)
				}
				if descents != 0 {
					t.Fatalf("%d times a key of a lower-rank bucket came after a higher one", descents)
				}
			})
		}
	}
}

// TestDictPrefetch checks that prefetch only reads: over present and missing keys, chained buckets, cold,
// empty and non-string objects, and more keys than PrefetchMax, the dict holds the same objects afterwards.
func TestDictPrefetch(t *testing.T) {
	d := newDict(maphash.MakeSeed())
	want := map[string]*Object{}
	for i := 0; i < 5000; i++ {
		k := fmt.Sprintf("k%d", i)
		var o *Object
		switch i % 4 {
		case 0:
			o = NewString([]byte("value " + k))
		case 1:
			o = NewString(nil)
		case 2:
			o = NewString([]byte("cold"))
			o.SetCold(1, uint32(i))
		default:
			o = NewValue(TypeList, &List{})
		}
		d.set(k, o)
		want[k] = o
	}
	for _, n := range []int{0, 1, 2, PrefetchMax, 3 * PrefetchMax} {
		keys := make([][]byte, n)
		for i := range keys {
			if i%3 == 2 {
				keys[i] = []byte(fmt.Sprintf("missing%d", i))
			} else {
				keys[i] = []byte(fmt.Sprintf("k%d", (i*977)%5000))
			}
		}
		d.prefetch(keys)
	}
	if d.count != len(want) {
		t.Fatalf("count %d after prefetch, want %d", d.count, len(want))
	}
	for k, o := range want {
		if got := d.getStr(k); got != o {
			t.Fatalf("%s: object changed by prefetch", k)
		}
	}
}
