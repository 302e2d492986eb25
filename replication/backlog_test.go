package replication

import (
	"bytes"
	"github.com/kvlab/kvlab/resp"
	"testing"
)

func TestBacklogRing(t *testing.T) {
	b := newBacklog(8, 0)
	var all []byte
	for i := 0; i < 20; i++ {
		p := []byte{byte('a' + i), byte('A' + i), byte('0' + i%10)}
		b.write(p)
		all = append(all, p...)
		if b.end != int64(len(all)) {
			t.Fatalf("end %d, want %d", b.end, len(all))
		}
		for off := b.first(); off <= b.end+1; off++ {
			got, ok := b.appendFrom(nil, off)
			if !ok || !bytes.Equal(got, all[off-1:]) {
				t.Fatalf("after %d writes: from %d got %q ok=%v, want %q", i+1, off, got, ok, all[off-1:])
			}
		}
		if _, ok := b.appendFrom(nil, b.first()-1); ok && b.first() > 1 {
			t.Fatalf("offset before the ring accepted")
		}
		if _, ok := b.appendFrom(nil, b.end+2); ok {
			t.Fatalf("offset after the end accepted")
		}
	}
	b.write(bytes.Repeat([]byte("z"), 30))
	if got, _ := b.appendFrom(nil, b.first()); string(got) != "zzzzzzzz" {
		t.Fatalf("big write: %q", got)
	}
}

func TestCmdReader(t *testing.T) {
	stream := resp.AppendCommandStrings(nil, "SELECT", "1")
	stream = resp.AppendCommandStrings(stream, "SET", "k", "v\r\nx")
	cr := cmdReader{r: bufioReader(stream)}
	args, raw, err := cr.next()
	if err != nil || string(args[0]) != "SELECT" || len(raw) != len(resp.AppendCommandStrings(nil, "SELECT", "1")) {
		t.Fatalf("%q %q %v", args, raw, err)
	}
	args, _, err = cr.next()
	if err != nil || len(args) != 3 || string(args[2]) != "v\r\nx" {
		t.Fatalf("%q %v", args, err)
	}
}
