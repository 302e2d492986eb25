package resp

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// splitReader returns the input in two reads, split at a point taken from the fuzz input.
type splitReader struct {
	parts [][]byte
}

func (s *splitReader) Read(p []byte) (int, error) {
	for len(s.parts) > 0 && len(s.parts[0]) == 0 {
		s.parts = s.parts[1:]
	}
	if len(s.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.parts[0])
	s.parts[0] = s.parts[0][n:]
	return n, nil
}

// FuzzReader feeds arbitrary bytes, split in two reads, to the command reader. Properties: no panic; every
// error is a ProtocolError or EOF; every accepted command re-encodes with AppendCommand and re-parses to the
// same arguments; limits hold (no argument above MaxBulkLen, no command above MaxMultibulkLen arguments).
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", "PING\r\n", "SET a \"b c\"\r\n", "*1\r\n$-1\r\n",
		"*0\r\n", "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", "GET 'x\\'y'\r\n", "*x\r\n", "\"\\x41\"\r\n", "*1\r\n:1\r\n",
	} {
		f.Add([]byte(s), uint16(3))
	}
	lim := Limits{MaxBulkLen: 1 << 10, MaxMultibulkLen: 64, MaxQueryBuffer: 1 << 14, MaxInlineLen: 256}
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		cut := int(split) % (len(data) + 1)
		r := NewReader(&splitReader{parts: [][]byte{append([]byte(nil), data[:cut]...), append([]byte(nil), data[cut:]...)}}, lim)
		for i := 0; i < 1000; i++ {
			args, err := r.ReadCommand()
			if err != nil {
				var pe *ProtocolError
				if err != io.EOF && !errors.As(err, &pe) {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				return
			}
			if len(args) == 0 || int64(len(args)) > lim.MaxMultibulkLen {
				t.Fatalf("command with %d arguments", len(args))
			}
			for _, a := range args {
				if int64(len(a)) > lim.MaxBulkLen && int64(len(a)) > lim.MaxInlineLen {
					t.Fatalf("argument of %d bytes beyond limits", len(a))
				}
			}
			enc := AppendCommand(nil, args...)
			again, err := NewReader(bytes.NewReader(enc), Limits{}).ReadCommand()
			if err != nil {
				t.Fatalf("re-parse of %q: %v", enc, err)
			}
			if len(again) != len(args) {
				t.Fatalf("re-parse changed the argument count: %q vs %q", again, args)
			}
			for j := range args {
				if !bytes.Equal(again[j], args[j]) {
					t.Fatalf("re-parse changed argument %d: %q vs %q", j, again[j], args[j])
				}
			}
		}
	})
}

// FuzzReplyReader feeds arbitrary bytes to the reply reader: no panic, and Skip and Read agree on how many
// replies the input holds and on their kinds.
func FuzzReplyReader(f *testing.F) {
	for _, s := range []string{"+OK\r\n", "*2\r\n:1\r\n$1\r\na\r\n", "%1\r\n+k\r\n_\r\n", "|1\r\n+a\r\n+b\r\n:1\r\n", "=7\r\ntxt:abc\r\n", ",inf\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<12 {
			return
		}
		var kindsRead, kindsSkip []byte
		rr := NewReplyReader(bytes.NewReader(data))
		for i := 0; i < 100; i++ {
			v, err := rr.Read()
			if err != nil {
				break
			}
			kindsRead = append(kindsRead, v.Kind)
		}
		rs := NewReplyReader(bytes.NewReader(data))
		for i := 0; i < 100; i++ {
			k, _, err := rs.Skip()
			if err != nil {
				break
			}
			kindsSkip = append(kindsSkip, k)
		}
		if !bytes.Equal(kindsRead, kindsSkip) {
			t.Fatalf("Read saw %q, Skip saw %q", kindsRead, kindsSkip)
		}
	})
}

// FuzzReplyLen feeds arbitrary bytes to ReplyLen (the load generator's completeness check on bytes a server
// sent): no panic, never a length past the input, and a reply the strict reader accepts is one ReplyLen
// frames as complete (ReplyLen only frames: content errors are the reader's to find).
func FuzzReplyLen(f *testing.F) {
	for _, s := range []string{"+OK\r\n", "*2\r\n:1\r\n$1\r\na\r\n", "%1\r\n+k\r\n_\r\n", "|1\r\n+a\r\n+b\r\n:1\r\n",
		"=7\r\ntxt:abc\r\n", "$9223372036854775807\r\n", "*9223372036854775807\r\n", "$-1\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<12 {
			return
		}
		n, err := ReplyLen(data)
		if n > len(data) {
			t.Fatalf("ReplyLen = %d for %d bytes", n, len(data))
		}
		if _, rerr := NewReplyReader(bytes.NewReader(data)).Read(); rerr == nil && (err != nil || n == 0) {
			t.Fatalf("the reader accepts %q; ReplyLen = %d, %v", data, n, err)
		}
	})
}

// FuzzPeekKeys checks PeekKeys against Next: after the first command is read, the keys PeekKeys reports are,
// in order, the second arguments of the commands Next returns next; it never panics and consumes nothing.
func FuzzPeekKeys(f *testing.F) {
	for _, s := range []string{
		"*2\r\n$3\r\nGET\r\n$1\r\na\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$2\r\ncc\r\n",
		"PING\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\r\n", "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$9\r\nab",
		"*1\r\n$4\r\nPING\r\n*0\r\n*2\r\n$3\r\nGET\r\n$1\r\nz\r\n", "*1\r\n$4\r\nPING\r\n*2\n$3\r\nGET\r\n$1\r\nz\r\n",
	} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxBulkLen: 1 << 10, MaxMultibulkLen: 64, MaxQueryBuffer: 1 << 14, MaxInlineLen: 256}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), lim)
		if _, err := r.ReadCommand(); err != nil {
			return
		}
		before := r.Buffered()
		var keys [][]byte
		for _, k := range r.PeekKeys(nil, 32) {
			keys = append(keys, append([]byte(nil), k...))
		}
		if r.Buffered() != before {
			t.Fatalf("PeekKeys consumed %d bytes", before-r.Buffered())
		}
		for i, k := range keys {
			args, ok, err := r.Next()
			if err != nil || !ok {
				t.Fatalf("key %d (%q) reported, but Next returns ok=%v err=%v", i, k, ok, err)
			}
			if len(args) < 2 || !bytes.Equal(args[1], k) {
				t.Fatalf("key %d reported as %q, Next returns %q", i, k, args)
			}
		}
	})
}
