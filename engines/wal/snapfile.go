package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/kvlab/kvlab/internal/record"
	"github.com/kvlab/kvlab/keyspace"
)

// Snapshot file constants (frozen; see the package doc for the layout).
const (
	snapMagic      = "KVLABSNP"
	snapVersion    = 1
	snapHeaderSize = 32
	snapFlagZstd   = 1
	// trailer payload: LSN, keys, raw bytes (uint64 each), header CRC (uint32)
	snapTrailerPayload = 28
	snapTrailerSize    = record.HeaderSize + snapTrailerPayload
	// snapChunkSize is the amount of raw entries compressed into one chunk.
	snapChunkSize = 1 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// SnapshotInfo describes a snapshot file.
type SnapshotInfo struct {
	Path string
	// LSN is the last log record the snapshot includes.
	LSN uint64
	// Time is when the snapshot started.
	Time time.Time
	// Keys, Chunks and RawBytes count what the file holds (RawBytes: entries before compression).
	Keys, Chunks, RawBytes int64
	// Size is the file size in bytes.
	Size int64
}

func appendSnapHeader(dst []byte, lsn uint64, t time.Time) []byte {
	dst = append(dst, snapMagic...)
	dst = binary.LittleEndian.AppendUint32(dst, snapVersion)
	dst = binary.LittleEndian.AppendUint32(dst, snapFlagZstd)
	dst = binary.LittleEndian.AppendUint64(dst, lsn)
	return binary.LittleEndian.AppendUint64(dst, uint64(t.UnixMilli()))
}

func appendSnapTrailer(dst []byte, chunks int64, lsn uint64, keys, raw int64, header []byte) []byte {
	var p [snapTrailerPayload]byte
	binary.LittleEndian.PutUint64(p[0:], lsn)
	binary.LittleEndian.PutUint64(p[8:], uint64(keys))
	binary.LittleEndian.PutUint64(p[16:], uint64(raw))
	binary.LittleEndian.PutUint32(p[24:], crc32.Checksum(header, crcTable))
	return record.Append(dst, record.TypeSnapshotTrailer, uint64(chunks), p[:])
}

// appendEntry serializes one key: uvarint db | uvarint len | key | varint expiry | uvarint len | value.
// A cold object's value is read back from its tier (kdb is the object's database), which is the only way this
// fails.
func appendEntry(dst []byte, db int, kdb *keyspace.DB, key string, o *keyspace.Object, scratch *[]byte) ([]byte, error) {
	dst = binary.AppendUvarint(dst, uint64(db))
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	dst = binary.AppendVarint(dst, o.ExpireAt)
	if o.Type == keyspace.TypeString && !o.Cold {
		// MarshalValue of a string is a 2-byte header and the bytes: no need to build it aside.
		start := len(dst)
		dst = binary.AppendUvarint(dst, uint64(2+len(o.Str())))
		n := len(dst)
		if dst = keyspace.MarshalValue(dst, o); len(dst)-n == 2+len(o.Str()) {
			return dst, nil
		}
		dst = dst[:start] // the string encoding changed size: take the general path
	}
	var err error
	if *scratch, err = keyspace.MarshalObject((*scratch)[:0], kdb, o); err != nil {
		return dst, fmt.Errorf("wal: snapshot key %q: %w", key, err)
	}
	dst = binary.AppendUvarint(dst, uint64(len(*scratch)))
	return append(dst, *scratch...), nil
}

// coldEntry is a cold object the walk met: its value is read after the slice, from a ColdView.
type coldEntry struct {
	key      string
	expireAt int64
	tag      uint32 // the object's cold handle
	rank     uint32 // the object's ScanRank
}

// appendColdEntry is appendEntry for a cold object whose value is read from view.
func appendColdEntry(dst []byte, db int, c coldEntry, view keyspace.ColdView, scratch *[]byte) ([]byte, error) {
	var err error
	if *scratch, err = view.Read(c.tag, c.rank, c.key, (*scratch)[:0]); err != nil {
		return dst, fmt.Errorf("wal: snapshot key %q: %w", c.key, err)
	}
	dst = binary.AppendUvarint(dst, uint64(db))
	dst = binary.AppendUvarint(dst, uint64(len(c.key)))
	dst = append(dst, c.key...)
	dst = binary.AppendVarint(dst, c.expireAt)
	dst = binary.AppendUvarint(dst, uint64(len(*scratch)))
	return append(dst, *scratch...), nil
}

// snapEntry is one decoded entry; Key and Value alias the chunk.
type snapEntry struct {
	DB       int
	Key      []byte
	ExpireAt int64
	Value    []byte
}

// decodeEntries calls fn for every entry in a decompressed chunk.
func decodeEntries(b []byte, fn func(snapEntry) error) (int64, error) {
	var n int64
	for len(b) > 0 {
		var e snapEntry
		db, k := binary.Uvarint(b)
		if k <= 0 || db >= keyspace.NumDBs {
			return n, errors.New("bad database index")
		}
		e.DB = int(db)
		b = b[k:]
		key, rest, err := keyspace.ReadBytes(b)
		if err != nil {
			return n, errors.New("bad key")
		}
		e.Key, b = key, rest
		exp, k := binary.Varint(b)
		if k <= 0 {
			return n, errors.New("bad expiry")
		}
		e.ExpireAt, b = exp, b[k:]
		val, rest, err := keyspace.ReadBytes(b)
		if err != nil {
			return n, errors.New("bad value")
		}
		e.Value, b = val, rest
		if err := fn(e); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func badSnapshot(path string, off int64, format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d: %s", ErrBadSnapshot, path, off, fmt.Sprintf(format, args...))
}

// readSnapshot checks a snapshot file in the documented order (magic, version, trailer, then every chunk)
// and calls fn for each entry (fn may be nil to only check). Entries are decompressed by several
// goroutines but delivered in file order from the calling goroutine.
func readSnapshot(path string, fn func(snapEntry) error) (SnapshotInfo, error) {
	info := SnapshotInfo{Path: path}
	f, err := os.Open(path)
	if err != nil {
		return info, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return info, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	info.Size = st.Size()
	hdr := make([]byte, snapHeaderSize)
	if n, _ := io.ReadFull(f, hdr); n < len(snapMagic) || string(hdr[:len(snapMagic)]) != snapMagic {
		return info, badSnapshot(path, 0, "not a kvlab snapshot (no %q magic)", snapMagic)
	}
	if info.Size < snapHeaderSize {
		return info, badSnapshot(path, info.Size, "cut short inside the %d-byte header", snapHeaderSize)
	}
	if v := binary.LittleEndian.Uint32(hdr[8:]); v != snapVersion {
		return info, badSnapshot(path, 8, "format version %d; this kvlab reads version %d", v, snapVersion)
	}
	info.LSN = binary.LittleEndian.Uint64(hdr[16:])
	info.Time = time.UnixMilli(int64(binary.LittleEndian.Uint64(hdr[24:])))

	// The trailer, at a fixed distance from the end.
	trailerAt := info.Size - snapTrailerSize
	tb := make([]byte, snapTrailerSize)
	var trailer record.Record
	ok := false
	if trailerAt >= snapHeaderSize {
		if _, err := f.ReadAt(tb, trailerAt); err == nil {
			r := record.NewReader(path, tb, 0)
			if rec, err := r.Next(); err == nil && rec.Type == record.TypeSnapshotTrailer && len(rec.Payload) == snapTrailerPayload {
				trailer, ok = rec, true
			}
		}
	}
	if !ok {
		good := goodPrefix(f, path, info.Size)
		return info, badSnapshot(path, good, "cut short or damaged: the chunks are intact up to this offset, then no valid trailer follows (the file is %d bytes)", info.Size)
	}
	p := trailer.Payload
	if lsn := binary.LittleEndian.Uint64(p); lsn != info.LSN {
		return info, badSnapshot(path, trailerAt, "trailer LSN %d does not match the header's %d", lsn, info.LSN)
	}
	if crc := binary.LittleEndian.Uint32(p[24:]); crc != crc32.Checksum(hdr, crcTable) {
		return info, badSnapshot(path, 0, "header checksum mismatch")
	}
	wantChunks := int64(trailer.LSN)
	wantKeys := int64(binary.LittleEndian.Uint64(p[8:]))
	wantRaw := int64(binary.LittleEndian.Uint64(p[16:]))

	// The chunks: read in order, decompressed in parallel, applied in order.
	if _, err := f.Seek(snapHeaderSize, io.SeekStart); err != nil {
		return info, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	sr := record.NewStreamReader(path, io.LimitReader(f, trailerAt-snapHeaderSize), snapHeaderSize, trailerAt)
	type job struct {
		raw []byte
		err error
		off int64
		ok  chan struct{}
	}
	workers := min(max(runtime.GOMAXPROCS(0), 1), 4)
	jobs := make(chan *job, workers*2)
	ordered := make(chan *job, workers*2)
	stop := make(chan struct{})
	defer close(stop)
	for i := 0; i < workers; i++ {
		go func() {
			dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
			defer dec.Close()
			for j := range jobs {
				j.raw, j.err = dec.DecodeAll(j.raw, nil)
				close(j.ok)
			}
		}()
	}
	var readErr error
	go func() {
		defer close(ordered)
		defer close(jobs)
		for seq := int64(0); ; seq++ {
			rec, err := sr.Next()
			if err == io.EOF {
				return
			}
			if err == nil && rec.Type != record.TypeSnapshotChunk {
				err = badSnapshot(path, rec.Offset, "unexpected %s record", rec.Type)
			} else if err == nil && int64(rec.LSN) != seq {
				err = badSnapshot(path, rec.Offset, "chunk %d found where chunk %d belongs", rec.LSN, seq)
			}
			if err != nil {
				readErr = err
				return
			}
			j := &job{raw: bytes.Clone(rec.Payload), off: rec.Offset, ok: make(chan struct{})}
			select {
			case ordered <- j:
			case <-stop:
				return
			}
			jobs <- j
		}
	}()
	for j := range ordered {
		<-j.ok
		if j.err != nil {
			return info, badSnapshot(path, j.off, "chunk %d does not decompress: %v", info.Chunks, j.err)
		}
		info.RawBytes += int64(len(j.raw))
		n, err := decodeEntries(j.raw, func(en snapEntry) error {
			if fn == nil {
				return nil
			}
			return fn(en)
		})
		info.Keys += n
		if err != nil {
			return info, badSnapshot(path, j.off, "chunk %d: entry %d: %v", info.Chunks, n, err)
		}
		info.Chunks++
	}
	if readErr != nil {
		var te *record.TornError
		if errors.As(readErr, &te) {
			return info, badSnapshot(path, te.Offset, "a chunk runs into the trailer (%s)", te.Reason)
		}
		if errors.Is(readErr, record.ErrCorrupt) {
			return info, fmt.Errorf("%w: %w", ErrBadSnapshot, readErr)
		}
		return info, readErr
	}
	if info.Chunks != wantChunks || info.Keys != wantKeys || info.RawBytes != wantRaw {
		return info, badSnapshot(path, trailerAt, "the trailer promises %d chunks, %d keys, %d bytes; the file holds %d chunks, %d keys, %d bytes",
			wantChunks, wantKeys, wantRaw, info.Chunks, info.Keys, info.RawBytes)
	}
	return info, nil
}

// goodPrefix returns the offset up to which a snapshot's chunks are well-formed (for error messages).
func goodPrefix(f *os.File, path string, size int64) int64 {
	if _, err := f.Seek(snapHeaderSize, io.SeekStart); err != nil {
		return snapHeaderSize
	}
	sr := record.NewStreamReader(path, f, snapHeaderSize, size)
	for {
		rec, err := sr.Next()
		if err != nil || rec.Type != record.TypeSnapshotChunk {
			return sr.Offset()
		}
	}
}

// loadSnapshot reads a snapshot into ks (Mu held by the caller or ks not yet shared).
func loadSnapshot(path string, ks *keyspace.Keyspace) (SnapshotInfo, error) {
	return readSnapshot(path, func(en snapEntry) error {
		o, err := keyspace.UnmarshalValue(en.Value)
		if err != nil {
			return err
		}
		o.ExpireAt = en.ExpireAt
		ks.DB(en.DB).Load(string(en.Key), o)
		return nil
	})
}
