package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kvlab/kvlab/internal/record"
	"github.com/kvlab/kvlab/keyspace"
)

// RecoveryStats are the figures of the recovery Open performed.
type RecoveryStats struct {
	// Snapshot is the snapshot file loaded ("" when none), with what it held and how long it took.
	Snapshot      string
	SnapshotLSN   uint64
	SnapshotKeys  int64
	SnapshotBytes int64
	SnapshotTime  time.Duration
	// Segments, LogRecords and LogBytes count the log read after the snapshot, in LogTime.
	Segments   int
	LogRecords int64
	LogBytes   int64
	LogTime    time.Duration
	// TornBytes is the size of the torn tail truncated from the newest segment.
	TornBytes int64
	// Total is the whole recovery time; NextLSN the LSN of the first new write.
	Total   time.Duration
	NextLSN uint64
	// Dropped lists what recover-from-corruption set aside, one line per item.
	Dropped []string
}

// MBPerSec returns the recovery speed in megabytes (10^6) of snapshot and log per second.
func (r RecoveryStats) MBPerSec() float64 {
	t := (r.SnapshotTime + r.LogTime).Seconds()
	if t <= 0 {
		return 0
	}
	return float64(r.SnapshotBytes+r.LogBytes) / 1e6 / t
}

// RecordsPerSec returns the log replay speed in records per second.
func (r RecoveryStats) RecordsPerSec() float64 {
	if r.LogTime <= 0 {
		return 0
	}
	return float64(r.LogRecords) / r.LogTime.Seconds()
}

// Recovery returns the figures of the recovery Open performed.
func (e *Engine) Recovery() RecoveryStats { return e.recovery }

// quarantine is the directory recover-from-corruption moves damaged files into (created on first use).
type quarantine struct {
	root string
	dir  string
	logf func(string, ...any)
	rs   *RecoveryStats
}

func (q *quarantine) ensure() error {
	if q.dir != "" {
		return nil
	}
	q.dir = filepath.Join(q.root, "quarantine-"+time.Now().Format("20060102-150405.000"))
	if err := os.MkdirAll(q.dir, 0o755); err != nil {
		return fmt.Errorf("wal: create quarantine directory: %w", err)
	}
	return nil
}

func (q *quarantine) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	q.rs.Dropped = append(q.rs.Dropped, msg)
	q.logf("wal: recover-from-corruption: %s", msg)
}

// move sets a whole file aside.
func (q *quarantine) move(path string) (string, error) {
	if err := q.ensure(); err != nil {
		return "", err
	}
	dst := filepath.Join(q.dir, filepath.Base(path))
	if err := os.Rename(path, dst); err != nil {
		return "", fmt.Errorf("wal: quarantine %s: %w", path, err)
	}
	return dst, nil
}

// cutTail copies data[off:] (the contents of path from off) into the quarantine, then truncates path at off.
func (q *quarantine) cutTail(path string, data []byte, off int64) (string, error) {
	if err := q.ensure(); err != nil {
		return "", err
	}
	dst := filepath.Join(q.dir, fmt.Sprintf("%s.from-offset-%d", filepath.Base(path), off))
	if err := writeFileSync(dst, data[off:]); err != nil {
		return "", err
	}
	if err := truncateSync(path, off); err != nil {
		return "", err
	}
	return dst, nil
}

func (q *quarantine) sync() error {
	if q.dir == "" {
		return nil
	}
	return syncDir(q.dir)
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("wal: write %s: %w", path, err)
	}
	return nil
}

func truncateSync(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	err = f.Truncate(size)
	if err == nil {
		err = fdatasync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("wal: truncate %s to %d bytes: %w", path, size, err)
	}
	return nil
}

