// Package resp implements the Redis serialization protocol (RESP2 and RESP3) for kvlab: a server-side
// Reader that parses client commands (multibulk and inline) with Redis's limits and error messages, a
// Writer that appends replies in the connection's protocol version without allocating, and a client-side
// ReplyReader that parses every reply type (used by the load generator and the tests). It knows nothing
// about commands.
//
// Limits (Limits) and their errors follow Redis 7's networking.c: a multibulk count above MaxMultibulkLen is
// "Protocol error: invalid multibulk length", a bulk above MaxBulkLen "Protocol error: invalid bulk length",
// an inline request longer than MaxInlineLen without a newline "Protocol error: too big inline request", and a
// single pending command that needs more than MaxQueryBuffer bytes "Protocol error: query buffer limit
// exceeded" (Redis closes such a client silently; kvlab says why). The server replies "-ERR <msg>" and closes.
package resp

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
)

// Limits bound what a client may send. Zero fields mean the default.
type Limits struct {
	MaxBulkLen      int64 // default 512 MiB (Redis proto-max-bulk-len)
	MaxMultibulkLen int64 // default 1024*1024 elements
	MaxQueryBuffer  int64 // default 1 GiB (Redis client-query-buffer-limit): bytes buffered for one pending command
	MaxInlineLen    int64 // default 64 KiB (Redis PROTO_INLINE_MAX_SIZE)
}

// DefaultLimits returns Redis's defaults.
func DefaultLimits() Limits {
	return Limits{MaxBulkLen: 512 << 20, MaxMultibulkLen: 1 << 20, MaxQueryBuffer: 1 << 30, MaxInlineLen: 64 << 10}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBulkLen <= 0 {
		l.MaxBulkLen = d.MaxBulkLen
	}
	if l.MaxMultibulkLen <= 0 {
		l.MaxMultibulkLen = d.MaxMultibulkLen
	}
	if l.MaxQueryBuffer <= 0 {
		l.MaxQueryBuffer = d.MaxQueryBuffer
	}
	if l.MaxInlineLen <= 0 {
		l.MaxInlineLen = d.MaxInlineLen
	}
	return l
}

// ProtocolError is a malformed-request error; Error returns Redis's text without the "ERR " prefix.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return e.Msg }

func protoErr(msg string) error { return &ProtocolError{Msg: "Protocol error: " + msg} }

var errIncomplete = errors.New("resp: incomplete")

const (
	minBuf    = 16 << 10
	shrinkBuf = 1 << 20
	// bigArg is the size from which a bulk's buffer space is grown on demand instead of all at once.
	bigArg = 32 << 10
)

// Reader parses client commands from an io.Reader. It is not safe for concurrent use.
type Reader struct {
	window // the connection's bytes; unread bytes are buf[r:w]
	lim    Limits
	args   [][]byte
	// spans records argument offsets relative to the command start while parsing, so args can be rebuilt
	// after the buffer moves.
	spans [][2]int
	// inline scratch for unquoted inline arguments
	inline []byte
}

// NewReader returns a Reader with the given limits (zero fields = defaults).
func NewReader(rd io.Reader, lim Limits) *Reader {
	return &Reader{window: window{rd: rd, buf: make([]byte, minBuf), shrink: true}, lim: lim.withDefaults()}
}

