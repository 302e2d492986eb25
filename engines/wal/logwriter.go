package wal

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/kvlab/kvlab/internal/record"
)

// logWriter is the log's write side. Only the committer goroutine touches it (after Open hands it over).
type logWriter struct {
	f      *os.File
	seg    segment // the active segment (its size field is not maintained here; see size)
	size   int64   // bytes of records in the active segment
	alloc  int64   // the file's size: zeros from size to alloc are preallocated space
	synced int64   // bytes of the active segment known to be durable
	// queue holds the batch being written: one sync slot, then framed records qFirst..qLast. After a
	// stalled write it keeps the batch, and later batches are appended, until a write succeeds.
	queue          []byte
	qFirst, qLast  uint64
	qRecords       int
	chans          []chan struct{} // closed when the queue is published (one per batch taken into it)
	spare          []byte
	lastSync       time.Time // when the last fdatasync started
	syncing        bool      // everysec: a background fdatasync is in flight (runSyncer)
	stalledSince   time.Time
	closeErr       error
	lastFsyncMicro int64
}

// maxStalledBytes bounds the writes kept in memory while the disk is full; past it the log gives up.
const maxStalledBytes = 64 << 20

// runCommitter is the only goroutine that writes the log. Each turn takes the whole pending batch (every
// record committed since the previous turn), writes it with one write and, under fsync=always, one
// fdatasync, then publishes its last LSN as durable and wakes the waiters. Commits that arrive while it
// writes and syncs form the next batch, so the batch size follows the load with no timer; when a batch
// has many waiters (longReplies) the committer answers them itself before the next turn. Under
// everysec it also has the log fsynced once a second, by the syncer goroutine, while it goes on writing
// (bgSync); when a write fails for lack of space it keeps the batch and retries every second, and once it
// fails for good it only discards.
func (e *Engine) runCommitter() {
	defer e.wg.Done()
	l := &e.log
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		closing := false
		select {
		case <-e.work:
		case <-tick.C:
		case j := <-e.syncDone:
			e.bgSynced(j)
		case <-e.closeCh:
			closing = true
		}
		e.gather()
		e.take()
		if len(l.queue) > 0 {
			if f := e.failure.Load(); f == nil || !f.permanent {
				e.flush()
			}
		}
		if l.f != nil && l.size > l.synced && e.failure.Load() == nil {
			if e.opts.Fsync == FsyncEverySec && !l.syncing && time.Since(l.lastSync) >= time.Second {
				l.syncing, l.lastSync = true, time.Now()
				e.syncReq <- bgSync{f: l.f, size: l.size}
			}
		}
		if closing {
			e.take() // nothing can be added after closed is set, but take what raced with it
			if len(l.queue) > 0 {
				e.flush()
			}
			e.closeLog()
			if e.syncReq != nil {
				close(e.syncReq)
			}
			e.notifyFailed(ErrClosed, true)
			close(e.notes.replies)
			return
		}
	}
}

// take moves the pending batch into the queue.
func (e *Engine) take() {
	l := &e.log
	e.mu.Lock()
	b, first, last, n, ch := e.mu.pending, e.mu.first, e.mu.last, e.mu.records, e.mu.pendCh
	e.mu.pending, e.mu.records, e.mu.pendCh = l.spare[:0], 0, nil
	l.spare = nil
	e.mu.Unlock()
	if n == 0 {
		l.spare = b[:0]
		return
	}
	l.chans = append(l.chans, ch)
	if len(l.queue) == 0 {
		l.queue, l.qFirst, l.qLast, l.qRecords = b, first, last, n
		e.inflight.Store(&inflightBatch{last: last, ch: ch})
		return
	}
	e.inflight.Store(&inflightBatch{last: last, ch: l.chans[0]})
	// A stalled queue: append the records (without their sync slot) after it.
	l.queue = append(l.queue, b[record.SyncSize:]...)
	l.qLast, l.qRecords = last, l.qRecords+n
	l.spare = b[:0]
	if len(l.queue) > maxStalledBytes {
		f := e.failure.Load()
		cause := error(ErrLogStalled)
		if f != nil {
			cause = f.err
		}
		e.fail(fmt.Errorf("%w: %d MB of writes (LSN %d-%d) are waiting for the disk (%v); restart kvlab once space is available to return to the last logged state",
			ErrLogFailed, len(l.queue)>>20, l.qFirst, l.qLast, cause))
	}
}

