package resp

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// oneByteReader returns one byte per Read, to exercise every split point.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) { return o.r.Read(p[:1]) }

func readAll(t *testing.T, rd io.Reader, lim Limits) ([][]string, error) {
	t.Helper()
	r := NewReader(rd, lim)
	var out [][]string
	for {
		args, err := r.ReadCommand()
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		cmd := make([]string, len(args))
		for i, a := range args {
			cmd[i] = string(a)
		}
		out = append(out, cmd)
	}
}

func TestReaderCommands(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     [][]string
	}{
		{"multibulk", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n", [][]string{{"SET", "k", "hello"}}},
		{"pipeline", "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", [][]string{{"PING"}, {"GET", "k"}}},
		{"empty-bulk", "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", [][]string{{"ECHO", ""}}},
		{"binary", "*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n", [][]string{{"ECHO", "a\r\nb"}}},
		{"zero-and-negative-count-skipped", "*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", [][]string{{"PING"}}},
		{"inline", "SET k v\r\n", [][]string{{"SET", "k", "v"}}},
		{"inline-lf-only", "PING\n", [][]string{{"PING"}}},
		{"inline-blank-lines-skipped", "\r\n\r\nPING\r\n", [][]string{{"PING"}}},
		{"inline-quotes", `SET k "a b\n\x41" 'c d'` + "\r\n", [][]string{{"SET", "k", "a b\nA", "c d"}}},
		{"inline-single-escape", `ECHO 'it\'s'` + "\r\n", [][]string{{"ECHO", "it's"}}},
		{"inline-spaces", "  GET   k  \r\n", [][]string{{"GET", "k"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, split := range []bool{false, true} {
				var rd io.Reader = strings.NewReader(tc.in)
				if split {
					rd = oneByteReader{rd}
				}
				got, err := readAll(t, rd, Limits{})
				if err != nil {
					t.Fatalf("split=%v: %v", split, err)
				}
				if len(got) != len(tc.want) {
					t.Fatalf("split=%v: got %q, want %q", split, got, tc.want)
				}
				for i := range got {
					if strings.Join(got[i], "|") != strings.Join(tc.want[i], "|") {
						t.Fatalf("split=%v: command %d = %q, want %q", split, i, got[i], tc.want[i])
					}
				}
			}
		})
	}
}

func TestReaderErrors(t *testing.T) {
	small := Limits{MaxBulkLen: 10, MaxMultibulkLen: 3, MaxInlineLen: 32, MaxQueryBuffer: 40}
	for _, tc := range []struct {
		name, in, want string
		lim            Limits
	}{
		{"bad-count", "*x\r\n", "Protocol error: invalid multibulk length", Limits{}},
		{"count-over-limit", "*4\r\n", "Protocol error: invalid multibulk length", small},
		{"default-count-limit", "*1048577\r\n", "Protocol error: invalid multibulk length", Limits{}},
		{"bad-bulk", "*1\r\n$x\r\n", "Protocol error: invalid bulk length", Limits{}},
		{"negative-bulk", "*1\r\n$-1\r\n", "Protocol error: invalid bulk length", Limits{}},
		{"bulk-over-limit", "*1\r\n$11\r\n", "Protocol error: invalid bulk length", small},
		{"default-bulk-limit", "*1\r\n$536870913\r\n", "Protocol error: invalid bulk length", Limits{}},
		{"expected-dollar", "*1\r\n:1\r\n", "Protocol error: expected '$', got ':'", Limits{}},
		{"unbalanced", "SET \"a\r\n", "Protocol error: unbalanced quotes in request", Limits{}},
		{"quote-then-char", "SET \"a\"b\r\n", "Protocol error: unbalanced quotes in request", Limits{}},
		{"big-inline", strings.Repeat("a", 40), "Protocol error: too big inline request", small},
		{"big-mbulk-count", "*" + strings.Repeat("1", 40), "Protocol error: too big mbulk count string", small},
		{"big-bulk-count", "*1\r\n$" + strings.Repeat("1", 40), "Protocol error: too big bulk count string", small},
		{"query-buffer", "*3\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n$10\r\n012345678", "Protocol error: query buffer limit exceeded", small},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(t, strings.NewReader(tc.in), tc.lim)
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Error() != tc.want {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestReaderBigBulkGrowsGradually checks that a header announcing a huge bulk does not allocate it up front.
func TestReaderBigBulkGrowsGradually(t *testing.T) {
	r := NewReader(strings.NewReader("*1\r\n$536870912\r\nabc"), Limits{})
	_, err := r.ReadCommand()
	if err != io.EOF {
		t.Fatalf("want EOF on the truncated bulk, got %v", err)
	}
	if len(r.buf) > 1<<20 {
		t.Fatalf("buffer grew to %d bytes for 3 bytes of data", len(r.buf))
	}
}

func TestNextDoesNotRead(t *testing.T) {
	in := "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPI"
	r := NewReader(strings.NewReader(in), Limits{})
	if _, err := r.ReadCommand(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := r.Next(); ok || err != nil {
		t.Fatalf("Next on an incomplete command = %v, %v", ok, err)
	}
}

// TestSpaceAdvance: a caller that reads the connection itself (Space, Advance, Next) gets the commands
// ReadCommand would, whatever the size of its reads, including a big bulk that makes the buffer grow.
func TestSpaceAdvance(t *testing.T) {
	big := strings.Repeat("v", 100<<10)
	in := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + strconv.Itoa(len(big)) + "\r\n" + big + "\r\n" +
		"*1\r\n$4\r\nPING\r\nGET k\r\n"
	want := [][]string{{"SET", "k", big}, {"PING"}, {"GET", "k"}}
	for _, chunk := range []int{1, 7, 4096, len(in)} {
		r := NewReader(strings.NewReader(""), Limits{})
		var got [][]string
		for off := 0; off < len(in); {
			sp := r.Space()
			if len(sp) == 0 {
				t.Fatalf("chunk %d: Space is empty at offset %d", chunk, off)
			}
			n := copy(sp[:min(len(sp), chunk)], in[off:])
			r.Advance(n)
			off += n
			for {
				args, ok, err := r.Next()
				if err != nil {
					t.Fatalf("chunk %d: %v", chunk, err)
				}
				if !ok {
					break
				}
				var cmd []string
				for _, a := range args {
					cmd = append(cmd, string(a))
				}
				got = append(got, cmd)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("chunk %d: got %d commands, want %d (%.40q)", chunk, len(got), len(want), got)
		}
	}
}

func TestWriterEncodings(t *testing.T) {
	type enc struct{ r2, r3 string }
	cases := map[string]struct {
		fn   func(w *Writer)
		want enc
	}{
		"simple":     {func(w *Writer) { w.Simple("OK") }, enc{"+OK\r\n", "+OK\r\n"}},
		"error":      {func(w *Writer) { w.Error("ERR bad\nthing") }, enc{"-ERR bad thing\r\n", "-ERR bad thing\r\n"}},
		"int":        {func(w *Writer) { w.Int(-42) }, enc{":-42\r\n", ":-42\r\n"}},
		"bulk":       {func(w *Writer) { w.Bulk([]byte("hi")) }, enc{"$2\r\nhi\r\n", "$2\r\nhi\r\n"}},
		"null":       {func(w *Writer) { w.Null() }, enc{"$-1\r\n", "_\r\n"}},
		"nullarray":  {func(w *Writer) { w.NullArray() }, enc{"*-1\r\n", "_\r\n"}},
		"array":      {func(w *Writer) { w.Array(2) }, enc{"*2\r\n", "*2\r\n"}},
		"map":        {func(w *Writer) { w.Map(2) }, enc{"*4\r\n", "%2\r\n"}},
		"set":        {func(w *Writer) { w.Set(3) }, enc{"*3\r\n", "~3\r\n"}},
		"push":       {func(w *Writer) { w.Push(3) }, enc{"*3\r\n", ">3\r\n"}},
		"double":     {func(w *Writer) { w.Double(1.5) }, enc{"$3\r\n1.5\r\n", ",1.5\r\n"}},
		"double-int": {func(w *Writer) { w.Double(3) }, enc{"$1\r\n3\r\n", ",3\r\n"}},
		"double-inf": {func(w *Writer) { w.Double(posInf) }, enc{"$3\r\ninf\r\n", ",inf\r\n"}},
		"double-exp": {func(w *Writer) { w.Double(1e21) }, enc{"$5\r\n1e+21\r\n", ",1e+21\r\n"}},
		"bool":       {func(w *Writer) { w.Bool(true) }, enc{":1\r\n", "#t\r\n"}},
		"big":        {func(w *Writer) { w.BigNumber("123456789012345678901234567890") }, enc{"$30\r\n123456789012345678901234567890\r\n", "(123456789012345678901234567890\r\n"}},
		"verbatim":   {func(w *Writer) { w.Verbatim("txt", "hi") }, enc{"$2\r\nhi\r\n", "=6\r\ntxt:hi\r\n"}},
	}
	for name, tc := range cases {
		for _, proto := range []int{2, 3} {
			w := Writer{Proto: proto}
			tc.fn(&w)
			want := tc.want.r2
			if proto == 3 {
				want = tc.want.r3
			}
			if string(w.Buf) != want {
				t.Errorf("%s RESP%d: got %q, want %q", name, proto, w.Buf, want)
			}
			// Every encoding must parse back as exactly one reply.
			rr := NewReplyReader(bytes.NewReader(w.Buf))
			if _, _, err := rr.Skip(); err != nil && !(name == "array" || name == "map" || name == "set" || name == "push") {
				t.Errorf("%s RESP%d: Skip: %v", name, proto, err)
			}
		}
	}
}

func TestReplyReaderRoundTrip(t *testing.T) {
	in := "+OK\r\n-ERR x\r\n:5\r\n$3\r\nabc\r\n$-1\r\n*2\r\n:1\r\n$1\r\na\r\n%1\r\n+k\r\n:2\r\n~1\r\n+m\r\n>2\r\n+p\r\n+q\r\n_\r\n,1.5\r\n#f\r\n(12\r\n=7\r\ntxt:abc\r\n|1\r\n+a\r\n+b\r\n:7\r\n*-1\r\n"
	rr := NewReplyReader(oneByteReader{strings.NewReader(in)})
	var kinds []byte
	var strs []string
	for {
		v, err := rr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, v.Kind)
		strs = append(strs, v.String())
	}
	if string(kinds) != "+-:$$*%~>_,#(=:*" {
		t.Fatalf("kinds = %q", kinds)
	}
	if strs[1] != "(error) ERR x" || strs[3] != `"abc"` || strs[4] != "(nil)" || strs[13] != `"abc"` || strs[14] != "(integer) 7" {
		t.Fatalf("values = %q", strs)
	}
	rs := NewReplyReader(strings.NewReader(in))
	n := 0
	for {
		kind, errText, err := rs.Skip()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if kind == '-' && string(errText) != "ERR x" {
			t.Fatalf("errText = %q", errText)
		}
		n++
	}
	if n != 16 {
		t.Fatalf("Skip counted %d replies, want 16", n)
	}
}

// TestAllocs guards the zero-allocation hot path: parsing pipelined commands and writing replies.
func TestAllocs(t *testing.T) {
	var cmd []byte
	for i := 0; i < 64; i++ {
		cmd = AppendCommandStrings(cmd, "SET", "key:000000000042", strings.Repeat("v", 100))
		cmd = AppendCommandStrings(cmd, "GET", "key:000000000042")
	}
	src := bytes.NewReader(cmd)
	r := NewReader(src, Limits{})
	allocs := testing.AllocsPerRun(200, func() {
		src.Reset(cmd)
		for i := 0; i < 128; i++ {
			if _, err := r.ReadCommand(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("Reader: %v allocations per 128 commands, want 0", allocs)
	}
	w := Writer{Proto: 3, Buf: make([]byte, 0, 1<<16)}
	val := []byte(strings.Repeat("v", 100))
	allocs = testing.AllocsPerRun(200, func() {
		w.Reset()
		w.Simple("OK")
		w.Bulk(val)
		w.Int(12345)
		w.Double(3.25)
		w.Null()
		w.Map(1)
		w.BulkString("k")
		w.Bool(true)
		w.Verbatim("txt", "hello")
		w.Error("ERR x")
	})
	if allocs != 0 {
		t.Fatalf("Writer: %v allocations, want 0", allocs)
	}
	rr := NewReplyReader(bytes.NewReader(nil))
	replies := bytes.Repeat([]byte("+OK\r\n$3\r\nabc\r\n*2\r\n:1\r\n:2\r\n-ERR x\r\n"), 64)
	src2 := bytes.NewReader(replies)
	rr.rd = src2
	allocs = testing.AllocsPerRun(200, func() {
		src2.Reset(replies)
		rr.r, rr.w, rr.err = 0, 0, nil
		for i := 0; i < 256; i++ {
			if _, _, err := rr.Skip(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("ReplyReader.Skip: %v allocations, want 0", allocs)
	}
}

// TestReplyLen checks that ReplyLen finds each reply's end exactly where Skip does, reports every proper
// prefix as incomplete, and rejects malformed framing.
func TestReplyLen(t *testing.T) {
	replies := []string{"+OK\r\n", "-ERR x\r\n", ":5\r\n", "$3\r\nabc\r\n", "$-1\r\n", "$0\r\n\r\n",
		"*2\r\n:1\r\n$1\r\na\r\n", "%1\r\n+k\r\n:2\r\n", "~1\r\n+m\r\n", ">2\r\n+p\r\n+q\r\n", "_\r\n", ",1.5\r\n",
		"#f\r\n", "(12\r\n", "=7\r\ntxt:abc\r\n", "|1\r\n+a\r\n+b\r\n:7\r\n", "*-1\r\n", "*0\r\n",
		"!5\r\nERR y\r\n", "*2\r\n*1\r\n$2\r\nab\r\n%0\r\n"}
	for _, r := range replies {
		for cut := 0; cut < len(r); cut++ {
			if n, err := ReplyLen([]byte(r[:cut])); n != 0 || err != nil {
				t.Fatalf("ReplyLen(%q) = %d, %v; want 0 (incomplete)", r[:cut], n, err)
			}
		}
		if n, err := ReplyLen([]byte(r + "+next\r\n")); n != len(r) || err != nil {
			t.Fatalf("ReplyLen(%q + next) = %d, %v; want %d", r, n, err, len(r))
		}
		rs := NewReplyReader(strings.NewReader(r))
		if _, _, err := rs.Skip(); err != nil || rs.Buffered() != 0 {
			t.Fatalf("Skip(%q): err %v, %d bytes left", r, err, rs.Buffered())
		}
	}
	for _, bad := range []string{"\r\n", "+OK\n", "?x\r\n", "$x\r\n", "$3\r\nabcXY", "*1\r\n+a\n"} {
		if _, err := ReplyLen([]byte(bad)); !errors.Is(err, ErrBadReply) {
			t.Errorf("ReplyLen(%q): err %v, want ErrBadReply", bad, err)
		}
	}
	deep := strings.Repeat("*1\r\n", maxReplyDepth+2) + ":1\r\n"
	if _, err := ReplyLen([]byte(deep)); !errors.Is(err, ErrBadReply) {
		t.Errorf("ReplyLen(deep nesting): err %v, want ErrBadReply", err)
	}
}

func TestPeekKeys(t *testing.T) {
	get := func(k string) string { return "*2\r\n$3\r\nGET\r\n$" + strconv.Itoa(len(k)) + "\r\n" + k + "\r\n" }
	for _, tc := range []struct {
		name, in string
		max      int
		want     []string
	}{
		{"pipeline", get("a") + get("b") + "*3\r\n$3\r\nSET\r\n$2\r\ncc\r\n$1\r\nv\r\n" + get("d"), 32, []string{"b", "cc", "d"}},
		{"max", get("a") + get("b") + get("c") + get("d"), 2, []string{"b", "c"}},
		{"nothing after", get("a"), 32, nil},
		{"stops at an incomplete command", get("a") + get("b") + "*2\r\n$3\r\nGET\r\n$5\r\nab", 32, []string{"b"}},
		{"stops at an inline command", get("a") + get("b") + "GET c\r\n" + get("d"), 32, []string{"b"}},
		{"stops at a one-argument command", get("a") + "*1\r\n$4\r\nPING\r\n" + get("d"), 32, nil},
		{"stops at a malformed header", get("a") + "*2\n$3\r\nGET\r\n$1\r\nz\r\n", 32, nil},
		{"empty key", get("a") + get(""), 32, []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.in), Limits{})
			if _, err := r.ReadCommand(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range r.PeekKeys(nil, tc.max) {
				got = append(got, string(k))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("PeekKeys = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestReplyIntegerRange: integer replies span the whole int64 range (INCRBY and BITFIELD can reply
// -9223372036854775808); one past either end is a malformed reply.
func TestReplyIntegerRange(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{":-9223372036854775808\r\n", math.MinInt64, true},
		{":9223372036854775807\r\n", math.MaxInt64, true},
		{":-9223372036854775807\r\n", -math.MaxInt64, true},
		{":0\r\n", 0, true},
		{":-0\r\n", 0, true},
		{":9223372036854775808\r\n", 0, false},
		{":-9223372036854775809\r\n", 0, false},
		{":18446744073709551616\r\n", 0, false},
		{":-\r\n", 0, false},
		{":1x\r\n", 0, false},
	} {
		v, err := NewReplyReader(strings.NewReader(tc.in)).Read()
		if (err == nil) != tc.ok || (tc.ok && v.Int != tc.want) {
			t.Errorf("%q: %v, %v; want %d ok=%v", tc.in, v.Int, err, tc.want, tc.ok)
		}
		_, _, err = NewReplyReader(strings.NewReader(tc.in)).Skip()
		if (err == nil) != tc.ok {
			t.Errorf("Skip %q: %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}