// recover rebuilds the data set: the newest good snapshot, then the log after it. It leaves the log
// writer positioned for the first new record.
func (e *Engine) recover() error {
	start := time.Now()
	rs := &e.recovery
	q := &quarantine{root: e.dir, logf: e.logf, rs: rs}
	tmps, _ := filepath.Glob(filepath.Join(e.snapDir(), "*.tmp"))
	for _, t := range tmps {
		if err := os.Remove(t); err != nil {
			return fmt.Errorf("wal: remove unfinished snapshot: %w", err)
		}
	}
	snaps, err := listSnapshots(e.snapDir())
	if err != nil {
		return err
	}
	segs, err := listSegments(e.walDir())
	if err != nil {
		return err
	}

	ks := keyspace.New()
	for i := len(snaps) - 1; i >= 0; i-- {
		t0 := time.Now()
		info, err := loadSnapshot(snaps[i].path, ks)
		if err == nil {
			rs.Snapshot, rs.SnapshotLSN, rs.SnapshotKeys, rs.SnapshotBytes = info.Path, info.LSN, info.Keys, info.Size
			e.snapRaw.Store(info.RawBytes)
			rs.SnapshotTime = time.Since(t0)
			e.snap.lastTime, e.snap.lastLSN, e.snap.lastKeys, e.snap.lastSize, e.snap.lastOK = info.Time, info.LSN, info.Keys, info.Size, true
			break
		}
		ks = keyspace.New()
		prev := "an empty data set and the whole log"
		if i > 0 {
			prev = fmt.Sprintf("the previous snapshot %s (LSN %d) and the log after it", filepath.Base(snaps[i-1].path), snaps[i-1].lsn)
		}
		if !e.opts.RecoverFromCorruption {
			return fmt.Errorf("%w\nkvlab will not start on a damaged snapshot. To start from %s instead, restart with "+
				"--recover-from-corruption: the damaged file is moved to %s and anything that cannot be recovered is "+
				"reported. To look first: kvlab wal inspect %s", err, prev, filepath.Join(e.dir, "quarantine-<time>"), e.dir)
		}
		dst, qerr := q.move(snaps[i].path)
		if qerr != nil {
			return qerr
		}
		q.note("damaged snapshot (LSN %d) moved to %s: %v; recovering from %s", snaps[i].lsn, dst, err, prev)
	}
	e.ks = ks
	snapLSN := rs.SnapshotLSN
	if rs.Snapshot == "" {
		e.snap.lastTime = start
	}

	t0 := time.Now()
	segs, next, appendable, err := e.replay(ks, segs, snapLSN, q)
	if err != nil {
		return err
	}
	rs.LogTime = time.Since(t0)
	if err := q.sync(); err != nil {
		return err
	}
	if len(rs.Dropped) > 0 || rs.TornBytes > 0 {
		if err := syncDir(e.walDir()); err != nil {
			return err
		}
		if err := syncDir(e.snapDir()); err != nil {
			return err
		}
	}
	// An empty newest segment (at most a few sync records) that the next record would not continue holds
	// nothing: remove it so its name cannot collide with a future segment.
	if n := len(segs); n > 0 && !appendable && segs[n-1].size <= int64(record.SyncSize)*4 {
		if empty, _ := segmentIsEmpty(segs[n-1].path); empty && segs[n-1].first != next {
			if err := os.Remove(segs[n-1].path); err != nil {
				return fmt.Errorf("wal: remove empty segment: %w", err)
			}
			segs = segs[:n-1]
		}
	}
	e.segments = segs
	ks.NextLSN = next
	e.durable.Store(next - 1)
	e.lastLSN.Store(next - 1)
	if appendable {
		last := segs[len(segs)-1]
		f, err := os.OpenFile(last.path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("wal: open log segment: %w", err)
		}
		// Make the recovered bytes durable before later sync records claim them.
		if err := fdatasync(f); err != nil {
			f.Close()
			return fmt.Errorf("wal: fsync %s: %w", last.path, err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return fmt.Errorf("wal: open log segment: %w", err)
		}
		e.log.f, e.log.seg, e.log.size, e.log.alloc, e.log.synced = f, last, last.size, st.Size(), last.size
	}
	rs.NextLSN = next
	rs.Total = time.Since(start)
	e.logf("wal: recovered %s in %s: snapshot %s (%d keys, %d bytes, %s) + %d log records from %d segments (%d bytes, %s); %.1f MB/s, %.0f records/s; next LSN %d",
		e.dir, rs.Total.Round(time.Millisecond), orNone(filepath.Base(rs.Snapshot)), rs.SnapshotKeys, rs.SnapshotBytes,
		rs.SnapshotTime.Round(time.Millisecond), rs.LogRecords, rs.Segments, rs.LogBytes, rs.LogTime.Round(time.Millisecond),
		rs.MBPerSec(), rs.RecordsPerSec(), next)
	return nil
}

func orNone(s string) string {
	if s == "" || s == "." {
		return "none"
	}
	return s
}

// segmentIsEmpty reports whether a segment holds no effects records.
func segmentIsEmpty(path string) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	r := record.NewReader(path, data, 0)
	for {
		rec, err := r.Next()
		if err != nil {
			return err == io.EOF, nil
		}
		if rec.Type == record.TypeEffects {
			return false, nil
		}
	}
}

