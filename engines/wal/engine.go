package wal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvlab/kvlab/engines"
	"github.com/kvlab/kvlab/internal/dirlock"
	"github.com/kvlab/kvlab/internal/record"
	"github.com/kvlab/kvlab/keyspace"
)

func init() { engines.Register("wal", Open) }

// Engine is the wal engine. Its methods are safe for concurrent use (see the package doc for which locks
// each expects).
type Engine struct {
	dir  string
	lock *dirlock.Lock // on dir, for the engine's life
	// snapRaw is the uncompressed size of the newest snapshot (written or recovered): the base of
	// snapshot-growth-percent.
	snapRaw atomic.Int64
	opts    Options
	ks      *keyspace.Keyspace
	logf    func(format string, args ...any)

	// mu guards the pending batch: Commit appends framed records, the committer takes the batch whole.
	mu struct {
		sync.Mutex
		// pending holds framed records; it starts with a record.SyncSize slot the committer fills.
		pending     []byte
		first, last uint64
		records     int
		// pendCh is closed when the pending batch is durable (created with the batch's first record).
		pendCh chan struct{}
		closed bool
	}
	work    chan struct{} // cap 1: wakes the committer
	closeCh chan struct{} // closed by Close: the committer drains and exits
	// syncReq and syncDone carry everysec's fdatasync to the syncer goroutine and its outcome back to the
	// committer (cap 1 each: one sync in flight at most; nil under the other policies).
	syncReq  chan bgSync
	syncDone chan bgSync

	// durable is the highest LSN durable under the policy. A waiter sleeps on the channel of the batch
	// that holds its LSN, so publishing one batch wakes only its own waiters: pendCh mirrors mu.pendCh,
	// inflight is the batch the committer is writing. notify is closed and replaced whenever the failure
	// state changes, which wakes every Wait.
	durable  atomic.Uint64
	pendCh   atomic.Pointer[chan struct{}]
	inflight atomic.Pointer[inflightBatch]
	notify   atomic.Pointer[chan struct{}]
	// failure is non-nil while the log cannot be written (see logFailure).
	failure atomic.Pointer[logFailure]
	// lastLSN mirrors Keyspace.NextLSN-1 for Stats, which must not take the keyspace lock.
	lastLSN atomic.Uint64

	log logWriter // owned by the committer goroutine

	// nmu guards notes (waiters told when durable, NotifyDurable) and nclosed.
	nmu     sync.Mutex
	notes   notifier
	nclosed bool
	// splitReplies: a large batch's replies are written half by the committer, half by the replier
	// (longReplies); set when Go runs on two processors or more.
	splitReplies bool

	// segMu guards segments (closed and active log files, oldest first).
	segMu    sync.Mutex
	segments []segment

	snap snapshotter

	stats struct {
		fsyncs, batches, records, bytes atomic.Int64
		fsyncMicros                     atomic.Int64 // total time in fdatasync
		sinceSnapshot                   atomic.Int64 // log bytes written since the last snapshot started
		commits                         int          // guarded by Keyspace.Mu: drives tombstone pruning
	}
	recovery RecoveryStats

	snapKick chan struct{} // cap 1: the committer asks the housekeeper for a snapshot
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup // committer and housekeeper
	closeMu  sync.Mutex     // serializes Close
	closeErr error
	isClosed bool
}

var _ engines.Engine = (*Engine)(nil)

// syncSlot is the space reserved at the start of each batch for its sync record.
var syncSlot [record.SyncSize]byte

// inflightBatch is the batch being written: records up to last, released by closing ch.
type inflightBatch struct {
	last uint64
	ch   chan struct{}
}

// logFailure is why the log cannot be written: stalled failures (disk full) are retried every second and
// clear when a write succeeds; permanent ones (fsync or I/O errors) last until restart.
type logFailure struct {
	err       error
	permanent bool
}

// Open opens (or creates) the data directory cfg.Dir, recovers the data set from its newest snapshot and
// log, and starts the committer.
func Open(cfg engines.Config) (engines.Engine, error) { return OpenEngine(cfg) }