// ReadCommand returns the next command, reading from the underlying reader as needed. The returned
// slices point into the Reader's buffer and are valid until the next call of ReadCommand or Next.
func (r *Reader) ReadCommand() ([][]byte, error) {
	for {
		args, ok, err := r.Next()
		if err != nil {
			return nil, err
		}
		if ok {
			return args, nil
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

// Next returns the next command only if it is already complete in the buffer; it never reads. ok is false
// when no complete command is buffered. Slice validity as for ReadCommand.
func (r *Reader) Next() (args [][]byte, ok bool, err error) {
	for {
		if r.r == r.w {
			return nil, false, nil
		}
		var n int
		if r.buf[r.r] == '*' {
			n, err = r.parseMultibulk(r.buf[r.r:r.w])
		} else {
			n, err = r.parseInline(r.buf[r.r:r.w])
		}
		if err == errIncomplete {
			return nil, false, r.checkPending()
		}
		if err != nil {
			return nil, false, err
		}
		start := r.r
		r.r += n
		if len(r.spans) == 0 {
			continue // empty multibulk or blank inline line: skip, as Redis does
		}
		if r.args == nil || cap(r.args) < len(r.spans) {
			r.args = make([][]byte, len(r.spans), max(len(r.spans), 8))
		}
		r.args = r.args[:len(r.spans)]
		for i, sp := range r.spans {
			if sp[0] < 0 {
				// Unquoted-by-copy inline argument held in r.inline.
				r.args[i] = r.inline[-sp[0]-1 : -sp[0]-1+sp[1]]
				continue
			}
			r.args[i] = r.buf[start+sp[0] : start+sp[0]+sp[1] : start+sp[0]+sp[1]]
		}
		return r.args, true, nil
	}
}

// PeekKeys appends to dst the second argument (the key, for most commands) of each complete multibulk
// command buffered after the one Next last returned, up to max commands, without consuming anything, and
// returns dst. It parses as Next does (scanMultibulk) and stops at the first command that is incomplete,
// inline, malformed or has fewer than two arguments: Next deals with those. So the keys are, in order, the
// second arguments of the commands Next returns next. They alias the buffer and are valid until the next
// call of ReadCommand or Next. It serves prefetching: a server looks the keys up before running the
// commands.
func (r *Reader) PeekKeys(dst [][]byte, max int) [][]byte {
	p := r.buf[r.r:r.w]
	for ; max > 0 && len(p) > 0 && p[0] == '*'; max-- {
		// r.spans is free once Next has built its args: the scan may use it.
		n, spans, _, err := r.scanMultibulk(p, r.spans[:0])
		r.spans = spans
		if err != nil || len(spans) < 2 {
			break
		}
		start, l := spans[1][0], spans[1][1]
		dst = append(dst, p[start:start+l:start+l])
		p = p[n:]
	}
	return dst
}

// checkPending enforces the query buffer limit on an incomplete command.
func (r *Reader) checkPending() error {
	if int64(r.w-r.r) > r.lim.MaxQueryBuffer {
		return protoErr("query buffer limit exceeded")
	}
	return nil
}

// Space returns the buffer space the next read should fill (never empty), compacting or growing the
// buffer first as ReadCommand does. A caller that reads the connection itself (an event loop reading a
// non-blocking socket) reads into it and reports the bytes with Advance; its errors are its own to handle,
// the Reader keeps none.
func (r *Reader) Space() []byte { return r.space() }

// Advance records that n bytes were read into the slice Space returned.
func (r *Reader) Advance(n int) { r.w += n }

// need ensures that a bulk of size n announced at the current position can be buffered: it grows the
// buffer ahead for large bulks so a big value is read with few copies (bounded by what was announced).
func (r *Reader) reserve(total int) {
	if total <= len(r.buf) {
		return
	}
	if r.r > 0 {
		copy(r.buf, r.buf[r.r:r.w])
		r.w -= r.r
		r.r = 0
	}
	if total > len(r.buf) {
		// Grow to what the command needs so far, but never more than 2x what is already buffered plus the
		// minimum: a header claiming 512 MB gets memory only as the bytes actually arrive.
		size := len(r.buf) * 2
		if size < total && total < 4*r.w+minBuf {
			size = total
		}
		nb := make([]byte, size)
		copy(nb, r.buf[:r.w])
		r.buf = nb
	}
}

// parseInt parses a decimal header number like Redis's string2ll (no sign for lengths handled by caller).
func parseHeaderInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	neg := false
	if b[0] == '-' {
		neg = true
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++ // -9223372036854775808, which INCRBY and BITFIELD can reply
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (limit-uint64(c-'0'))/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		return int64(-n), true
	}
	return int64(n), true
}

// parseMultibulk parses one "*N\r\n$len\r\n...\r\n" command from p; it returns the bytes consumed and records
// argument spans, or errIncomplete. An incomplete large argument reserves buffer space for the rest.
func (r *Reader) parseMultibulk(p []byte) (int, error) {
	n, spans, missing, err := r.scanMultibulk(p, r.spans[:0])
	r.spans = spans
	if missing > 0 {
		r.reserve(r.w - r.r + missing)
	}
	return n, err
}

// scanMultibulk parses one multibulk command from p, appending its argument spans to spans, without
// touching the reader's state (PeekKeys parses ahead with it). It returns the bytes consumed and the spans,
// or errIncomplete, with missing set to the bytes still to come when the incomplete part is an argument of
// bigArg bytes or more (parseMultibulk then reserves room for it).
func (r *Reader) scanMultibulk(p []byte, spans [][2]int) (n int, _ [][2]int, missing int, err error) {
	nl := bytes.IndexByte(p, '\n')
	if nl < 0 {
		if len(p) > int(r.lim.MaxInlineLen) {
			return 0, spans, 0, protoErr("too big mbulk count string")
		}
		return 0, spans, 0, errIncomplete
	}
	if nl < 1 || p[nl-1] != '\r' {
		// Redis searches for "\r"; a bare "\n" leaves the count unparsable.
		return 0, spans, 0, protoErr("invalid multibulk length")
	}
	count, ok := parseHeaderInt(p[1 : nl-1])
	if !ok || count > r.lim.MaxMultibulkLen {
		return 0, spans, 0, protoErr("invalid multibulk length")
	}
	pos := nl + 1
	if count <= 0 {
		return pos, spans, 0, nil
	}
	for i := int64(0); i < count; i++ {
		if pos >= len(p) {
			return 0, spans, 0, errIncomplete
		}
		if p[pos] != '$' {
			return 0, spans, 0, protoErr("expected '$', got '" + string(p[pos]) + "'")
		}
		nl := bytes.IndexByte(p[pos:], '\n')
		if nl < 0 {
			if len(p)-pos > int(r.lim.MaxInlineLen) {
				return 0, spans, 0, protoErr("too big bulk count string")
			}
			return 0, spans, 0, errIncomplete
		}
		nl += pos
		if p[nl-1] != '\r' {
			return 0, spans, 0, protoErr("invalid bulk length")
		}
		l, ok := parseHeaderInt(p[pos+1 : nl-1])
		if !ok || l < 0 || l > r.lim.MaxBulkLen {
			return 0, spans, 0, protoErr("invalid bulk length")
		}
		start := nl + 1
		end := start + int(l)
		if end+2 > len(p) {
			if l >= bigArg {
				missing = end + 2 - len(p)
			}
			return 0, spans, missing, errIncomplete
		}
		spans = append(spans, [2]int{start, int(l)})
		pos = end + 2
	}
	return pos, spans, 0, nil
}

// parseInline parses one inline command line with Redis's sdssplitargs quoting.
func (r *Reader) parseInline(p []byte) (int, error) {
	r.spans = r.spans[:0]
	nl := bytes.IndexByte(p, '\n')
	if nl < 0 {
		if len(p) > int(r.lim.MaxInlineLen) {
			return 0, protoErr("too big inline request")
		}
		return 0, errIncomplete
	}
	if nl > int(r.lim.MaxInlineLen) {
		// Redis rejects a longer line only when its newline has not arrived yet, which depends on how the
		// bytes were split into reads; kvlab applies the limit to every inline line.
		return 0, protoErr("too big inline request")
	}
	line := p[:nl]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	r.inline = r.inline[:0]
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			break
		}
		switch line[i] {
		case '"', '\'':
			q := line[i]
			start := len(r.inline)
			j := i + 1
			closed := false
			for j < len(line) {
				c := line[j]
				if q == '"' && c == '\\' && j+1 < len(line) {
					if line[j+1] == 'x' && j+3 < len(line) && isHex(line[j+2]) && isHex(line[j+3]) {
						r.inline = append(r.inline, unhex(line[j+2])<<4|unhex(line[j+3]))
						j += 4
						continue
					}
					var e byte
					switch line[j+1] {
					case 'n':
						e = '\n'
					case 'r':
						e = '\r'
					case 't':
						e = '\t'
					case 'b':
						e = '\b'
					case 'a':
						e = '\a'
					default:
						e = line[j+1]
					}
					r.inline = append(r.inline, e)
					j += 2
					continue
				}
				if q == '\'' && c == '\\' && j+1 < len(line) && line[j+1] == '\'' {
					r.inline = append(r.inline, '\'')
					j += 2
					continue
				}
				if c == q {
					// The closing quote must be followed by a space or the end.
					if j+1 < len(line) && !isSpace(line[j+1]) {
						return 0, protoErr("unbalanced quotes in request")
					}
					closed = true
					j++
					break
				}
				r.inline = append(r.inline, c)
				j++
			}
			if !closed {
				return 0, protoErr("unbalanced quotes in request")
			}
			r.spans = append(r.spans, [2]int{-(start + 1), len(r.inline) - start})
			i = j
		default:
			j := i
			for j < len(line) && !isSpace(line[j]) {
				j++
			}
			r.spans = append(r.spans, [2]int{i, j - i})
			i = j
		}
	}
	return nl + 1, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

var _ = strconv.Itoa
