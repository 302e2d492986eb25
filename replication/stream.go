package replication

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

var errProtocol = errors.New("replication: protocol error in the replication stream")

// maxStreamArg bounds one argument of the stream (Redis's proto-max-bulk-len default is 512 MB).
const maxStreamArg = 512 << 20

// cmdReader reads the RESP multibulk commands of a replication stream and keeps each command's raw bytes,
// whose count advances the replication offset.
type cmdReader struct {
	r *bufio.Reader
}

// next returns the next command's arguments (freshly allocated, owned by the caller) and its size on the
// wire in bytes.
func (cr *cmdReader) next() (args [][]byte, raw []byte, err error) {
	line, err := cr.line()
	if err != nil {
		return nil, nil, err
	}
	if len(line) < 2 || line[0] != '*' {
		return nil, nil, fmt.Errorf("%w: expected a multibulk command, got %q", errProtocol, clip(line))
	}
	n, err := strconv.Atoi(string(line[1 : len(line)-2]))
	if err != nil || n <= 0 || n > 1<<20 {
		return nil, nil, fmt.Errorf("%w: bad argument count %q", errProtocol, clip(line))
	}
	raw = append(make([]byte, 0, 64), line...)
	offs := make([]int, 0, n*2)
	for i := 0; i < n; i++ {
		line, err := cr.line()
		if err != nil {
			return nil, nil, err
		}
		if len(line) < 2 || line[0] != '$' {
			return nil, nil, fmt.Errorf("%w: expected a bulk string, got %q", errProtocol, clip(line))
		}
		l, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil || l < 0 || l > maxStreamArg {
			return nil, nil, fmt.Errorf("%w: bad bulk length %q", errProtocol, clip(line))
		}
		raw = append(raw, line...)
		start := len(raw)
		raw = append(raw, make([]byte, l+2)...)
		if _, err := io.ReadFull(cr.r, raw[start:]); err != nil {
			return nil, nil, err
		}
		offs = append(offs, start, start+l)
	}
	args = make([][]byte, n)
	for i := range args {
		args[i] = raw[offs[2*i]:offs[2*i+1]:offs[2*i+1]]
	}
	return args, raw, nil
}

// line reads one CRLF-terminated line (CRLF included).
func (cr *cmdReader) line() ([]byte, error) {
	line, err := cr.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, fmt.Errorf("%w: line too long", errProtocol)
	}
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: line without CRLF", errProtocol)
	}
	return line, nil
}

func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}

// parseCommand parses one RESP multibulk command at the start of buf without copying: the arguments
// (appended to args[:0]) alias buf. It returns the bytes consumed; io.ErrUnexpectedEOF when buf ends
// inside the command.
func parseCommand(buf []byte, args [][]byte) ([][]byte, int, error) {
	args = args[:0]
	n, p, err := parseHeader(buf, 0, '*')
	if err != nil {
		return args, 0, err
	}
	if n <= 0 || n > 1<<20 {
		return args, 0, fmt.Errorf("%w: bad argument count %d", errProtocol, n)
	}
	for i := 0; i < n; i++ {
		var l int
		l, p, err = parseHeader(buf, p, '$')
		if err != nil {
			return args, 0, err
		}
		if l < 0 || l > maxStreamArg {
			return args, 0, fmt.Errorf("%w: bad bulk length %d", errProtocol, l)
		}
		if p+l+2 > len(buf) {
			return args, 0, io.ErrUnexpectedEOF
		}
		args = append(args, buf[p:p+l:p+l])
		p += l + 2
	}
	return args, p, nil
}

// parseHeader parses "<kind><integer>\r\n" at buf[p:] and returns the integer and the position after it.
func parseHeader(buf []byte, p int, kind byte) (int, int, error) {
	if p >= len(buf) {
		return 0, p, io.ErrUnexpectedEOF
	}
	if buf[p] != kind {
		return 0, p, fmt.Errorf("%w: expected %q at offset %d, got %q", errProtocol, kind, p, buf[p])
	}
	v, neg := 0, false
	p++
	if p < len(buf) && buf[p] == '-' {
		neg = true
		p++
	}
	start := p
	for ; p < len(buf) && buf[p] >= '0' && buf[p] <= '9'; p++ {
		v = v*10 + int(buf[p]-'0')
		if v > 1<<40 {
			return 0, p, fmt.Errorf("%w: number too large", errProtocol)
		}
	}
	if p+1 >= len(buf) {
		return 0, p, io.ErrUnexpectedEOF
	}
	if p == start || buf[p] != '\r' || buf[p+1] != '\n' {
		return 0, p, fmt.Errorf("%w: bad header at offset %d", errProtocol, start-1)
	}
	if neg {
		v = -v
	}
	return v, p + 2, nil
}
