package keyspace

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestStreamParseID(t *testing.T) {
	max := uint64(math.MaxUint64)
	for _, tc := range []struct {
		in        string
		missing   uint64
		strict    bool
		autoSeqOK bool
		want      streamID
		auto      bool
		ok        bool
	}{
		{"1-2", 0, true, false, streamID{1, 2}, false, true},
		{"5", 0, true, false, streamID{5, 0}, false, true},
		{"5", max, true, false, streamID{5, max}, false, true},
		{"-", 0, false, false, streamID{}, false, true},
		{"+", 0, false, false, streamID{max, max}, false, true},
		{"-", 0, true, false, streamID{}, false, false},
		{"5-*", 0, true, true, streamID{5, 0}, true, true},
		{"5-*", 0, true, false, streamID{}, false, false},
		{"18446744073709551615-18446744073709551615", 0, true, false, streamID{max, max}, false, true},
		{"18446744073709551616-0", 0, true, false, streamID{}, false, false},
		{"00012-3", 0, true, false, streamID{12, 3}, false, true}, // strtoull accepts leading zeros
		{"-1", 0, true, false, streamID{}, false, false},
		{"1-2-3", 0, true, false, streamID{}, false, false},
		{"", 0, true, false, streamID{}, false, false},
		{"x", 0, true, false, streamID{}, false, false},
		{strings.Repeat("1", 128), 0, true, false, streamID{}, false, false},
	} {
		id, auto, ok := streamParseID([]byte(tc.in), tc.missing, tc.strict, tc.autoSeqOK)
		if ok != tc.ok || ok && (id != tc.want || auto != tc.auto) {
			t.Errorf("streamParseID(%q) = %v %v %v, want %v %v %v", tc.in, id, auto, ok, tc.want, tc.auto, tc.ok)
		}
	}
}

// TestStreamNodeLayout checks the node boundaries against what Debian's redis-server 7.0 reports in
// XINFO STREAM radix-tree-keys for the same inserts: 150 small entries make 2 nodes (100 + 50), ten entries
// with a 1000-byte value make 3 (the 4096-byte listpack limit counts the new fields: 4 + 4 + 2).
func TestStreamNodeLayout(t *testing.T) {
	s := NewStream()
	for i := 1; i <= 150; i++ {
		s.appendEntry(streamID{uint64(i), 0}, [][]byte{[]byte("f"), []byte("v")})
	}
	if s.nodes.Len() != 2 {
		t.Fatalf("150 small entries: %d nodes, want 2", s.nodes.Len())
	}
	s = NewStream()
	big := bytes.Repeat([]byte("x"), 1000)
	for i := 1; i <= 10; i++ {
		s.appendEntry(streamID{uint64(i), 0}, [][]byte{[]byte("f"), big})
	}
	if s.nodes.Len() != 3 {
		t.Fatalf("ten 1000-byte entries: %d nodes, want 3", s.nodes.Len())
	}
	var sizes []int
	s.nodes.Scan(func(it streamNodeItem) bool {
		sizes = append(sizes, len(it.n.entries))
		if it.n.bytes != it.n.computeBytes() {
			t.Fatalf("incremental size %d != computed %d", it.n.bytes, it.n.computeBytes())
		}
		return true
	})
	if fmt.Sprint(sizes) != "[4 4 2]" {
		t.Fatalf("node sizes %v, want [4 4 2]", sizes)
	}
}