// OpenEngine is Open returning the concrete type (tools and tests use it).
func OpenEngine(cfg engines.Config) (*Engine, error) {
	if cfg.Dir == "" {
		return nil, ErrNoDir
	}
	opts, unknown, err := ParseOptions(cfg.Options)
	if err != nil {
		return nil, err
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	for _, k := range unknown {
		logf("wal: ignoring engine option %q (the wal engine knows %v)", k, OptionNames)
	}
	e := &Engine{
		dir: cfg.Dir, opts: opts, logf: logf,
		work: make(chan struct{}, 1), closeCh: make(chan struct{}), snapKick: make(chan struct{}, 1),
	}
	ch := make(chan struct{})
	e.notify.Store(&ch)
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("wal: create %s: %w", cfg.Dir, err)
	}
	// Two servers on one directory would interleave their logs and delete each other's files.
	lock, err := dirlock.Acquire(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	e.lock = lock
	for _, d := range []string{e.walDir(), e.snapDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			lock.Release()
			return nil, fmt.Errorf("wal: create %s: %w", d, err)
		}
	}
	if err := e.recover(); err != nil {
		if e.log.f != nil {
			e.log.f.Close()
		}
		lock.Release()
		return nil, err
	}
	if runtime.GOMAXPROCS(0) < 2 && runtime.NumCPU() >= 2 {
		// The committer spends its life in write and fdatasync. Go hands a processor held by a goroutine
		// in a system call to other goroutines only when its monitor thread notices (tens of
		// microseconds, often more than a whole fdatasync), so with one processor every sync stalls
		// command execution and batches shrink to a record or two. A second processor lets commands run
		// while the log syncs.
		runtime.GOMAXPROCS(2)
		logf("wal: using 2 OS threads for Go code (GOMAXPROCS=2) so commands run while the log syncs")
	}
	e.splitReplies = runtime.GOMAXPROCS(0) >= 2
	e.ks.RecordEffects = true
	e.ks.TrackLSN = true
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.notes.replies = make(chan []notifyReq, 64)
	e.notes.spare = make(chan []notifyReq, 64)
	e.wg.Add(3)
	if opts.Fsync == FsyncEverySec {
		e.syncReq, e.syncDone = make(chan bgSync, 1), make(chan bgSync, 1)
		e.wg.Add(1)
		go e.runSyncer()
	}
	go e.runCommitter()
	go e.runHousekeeper()
	go e.runReplier()
	return e, nil
}

func (e *Engine) walDir() string  { return filepath.Join(e.dir, "wal") }
func (e *Engine) snapDir() string { return filepath.Join(e.dir, "snapshots") }

// Name returns "wal".
func (e *Engine) Name() string { return "wal" }

// Keyspace returns the recovered data set.
func (e *Engine) Keyspace() *keyspace.Keyspace { return e.ks }

// Options returns the engine's settings.
func (e *Engine) Options() Options { return e.opts }

// Commit frames the effects as one log record into the pending batch and returns its LSN. It is called
// with Keyspace.Mu held and never blocks on I/O. While the log is stalled (disk full) the record is still
// kept, so the log never falls behind memory, but the error tells the caller not to acknowledge it.
func (e *Engine) Commit(eff *keyspace.Effects, now int64) (uint64, error) {
	ks := e.ks
	lsn := ks.NextLSN
	if f := e.failure.Load(); f != nil && f.permanent {
		// Consume the LSN: keys this command stamped must stay unreadable (Wait fails for them).
		ks.NextLSN++
		return 0, f.err
	}
	e.mu.Lock()
	if e.mu.closed {
		e.mu.Unlock()
		ks.NextLSN++
		return 0, ErrClosed
	}
	if len(e.mu.pending) == 0 {
		e.mu.pending = append(e.mu.pending[:0], syncSlot[:]...)
		e.mu.first = lsn
		ch := make(chan struct{})
		e.mu.pendCh = ch
		e.pendCh.Store(&ch)
	}
	buf, start := record.Begin(e.mu.pending, record.TypeEffects, lsn)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(now))
	buf = append(buf, eff.Buf...)
	if !record.End(buf, start) {
		e.mu.pending = buf[:start]
		e.mu.Unlock()
		ks.NextLSN++
		err := fmt.Errorf("%w (%d bytes): the command ran in memory but cannot be logged; restart to return to the last logged state", ErrTooLarge, len(eff.Buf))
		e.setFailure(&logFailure{err: fmt.Errorf("%w: %w", ErrLogFailed, err), permanent: true})
		return 0, err
	}
	e.mu.pending = buf
	e.mu.last = lsn
	e.mu.records++
	e.mu.Unlock()
	ks.NextLSN++
	e.lastLSN.Store(lsn)
	select {
	case e.work <- struct{}{}:
	default:
	}
	if e.stats.commits++; e.stats.commits&1023 == 0 {
		ks.PruneTombstones(e.durable.Load())
	}
	if f := e.failure.Load(); f != nil {
		return 0, f.err
	}
	return lsn, nil
}

