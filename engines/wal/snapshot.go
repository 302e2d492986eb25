package wal

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/kvlab/kvlab/internal/record"
	"github.com/kvlab/kvlab/keyspace"
)

// snapshotter runs one snapshot at a time and keeps the figures INFO reports.
type snapshotter struct {
	// mu guards every field below except run's capture state.
	mu      sync.Mutex
	running bool
	done    chan struct{} // closed when the running snapshot ends
	epoch   uint8         // the last epoch handed out
	started time.Time

	saves          int64
	lastOK         bool
	lastErr        error
	lastTime       time.Time // end of the last successful snapshot (start time of the process before one)
	lastDuration   time.Duration
	lastLSN        uint64
	lastKeys       int64
	lastSize       int64
	lastCow        int64
	lastCowKeys    int64
	lastPause      time.Duration // longest keyspace-lock slice of the last snapshot
	lastSlices     int64         // how many slices the last snapshot's walk took the lock for
	sinceSnapStart int64         // log bytes since the last snapshot started, restored when one fails
	// enc is the compressor, kept between snapshots (one runs at a time) so each does not allocate its
	// own; only the running snapshot uses it.
	enc *zstd.Encoder
}

// snapRun is the state of a running snapshot that writers touch. It is guarded by Keyspace.Mu.
type snapRun struct {
	ks      *keyspace.Keyspace
	epoch   uint8
	lsn     uint64
	dbs     [keyspace.NumDBs]*keyspace.DB // the databases as they were when the snapshot began
	cow     []byte                        // entries captured by beforeWrite, drained by the writer
	cowN    int64                         // entries in cow
	cowKeys int64
	cowSize int64
	scratch []byte
	// err is the first failure to capture an object (a cold value the tier could not return); the
	// snapshot fails with it.
	err error
}

// beforeWrite is Keyspace.BeforeWrite while a snapshot runs: it serializes an object the snapshot has not
// captured yet before its first change (copy-on-write per key) and stamps it as captured.
func (r *snapRun) beforeWrite(db int, key []byte, o *keyspace.Object) {
	if o.SnapEpoch == r.epoch {
		return
	}
	o.SnapEpoch = r.epoch
	cur := r.ks.DB(db)
	for i, d := range r.dbs {
		if d == cur {
			n := len(r.cow)
			var err error
			if r.cow, err = appendEntry(r.cow, i, cur, string(key), o, &r.scratch); err != nil {
				r.cow = r.cow[:n]
				if r.err == nil {
					r.err = err
				}
				return
			}
			r.cowN++
			r.cowKeys++
			r.cowSize += int64(len(r.cow) - n)
			return
		}
	}
	// A database created after the snapshot began (FLUSHDB): everything in it is newer than the snapshot.
}

func (s *snapshotter) wait() {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done != nil {
		<-done
	}
}

// Snapshot writes a snapshot of the data set: SAVE when background is false (it returns when the snapshot
// is durable), BGSAVE when true (it returns once the snapshot has started). Writers are never stopped for
// longer than one short slice of the keyspace walk.
func (e *Engine) Snapshot(ctx context.Context, background bool) error {
	e.closeMu.Lock()
	closed := e.isClosed
	e.closeMu.Unlock()
	if closed {
		return ErrClosed
	}
	run, err := e.startSnapshot()
	if err != nil {
		return err
	}
	if background {
		go e.finishSnapshot(e.ctx, run)
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(e.ctx, cancel)
	defer stop()
	return e.finishSnapshot(ctx, run)
}

// startSnapshot notes the LSN the snapshot covers and installs the copy-on-write hook, atomically with
// respect to writers.
func (e *Engine) startSnapshot() (*snapRun, error) {
	s := &e.snap
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return nil, ErrSnapshotRunning
	}
	s.running = true
	s.done = make(chan struct{})
	s.started = time.Now()
	s.epoch++
	if s.epoch == 0 {
		s.epoch = 1 // objects loaded at recovery carry epoch 0
	}
	epoch := s.epoch
	s.mu.Unlock()

	ks := e.ks
	run := &snapRun{ks: ks, epoch: epoch}
	ks.Mu.Lock()
	ks.SnapEpoch = epoch
	run.lsn = ks.NextLSN - 1
	for i := range run.dbs {
		run.dbs[i] = ks.DB(i)
	}
	ks.BeforeWrite = run.beforeWrite
	ks.Mu.Unlock()
	s.mu.Lock()
	s.sinceSnapStart = e.stats.sinceSnapshot.Swap(0)
	s.mu.Unlock()
	return run, nil
}

// Slices of the keyspace walk: at most this many objects or this long under the lock at a time.
const (
	sliceObjects = 500
	sliceTime    = 500 * time.Microsecond
)