// flush writes the queue to the active segment (rolling to a new one first when it is full), syncs it
// under fsync=always and publishes it.
func (e *Engine) flush() {
	l := &e.log
	if l.f == nil || (l.size > 0 && l.size+int64(len(l.queue)) > e.opts.SegmentSize) {
		if err := e.roll(l.qFirst); err != nil {
			e.writeFailed(err)
			return
		}
	}
	if err := e.preallocate(int64(len(l.queue))); err != nil {
		e.writeFailed(err)
		return
	}
	record.AppendSync(l.queue[:0], l.qFirst, l.synced)
	n, err := l.f.WriteAt(l.queue, l.size)
	if err != nil {
		// Cut off whatever part of the batch reached the file, so the retry starts at a record boundary.
		if terr := l.f.Truncate(l.size); terr != nil {
			e.fail(fmt.Errorf("%w: write %s: %v; then truncating the partial write failed: %v; restart kvlab to recover from the log",
				ErrLogFailed, l.seg.path, err, terr))
			return
		}
		e.writeFailed(fmt.Errorf("write %s (%d bytes at offset %d): %w", l.seg.path, len(l.queue), l.size, err))
		return
	}
	l.size += int64(n)
	if e.opts.Fsync == FsyncAlways {
		if !e.syncLog() {
			return
		}
		if e.opts.CommitDelay > 0 {
			time.Sleep(e.opts.CommitDelay)
		}
	}
	e.stats.batches.Add(1)
	e.stats.records.Add(int64(l.qRecords))
	e.stats.bytes.Add(int64(n))
	if e.stats.sinceSnapshot.Add(int64(n)); e.snapshotDue() {
		select {
		case e.snapKick <- struct{}{}:
		default:
		}
	}
	e.segMu.Lock()
	e.segments[len(e.segments)-1].size = l.size
	e.segMu.Unlock()
	e.durable.Store(l.qLast)
	if f := e.failure.Load(); f != nil && !f.permanent {
		e.logf("wal: the log is writable again after %s; %d writes that were refused are now durable", time.Since(l.stalledSince).Round(time.Millisecond), l.qRecords)
		e.failure.Store(nil)
	}
	for _, ch := range l.chans {
		close(ch)
	}
	l.chans = l.chans[:0]
	e.notifyDurable()
	if cap(l.queue) <= 16<<20 {
		l.spare = l.queue[:0]
	}
	l.queue, l.qRecords = nil, 0
}

// preallocChunk is how far ahead of the records the active segment is zero-filled.
const preallocChunk = 1 << 20

var zeros [64 << 10]byte

// preallocate makes sure the active segment has n bytes of zero-filled space after its records. Writing
// into space that already belongs to the file changes no metadata, so fdatasync only flushes data and need
// not wait for a journal commit (ext4, xfs); that makes every sync cheaper (the reason pebble and RocksDB
// recycle log files). The space is written rather than fallocated: fallocated extents are "unwritten" and
// converting them costs a metadata commit on the first write anyway.
func (e *Engine) preallocate(n int64) error {
	l := &e.log
	if l.size+n <= l.alloc {
		return nil
	}
	end := (l.size + n + preallocChunk - 1) / preallocChunk * preallocChunk
	// Records never go past the segment size (the log rolls first), unless one batch is larger.
	end = min(end, max(e.opts.SegmentSize, l.size+n))
	for off := l.alloc; off < end; {
		m := min(int64(len(zeros)), end-off)
		if _, err := l.f.WriteAt(zeros[:m], off); err != nil {
			if terr := l.f.Truncate(l.alloc); terr != nil {
				return fmt.Errorf("preallocate %s: %w; then truncating back failed: %v", l.seg.path, err, terr)
			}
			return fmt.Errorf("preallocate %s (%d bytes at offset %d): %w", l.seg.path, end-l.alloc, l.alloc, err)
		}
		off += m
	}
	l.alloc = end
	return nil
}