// replay applies every log record after snapLSN. It returns the segments that remain, the next LSN, and
// whether new records can be appended to the newest segment.
func (e *Engine) replay(ks *keyspace.Keyspace, segs []segment, snapLSN uint64, q *quarantine) ([]segment, uint64, bool, error) {
	rs := &e.recovery
	expected := snapLSN + 1
	from := 0
	for i := range segs {
		if segs[i].first <= snapLSN+1 {
			from = i // earlier segments hold only records the snapshot includes
		}
	}
	var lastNext uint64 // the LSN a record appended to the newest segment would carry
	for idx := from; idx < len(segs); idx++ {
		seg := &segs[idx]
		newest := idx == len(segs)-1
		data, err := os.ReadFile(seg.path)
		if err != nil {
			return nil, 0, false, fmt.Errorf("wal: read log segment: %w", err)
		}
		rs.Segments++
		r := record.NewReader(seg.path, data, seg.first)
		segLast := seg.first - 1
		var bad error
		badAt := int64(-1)
	records:
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var te *record.TornError
				var ce *record.CorruptError
				switch {
				case errors.As(err, &te) && newest:
					e.logf("wal: %v; truncating the torn tail (a crash in the middle of a write: nothing acknowledged is lost)", te)
					if err := truncateSync(seg.path, te.Offset); err != nil {
						return nil, 0, false, err
					}
					rs.TornBytes += te.Bytes
					seg.size = te.Offset
				case errors.As(err, &te):
					bad = fmt.Errorf("%w: %v; a torn tail is only possible at the end of the newest segment, and %s follows it",
						ErrCorrupt, te, filepath.Base(segs[idx+1].path))
					badAt = te.Offset
				case errors.As(err, &ce):
					bad, badAt = fmt.Errorf("%w: %w", ErrCorrupt, err), ce.Offset
				default:
					bad, badAt = fmt.Errorf("%w: %w", ErrCorrupt, err), r.Offset()
				}
				break records
			}
			switch {
			case rec.Type == record.TypeSync:
				continue
			case rec.Type != record.TypeEffects:
				bad = fmt.Errorf("%w: %s at offset %d: unexpected %s record in a log segment", ErrCorrupt, seg.path, rec.Offset, rec.Type)
			case rec.LSN != segLast+1:
				bad = fmt.Errorf("%w: %s at offset %d: record LSN %d where LSN %d belongs (records are missing or out of order)", ErrCorrupt, seg.path, rec.Offset, rec.LSN, segLast+1)
			case rec.LSN > snapLSN && rec.LSN != expected:
				bad = fmt.Errorf("%w: %s at offset %d: the log jumps to LSN %d but the next LSN to replay is %d (records %d-%d are missing)", ErrCorrupt, seg.path, rec.Offset, rec.LSN, expected, expected, rec.LSN-1)
			case len(rec.Payload) < 8:
				bad = fmt.Errorf("%w: %s at offset %d: record LSN %d is too short to hold a time", ErrCorrupt, seg.path, rec.Offset, rec.LSN)
			}
			if bad != nil {
				badAt = rec.Offset
				break
			}
			segLast = rec.LSN
			if rec.LSN <= snapLSN {
				continue
			}
			now := int64(binary.LittleEndian.Uint64(rec.Payload))
			if err := ks.ApplyEffects(rec.Payload[8:], now); err != nil {
				bad, badAt = fmt.Errorf("%w: %s at offset %d: record LSN %d does not replay: %w", ErrCorrupt, seg.path, rec.Offset, rec.LSN, err), rec.Offset
				break
			}
			expected++
			rs.LogRecords++
		}
		rs.LogBytes += r.Offset() // the records read, not preallocated space
		if bad == nil {
			if !errors.Is(r.Err(), record.ErrTorn) {
				seg.size = r.Offset() // the records' end, before any preallocated zeros
			}
			if newest {
				lastNext = segLast + 1
			}
			continue
		}
		later := segs[idx+1:]
		if !e.opts.RecoverFromCorruption {
			follow := ""
			if len(later) > 0 {
				follow = fmt.Sprintf("; %d newer segment(s) follow", len(later))
			}
			return nil, 0, false, fmt.Errorf("%w\nThe log is good up to LSN %d (the damage is in %s at offset %d%s).\n"+
				"kvlab will not start on a damaged log. To start from the last good point (LSN %d), moving the damaged part and "+
				"everything after it to %s and reporting exactly what that drops, restart with --recover-from-corruption. "+
				"To look first: kvlab wal inspect %s",
				bad, expected-1, seg.path, badAt, follow, expected-1, filepath.Join(e.dir, "quarantine-<time>"), e.dir)
		}
		// Set aside the rest of this segment and every later one, and say exactly what that drops.
		n, first, last := record.Salvage(data, int(badAt), segLast)
		dst, err := q.cutTail(seg.path, data, badAt)
		if err != nil {
			return nil, 0, false, err
		}
		q.note("%v\n  kept LSN up to %d; moved %s bytes %d-%d (%d well-formed records after the damage, LSN %s) to %s",
			bad, expected-1, filepath.Base(seg.path), badAt, len(data), n, lsnRange(first, last), dst)
		seg.size = badAt
		for _, s := range later {
			cnt, lo, hi := countRecords(s.path)
			dst, err := q.move(s.path)
			if err != nil {
				return nil, 0, false, err
			}
			q.note("moved later segment %s (%d records, LSN %s) to %s", filepath.Base(s.path), cnt, lsnRange(lo, hi), dst)
		}
		segs = segs[:idx+1]
		lastNext = segLast + 1
		break
	}
	next := expected
	appendable := len(segs) > 0 && lastNext == next && segs[len(segs)-1].size < e.opts.SegmentSize
	return segs, next, appendable, nil
}

func lsnRange(first, last uint64) string {
	if first == 0 && last == 0 {
		return "none"
	}
	return fmt.Sprintf("%d-%d", first, last)
}

// countRecords counts the readable effects records of a segment (best effort, for reports).
func countRecords(path string) (n int, first, last uint64) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0
	}
	name := filepath.Base(path)
	firstLSN, _ := parseNumbered(name, ".log")
	r := record.NewReader(path, data, firstLSN)
	for {
		rec, err := r.Next()
		if err != nil {
			if err != io.EOF {
				m, lo, hi := record.Salvage(data, int(r.Offset()), last)
				if m > 0 {
					if n == 0 {
						first = lo
					}
					n, last = n+m, hi
				}
			}
			return n, first, last
		}
		if rec.Type == record.TypeEffects {
			if n == 0 {
				first = rec.LSN
			}
			n++
			last = rec.LSN
		}
	}
}
