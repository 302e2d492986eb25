package record

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// segment builds a log image the way the wal engine writes one: batches, each starting with a sync record
// that claims everything before the batch was synced. It returns the image and each effects record's offset.
func segment(batches ...[]string) ([]byte, []int) {
	var buf []byte
	var offs []int
	lsn := uint64(1)
	for _, b := range batches {
		buf = AppendSync(buf, lsn, int64(len(buf)))
		for _, p := range b {
			offs = append(offs, len(buf))
			buf = Append(buf, TypeEffects, lsn, []byte(p))
			lsn++
		}
	}
	return buf, offs
}

func readAll(t *testing.T, buf []byte) ([]Record, error) {
	t.Helper()
	r := NewReader("seg", buf, 1)
	var out []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			if err2 := func() error { _, e := r.Next(); return e }(); err2 != err {
				t.Fatalf("error is not sticky: %v then %v", err, err2)
			}
			return out, err
		}
		out = append(out, rec)
	}
}

func effects(recs []Record) []string {
	var out []string
	for _, r := range recs {
		if r.Type == TypeEffects {
			out = append(out, fmt.Sprintf("%d:%s", r.LSN, r.Payload))
		}
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name    string
		batches [][]string
		want    int
	}{
		{"empty", nil, 0},
		{"one", [][]string{{"a"}}, 1},
		{"empty payload", [][]string{{""}}, 1},
		{"batches", [][]string{{"a", "bb"}, {"ccc"}, {string(bytes.Repeat([]byte("x"), 70000))}}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf, _ := segment(tc.batches...)
			recs, err := readAll(t, buf)
			if err != nil {
				t.Fatal(err)
			}
			got := effects(recs)
			if len(got) != tc.want {
				t.Fatalf("got %d effects records, want %d", len(got), tc.want)
			}
			for i, r := range recs {
				if r.Type == TypeEffects && r.LSN == 0 {
					t.Fatalf("record %d has LSN 0", i)
				}
			}
			// The stream reader sees the same records.
			sr := NewStreamReader("seg", bytes.NewReader(buf), 0, int64(len(buf)))
			var n int
			for {
				rec, err := sr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if rec.Offset != recs[n].Offset || !bytes.Equal(rec.Payload, recs[n].Payload) {
					t.Fatalf("stream record %d differs", n)
				}
				n++
			}
			if n != len(recs) {
				t.Fatalf("stream reader read %d records, want %d", n, len(recs))
			}
		})
	}
}

// A crash in the middle of writing the last record leaves a prefix of it: at every cut the reader must
// return the records before it and then a torn tail at the record's offset, never corruption.
func TestTornTailAtEveryOffset(t *testing.T) {
	buf, offs := segment([]string{"first", "second"}, []string{"third", "the last record"})
	last := offs[len(offs)-1]
	for cut := last; cut <= len(buf); cut++ {
		recs, err := readAll(t, buf[:cut])
		got := effects(recs)
		if cut == len(buf) {
			if err != nil || len(got) != 4 {
				t.Fatalf("whole file: %v, %d records", err, len(got))
			}
			continue
		}
		if cut == last {
			// A clean boundary: nothing is torn.
			if err != nil || len(got) != 3 {
				t.Fatalf("cut at the boundary: %v, %d records", err, len(got))
			}
			continue
		}
		var te *TornError
		if !errors.As(err, &te) || errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut %d: want a torn tail, got %v", cut, err)
		}
		if te.Offset != int64(last) || te.File != "seg" || te.Bytes != int64(cut-last) || te.Records != 0 {
			t.Fatalf("cut %d: torn error %+v", cut, te)
		}
		if len(got) != 3 {
			t.Fatalf("cut %d: %d records before the tear, want 3", cut, len(got))
		}
	}
}

