package replication

// backlog is the replication backlog: a ring holding the last size bytes of the stream, addressed by
// Redis's 1-based byte offsets (the first byte ever written has offset 1; end is master_repl_offset).
type backlog struct {
	buf  []byte
	end  int64 // offset of the last byte written
	hist int64 // bytes held (<= len(buf))
}

func newBacklog(size int64, end int64) backlog {
	return backlog{buf: make([]byte, size), end: end}
}

// write appends p to the ring.
func (b *backlog) write(p []byte) {
	size := int64(len(b.buf))
	if size == 0 {
		b.end += int64(len(p))
		return
	}
	b.hist = min(b.hist+int64(len(p)), size)
	if int64(len(p)) > size {
		b.end += int64(len(p)) - size
		p = p[int64(len(p))-size:]
	}
	for len(p) > 0 {
		n := copy(b.buf[b.end%size:], p)
		p = p[n:]
		b.end += int64(n)
	}
}

// first returns the offset of the oldest byte held (end+1 when empty).
func (b *backlog) first() int64 { return b.end - b.hist + 1 }

// appendFrom appends the bytes from offset off to the end; ok is false when off is not held (older than
// the ring, or beyond the end + 1).
func (b *backlog) appendFrom(dst []byte, off int64) ([]byte, bool) {
	if off < b.first() || off > b.end+1 {
		return dst, false
	}
	size := int64(len(b.buf))
	for o := off; o <= b.end; {
		pos := (o - 1) % size
		chunk := min(size-pos, b.end-o+1)
		dst = append(dst, b.buf[pos:pos+chunk]...)
		o += chunk
	}
	return dst, true
}
