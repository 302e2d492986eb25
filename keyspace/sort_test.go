package keyspace

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestSortStoreReplay checks that SORT ... STORE is logged as its result (DEL + RPUSH, or DEL alone for an
// empty result) so that replaying the effects rebuilds the destination without reading the source or the
// BY/GET keys, and that SORT without STORE, SORT_RO and LCS log nothing.
func TestSortStoreReplay(t *testing.T) {
	h := newZXHarness(t)
	for _, cmd := range [][]string{
		{"RPUSH", "l", "3", "1", "2"},
		{"SADD", "s", "b", "a", "c"},
		{"ZADD", "z", "1", "x", "2", "y"},
		{"MSET", "w_1", "9", "w_2", "8", "w_3", "7", "o_1", "one"},
		{"SET", "k1", "ohmytext"},
		{"SET", "k2", "mynewtext"},
	} {
		h.do(cmd...)
	}
	before := len(h.log)
	for _, cmd := range [][]string{
		{"SORT", "l"}, {"SORT_RO", "l", "BY", "w_*"}, {"SORT", "l", "GET", "o_*"}, {"LCS", "k1", "k2", "IDX"},
		{"SORT", "l", "STORE"}, // a syntax error
	} {
		h.do(cmd...)
	}
	if len(h.log) != before {
		t.Fatalf("reads logged %d records", len(h.log)-before)
	}
	for _, cmd := range [][]string{
		{"SET", "d1", "old"},
		{"SORT", "l", "BY", "w_*", "GET", "#", "GET", "o_*", "STORE", "d1"},
		{"SORT", "s", "BY", "nosort", "STORE", "d2"},
		{"SORT", "z", "BY", "nosort", "DESC", "STORE", "d3"},
		{"SORT", "l", "LIMIT", "0", "0", "STORE", "d4"},
		{"SET", "d5", "x"},
		{"SORT", "nokey", "STORE", "d5"},
		{"SORT", "l", "STORE", "l"},
	} {
		h.do(cmd...)
	}
	// Change the inputs: the replay must not depend on them.
	h.do("DEL", "w_1", "o_1")
	replayed := h.replay()
	for _, k := range []string{"d1", "d2", "d3", "l"} {
		a, b := h.ks.DB(0).Peek([]byte(k)), replayed.DB(0).Peek([]byte(k))
		if a == nil || b == nil || !bytes.Equal(MarshalValue(nil, a), MarshalValue(nil, b)) {
			t.Fatalf("key %s differs after replay", k)
		}
	}
	for _, k := range []string{"d4", "d5"} {
		if h.ks.DB(0).Peek([]byte(k)) != nil || replayed.DB(0).Peek([]byte(k)) != nil {
			t.Fatalf("key %s exists", k)
		}
	}
	got := func(k string) string {
		l := h.ks.DB(0).Peek([]byte(k)).Val().(*List)
		var out []string
		for i := 0; i < l.Len(); i++ {
			out = append(out, l.At(i))
		}
		return strings.Join(out, ",")
	}
	for k, want := range map[string]string{"d1": "3,,2,,1,one", "d2": "a,b,c", "d3": "y,x", "l": "1,2,3"} {
		if g := got(k); g != want {
			t.Errorf("%s = %q, want %q", k, g, want)
		}
	}
}

// TestSortRangeErrors covers values strtod parses with ERANGE, which redis-server cannot be compared on:
// its check reads errno without clearing it first, so once a conversion has overflowed, later SORTs of
// non-integer strings fail too.
func TestSortRangeErrors(t *testing.T) {
	h := newZXHarness(t)
	h.do("RPUSH", "big", "1", "1e400")
	h.do("RPUSH", "tiny", "1", "1e-400")
	h.do("RPUSH", "l", "1", "2")
	h.do("SET", "w_1", "-1e999")
	for _, cmd := range [][]string{{"SORT", "big"}, {"SORT", "tiny"}, {"SORT", "l", "BY", "w_*"}} {
		if v := h.do(cmd...); v.Kind != '-' || string(v.Str) != "ERR One or more scores can't be converted into double" {
			t.Errorf("%q = %c %q", cmd, v.Kind, v.Str)
		}
	}
	if v := h.do("SORT", "big", "ALPHA"); len(v.Elems) != 2 {
		t.Errorf("SORT big ALPHA = %v", v)
	}
}

// TestPQSort checks the port of Redis's partial quicksort: the elements lo..hi are those of a full sort.
func TestPQSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cmp := sortComparator(false, false, false, false)
	for iter := 0; iter < 2000; iter++ {
		n := 1 + r.IntN(120)
		v := make([]sortItem, n)
		for i := range v {
			x := r.IntN(1 + r.IntN(50))
			v[i] = sortItem{obj: fmt.Sprint(x), score: float64(x)}
		}
		want := slices.Clone(v)
		slices.SortStableFunc(want, func(a, b sortItem) int { return cmp(&a, &b) })
		lo := r.IntN(n)
		hi := lo + r.IntN(n-lo)
		pqsort(v, cmp, lo, hi)
		for i := lo; i <= hi; i++ {
			if v[i].obj != want[i].obj {
				t.Fatalf("n=%d lo=%d hi=%d: element %d is %s, want %s", n, lo, hi, i, v[i].obj, want[i].obj)
			}
		}
	}
}

// BenchmarkSortBy sorts 1,000 list elements by external weight keys and GETs a field of each
// (SORT ids BY w_* GET o_*->name).
func BenchmarkSortBy(b *testing.B) {
	c := benchCtx()
	for i := 0; i < 1000; i++ {
		id := strconv.Itoa(i)
		run(c, []byte("RPUSH"), []byte("ids"), []byte(id))
		run(c, []byte("SET"), []byte("w_"+id), []byte(strconv.Itoa(i*7919%1000)))
		run(c, []byte("HSET"), []byte("o_"+id), []byte("name"), []byte("n"+id))
	}
	args := [][]byte{[]byte("SORT"), []byte("ids"), []byte("BY"), []byte("w_*"), []byte("GET"), []byte("o_*->name")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		run(c, args...)
	}
}