// A flipped bit anywhere in a record that a later sync record proves durable is corruption, reported at
// the damaged record's offset; in the last batch (no later sync claim) it cannot be told from a torn write.
func TestFlippedBit(t *testing.T) {
	buf, offs := segment([]string{"alpha", "beta"}, []string{"gamma"}, []string{"delta", "epsilon"})
	for _, tc := range []struct {
		name    string
		rec     int // index into offs
		corrupt bool
	}{
		{"first batch", 0, true},
		{"middle batch", 2, true},
		{"last batch", 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := offs[tc.rec]
			r := NewReader("seg", buf[start:], 0)
			rec, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			end := start + int(rec.Size())
			for i := start; i < end; i++ {
				for bit := 0; bit < 8; bit += 3 {
					b := bytes.Clone(buf)
					b[i] ^= 1 << bit
					recs, err := readAll(t, b)
					if len(effects(recs)) != tc.rec {
						t.Fatalf("byte %d bit %d: %d records before the damage, want %d", i, bit, len(effects(recs)), tc.rec)
					}
					var ce *CorruptError
					var te *TornError
					switch {
					case tc.corrupt && errors.As(err, &ce):
						if ce.Offset != int64(start) {
							t.Fatalf("byte %d: corruption at offset %d, want %d", i, ce.Offset, start)
						}
					case !tc.corrupt && errors.As(err, &te):
						if te.Offset != int64(start) || te.Records != 1 || te.FirstLSN != 5 {
							t.Fatalf("byte %d: torn error %+v, want offset %d with 1 record (LSN 5) after it", i, te, start)
						}
					default:
						t.Fatalf("byte %d bit %d: got %v (corrupt expected: %v)", i, bit, err, tc.corrupt)
					}
				}
			}
		})
	}
}

// Preallocated zeros after the last record are the clean end of the file.
func TestZeroTail(t *testing.T) {
	buf, _ := segment([]string{"a", "b"})
	n := len(buf)
	buf = append(buf, make([]byte, 4096)...)
	r := NewReader("seg", buf, 1)
	var count int
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	if count != 3 || r.Offset() != int64(n) {
		t.Fatalf("read %d records ending at %d, want 3 ending at %d", count, r.Offset(), n)
	}
	// A record cut short inside the preallocated space is still a torn tail.
	buf2 := append(bytes.Clone(buf[:n]), Append(nil, TypeEffects, 3, []byte("payload"))[:10]...)
	buf2 = append(buf2, make([]byte, 100)...)
	if _, err := readAll(t, buf2); !errors.Is(err, ErrTorn) {
		t.Fatalf("partial record in zeros: %v", err)
	}
}

func TestStreamReaderDamage(t *testing.T) {
	buf, offs := segment([]string{"one", "two", "three"})
	for _, tc := range []struct {
		name string
		mod  func([]byte) []byte
		want error
		off  int
	}{
		{"cut in header", func(b []byte) []byte { return b[:offs[2]+5] }, ErrTorn, offs[2]},
		{"cut in payload", func(b []byte) []byte { return b[:len(b)-1] }, ErrTorn, offs[2]},
		{"flipped payload", func(b []byte) []byte { b[offs[1]+HeaderSize] ^= 4; return b }, ErrCorrupt, offs[1]},
		{"bad type", func(b []byte) []byte { b[offs[0]+8] = 99; return b }, ErrCorrupt, offs[0]},
		{"huge length", func(b []byte) []byte { b[offs[0]+7] = 0x7f; return b }, ErrTorn, offs[0]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mod(bytes.Clone(buf))
			sr := NewStreamReader("snap", bytes.NewReader(b), 0, int64(len(b)))
			var err error
			for err == nil {
				_, err = sr.Next()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var te *TornError
			var ce *CorruptError
			off := int64(-1)
			if errors.As(err, &te) {
				off = te.Offset
			} else if errors.As(err, &ce) {
				off = ce.Offset
			}
			if off != int64(tc.off) {
				t.Fatalf("damage reported at %d, want %d (%v)", off, tc.off, err)
			}
		})
	}
}

func TestSalvage(t *testing.T) {
	buf, offs := segment([]string{"a", "b"}, []string{"c", "d"})
	b := bytes.Clone(buf)
	b[offs[1]+HeaderSize] ^= 1 // damage record 2
	n, first, last := Salvage(b, offs[1], 1)
	if n != 2 || first != 3 || last != 4 {
		t.Fatalf("salvage found %d records %d-%d, want 2 records 3-4", n, first, last)
	}
}

func TestEndRejectsOversize(t *testing.T) {
	buf, start := Begin(nil, TypeEffects, 1)
	if !End(append(buf, "ok"...), start) {
		t.Fatal("small record rejected")
	}
	if End(buf[:start+3], start) {
		t.Fatal("a record shorter than its header was accepted")
	}
}

func BenchmarkAppend(b *testing.B) {
	payload := bytes.Repeat([]byte("v"), 128)
	buf := make([]byte, 0, 1<<20)
	b.SetBytes(int64(len(payload) + HeaderSize))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if len(buf) > 1<<19 {
			buf = buf[:0]
		}
		buf = Append(buf, TypeEffects, uint64(i+1), payload)
	}
}

func BenchmarkReader(b *testing.B) {
	var buf []byte
	for i := 0; i < 10000; i++ {
		buf = Append(buf, TypeEffects, uint64(i+1), bytes.Repeat([]byte("v"), 128))
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := NewReader("seg", buf, 1)
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
}
