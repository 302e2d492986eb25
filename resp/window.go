package resp

import "io"

// window is a read buffer over an io.Reader, shared by Reader (commands) and ReplyReader (replies): the
// unread bytes are buf[r:w], and fill reads more, moving the unread bytes to the front or doubling the
// buffer when it is full.
type window struct {
	rd   io.Reader
	buf  []byte
	r, w int
	err  error // the error that ended reading, returned by every later fill
	// shrink gives back a buffer grown past shrinkBuf once everything in it is consumed (a server's
	// connection idle after one huge request); a client reading large replies in a loop keeps its own.
	shrink bool
}

// Buffered returns the number of bytes read but not yet consumed.
func (b *window) Buffered() int { return b.w - b.r }

// fill reads more bytes into space. A read of nothing with no error counts as io.ErrNoProgress.
func (b *window) fill() error {
	if b.err != nil {
		return b.err
	}
	n, err := b.rd.Read(b.space())
	b.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	b.err = err
	return err
}

// space returns the buffer space the next read should fill (never empty): after the unread bytes, moved
// to the front or into a buffer twice the size when the buffer is full.
func (b *window) space() []byte {
	if b.r == b.w {
		b.r, b.w = 0, 0
		if b.shrink && len(b.buf) > shrinkBuf {
			b.buf = make([]byte, minBuf) // idle: give back a big buffer
		}
	}
	if b.w == len(b.buf) {
		if b.r > 0 {
			copy(b.buf, b.buf[b.r:b.w])
			b.w -= b.r
			b.r = 0
		}
		if b.w == len(b.buf) {
			nb := make([]byte, 2*len(b.buf))
			copy(nb, b.buf[:b.w])
			b.buf = nb
		}
	}
	return b.buf[b.w:]
}
