package record

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// Reader decodes the records of a whole file held in memory (a log segment). It is not safe for
// concurrent use.
type Reader struct {
	file string
	buf  []byte
	off  int
	// lastLSN is the highest LSN read so far: records after a damaged one must carry higher LSNs, which
	// keeps the look-ahead from mistaking stray bytes inside payloads for records.
	lastLSN uint64
	err     error
}

// NewReader reads records from buf, the contents of file (the name is only used in errors). firstLSN is
// the LSN the file's first record is expected to carry (0 when unknown); it bounds the look-ahead that
// follows damage.
func NewReader(file string, buf []byte, firstLSN uint64) *Reader {
	r := &Reader{file: file, buf: buf}
	if firstLSN > 0 {
		r.lastLSN = firstLSN - 1
	}
	return r
}

// Offset returns the offset just past the last record returned: the length of the file's good prefix
// (which excludes zero-filled space at the end).
func (r *Reader) Offset() int64 { return int64(r.off) }

// Err returns what ended reading: nil while records remain, io.EOF at the clean end, or the damage.
func (r *Reader) Err() error { return r.err }

// Next returns the next record. At the clean end of the file it returns io.EOF; on damage it returns a
// *TornError or *CorruptError (see the package doc for how they are told apart), and so on for every
// later call.
func (r *Reader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	if r.off == len(r.buf) {
		return Record{}, io.EOF
	}
	rec, problem, _ := parse(r.buf[r.off:])
	if problem == "" && rec.Type == TypeSync {
		if _, ok := SyncedOffset(rec.Payload); !ok {
			problem = "malformed sync record"
		}
	}
	if problem != "" {
		if allZero(r.buf[r.off:]) {
			// Space the writer preallocated and never used: the clean end of the file.
			r.err = io.EOF
			return Record{}, io.EOF
		}
		r.err = r.damage(problem)
		return Record{}, r.err
	}
	rec.Offset = int64(r.off)
	r.off += HeaderSize + len(rec.Payload)
	r.lastLSN = max(r.lastLSN, rec.LSN)
	return rec, nil
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// damage classifies the damaged record at r.off. It looks ahead for well-formed records: a sync record
// among them that claims an offset beyond the damage proves the damaged bytes had been synced
// (corruption); otherwise the damage and everything after it is an unsynced, torn tail.
func (r *Reader) damage(problem string) error {
	at := r.off
	la := r.lookahead(at+1, at)
	if la.claim > int64(at) {
		return &CorruptError{File: r.file, Offset: int64(at), Reason: fmt.Sprintf(
			"%s; the sync record at offset %d shows the file was synced up to offset %d, so these bytes were durable",
			problem, la.claimAt, la.claim)}
	}
	return &TornError{File: r.file, Offset: int64(at), Bytes: int64(len(r.buf) - at), Reason: problem,
		Records: la.n, FirstLSN: la.first, LastLSN: la.last}
}

// lookaheadResult is what lookahead found.
type lookaheadResult struct {
	n              int    // well-formed non-sync records
	first, last    uint64 // their LSN range
	claim, claimAt int64  // the highest sync claim and where it was (-1 when none)
}

// lookahead scans buf from offset p for well-formed records, skipping damaged bytes; at is the offset of
// the damage that started the search.
func (r *Reader) lookahead(p, at int) lookaheadResult {
	res := lookaheadResult{claim: -1, claimAt: -1}
	lo := r.lastLSN
	for p+HeaderSize <= len(r.buf) {
		rec, ok := r.candidate(p, lo, at)
		if !ok {
			p++
			continue
		}
		if rec.Type == TypeSync {
			if off, _ := SyncedOffset(rec.Payload); off > res.claim {
				res.claim, res.claimAt = off, int64(p)
			}
		} else {
			if res.n == 0 {
				res.first = rec.LSN
			}
			res.n++
			res.last = rec.LSN
		}
		lo = max(lo, rec.LSN-1)
		p += HeaderSize + len(rec.Payload)
	}
	return res
}

// Salvage reports the well-formed records that follow damage at offset at of a file whose records before
// it ended with LSN lastLSN: how many there are (sync records not counted) and their LSN range. Recovery
// uses it to say exactly what it sets aside.
func Salvage(buf []byte, at int, lastLSN uint64) (n int, first, last uint64) {
	r := &Reader{buf: buf, lastLSN: lastLSN}
	la := r.lookahead(at, at)
	return la.n, la.first, la.last
}

// candidate reports whether a valid record starts at p whose LSN could follow lo (and which is not
// absurdly far ahead: every record takes at least HeaderSize bytes after the damage at at).
func (r *Reader) candidate(p int, lo uint64, at int) (Record, bool) {
	b := r.buf[p:]
	t := Type(b[8])
	if t == TypeInvalid || t > maxType {
		return Record{}, false
	}
	lsn := binary.LittleEndian.Uint64(b[9:])
	hi := uint64(1<<64 - 1)
	if r.lastLSN > 0 {
		hi = r.lastLSN + uint64(len(r.buf)-at)/HeaderSize + 1
	}
	if lsn <= lo || lsn > hi {
		return Record{}, false
	}
	rec, problem, _ := parse(b)
	if problem != "" {
		return Record{}, false
	}
	if t == TypeSync {
		if _, ok := SyncedOffset(rec.Payload); !ok {
			return Record{}, false
		}
	}
	rec.Offset = int64(p)
	return rec, true
}

// StreamReader decodes records sequentially from an io.Reader (a snapshot), with no look-ahead: any
// damage is reported at once, a file that ends inside a record as a *TornError, anything else as a
// *CorruptError. It is not safe for concurrent use.
type StreamReader struct {
	file string
	r    *bufio.Reader
	off  int64
	size int64
	hdr  [HeaderSize]byte
	buf  []byte
}

// NewStreamReader reads records from r, the contents of file starting at offset off; size is the file's
// total size (it bounds the lengths the reader will believe).
func NewStreamReader(file string, r io.Reader, off, size int64) *StreamReader {
	return &StreamReader{file: file, r: bufio.NewReaderSize(r, 1<<20), off: off, size: size}
}

// Offset returns the offset of the next record.
func (s *StreamReader) Offset() int64 { return s.off }

// Next returns the next record; its Payload is valid until the following call. It returns io.EOF when
// r ends exactly at a record boundary.
func (s *StreamReader) Next() (Record, error) {
	n, err := io.ReadFull(s.r, s.hdr[:])
	if err == io.EOF {
		return Record{}, io.EOF
	}
	if err != nil {
		return Record{}, s.readErr(err, n, "incomplete header")
	}
	t := Type(s.hdr[8])
	if t == TypeInvalid || t > maxType {
		return Record{}, &CorruptError{File: s.file, Offset: s.off, Reason: "invalid record type " + itoa(uint64(t))}
	}
	l := int64(binary.LittleEndian.Uint32(s.hdr[4:]))
	if s.off+HeaderSize+l > s.size {
		return Record{}, &TornError{File: s.file, Offset: s.off, Bytes: s.size - s.off,
			Reason: "record of " + itoa(uint64(l)) + " bytes runs past the end of the file"}
	}
	if int64(cap(s.buf)) < l {
		s.buf = make([]byte, l)
	}
	s.buf = s.buf[:l]
	if m, err := io.ReadFull(s.r, s.buf); err != nil {
		return Record{}, s.readErr(err, HeaderSize+m, "incomplete payload")
	}
	crc := crc32Update(s.hdr[4:], s.buf)
	if crc != binary.LittleEndian.Uint32(s.hdr[:]) {
		return Record{}, &CorruptError{File: s.file, Offset: s.off, Reason: "checksum mismatch"}
	}
	rec := Record{Type: t, LSN: binary.LittleEndian.Uint64(s.hdr[9:]), Payload: s.buf, Offset: s.off}
	s.off += HeaderSize + l
	return rec, nil
}

func (s *StreamReader) readErr(err error, n int, what string) error {
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return &TornError{File: s.file, Offset: s.off, Bytes: int64(n), Reason: what}
	}
	return fmt.Errorf("record: read %s at offset %d: %w", s.file, s.off+int64(n), err)
}
