package resp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unsafe"
)

// ReplyReader parses server replies of every RESP2 and RESP3 type, attributes included (they are skipped by
// Skip and attached to nothing by Read). It is not safe for concurrent use.
type ReplyReader struct {
	window
}

// ErrBadReply reports bytes that are not a valid RESP reply.
var ErrBadReply = errors.New("resp: malformed reply")

// NewReplyReader returns a reader of replies from rd.
func NewReplyReader(rd io.Reader) *ReplyReader {
	return &ReplyReader{window{rd: rd, buf: make([]byte, 32<<10)}}
}

// line returns the next line without its CRLF (valid until the next read).
func (r *ReplyReader) line() ([]byte, error) {
	for {
		if i := bytes.IndexByte(r.buf[r.r:r.w], '\n'); i >= 0 {
			l := r.buf[r.r : r.r+i]
			r.r += i + 1
			if len(l) == 0 || l[len(l)-1] != '\r' {
				return nil, fmt.Errorf("%w: line without CRLF", ErrBadReply)
			}
			return l[:len(l)-1], nil
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

// bulk returns the next n bytes plus CRLF.
func (r *ReplyReader) bulk(n int) ([]byte, error) {
	for r.w-r.r < n+2 {
		if r.r > 0 {
			copy(r.buf, r.buf[r.r:r.w])
			r.w -= r.r
			r.r = 0
		}
		if len(r.buf) < n+2 {
			nb := make([]byte, n+2+1024)
			copy(nb, r.buf[:r.w])
			r.buf = nb
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
	b := r.buf[r.r : r.r+n]
	if r.buf[r.r+n] != '\r' || r.buf[r.r+n+1] != '\n' {
		return nil, fmt.Errorf("%w: bulk without CRLF", ErrBadReply)
	}
	r.r += n + 2
	return b, nil
}

// MaxReplyBulk is the longest bulk string a reply may carry: Redis's default proto-max-bulk-len, the
// largest value a server holds by default. A longer length is a bad reply, not a reason to allocate it.
const MaxReplyBulk = 512 << 20

// bulkLen parses a bulk string's length header (-1 for a null bulk), refusing lengths over MaxReplyBulk.
func bulkLen(b []byte) (int64, error) {
	n, err := atoi(b)
	if err == nil && n > MaxReplyBulk {
		return 0, fmt.Errorf("%w: bulk of %d bytes is over the %d-byte limit", ErrBadReply, n, MaxReplyBulk)
	}
	return n, err
}

// maxReplyElems bounds an aggregate's element count (a real reply holds at most a few billion).
const maxReplyElems = 1 << 32

// elemCount parses an aggregate's count header for its kind: the number of replies that follow (twice
// the count for maps and attributes; -1 for a null aggregate).
func elemCount(kind byte, b []byte) (int64, error) {
	n, err := atoi(b)
	if err != nil || n < 0 {
		return n, err
	}
	if n > maxReplyElems {
		return 0, fmt.Errorf("%w: aggregate of %d elements", ErrBadReply, n)
	}
	if kind == '%' || kind == '|' {
		n *= 2
	}
	return n, nil
}

func atoi(b []byte) (int64, error) {
	n, ok := parseHeaderInt(b)
	if !ok {
		return 0, fmt.Errorf("%w: bad length %q", ErrBadReply, b)
	}
	return n, nil
}

// Skip consumes one whole reply (nested aggregates included) without allocating in steady state. It
// returns the reply's type byte and, for errors ('-' and '!'), the error text valid until the next call.
func (r *ReplyReader) Skip() (kind byte, errText []byte, err error) {
	l, err := r.line()
	if err != nil {
		return 0, nil, err
	}
	if len(l) == 0 {
		return 0, nil, fmt.Errorf("%w: empty line", ErrBadReply)
	}
	kind = l[0]
	switch kind {
	case '+', '(':
		return kind, nil, nil
	case ':':
		if _, err := atoi(l[1:]); err != nil {
			return 0, nil, err
		}
		return kind, nil, nil
	case '_':
		if len(l) != 1 {
			return 0, nil, fmt.Errorf("%w: bad null", ErrBadReply)
		}
		return kind, nil, nil
	case '#':
		if len(l) != 2 || (l[1] != 't' && l[1] != 'f') {
			return 0, nil, fmt.Errorf("%w: bad boolean %q", ErrBadReply, l[1:])
		}
		return kind, nil, nil
	case ',':
		if !validDouble(l[1:]) {
			return 0, nil, fmt.Errorf("%w: bad double %q", ErrBadReply, l[1:])
		}
		if b := l[1:]; string(b) != "inf" && string(b) != "-inf" && string(b) != "nan" {
			// unsafe.String avoids a copy; ParseFloat does not keep the string past the call.
			if _, err := strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64); err != nil {
				return 0, nil, fmt.Errorf("%w: bad double", ErrBadReply)
			}
		}
		return kind, nil, nil
	case '-':
		return kind, l[1:], nil
	case '$', '=', '!':
		n, err := bulkLen(l[1:])
		if err != nil {
			return 0, nil, err
		}
		if n < 0 {
			return kind, nil, nil
		}
		b, err := r.bulk(int(n))
		if err != nil {
			return 0, nil, err
		}
		if kind == '!' {
			return kind, b, nil
		}
		return kind, nil, nil
	case '*', '~', '>', '%', '|':
		n, err := elemCount(kind, l[1:])
		if err != nil {
			return 0, nil, err
		}
		for i := int64(0); i < n; i++ {
			if _, _, err := r.Skip(); err != nil {
				return 0, nil, err
			}
		}
		if kind == '|' {
			// An attribute precedes the actual reply.
			return r.Skip()
		}
		return kind, nil, nil
	}
	return 0, nil, fmt.Errorf("%w: unknown type byte %q", ErrBadReply, kind)
}

// Value is one decoded reply.
type Value struct {
	Kind  byte    // the type byte: + - : $ * % ~ > _ , # ( = !
	Str   []byte  // simple/bulk/verbatim (format prefix removed)/error/big number/double text
	Int   int64   // integers
	Float float64 // doubles
	Bool  bool    // booleans
	Null  bool    // $-1, *-1, _
	Elems []Value // array/set/push elements; map as k1, v1, k2, v2 ...
}

// Read returns one reply as a Value (allocates; for tests and tools).
func (r *ReplyReader) Read() (Value, error) {
	l, err := r.line()
	if err != nil {
		return Value{}, err
	}
	if len(l) == 0 {
		return Value{}, fmt.Errorf("%w: empty line", ErrBadReply)
	}
	v := Value{Kind: l[0]}
	body := l[1:]
	switch v.Kind {
	case '+', '-', '(':
		v.Str = append([]byte(nil), body...)
	case ':':
		v.Int, err = atoi(body)
	case '_':
		if len(body) != 0 {
			return v, fmt.Errorf("%w: bad null", ErrBadReply)
		}
		v.Null = true
	case ',':
		if !validDouble(body) {
			return v, fmt.Errorf("%w: bad double %q", ErrBadReply, body)
		}
		v.Str = append([]byte(nil), body...)
		switch string(body) {
		case "inf":
			v.Float = posInf
		case "-inf":
			v.Float = negInf
		case "nan":
			v.Float = posInf - posInf
		default:
			v.Float, err = strconv.ParseFloat(string(body), 64)
		}
	case '#':
		if len(body) != 1 || (body[0] != 't' && body[0] != 'f') {
			return v, fmt.Errorf("%w: bad boolean %q", ErrBadReply, body)
		}
		v.Bool = body[0] == 't'
	case '$', '=', '!':
		var n int64
		if n, err = bulkLen(body); err != nil {
			return v, err
		}
		if n < 0 {
			v.Null = true
			return v, nil
		}
		var b []byte
		if b, err = r.bulk(int(n)); err != nil {
			return v, err
		}
		if v.Kind == '=' && len(b) >= 4 {
			b = b[4:]
		}
		v.Str = append([]byte(nil), b...)
	case '*', '~', '>', '%', '|':
		var n int64
		if n, err = elemCount(v.Kind, body); err != nil {
			return v, err
		}
		if n < 0 {
			v.Null = true
			return v, nil
		}
		v.Elems = make([]Value, 0, min(n, 1024))
		for i := int64(0); i < n; i++ {
			e, err := r.Read()
			if err != nil {
				return v, err
			}
			v.Elems = append(v.Elems, e)
		}
		if v.Kind == '|' {
			return r.Read()
		}
	default:
		return v, fmt.Errorf("%w: unknown type byte %q", ErrBadReply, v.Kind)
	}
	return v, err
}

// validDouble reports whether b is a RESP3 double ("inf", "-inf", "nan" or a decimal/exponent number),
// without allocating.
func validDouble(b []byte) bool {
	switch string(b) {
	case "inf", "-inf", "nan":
		return true
	}
	if len(b) == 0 {
		return false
	}
	digits := false
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c == '-' || c == '+':
			if i != 0 && b[i-1] != 'e' && b[i-1] != 'E' {
				return false
			}
		case c == '.' || c == 'e' || c == 'E':
		default:
			return false
		}
	}
	return digits
}

var posInf, negInf = func() (float64, float64) {
	p, _ := strconv.ParseFloat("+Inf", 64)
	return p, -p
}()

// String renders the value like redis-cli does.
func (v Value) String() string {
	var b strings.Builder
	v.format(&b, "")
	return strings.TrimRight(b.String(), "\n")
}

func (v Value) format(b *strings.Builder, indent string) {
	switch v.Kind {
	case '+':
		b.WriteString(string(v.Str) + "\n")
	case '-', '!':
		b.WriteString("(error) " + string(v.Str) + "\n")
	case ':':
		fmt.Fprintf(b, "(integer) %d\n", v.Int)
	case ',':
		fmt.Fprintf(b, "(double) %s\n", v.Str)
	case '#':
		fmt.Fprintf(b, "(%v)\n", v.Bool)
	case '(':
		fmt.Fprintf(b, "(big number) %s\n", v.Str)
	case '_':
		b.WriteString("(nil)\n")
	case '$', '=':
		if v.Null {
			b.WriteString("(nil)\n")
			return
		}
		b.WriteString(strconv.Quote(string(v.Str)) + "\n")
	case '*', '~', '>', '%':
		if v.Null {
			b.WriteString("(nil)\n")
			return
		}
		if len(v.Elems) == 0 {
			b.WriteString("(empty array)\n")
			return
		}
		step := 1
		if v.Kind == '%' {
			step = 2
		}
		for i := 0; i < len(v.Elems); i += step {
			prefix := fmt.Sprintf("%d) ", i/step+1)
			if i > 0 {
				b.WriteString(indent)
			}
			b.WriteString(prefix)
			if step == 2 {
				b.WriteString(strings.TrimRight(v.Elems[i].String(), "\n") + " => ")
				v.Elems[i+1].format(b, indent+strings.Repeat(" ", len(prefix)))
			} else {
				v.Elems[i].format(b, indent+strings.Repeat(" ", len(prefix)))
			}
		}
	}
}

// ReplyLen returns the length in bytes of the first complete reply at the start of b (nested aggregates
// and a leading attribute included), or 0 when b holds only part of one. It lets an event loop reading
// non-blocking sockets parse a reply only once all of it has arrived. It checks the framing (type bytes,
// lengths, CRLFs), not the contents of simple values: Skip or Read on the same bytes does that.
func ReplyLen(b []byte) (int, error) {
	n, err := replyLen(b, 0)
	if err != nil || n < 0 {
		return 0, err
	}
	return n, nil
}

// maxReplyDepth bounds the nesting ReplyLen follows (real replies nest a few levels).
const maxReplyDepth = 64

// replyLen is ReplyLen returning -1 for an incomplete reply.
func replyLen(b []byte, depth int) (int, error) {
	if depth > maxReplyDepth {
		return 0, fmt.Errorf("%w: nested deeper than %d", ErrBadReply, maxReplyDepth)
	}
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return -1, nil
	}
	if i == 0 || b[i-1] != '\r' {
		return 0, fmt.Errorf("%w: line without CRLF", ErrBadReply)
	}
	if i == 1 {
		return 0, fmt.Errorf("%w: empty line", ErrBadReply)
	}
	head := i + 1
	switch b[0] {
	case '+', '-', ':', '_', ',', '#', '(':
		return head, nil
	case '$', '=', '!':
		n, err := bulkLen(b[1 : i-1])
		if err != nil {
			return 0, err
		}
		if n < 0 {
			return head, nil
		}
		total := head + int(n) + 2
		if len(b) < total {
			return -1, nil
		}
		if b[total-2] != '\r' || b[total-1] != '\n' {
			return 0, fmt.Errorf("%w: bulk without CRLF", ErrBadReply)
		}
		return total, nil
	case '*', '~', '>', '%', '|':
		n, err := elemCount(b[0], b[1:i-1])
		if err != nil {
			return 0, err
		}
		off := head
		for k := int64(0); k < n; k++ {
			m, err := replyLen(b[off:], depth+1)
			if err != nil || m < 0 {
				return m, err
			}
			off += m
		}
		if b[0] == '|' {
			// An attribute precedes the actual reply.
			m, err := replyLen(b[off:], depth+1)
			if err != nil || m < 0 {
				return m, err
			}
			off += m
		}
		return off, nil
	}
	return 0, fmt.Errorf("%w: unknown type byte %q", ErrBadReply, b[0])
}