// TestStreamListpackSizes checks element sizes against listpack.c's encodings.
func TestStreamListpackSizes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"0", 2}, {"127", 2}, {"128", 3}, {"-1", 3}, {"4095", 3}, {"4096", 4}, {"-32768", 4}, {"32768", 5},
		{"8388608", 6}, {"2147483648", 10}, {"01", 4}, {"", 2}, {"abc", 5}, {strings.Repeat("a", 63), 65},
		{strings.Repeat("a", 64), 67}, {strings.Repeat("a", 125), 128}, {strings.Repeat("a", 126), 130},
		{strings.Repeat("a", 4096), 4103},
	} {
		if got := lpElemSize([]byte(tc.in)); got != tc.want {
			t.Errorf("lpElemSize(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestStreamTrimAndDelete exercises XDEL's flags, node removal and both trim strategies on the core.
func TestStreamTrimAndDelete(t *testing.T) {
	s := NewStream()
	for i := 1; i <= 250; i++ {
		s.appendEntry(streamID{uint64(i), 0}, [][]byte{[]byte("f"), []byte("v")})
	}
	// Approximate MAXLEN removes only whole nodes (100, 100, 50).
	if n := s.trim(&streamTrimArgs{strategy: 1, approx: true, maxLen: 120, limit: 10000}); n != 100 || s.Len() != 150 {
		t.Fatalf("approx trim removed %d, len %d", n, s.Len())
	}
	// Exact MINID flags entries inside the head node.
	if n := s.trim(&streamTrimArgs{strategy: 2, minID: streamID{110, 0}}); n != 9 || s.Len() != 141 || s.firstID != (streamID{110, 0}) {
		t.Fatalf("minid trim removed %d, len %d, first %v", n, s.Len(), s.firstID)
	}
	if !s.deleteEntry(streamID{150, 0}) || s.deleteEntry(streamID{150, 0}) || s.deleteEntry(streamID{105, 0}) {
		t.Fatal("deleteEntry")
	}
	// Deleting every live entry of the last node removes the node.
	for i := 201; i <= 250; i++ {
		s.deleteEntry(streamID{uint64(i), 0})
	}
	if s.nodes.Len() != 1 || s.tail == nil || s.tail.master != (streamID{101, 0}) {
		t.Fatalf("nodes %d, tail %v", s.nodes.Len(), s.tail)
	}
	if e := s.last(); e == nil || e.id != (streamID{200, 0}) {
		t.Fatalf("last = %v", e)
	}
	var ids []uint64
	s.scan(streamID{148, 0}, streamID{152, 0}, false, func(e *streamEntry) bool { ids = append(ids, e.id.ms); return true })
	if fmt.Sprint(ids) != "[148 149 151 152]" {
		t.Fatalf("scan = %v", ids)
	}
	ids = ids[:0]
	s.scan(streamID{148, 0}, streamID{152, 0}, true, func(e *streamEntry) bool { ids = append(ids, e.id.ms); return true })
	if fmt.Sprint(ids) != "[152 151 149 148]" {
		t.Fatalf("reverse scan = %v", ids)
	}
}

// TestStreamMarshalRoundTrip keeps entries (deleted ones too, so node boundaries survive), metadata,
// groups, consumers and PELs through Marshal/Unmarshal and Clone.
func TestStreamMarshalRoundTrip(t *testing.T) {
	h := newZXHarness(t)
	for i := 1; i <= 130; i++ {
		h.do("XADD", "s", fmt.Sprintf("%d-1", i), "f", fmt.Sprint(i), "g", "x")
	}
	h.do("XDEL", "s", "5-1", "120-1")
	h.do("XGROUP", "CREATE", "s", "g1", "0")
	h.do("XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "7")
	h.do("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "s", ">")
	h.do("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", "s", ">")
	h.do("XGROUP", "CREATECONSUMER", "s", "g2", "carol")
	o := h.ks.DB(0).Peek([]byte("s"))
	ops := Ops(TypeStream)
	b := ops.Marshal(nil, o.Val())
	v, err := ops.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []any{v, ops.Clone(o.Val())} {
		if !bytes.Equal(ops.Marshal(nil, got), b) {
			t.Fatal("round trip differs")
		}
		s, orig := got.(*Stream), o.Val().(*Stream)
		if s.nodes.Len() != orig.nodes.Len() || s.tail.bytes != orig.tail.bytes || s.Len() != 128 {
			t.Fatalf("layout lost: %d nodes, len %d", s.nodes.Len(), s.Len())
		}
	}
	if ops.Encoding(o.Val()) != "stream" || ops.Len(o.Val()) != 128 || ops.Size(o.Val()) <= 0 {
		t.Fatal("ops")
	}
	for cut := 1; cut < len(b); cut += len(b) / 7 {
		if _, err := ops.Unmarshal(b[:cut]); err == nil {
			t.Fatalf("truncated at %d accepted", cut)
		}
	}
}