// syncLog fdatasyncs the active segment on the committer (see noteSync).
func (e *Engine) syncLog() bool {
	l := &e.log
	l.lastSync = time.Now()
	err := fdatasync(l.f)
	return e.noteSync(l.size, time.Since(l.lastSync), err)
}

// noteSync records an fdatasync of the active segment, made on the committer or in the background, that
// covers its first size bytes. A failure is permanent: after a failed fsync the kernel may have dropped the
// dirty pages, so nothing written since the last good sync can be trusted.
func (e *Engine) noteSync(size int64, dur time.Duration, err error) bool {
	l := &e.log
	if err != nil {
		e.fail(fmt.Errorf("%w: fsync %s: %v; writes since the last good sync may not be on disk, so every write is refused; restart kvlab to recover from the log (acknowledged writes are safe)",
			ErrLogFailed, l.seg.path, err))
		return false
	}
	l.lastFsyncMicro = dur.Microseconds()
	e.stats.fsyncMicros.Add(l.lastFsyncMicro)
	e.stats.fsyncs.Add(1)
	l.synced = max(l.synced, size)
	return true
}

// bgSync is one of everysec's fdatasyncs, run by the syncer goroutine while the committer goes on writing,
// as Redis's appendfsync everysec runs its fsync on a background thread. Done inline, an fdatasync of a
// second's worth of log stopped the committer for its whole length, and with it every write and every
// read of a key with a write not yet logged; under the tiered engine, whose Pebble writes share the disk,
// those syncs took about 10 ms.
//
// The file synced is always the active segment's: roll and closeLog wait for the sync in flight
// (waitBgSync) before they close or replace it.
type bgSync struct {
	f    *os.File // the active segment's, for the syncer (which does not touch the committer's logWriter)
	size int64    // the bytes of the segment written before the sync began: what it makes durable
	err  error
	dur  time.Duration
}

// slowSync, set by tests before an engine opens, lengthens every background sync (to keep one in flight).
var slowSync time.Duration

// runSyncer runs the syncs the committer asks for (everysec), until the committer closes syncReq.
func (e *Engine) runSyncer() {
	defer e.wg.Done()
	for j := range e.syncReq {
		start := time.Now()
		if slowSync > 0 {
			time.Sleep(slowSync)
		}
		j.err = fdatasync(j.f)
		j.dur = time.Since(start)
		e.syncDone <- j
	}
}

// bgSynced takes a background sync's outcome (committer goroutine).
func (e *Engine) bgSynced(j bgSync) {
	e.log.syncing = false
	if e.noteSync(j.size, j.dur, j.err) && j.dur > 2*time.Second {
		e.logf("wal: an everysec fsync of %s took %v (is the disk busy?); writes went on meanwhile, and up to that long of them would be lost to a power failure", e.log.seg.path, j.dur.Round(time.Millisecond))
	}
}

// waitBgSync waits for the background sync in flight, if any, before the committer closes or replaces
// the active segment's file under it.
func (e *Engine) waitBgSync() {
	if e.log.syncing {
		e.bgSynced(<-e.syncDone)
	}
}

// writeFailed handles a failed write or segment creation: out of space is retried every second (the
// batch stays queued), anything else is permanent.
func (e *Engine) writeFailed(err error) {
	l := &e.log
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		if f := e.failure.Load(); f == nil {
			l.stalledSince = time.Now()
			e.logf("wal: %v; writes are refused until space is freed (retrying every second; %d writes are held in memory)", err, l.qRecords)
			e.setFailure(&logFailure{err: fmt.Errorf("%w: %w; free space on the log's disk", ErrLogStalled, err)})
		}
		return
	}
	e.fail(fmt.Errorf("%w: %w; restart kvlab to recover from the log", ErrLogFailed, err))
}

func (e *Engine) fail(err error) {
	e.logf("%v", err)
	e.setFailure(&logFailure{err: err, permanent: true})
}