// Wait blocks until lsn is durable under the fsync policy, the log fails, or ctx ends.
func (e *Engine) Wait(ctx context.Context, lsn uint64) error {
	for {
		// Load the channels before checking durable: a batch is published (durable stored) before its
		// channel is closed, so whatever was loaded is either still to be closed or already covered.
		pch := e.pendCh.Load()
		inf := e.inflight.Load()
		fail := *e.notify.Load()
		if e.durable.Load() >= lsn {
			return nil
		}
		if f := e.failure.Load(); f != nil {
			return f.err
		}
		var ch chan struct{}
		switch {
		case inf != nil && lsn <= inf.last:
			ch = inf.ch
		case pch != nil:
			ch = *pch
		default:
			ch = fail
		}
		select {
		case <-ch:
		case <-fail:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// wake releases every Wait so it re-checks the durable LSN and the failure state.
func (e *Engine) wake() {
	ch := make(chan struct{})
	old := e.notify.Swap(&ch)
	close(*old)
}

func (e *Engine) setFailure(f *logFailure) {
	e.failure.Store(f)
	e.wake()
	e.notifyFailed(f.err, false)
}

// DurableLSN returns the highest LSN durable under the policy.
func (e *Engine) DurableLSN() uint64 { return e.durable.Load() }

// snapshotThreshold is the log growth since the last snapshot that starts the next one (0: never).
func (e *Engine) snapshotThreshold() int64 {
	if e.opts.SnapshotEveryBytes <= 0 {
		return 0
	}
	return max(e.opts.SnapshotEveryBytes, e.snapRaw.Load()*int64(e.opts.SnapshotGrowthPercent)/100)
}

// snapshotDue reports whether the log has grown enough for an automatic snapshot.
func (e *Engine) snapshotDue() bool {
	t := e.snapshotThreshold()
	return t > 0 && e.stats.sinceSnapshot.Load() >= t
}

// runHousekeeper prunes tombstones of durable deletions and starts scheduled snapshots: every second, on
// the snapshot interval, and when the committer reports the log has grown past snapshot-every-bytes.
func (e *Engine) runHousekeeper() {
	defer e.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSnap := time.Now()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-e.snapKick:
		case <-tick.C:
			e.ks.Mu.Lock()
			e.ks.PruneTombstones(e.durable.Load())
			e.ks.Mu.Unlock()
		}
		due := e.opts.SnapshotInterval > 0 && time.Since(lastSnap) >= e.opts.SnapshotInterval
		grown := e.snapshotDue()
		if !due && !grown {
			continue
		}
		if e.failure.Load() != nil {
			continue // no snapshot while the log cannot be written: it could not complete
		}
		lastSnap = time.Now()
		if err := e.Snapshot(e.ctx, true); err != nil && !errors.Is(err, ErrSnapshotRunning) {
			e.logf("wal: scheduled snapshot: %v", err)
		}
	}
}

// Close stops background work, writes and syncs everything pending, and closes the log. It waits for a
// running snapshot to stop (it is abandoned, not completed).
func (e *Engine) Close() error {
	e.closeMu.Lock()
	defer e.closeMu.Unlock()
	if e.isClosed {
		return e.closeErr
	}
	e.isClosed = true
	e.cancel()
	e.snap.wait()
	e.mu.Lock()
	e.mu.closed = true
	e.mu.Unlock()
	close(e.closeCh)
	e.wg.Wait()
	e.closeErr = e.log.closeErr
	e.lock.Release()
	return e.closeErr
}
