package resp

import (
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

// AppendFloat appends f in Redis 7.2's reply form: the shortest representation that round-trips, "inf",
// "-inf" or "nan".
func AppendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case math.IsNaN(f):
		return append(b, "nan"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
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