// roll closes the active segment (synced whatever the policy, so only the newest segment can have a torn
// tail) and creates a new one whose first record will be first.
func (e *Engine) roll(first uint64) error {
	l := &e.log
	e.waitBgSync()
	if f := e.failure.Load(); f != nil && f.permanent {
		return f.err
	}
	if l.f != nil {
		if l.size > l.synced {
			if !e.syncLog() {
				return e.failure.Load().err
			}
		}
		// A final sync record: the whole segment is durable, so any damage in it is corruption.
		tail := record.AppendSync(nil, first, l.size)
		if _, err := l.f.WriteAt(tail, l.size); err == nil {
			l.size += int64(len(tail))
		}
		// Drop the unused preallocated space (or a sync record cut short by a full disk).
		if err := l.f.Truncate(l.size); err != nil {
			return fmt.Errorf("truncate %s: %w", l.seg.path, err)
		}
		if err := fdatasync(l.f); err != nil {
			return fmt.Errorf("fsync %s: %w", l.seg.path, err)
		}
		l.synced = l.size
		if err := l.f.Close(); err != nil {
			return fmt.Errorf("close %s: %w", l.seg.path, err)
		}
		l.f = nil
		e.segMu.Lock()
		e.segments[len(e.segments)-1].size = l.size
		e.segMu.Unlock()
	}
	path := e.walDir() + "/" + segmentName(first)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create log segment: %w", err)
	}
	if err := syncDir(e.walDir()); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	l.f, l.seg, l.size, l.alloc, l.synced = f, segment{first: first, path: path}, 0, 0, 0
	e.segMu.Lock()
	e.segments = append(e.segments, l.seg)
	e.segMu.Unlock()
	return nil
}

// closeLog syncs and closes the active segment at shutdown, ending it with a sync record that covers all
// of it. Records that could not be written are reported in the close error.
func (e *Engine) closeLog() {
	l := &e.log
	if len(l.queue) > 0 && l.qRecords > 0 {
		err := error(ErrLogFailed)
		if f := e.failure.Load(); f != nil {
			err = f.err
		}
		l.closeErr = fmt.Errorf("wal: %d writes (LSN %d-%d) were never written to the log and are lost (they were not acknowledged): %w", l.qRecords, l.qFirst, l.qLast, err)
	}
	e.waitBgSync()
	if l.f == nil {
		return
	}
	if f := e.failure.Load(); f == nil || !f.permanent {
		if l.size > l.synced && !e.syncLog() {
			l.closeErr = errors.Join(l.closeErr, e.failure.Load().err)
		} else {
			if l.size > 0 {
				tail := record.AppendSync(nil, e.durable.Load()+1, l.size)
				if _, err := l.f.WriteAt(tail, l.size); err == nil {
					l.size += int64(len(tail))
				}
			}
			err := l.f.Truncate(l.size) // drop the unused preallocated space
			if err == nil {
				err = fdatasync(l.f)
			}
			if err != nil {
				l.closeErr = errors.Join(l.closeErr, fmt.Errorf("wal: sync %s at shutdown: %w", l.seg.path, err))
			}
		}
	}
	if err := l.f.Close(); err != nil {
		l.closeErr = errors.Join(l.closeErr, fmt.Errorf("wal: close %s: %w", l.seg.path, err))
	}
	l.f = nil
}

// gatherRounds bounds how many times the committer yields to let a batch grow.
const gatherRounds = 16

// gather lets the batch grow before the committer seals it: the first Commit of a wave wakes the
// committer at once (Go runs a goroutine woken by a channel send next), while the connections that are
// already runnable have not executed their commands yet. Yielding the processor while the batch keeps
// growing lets them commit into this batch instead of waiting a whole sync for the next one, the way
// Redis's event loop executes every ready client before its fsync. It involves no timer: it stops as soon
// as a yield adds nothing.
func (e *Engine) gather() {
	prev := -1
	for i := 0; i < gatherRounds; i++ {
		e.mu.Lock()
		n := e.mu.records
		e.mu.Unlock()
		if n == prev {
			return
		}
		prev = n
		runtime.Gosched()
	}
}
