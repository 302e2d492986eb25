package resp

import (
	"bytes"
	"math"
	"strconv"
)

// Writer appends replies to Buf in the connection's protocol version (2 or 3). Once Buf has grown it
// allocates nothing. RESP3-only types are downgraded in RESP2 exactly as Redis 7 does.
type Writer struct {
	Buf   []byte
	Proto int
}

// Reset empties the buffer, keeping its capacity.
func (w *Writer) Reset() { w.Buf = w.Buf[:0] }

// Raw appends pre-encoded bytes.
func (w *Writer) Raw(p []byte) { w.Buf = append(w.Buf, p...) }

func (w *Writer) line(prefix byte, s string) {
	w.Buf = append(w.Buf, prefix)
	w.Buf = append(w.Buf, s...)
	w.Buf = append(w.Buf, '\r', '\n')
}

func (w *Writer) header(prefix byte, n int64) {
	w.Buf = append(w.Buf, prefix)
	w.Buf = strconv.AppendInt(w.Buf, n, 10)
	w.Buf = append(w.Buf, '\r', '\n')
}

// Simple writes a simple string (+OK).
func (w *Writer) Simple(s string) { w.line('+', s) }

// Error writes an error; msg carries its own prefix ("ERR ...", "WRONGTYPE ..."). Newlines are replaced by
// spaces as Redis does, so the reply stays one line.
func (w *Writer) Error(msg string) {
	w.Buf = append(w.Buf, '-')
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		w.Buf = append(w.Buf, c)
	}
	w.Buf = append(w.Buf, '\r', '\n')
}

// Int writes an integer.
func (w *Writer) Int(n int64) { w.header(':', n) }

// Bulk writes a bulk string (a nil slice is an empty string, not a null).
func (w *Writer) Bulk(p []byte) {
	w.header('$', int64(len(p)))
	w.Buf = append(w.Buf, p...)
	w.Buf = append(w.Buf, '\r', '\n')
}

// BulkString writes a bulk string.
func (w *Writer) BulkString(s string) {
	w.header('$', int64(len(s)))
	w.Buf = append(w.Buf, s...)
	w.Buf = append(w.Buf, '\r', '\n')
}

// Null writes a null bulk ($-1 in RESP2, _ in RESP3).
func (w *Writer) Null() {
	if w.Proto >= 3 {
		w.Buf = append(w.Buf, '_', '\r', '\n')
		return
	}
	w.Buf = append(w.Buf, "$-1\r\n"...)
}

// NullArray writes a null array (*-1 in RESP2, _ in RESP3).
func (w *Writer) NullArray() {
	if w.Proto >= 3 {
		w.Buf = append(w.Buf, '_', '\r', '\n')
		return
	}
	w.Buf = append(w.Buf, "*-1\r\n"...)
}

// Array writes an array header of n elements.
func (w *Writer) Array(n int) { w.header('*', int64(n)) }

// Map writes a map header of n pairs (RESP2: an array of 2n elements).
func (w *Writer) Map(n int) {
	if w.Proto >= 3 {
		w.header('%', int64(n))
		return
	}
	w.header('*', 2*int64(n))
}

// Set writes a set header of n elements (RESP2: an array).
func (w *Writer) Set(n int) {
	if w.Proto >= 3 {
		w.header('~', int64(n))
		return
	}
	w.header('*', int64(n))
}

// Push writes a push header of n elements (RESP2: an array).
func (w *Writer) Push(n int) {
	if w.Proto >= 3 {
		w.header('>', int64(n))
		return
	}
	w.header('*', int64(n))
}

// AppendFloat appends f as Redis 7.2's d2string/fpconv_dtoa does: "nan", "inf", "-inf", "0"/"-0"; an
// integral value within ±2^62 as an integer; otherwise the shortest round-trip digits, laid out as a plain
// number while the decimal exponent is small (1234567.5, 0.000003) and in scientific notation with an
// unpadded exponent beyond (1e+21, 1e-07 is written 1e-7). Go's %g would print 1.234567e+06 for 1234567.
func AppendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case f == 0:
		if math.Signbit(f) {
			return append(b, "-0"...)
		}
		return append(b, '0')
	}
	if f >= -math.MaxInt64/2 && f <= math.MaxInt64/2 {
		if ll := int64(f); float64(ll) == f {
			return strconv.AppendInt(b, ll, 10)
		}
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	// Shortest digits d1.d2...dn e±X from strconv, then fpconv's layout rules.
	var tmp, dig [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	ei := bytes.IndexByte(e, 'e')
	digits := dig[:0]
	for _, c := range e[:ei] {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	sciExp, _ := strconv.Atoi(string(e[ei+1:]))
	nd := len(digits)
	k := sciExp - (nd - 1) // f = digits × 10^k
	exp := k + nd - 1
	if exp < 0 {
		exp = -exp
	}
	switch {
	case k >= 0 && exp < nd+7:
		b = append(b, digits...)
		for i := 0; i < k; i++ {
			b = append(b, '0')
		}
		return b
	case k < 0 && (k > -7 || exp < 4):
		offset := nd + k
		if offset <= 0 {
			b = append(b, '0', '.')
			for i := 0; i < -offset; i++ {
				b = append(b, '0')
			}
			return append(b, digits...)
		}
		b = append(b, digits[:offset]...)
		b = append(b, '.')
		return append(b, digits[offset:]...)
	}
	b = append(b, digits[0])
	if nd > 1 {
		b = append(b, '.')
		b = append(b, digits[1:]...)
	}
	b = append(b, 'e')
	if k+nd-1 < 0 {
		b = append(b, '-')
	} else {
		b = append(b, '+')
	}
	return strconv.AppendInt(b, int64(exp), 10)
}

// Double writes a double (RESP3 ",1.5"; RESP2 a bulk string).
func (w *Writer) Double(f float64) {
	if w.Proto >= 3 {
		w.Buf = append(w.Buf, ',')
		w.Buf = AppendFloat(w.Buf, f)
		w.Buf = append(w.Buf, '\r', '\n')
		return
	}
	var tmp [32]byte
	w.Bulk(AppendFloat(tmp[:0], f))
}

// Bool writes a boolean (RESP3 #t/#f; RESP2 :1/:0).
func (w *Writer) Bool(b bool) {
	if w.Proto >= 3 {
		if b {
			w.Buf = append(w.Buf, "#t\r\n"...)
		} else {
			w.Buf = append(w.Buf, "#f\r\n"...)
		}
		return
	}
	if b {
		w.Buf = append(w.Buf, ":1\r\n"...)
	} else {
		w.Buf = append(w.Buf, ":0\r\n"...)
	}
}

// BigNumber writes a big number given in decimal (RESP3 "(", RESP2 a bulk string).
func (w *Writer) BigNumber(s string) {
	if w.Proto >= 3 {
		w.line('(', s)
		return
	}
	w.BulkString(s)
}

// Verbatim writes a verbatim string with a three-letter format ("txt", "mkd"); RESP2 gets a bulk string.
func (w *Writer) Verbatim(format, s string) {
	if w.Proto >= 3 {
		w.header('=', int64(len(s)+4))
		w.Buf = append(w.Buf, format...)
		w.Buf = append(w.Buf, ':')
		w.Buf = append(w.Buf, s...)
		w.Buf = append(w.Buf, '\r', '\n')
		return
	}
	w.BulkString(s)
}

// AppendCommand appends a command as a multibulk request.
func AppendCommand(b []byte, args ...[]byte) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// AppendCommandStrings appends a command given as strings.
func AppendCommandStrings(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}