// finishSnapshot walks the keyspace, writes and installs the file, and records the outcome.
func (e *Engine) finishSnapshot(ctx context.Context, run *snapRun) (err error) {
	s := &e.snap
	start := time.Now()
	var info SnapshotInfo
	var pause time.Duration
	var nslices int64
	defer func() {
		s.mu.Lock()
		s.running = false
		close(s.done)
		s.lastOK = err == nil
		s.lastErr = err
		s.lastDuration = time.Since(start)
		s.lastCow, s.lastCowKeys, s.lastPause, s.lastSlices = run.cowSize, run.cowKeys, pause, nslices
		if err == nil {
			s.saves++
			s.lastTime = time.Now()
			s.lastLSN, s.lastKeys, s.lastSize = run.lsn, info.Keys, info.Size
			e.snapRaw.Store(info.RawBytes)
		} else {
			e.stats.sinceSnapshot.Add(s.sinceSnapStart)
		}
		s.mu.Unlock()
		if err != nil {
			e.logf("wal: snapshot at LSN %d failed: %v", run.lsn, err)
		} else {
			e.logf("wal: snapshot at LSN %d: %d keys, %d bytes in %s (copy-on-write %d keys, %d bytes; longest lock slice %s)",
				run.lsn, info.Keys, info.Size, time.Since(start).Round(time.Millisecond), run.cowKeys, run.cowSize, pause)
		}
	}()
	final := filepath.Join(e.snapDir(), snapshotName(run.lsn))
	tmp := final + ".tmp"
	s.mu.Lock()
	if s.enc == nil {
		s.enc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
	}
	enc := s.enc
	s.mu.Unlock()
	w, err := newSnapWriter(tmp, run.lsn, start, enc)
	ks := e.ks
	// The walk: every object not captured yet is serialized and stamped, one short locked slice at a
	// time. Objects written meanwhile were captured by beforeWrite (their entries are drained into the
	// stream here) or are newer than the snapshot and carry its epoch. If writing fails the walk still
	// completes, stamping without serializing, so no stale stamp survives into a later epoch; only
	// cancellation (Close) cuts it short.
	var raw []byte
	var rawN int64 // entries in raw
	var cold []coldEntry
	var coldScratch []byte
	canceled := false
	for i, db := range run.dbs {
		cursor := uint64(0)
		for {
			s := ks.LockSlice(sliceTime)
			for n := 0; n < sliceObjects; {
				cursor = db.Scan(cursor, func(key string, o *keyspace.Object) {
					n++
					if o.SnapEpoch == run.epoch {
						return
					}
					o.SnapEpoch = run.epoch
					if err != nil {
						return
					}
					if o.Cold && ks.ColdView != nil {
						// Read after the slice, without the lock (see below).
						tag, _ := o.ColdHandle()
						cold = append(cold, coldEntry{key: key, expireAt: o.ExpireAt, tag: tag, rank: o.ScanRank()})
						return
					}
					if raw, err = appendEntry(raw, i, db, key, o, &run.scratch); err == nil {
						rawN++
					}
				})
				if cursor == 0 || s.Over() {
					break
				}
			}
			var view keyspace.ColdView
			if len(cold) > 0 {
				// Cold values are read from a view of the tier taken now, under the lock, when each of
				// them still holds its value as of the snapshot: reading them here would hold every
				// client back for a disk read per key.
				view = ks.ColdView()
			}
			if err == nil && run.err != nil {
				err = run.err
			}
			if err == nil {
				raw = append(raw, run.cow...)
				rawN += run.cowN
			}
			run.cow, run.cowN = run.cow[:0], 0
			pause = max(pause, s.Yield())
			nslices++
			if view != nil {
				// In the tier's key order, so the view reads forward instead of seeking anew per key; the
				// walk goes by rank too, so successive slices read successive parts of the tier.
				slices.SortFunc(cold, func(a, b coldEntry) int {
					return cmp.Or(cmp.Compare(a.tag, b.tag), cmp.Compare(a.rank, b.rank), strings.Compare(a.key, b.key))
				})
				for _, c := range cold {
					if err != nil {
						break
					}
					// Not run.scratch: writers use that one (beforeWrite) while the lock is free.
					raw, err = appendColdEntry(raw, i, c, view, &coldScratch)
					if err == nil {
						rawN++
					}
				}
				view.Close()
				cold = cold[:0]
			}
			if err == nil && len(raw) >= snapChunkSize {
				err = w.chunk(raw, rawN)
				raw, rawN = raw[:0], 0
			}
			if ctx.Err() != nil {
				canceled = true
				break
			}
			if cursor == 0 {
				break
			}
		}
		if canceled {
			break
		}
	}
	ks.Mu.Lock()
	ks.BeforeWrite = nil
	if err == nil && run.err != nil {
		err = run.err
	}
	if err == nil {
		raw = append(raw, run.cow...)
		rawN += run.cowN
	}
	run.cow, run.cowN = nil, 0
	ks.Mu.Unlock()
	if canceled && err == nil {
		err = fmt.Errorf("wal: snapshot canceled: %w", ctx.Err())
	}
	if err == nil && len(raw) > 0 {
		err = w.chunk(raw, rawN)
	}
	if err == nil {
		info, err = w.finish()
	}
	if err != nil {
		if w != nil {
			w.abort()
		}
		return err
	}
	// The snapshot must never be ahead of the log: wait until every record it includes is durable.
	if err := e.Wait(ctx, run.lsn); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("wal: snapshot at LSN %d: the log did not become durable: %w", run.lsn, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("wal: install snapshot: %w", err)
	}
	if err := syncDir(e.snapDir()); err != nil {
		return err
	}
	info.Path = final
	e.retain()
	return nil
}

// retain keeps the two newest snapshots and deletes the log segments wholly covered by the older of them.
func (e *Engine) retain() {
	snaps, err := listSnapshots(e.snapDir())
	if err != nil {
		e.logf("%v", err)
		return
	}
	for len(snaps) > 2 {
		if err := os.Remove(snaps[0].path); err != nil {
			e.logf("wal: remove old snapshot: %v", err)
		}
		snaps = snaps[1:]
	}
	if len(snaps) < 2 {
		return // the log stays whole until two snapshots exist
	}
	older := snaps[0].lsn
	removed := false
	e.segMu.Lock()
	for len(e.segments) >= 2 && e.segments[1].first <= older+1 {
		if err := os.Remove(e.segments[0].path); err != nil {
			e.logf("wal: remove log segment: %v", err)
			break
		}
		e.segments = e.segments[1:]
		removed = true
	}
	e.segMu.Unlock()
	if removed {
		if err := syncDir(e.walDir()); err != nil {
			e.logf("%v", err)
		}
	}
	if err := syncDir(e.snapDir()); err != nil {
		e.logf("%v", err)
	}
}

// snapWriter writes a snapshot file: header, compressed chunks, trailer.
type snapWriter struct {
	path   string
	f      *os.File
	w      *bufio.Writer
	enc    *zstd.Encoder
	header []byte
	lsn    uint64
	chunks int64
	keys   int64
	raw    int64
	buf    []byte
	size   int64
}

// newSnapWriter creates a snapshot file; enc is the compressor to use (nil: a new one).
func newSnapWriter(path string, lsn uint64, t time.Time, enc *zstd.Encoder) (*snapWriter, error) {
	if enc == nil {
		var err error
		if enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20)); err != nil {
			return nil, fmt.Errorf("wal: snapshot compressor: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("wal: create snapshot: %w", err)
	}
	w := &snapWriter{path: path, f: f, w: bufio.NewWriterSize(f, 1<<20), enc: enc, lsn: lsn}
	w.header = appendSnapHeader(nil, lsn, t)
	if _, err := w.w.Write(w.header); err != nil {
		w.abort()
		return nil, fmt.Errorf("wal: write snapshot: %w", err)
	}
	w.size = int64(len(w.header))
	return w, nil
}

// chunk compresses raw, which holds n entries, into one chunk record.
func (w *snapWriter) chunk(raw []byte, n int64) error {
	w.keys += n
	w.raw += int64(len(raw))
	buf, start := record.Begin(w.buf[:0], record.TypeSnapshotChunk, uint64(w.chunks))
	buf = w.enc.EncodeAll(raw, buf)
	if !record.End(buf, start) {
		return fmt.Errorf("wal: snapshot chunk too large")
	}
	w.buf = buf
	w.chunks++
	if _, err := w.w.Write(buf); err != nil {
		return fmt.Errorf("wal: write snapshot %s: %w", w.path, err)
	}
	w.size += int64(len(buf))
	return nil
}

// finish writes the trailer and makes the file durable.
func (w *snapWriter) finish() (SnapshotInfo, error) {
	t := appendSnapTrailer(nil, w.chunks, w.lsn, w.keys, w.raw, w.header)
	if _, err := w.w.Write(t); err != nil {
		return SnapshotInfo{}, fmt.Errorf("wal: write snapshot %s: %w", w.path, err)
	}
	w.size += int64(len(t))
	if err := w.w.Flush(); err != nil {
		return SnapshotInfo{}, fmt.Errorf("wal: write snapshot %s: %w", w.path, err)
	}
	if err := fdatasync(w.f); err != nil {
		return SnapshotInfo{}, fmt.Errorf("wal: fsync snapshot %s: %w", w.path, err)
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("wal: close snapshot %s: %w", w.path, err)
	}
	return SnapshotInfo{Path: w.path, LSN: w.lsn, Keys: w.keys, Chunks: w.chunks, RawBytes: w.raw, Size: w.size}, nil
}

// abort removes a snapshot that will not be completed.
func (w *snapWriter) abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	// Best effort: a leftover temporary file is also removed at the next start.
	os.Remove(w.path)
}
