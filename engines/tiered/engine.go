package tiered

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"

	"github.com/kvlab/kvlab/engines"
	"github.com/kvlab/kvlab/engines/wal"
	"github.com/kvlab/kvlab/internal/units"
	"github.com/kvlab/kvlab/keyspace"
)

func init() { engines.Register("tiered", Open) }

// Engine options (engines.Config.Options) this engine reads; the rest go to the wal engine.
const (
	// OptTierMaxBytes caps the bytes of cold values ("0" = unlimited); Redis units accepted.
	OptTierMaxBytes = "tier-max-bytes"
	// OptMinValue is the smallest value that is moved to disk (smaller values always stay in RAM).
	OptMinValue = "tier-min-value"
)

// Tuning.
const (
	defaultMinValue = 64
	victimSamples   = 16                      // keys sampled per victim (sampled LRU)
	sliceTime       = 100 * time.Microsecond  // the demoter's holds of the keyspace lock (keyspace.Slice)
	maxBatchBytes   = 512 << 10               // a demotion batch's size
	batchBuffer     = maxBatchBytes + 256<<10 // the demotion batch's buffer: a full batch and one more value
	// lowWater is where a demotion round stops, in per mille of the hot limit. Rounds are small (0.2% of
	// the limit: about 450 KB for a 256 MB budget) and frequent, not large and rare: a round of 3% took
	// the demoter 80 ms of CPU every 3 s in the tiering benchmark, and the clients queued behind it.
	lowWater = 998
	// paceRatio spaces the demoter's slices of the keyspace lock: after a slice it sleeps paceRatio times
	// as long as it held the lock (unless writers wait for room), so it holds the lock at most a quarter
	// of the time and the clients' commands drain between its slices.
	paceRatio      = 3
	hardWater      = 1250 // above this per mille of the hot limit, Prepare waits for the demoter
	demoteInterval = 10 * time.Millisecond
	bigCollection  = 512 // collections longer than this are re-measured every 64th write
	pressureWait   = 50 * time.Millisecond
)

// ErrNoBudget reports a tiered engine opened without a RAM budget.
var ErrNoBudget = errors.New("tiered: a RAM budget is required: pass --maxmemory (for example --maxmemory 256mb)")

// Engine is the tiered engine: the wal engine's durability over a keyspace whose cold values live in Pebble.
type Engine struct {
	*wal.Engine
	ks       *keyspace.Keyspace
	db       *pebble.DB
	tierDir  string
	budget   atomic.Int64 // --maxmemory, and CONFIG SET maxmemory (SetBudget)
	maxTier  int64
	minValue uint32
	logf     func(string, ...any)
	seq      uint32 // the last demotion's sequence number (Object.ColdHandle); keyspace lock held

	hot atomic.Int64 // bytes of hot values (sum of TierSize of hot objects)
	// hotListRAM is the bytes of hotList's array, set where its capacity changes (read by hotLimit, Stats
	// and tuneMemoryLimit without the lock).
	hotListRAM atomic.Int64
	tier       atomic.Int64 // bytes of values with a copy in the tier (TierSize of cold objects and of hot ones with a TierTag)
	coldKeys   atomic.Int64
	diskFull   atomic.Bool // the last Pebble write failed: treat the tier as full until one succeeds
	stuck      atomic.Bool // the last round was over budget and found nothing to move (small values only)
	failure    atomic.Pointer[error]

	stats struct {
		hits, misses, promotions, demotions, syncReads atomic.Int64
		cleanDemotions                                 atomic.Int64 // demotions that wrote nothing
		readBytes, writtenBytes, reclaims, stale       atomic.Int64
		longestHoldUS                                  atomic.Int64 // the demoter's longest lock slice
		compactions                                    atomic.Int64 // arena pages emptied by compaction
	}

	// Guarded by ks.Mu.
	dirty       map[*keyspace.Object]*keyspace.DB // objects written since the last settle
	big         map[*keyspace.Object]uint16       // writes to big collections since their last measure
	inflight    bool                              // a demotion batch is being written to Pebble
	invalidated map[*keyspace.Object]struct{}     // victims written to while their batch was in flight
	selected    map[*keyspace.Object]struct{}     // victims of the batch being built
	hotList     []hotEntry                        // every hot object, for uniform victim sampling
	arena       *arena                            // the hot string values' chunks
	drops       []*keyspace.Object                // dropped objects whose chunks settle frees (see arena)
	writes      map[*keyspace.Object]uintptr      // chunks of objects looked up for writing, checked by settle
	thawBuf     []byte                            // thaw's read buffer
	dels        [][]byte                          // Pebble keys to delete in the next batch
	ranges      []uint32                          // database tags whose whole range to delete (flushes)

	batch *pebble.Batch // the demoter's, reused every round
	// The demoter's buffers, reused every round: the victims, and a victim's Pebble key and value.
	victims []victim
	scratch []byte

	kick   chan struct{}
	relief atomic.Pointer[chan struct{}] // closed and replaced after every demotion round
	stop   chan struct{}
	wg     sync.WaitGroup
	closed atomic.Bool
	memLim atomic.Int64 // the Go memory limit tuneMemoryLimit set (0: none)
}

var (
	_ engines.Engine   = (*Engine)(nil)
	_ engines.Preparer = (*Engine)(nil)
	_ engines.Budgeter = (*Engine)(nil)
)

// Open opens the engine in cfg.Dir: the wal engine recovers the data set, the tier directory starts empty.
func Open(cfg engines.Config) (engines.Engine, error) { return OpenEngine(cfg) }

// OpenEngine is Open returning the concrete type.
func OpenEngine(cfg engines.Config) (*Engine, error) {
	if cfg.Dir == "" {
		return nil, wal.ErrNoDir
	}
	if cfg.MaxMemory <= 0 {
		return nil, ErrNoBudget
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	e := &Engine{minValue: defaultMinValue, logf: logf,
		tierDir: filepath.Join(cfg.Dir, "tier"),
		dirty:   map[*keyspace.Object]*keyspace.DB{}, big: map[*keyspace.Object]uint16{},
		invalidated: map[*keyspace.Object]struct{}{}, selected: map[*keyspace.Object]struct{}{},
		writes: map[*keyspace.Object]uintptr{},
		kick:   make(chan struct{}, 1), stop: make(chan struct{}),
	}
	e.budget.Store(cfg.MaxMemory)
	walOpts := map[string]string{}
	for k, v := range cfg.Options {
		switch k {
		case OptTierMaxBytes:
			n, err := units.ParseBytes(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("tiered: option %s=%q: want a size such as 10gb or 0 for unlimited", k, v)
			}
			e.maxTier = n
		case OptMinValue:
			n, err := units.ParseBytes(v)
			if err != nil || n < 1 || n > 1<<30 {
				return nil, fmt.Errorf("tiered: option %s=%q: want a size of at least 1 byte such as 64", k, v)
			}
			e.minValue = uint32(n)
		default:
			walOpts[k] = v
		}
	}
	// The wal engine first: it locks the directory, so the tier below is this process's to wipe.
	wcfg := cfg
	wcfg.Options = walOpts
	w, err := wal.OpenEngine(wcfg)
	if err != nil {
		return nil, err
	}
	// The tier is a cache of values the log holds: start it empty (see the package doc).
	if err := os.RemoveAll(e.tierDir); err != nil {
		w.Close()
		return nil, fmt.Errorf("tiered: clear %s: %w", e.tierDir, err)
	}
	db, err := pebble.Open(e.tierDir, tierOptions(logf))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("tiered: open pebble in %s: %w", e.tierDir, err)
	}
	e.db = db
	e.Engine = w
	e.arena = newArena(int(e.minValue))
	e.ks = w.Keyspace()
	ch := make(chan struct{})
	e.relief.Store(&ch)

	ks := e.ks
	ks.Mu.Lock()
	for i := 0; i < keyspace.NumDBs; i++ {
		d := ks.DB(i)
		d.ForEach(func(_ string, o *keyspace.Object) bool {
			n := e.measure(o)
			o.TierSize = n
			e.hot.Add(int64(n))
			e.addHot(d, o)
			return true
		})
	}
	ks.Thaw = e.thaw
	ks.ReadCold = e.readCold
	ks.ColdView = e.coldView
	ks.Dropped = e.dropped
	ks.Written = e.written
	ks.Writing = e.writing
	ks.Mu.Unlock()
	if h := e.hot.Load(); h > e.hotLimit() {
		logf("tiered: recovered %s of values for a %s budget: moving the excess to %s", units.FormatBytes(h), units.FormatBytes(e.budget.Load()), e.tierDir)
	}
	e.wg.Add(1)
	go e.runDemoter()
	return e, nil
}

// hotEntry is one hot object and its database.
type hotEntry struct {
	db *keyspace.DB
	o  *keyspace.Object
}

// addHot registers a hot object for victim sampling (keyspace lock held).
func (e *Engine) addHot(db *keyspace.DB, o *keyspace.Object) {
	if o.TierPos != 0 {
		e.hotList[o.TierPos-1].db = db
		return
	}
	c := cap(e.hotList)
	e.hotList = append(e.hotList, hotEntry{db, o})
	if cap(e.hotList) != c {
		e.noteHotList()
	}
	o.TierPos = uint32(len(e.hotList)) // the position plus one
}

// noteHotList records the size of hotList's array, which the budget counts (limits).
func (e *Engine) noteHotList() {
	e.hotListRAM.Store(int64(cap(e.hotList)) * int64(unsafe.Sizeof(hotEntry{})))
}

// removeHot unregisters an object (keyspace lock held).
func (e *Engine) removeHot(o *keyspace.Object) {
	if o.TierPos == 0 {
		return
	}
	i, last := int(o.TierPos-1), len(e.hotList)-1
	if i != last {
		e.hotList[i] = e.hotList[last]
		e.hotList[i].o.TierPos = uint32(i + 1)
	}
	e.hotList[last] = hotEntry{}
	e.hotList = e.hotList[:last]
	o.TierPos = 0
	if c := cap(e.hotList); c > 4096 && c > 2*last {
		// Most hot values went to disk (after recovery or a load larger than the budget, every value starts
		// hot): give the room back. At a quarter over the length, the list grows again only after a
		// quarter more values (Go grows large slices by a quarter), and shrinks again only at half.
		e.hotList = append(make([]hotEntry, 0, last+last/4), e.hotList...)
		e.noteHotList()
	}
}

// tierOptions configures Pebble for point reads of values written once and deleted later: no write-ahead
// log (see the package doc), Bloom filters on every level (a Get of a key then touches one table, not one
// per level), and no block compression, since values are mostly small and decoding every block on every
// read would cost more CPU than the disk space saves.
//
// The block cache is small (tierBlockCache): the values the tier serves are the ones that did not fit in
// RAM, read once and promoted, so caching their blocks buys little. What a Get must find in the cache is
// the index and filter blocks of every table it checks. So data blocks are 16 KB, four times Pebble's
// default: for 500-byte values a 1 GB tier then has 2.5 MB of index and 2.4 MB of filters, which fit in the
// cache, where 4 KB blocks made 7.5 MB of index.
func tierOptions(logf func(string, ...any)) *pebble.Options {
	o := &pebble.Options{DisableWAL: true, CacheSize: tierCache, MemTableSize: tierMemTable, Logger: quietLogger{logf},
		L0CompactionThreshold: tierL0Tables, L0StopWritesThreshold: 4 * tierL0Tables}
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		o.Levels[i].BlockSize = 16 << 10
		o.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
	}
	return o
}

// Pebble's memory, all of it outside the Go heap (manually managed).
const (
	tierBlockCache = 8 << 20
	// tierMemTable is one memtable: more than twice the demoter's batch (maxBatchBytes), which Pebble would
	// otherwise turn into a table of its own, and small, because every Get searches it first (a search of
	// an 8 MB skiplist cost about 5 µs of a cold read's 36) and the budget counts it twice. Against 8 MB,
	// side by side in the tiering benchmark: 2-4% more GET/s, 0.5% fewer misses, 11 MiB less RSS.
	tierMemTable = 2 << 20
	// tierL0Tables is how many L0 tables (sublevels) wait before Pebble compacts them into the level
	// below, 8 where Pebble's default is 4. The demoter's keys are spread over the whole key range, so each
	// such compaction rewrites most of that level, however little L0 brings: with the small memtable and
	// the default, loading the benchmark's 2M keys compacted 17.6 GB (57 s of compaction) against 10.8 GB
	// (34 s) with 8.
	tierL0Tables = 8
	// tierCache is Pebble's cache size. Pebble reserves its memtables' memory (up to two: one filling, one
	// being flushed) out of the block cache, so the cache must hold them besides the blocks. A cache smaller
	// than the memtables keeps no block at all: with a 16 MB memtable and an 8 MB cache, as this engine had
	// until it was measured, every Get read its index, filter and data blocks from the file, and a point
	// read cost twice the CPU (BenchmarkPebbleGet).
	tierCache = tierBlockCache + 2*tierMemTable
)

// quietLogger sends Pebble's messages to the operator log (errors only: its info lines are noise here).
type quietLogger struct{ logf func(string, ...any) }

func (l quietLogger) Infof(string, ...any)              {}
func (l quietLogger) Errorf(format string, args ...any) { l.logf("tiered: pebble: "+format, args...) }
func (l quietLogger) Fatalf(format string, args ...any) {
	l.logf("tiered: pebble: fatal: "+format, args...)
	panic(fmt.Sprintf("tiered: pebble: "+format, args...))
}

// Name returns "tiered".
func (e *Engine) Name() string { return "tiered" }

// Commit settles the RAM accounting of the objects the command wrote, then logs its effects (wal).
func (e *Engine) Commit(eff *keyspace.Effects, now int64) (uint64, error) {
	e.settle()
	if p := e.failure.Load(); p != nil {
		return 0, *p
	}
	if e.hot.Load() > e.hotLimit() {
		e.wakeDemoter()
	}
	return e.Engine.Commit(eff, now)
}

// Close stops the demoter, closes the wal engine (which may still read cold values), then Pebble.
func (e *Engine) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	close(e.stop)
	e.wg.Wait()
	if e.batch != nil {
		e.batch.Close()
	}
	err := e.Engine.Close()
	if cerr := e.db.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("tiered: close pebble: %w", cerr)
	}
	return err
}

// fail records a tier read failure: from now on writes are refused, since a command may have run without
// a value it needed.
func (e *Engine) fail(err error) {
	err = fmt.Errorf("tiered: the disk tier failed (%w); restart kvlab to recover the data set from the log", err)
	e.failure.CompareAndSwap(nil, &err)
	e.logf("%v", err)
}

// pkey is a cold value's Pebble key: the database's tag, the key's Object.ScanRank, then the key. The rank
// puts the tier in the order a snapshot's keyspace walk meets the keys, so the snapshot reads the tier
// forward, each block once, instead of seeking across all of it for every slice of the walk.
func pkey(tag, rank uint32, key string) []byte {
	return appendPkey(make([]byte, 0, 8+len(key)), tag, rank, key)
}

// appendPkey appends a cold value's Pebble key (see pkey) to dst.
func appendPkey(dst []byte, tag, rank uint32, key string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, tag)
	dst = binary.BigEndian.AppendUint32(dst, rank)
	return append(dst, key...)
}

// A cold object carries no allocation of its own: its handle (Object.ColdHandle) is the tag of the database
// it was demoted from, which with its key names its Pebble entry, and the demotion's sequence number, which
// tells a value read without the lock from one a later demotion of the same object wrote.

// readCold is Keyspace.ReadCold: a cold value read back without making it hot (snapshots of cold keys,
// DUMP during a full resync).
func (e *Engine) readCold(_ *keyspace.DB, o *keyspace.Object, dst []byte) ([]byte, error) {
	tag, _ := o.ColdHandle()
	return e.read(pkey(tag, o.ScanRank(), o.Key()), o.Key(), dst)
}

// coldView is Keyspace.ColdView: a Pebble snapshot. Taken under the keyspace lock it holds every cold
// object's value: a cold handle's entry is committed before the object turns cold and deleted only after it
// stops being cold, and a batch in flight only writes values of hot objects and deletes entries of objects
// that are no longer cold.
func (e *Engine) coldView() keyspace.ColdView { return &pebbleView{e: e, s: e.db.NewSnapshot()} }

// pebbleView is a ColdView over a Pebble snapshot. It reads through one iterator: a snapshot reads its cold
// values in key order (keyspace.ColdView), and an iterator seeking forward reuses the blocks and table
// positions of the previous seek, where a Get per value opens every level anew.
type pebbleView struct {
	e  *Engine
	s  *pebble.Snapshot
	it *pebble.Iterator
}

// Read implements keyspace.ColdView.
func (v *pebbleView) Read(tag, rank uint32, key string, dst []byte) ([]byte, error) {
	k := pkey(tag, rank, key)
	if v.it == nil {
		it, err := v.s.NewIter(nil)
		if err != nil {
			return dst, fmt.Errorf("tiered: read %q: %w", key, err)
		}
		v.it = it
	}
	// Pebble notices seeks in increasing order and continues from the current position.
	if !v.it.SeekGE(k) || !bytes.Equal(v.it.Key(), k) {
		if err := v.it.Error(); err != nil {
			return dst, fmt.Errorf("tiered: read %q: %w", key, err)
		}
		return dst, fmt.Errorf("tiered: read %q: %w", key, pebble.ErrNotFound)
	}
	val, err := v.it.ValueAndErr()
	if err != nil {
		return dst, fmt.Errorf("tiered: read %q: %w", key, err)
	}
	dst = append(dst, val...)
	v.e.stats.readBytes.Add(int64(len(val)))
	return dst, nil
}

// Close implements keyspace.ColdView.
func (v *pebbleView) Close() {
	if v.it != nil {
		v.it.Close()
	}
	v.s.Close()
}

// read appends to dst the cold value of key from Pebble, whose Pebble key is k (pkey; the caller may reuse
// k once read returns).
func (e *Engine) read(k []byte, key string, dst []byte) ([]byte, error) {
	v, closer, err := e.db.Get(k)
	if err != nil {
		return dst, fmt.Errorf("tiered: read %q: %w", key, err)
	}
	dst = append(dst, v...)
	closer.Close()
	e.stats.readBytes.Add(int64(len(v)))
	return dst, nil
}

// measure is the value size accounted for o (keyspace lock held). Collections longer than bigCollection are
// measured in full only every 64th write; in between the last measure stands.
func (e *Engine) measure(o *keyspace.Object) uint32 {
	if o.Type == keyspace.TypeString {
		return uint32(cap(o.Str()))
	}
	ops := keyspace.Ops(o.Type)
	if ops == nil || o.Val() == nil {
		return 0
	}
	if o.TierSize > 0 && ops.Len(o.Val()) > bigCollection {
		n := e.big[o]
		e.big[o] = n + 1
		if n%64 != 0 {
			return o.TierSize
		}
	}
	return uint32(min(ops.Size(o.Val()), 1<<32-1))
}

// writing is Keyspace.Writing: a command looked up hot o for writing. The tier's copy of its value is
// stale from now on; and if the value is in an arena chunk, settle checks after the command whether the
// command gave the chunk up (it set a new value that did not fit in place).
func (e *Engine) writing(db *keyspace.DB, o *keyspace.Object) {
	e.dropCopy(db, o)
	if addr := addrOf(o); addr != 0 {
		if p, _ := e.arena.at(addr, o); p != nil {
			if _, ok := e.writes[o]; !ok {
				e.writes[o] = addr
			}
		}
	}
}

// written is Keyspace.Written: o was created or modified (a copy of its old value in the tier was dropped
// when the command looked it up for writing: Keyspace.Writing).
func (e *Engine) written(db *keyspace.DB, o *keyspace.Object) {
	if e.inflight {
		e.invalidated[o] = struct{}{}
	}
	e.dirty[o] = db
}

// dropCopy forgets the tier's copy of a hot object's value, if it has one, and queues its deletion
// (keyspace lock held).
func (e *Engine) dropCopy(db *keyspace.DB, o *keyspace.Object) {
	if o.TierTag == 0 {
		return
	}
	e.tier.Add(-int64(o.TierSize))
	e.forget(db, o.TierTag, o)
	o.TierTag = 0
}

// forget queues the deletion of o's entry under tag (db's, or the one o was demoted from): one range
// deletion covers a flushed database.
func (e *Engine) forget(db *keyspace.DB, tag uint32, o *keyspace.Object) {
	if db.Detached() && tag == db.Tag {
		if n := len(e.ranges); n == 0 || e.ranges[n-1] != tag {
			e.ranges = append(e.ranges, tag)
		}
		return
	}
	e.dels = append(e.dels, pkey(tag, o.ScanRank(), o.Key()))
}

// settle frees the arena chunks the commands since the last call gave up, and re-measures the objects they
// wrote, moving a new string value into the arena (keyspace lock held, no command running).
func (e *Engine) settle() {
	for o, addr := range e.writes {
		delete(e.writes, o)
		if p, slot := e.arena.at(addr, o); p != nil && addrOf(o) != addr {
			e.arena.free(p, slot) // replaced by a value that did not fit in place
		}
	}
	for i, o := range e.drops {
		e.drops[i] = nil
		if _, back := e.dirty[o]; !back { // not put back under a key (RENAME, MOVE) since
			e.arena.release(o)
		}
	}
	e.drops = e.drops[:0]
	for o, db := range e.dirty {
		delete(e.dirty, o)
		if o.Cold || db.Detached() || db.PeekKey(o.Key()) != o {
			continue // dropped since (its bytes were subtracted then)
		}
		if o.Type == keyspace.TypeString {
			if s := o.Str(); e.arena.fits(len(s)) {
				if p, _ := e.arena.locate(o); p == nil {
					c := e.arena.alloc(o, len(s))
					copy(c, s)
					o.SetStr(c)
				}
			}
		}
		n := e.measure(o)
		e.hot.Add(int64(n) - int64(o.TierSize))
		o.TierSize = n
		e.addHot(db, o)
	}
}

// dropped is Keyspace.Dropped: o left the keyspace, so its bytes are released and a cold value's Pebble
// entry is queued for deletion.
func (e *Engine) dropped(db *keyspace.DB, o *keyspace.Object) {
	delete(e.dirty, o)
	delete(e.big, o)
	if o.Cold {
		tag, _ := o.ColdHandle()
		o.SetCold(tag, 0) // a Prepare that read its value without the lock must not install it
		e.tier.Add(-int64(o.TierSize))
		e.coldKeys.Add(-1)
		e.stats.reclaims.Add(1)
		e.forget(db, tag, o)
		o.TierTag = 0
	} else {
		e.dropCopy(db, o)
		e.hot.Add(-int64(o.TierSize))
		e.removeHot(o)
		if p, _ := e.arena.locate(o); p != nil {
			e.drops = append(e.drops, o) // the command may still read it: freed by settle
		}
	}
	o.TierSize = 0
}

// install makes a cold object hot again with the value v read from Pebble (keyspace lock held; v stays the
// caller's). A string value goes into an arena chunk, or a copy of its own when it is not the arena's size.
func (e *Engine) install(db *keyspace.DB, o *keyspace.Object, v []byte) error {
	if s, ok := keyspace.StringValue(v); ok && o.Type == keyspace.TypeString {
		var c []byte
		if e.arena.fits(len(s)) {
			c = e.arena.alloc(o, len(s))
			copy(c, s)
		} else {
			c = append([]byte(nil), s...)
		}
		o.SetStr(c)
		o.Cold = false
	} else {
		back, err := keyspace.UnmarshalValue(v)
		if err != nil {
			return fmt.Errorf("tiered: value of %q in the tier: %w", o.Key(), err)
		}
		if back.Type != o.Type {
			return fmt.Errorf("tiered: value of %q in the tier is a %s, the key is a %s", o.Key(), back.Type, o.Type)
		}
		o.SetValue(back)
	}
	// The value's size in RAM may differ from the one it was demoted with (a chunk instead of Go's size
	// class): account the new one, in the tier's copy too.
	if n := e.measure(o); n != o.TierSize {
		e.tier.Add(int64(n) - int64(o.TierSize))
		o.TierSize = n
	}
	e.hot.Add(int64(o.TierSize))
	e.coldKeys.Add(-1)
	e.stats.promotions.Add(1)
	e.addHot(db, o)
	// The tier keeps its copy (o.TierTag stays; its bytes stay counted there) until the object is modified
	// or dropped, so that demoting the object again, unmodified, writes nothing. A capped tier nearly full
	// of such copies gives them up instead.
	if e.maxTier > 0 && e.tier.Load() > e.maxTier/10*9 {
		e.dropCopy(db, o)
	}
	return nil
}

// thaw is Keyspace.Thaw: a cold value a command meets that Prepare did not bring back, read under the lock.
func (e *Engine) thaw(db *keyspace.DB, o *keyspace.Object) error {
	tag, _ := o.ColdHandle()
	e.stats.misses.Add(1)
	e.stats.syncReads.Add(1)
	v, err := e.read(pkey(tag, o.ScanRank(), o.Key()), o.Key(), e.thawBuf[:0])
	if err == nil {
		err = e.install(db, o, v)
	}
	if cap(v) <= 64<<10 {
		e.thawBuf = v[:0]
	}
	if err != nil {
		e.fail(err)
	}
	return err
}

type thawReq struct {
	o        *keyspace.Object
	key      string
	tag, seq uint32 // o's cold handle when the request was made
	rank     uint32 // o's ScanRank
	v        [2]int // the value read: prep.vals[v[0]:v[1]]
	err      error
}

// prep is the tiered engine's engines.Preparation: the cold values of one command to read and install.
type prep struct {
	e    *Engine
	db   *keyspace.DB
	wait bool // RAM is over the hard watermark: wait for the demoter first
	reqs []thawReq
	buf  [4]thawReq
	key  []byte // Run's Pebble key buffer
	vals []byte // the values Run read, one after the other
}

var prepPool = sync.Pool{New: func() any { return new(prep) }}

// Plan implements engines.Preparer (keyspace lock held). It counts a key found in RAM as a tier hit and a
// cold one as a miss, and returns nil when every value is in RAM and writers need not wait.
func (e *Engine) Plan(dbIndex int, keys [][]byte) engines.Preparation {
	wait := e.mustWait()
	if e.coldKeys.Load() == 0 {
		e.stats.hits.Add(int64(len(keys)))
		if !wait {
			return nil
		}
		return e.newPrep(nil, true)
	}
	db := e.ks.DB(dbIndex)
	var p *prep
	hits := 0
	for _, k := range keys {
		o := db.Peek(k)
		if o == nil {
			continue
		}
		if !o.Cold {
			hits++
			continue
		}
		if p == nil {
			p = e.newPrep(db, wait)
		}
		tag, seq := o.ColdHandle()
		p.reqs = append(p.reqs, thawReq{o: o, key: o.Key(), tag: tag, seq: seq, rank: o.ScanRank()})
	}
	e.stats.hits.Add(int64(hits))
	if p == nil {
		if !wait {
			return nil
		}
		return e.newPrep(nil, true)
	}
	e.stats.misses.Add(int64(len(p.reqs)))
	return p
}

func (e *Engine) newPrep(db *keyspace.DB, wait bool) *prep {
	p := prepPool.Get().(*prep)
	p.e, p.db, p.wait, p.reqs, p.vals = e, db, wait, p.buf[:0], p.vals[:0]
	return p
}

// Run implements engines.Preparation: without the keyspace lock, it waits while RAM is far over the budget
// and the demoter is behind, then reads the cold values from Pebble.
func (p *prep) Run() {
	if p.wait {
		p.e.waitForRoom()
	}
	for i := range p.reqs {
		q := &p.reqs[i]
		// An error may only mean the handle was dropped (and its entry deleted) since: judged in Finish.
		p.key = appendPkey(p.key[:0], q.tag, q.rank, q.key)
		start := len(p.vals)
		p.vals, q.err = p.e.read(p.key, q.key, p.vals)
		q.v = [2]int{start, len(p.vals)}
	}
}

// Finish implements engines.Preparation (keyspace lock held): it installs the values read whose objects
// still hold the same cold handle, then returns the preparation to its pool.
func (p *prep) Finish() error {
	e := p.e
	var err error
	for i := range p.reqs {
		q := &p.reqs[i]
		if _, seq := q.o.ColdHandle(); !q.o.Cold || seq != q.seq {
			continue // promoted, rewritten or dropped meanwhile (dropped invalidates the handle)
		}
		if q.err != nil {
			err = q.err
		} else {
			err = e.install(p.db, q.o, p.vals[q.v[0]:q.v[1]])
		}
		if err != nil {
			e.fail(err)
			break
		}
	}
	clear(p.buf[:])
	p.e, p.db, p.reqs = nil, nil, nil
	if cap(p.vals) > 64<<10 {
		p.vals = nil
	} else {
		p.vals = p.vals[:0]
	}
	prepPool.Put(p)
	return err
}

// waitForRoom holds a command back while hot bytes are above the hard watermark and the demoter can still
// make room (back-pressure on writers that outrun it).
func (e *Engine) waitForRoom() {
	for i := 0; i < 20 && e.mustWait(); i++ {
		ch := *e.relief.Load()
		e.wakeDemoter()
		select {
		case <-ch:
		case <-time.After(pressureWait):
		}
	}
}

// mustWait reports whether hot bytes are above the hard watermark while the demoter can still make room.
func (e *Engine) mustWait() bool {
	return e.hot.Load() > e.hotLimit()*hardWater/1000 && !e.tierFull() && !e.stuck.Load() && !e.closed.Load()
}

// tierFull reports whether no more values can go to disk.
func (e *Engine) tierFull() bool {
	return e.diskFull.Load() || (e.maxTier > 0 && e.tier.Load() >= e.maxTier)
}

// SetBudget implements engines.Budgeter: CONFIG SET maxmemory changes the RAM budget while the server
// runs. Under a lower budget the demoter moves values to disk at once (commands that would grow RAM past the
// hard watermark meanwhile wait for it, as under any burst of writes); a higher one fills as cold values are
// read back. The budget cannot be removed: the engine has no other bound on what it keeps in RAM.
func (e *Engine) SetBudget(n int64) error {
	if n <= 0 {
		return errors.New("the tiered engine needs a RAM budget; set one (for example 256mb) instead of 0")
	}
	if old := e.budget.Swap(n); n < old {
		e.logf("tiered: RAM budget lowered from %s to %s: moving the excess to %s", units.FormatBytes(old), units.FormatBytes(n), e.tierDir)
		e.wakeDemoter()
	} else if n > old {
		e.logf("tiered: RAM budget raised from %s to %s", units.FormatBytes(old), units.FormatBytes(n))
	}
	return nil
}

// Overflow implements engines.Budgeter: while the tier can take values the demoter keeps RAM within the
// budget and nothing is over; once the tier is full, how far hot and cold bytes are over their caps.
func (e *Engine) Overflow() int64 {
	if !e.tierFull() {
		return 0
	}
	over := max(e.hot.Load()-e.hotLimit(), 0)
	if e.maxTier > 0 {
		over += max(e.tier.Load()-e.maxTier, 0)
	}
	return over
}

// hotLimit is the bytes of hot values the budget leaves room for (limits).
func (e *Engine) hotLimit() int64 {
	_, _, limit := e.limits()
	return limit
}

// limits reads the budget once (CONFIG SET maxmemory may change it meanwhile) and derives from it the RAM
// the engine holds for hot values besides their bytes, which the budget bounds with them (overhead), and
// the bytes of hot values that leaves room for (hotLimit; at least half the budget).
//
// The overhead is Pebble's memory (tierCache: its block cache and memtables; all of it from a 192 MB budget
// up, while a smaller budget, which could not hold it, counts an eighth of itself), the list of hot objects,
// and the arena's free space, for which it reserves what compaction lets a class keep free (arenaSlack).
// The arena's share is fixed, not the moment's figure: that moved the limit with every demotion and
// compaction, and the arena then dropped and reallocated about 20 pages a second, half of what the server
// allocated. So --maxmemory bounds what tiering costs in RAM beyond the key index, not only the bytes of
// the values in RAM: about 40 MB more for a 256 MB budget.
func (e *Engine) limits() (budget, overhead, hotLimit int64) {
	budget = e.budget.Load()
	overhead = min(tierCache, budget/8) + e.hotListRAM.Load() + budget/arenaSlack
	return budget, overhead, max(budget-overhead, budget/2)
}

// victim is a value being demoted (its Pebble entry is under db.Tag, o.ScanRank() and o.Key()).
type victim struct {
	db *keyspace.DB
	o  *keyspace.Object
	n  int // bytes written to Pebble
}

// wakeDemoter has the demoter run a round now instead of at its next tick (a wake-up already pending will do).
func (e *Engine) wakeDemoter() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// runDemoter moves values to Pebble while hot bytes are over the budget, and applies queued deletions.
func (e *Engine) runDemoter() {
	defer e.wg.Done()
	t := time.NewTicker(demoteInterval)
	defer t.Stop()
	lastMem := time.Time{}
	for {
		select {
		case <-e.stop:
			return
		case <-e.kick:
		case <-t.C:
		}
		e.demoteRound()
		e.compactArena()
		if time.Since(lastMem) > time.Second {
			lastMem = time.Now()
			e.tuneMemoryLimit()
		}
	}
}

// demoteRound writes one batch: queued deletions first, then victims until the hot bytes are back under
// the low watermark (or the batch is full).
func (e *Engine) demoteRound() {
	ks := e.ks
	if e.batch == nil {
		// One batch for every round: a new one would regrow its buffer from 1 KB each time, and those
		// buffers were most of what the engine allocated (so most of the garbage collector's work).
		e.batch = e.db.NewBatch(pebble.WithInitialSizeBytes(batchBuffer), pebble.WithMaxRetainedSizeBytes(2*batchBuffer))
	}
	b := e.batch
	b.Reset()
	ks.Mu.Lock()
	e.settle()
	e.drainDeletes(b)
	limit := e.hotLimit()
	need := e.hot.Load() - limit*lowWater/1000
	demote := e.hot.Load() > limit && !e.tierFull()
	victims := e.victims[:0]
	if demote {
		e.inflight = true
	}
	ks.Mu.Unlock()
	var freed int64
	scratch := e.scratch
	defer func() {
		// Kept for the next round, without the pointers to this round's victims.
		clear(victims)
		e.victims, e.scratch = victims[:0], scratch
	}()
	room := func() bool { return freed < need && b.Len() < maxBatchBytes } // this round takes more victims
	for more := demote && room(); more; {
		s := ks.LockSlice(sliceTime)
		// Deletions queued since the last slice (a promotion, say) must land before any Set this slice adds
		// for the same key, or they would delete the value just demoted.
		e.drainDeletes(b)
		found := 0
		for ; freed < need && (found == 0 || !s.Over()); found++ {
			db, o := e.pickVictim()
			if o == nil {
				break
			}
			if o.TierTag != 0 {
				// Read back and not modified since: the tier still holds the value.
				e.makeCold(o, o.TierTag)
				e.stats.cleanDemotions.Add(1)
				freed += int64(o.TierSize)
				continue
			}
			e.selected[o] = struct{}{}
			scratch = appendPkey(scratch[:0], db.Tag, o.ScanRank(), o.Key())
			k := len(scratch)
			scratch = keyspace.MarshalValue(scratch, o)
			b.Set(scratch[:k], scratch[k:], nil) // the batch copies both
			victims = append(victims, victim{db: db, o: o, n: len(scratch) - k})
			freed += int64(o.TierSize)
		}
		more = found > 0 && room()
		e.yield(&s, more)
	}
	e.stuck.Store(demote && len(victims) == 0)
	if b.Empty() {
		ks.Mu.Lock()
		e.inflight = false
		ks.Mu.Unlock()
		return
	}
	err := b.Commit(pebble.NoSync)
	if err != nil {
		ks.Mu.Lock()
		e.inflight = false
		e.diskFull.Store(true)
		e.logf("tiered: write to %s failed (%v): the tier is treated as full until a write succeeds; free disk space or raise the limit", e.tierDir, err)
		for _, v := range victims {
			delete(e.selected, v.o)
		}
		clear(e.invalidated)
		ks.Mu.Unlock()
		e.signalRelief()
		return
	}
	e.diskFull.Store(false)
	var written int64
	// Install in slices too; the batch stays in flight (writes keep invalidating victims) until the last.
	for next := 0; ; {
		s := ks.LockSlice(sliceTime)
		for first := next; next < len(victims) && (next == first || !s.Over()); next++ {
			v := victims[next]
			written += int64(v.n)
			o := v.o
			delete(e.selected, o)
			_, touched := e.invalidated[o]
			if touched || o.Cold || v.db.Detached() || v.db.PeekKey(o.Key()) != o {
				// Written, deleted or flushed while its batch was in flight: what Pebble holds is stale.
				e.stats.stale.Add(1)
				e.forget(v.db, v.db.Tag, o)
				continue
			}
			e.tier.Add(int64(o.TierSize))
			e.makeCold(o, v.db.Tag)
		}
		last := next == len(victims)
		if last {
			e.inflight = false
			clear(e.invalidated)
		}
		e.yield(&s, !last)
		if last {
			break
		}
	}
	e.stats.writtenBytes.Add(written)
	e.signalRelief()
}

// compactArena empties sparse arena pages (see arena), in slices of the keyspace lock, until no class has
// more free chunks than it may keep.
func (e *Engine) compactArena() {
	ks := e.ks
	for {
		s := ks.LockSlice(sliceTime)
		e.settle() // the chunks commands gave up are free before choosing what to move
		n := 0
		for ci := e.arena.sparse(); ci >= 0 && (n == 0 || !s.Over()); ci = e.arena.sparse() {
			e.arena.compactOne(ci)
			n++
		}
		more := n > 0 && e.arena.sparse() >= 0
		e.yield(&s, more)
		e.stats.compactions.Add(int64(n))
		if !more {
			return
		}
	}
}

// makeCold drops a hot object's value from RAM: the tier holds it under tag (keyspace lock held).
func (e *Engine) makeCold(o *keyspace.Object, tag uint32) {
	e.seq++
	if e.seq == 0 {
		e.seq = 1 // 0 marks a dropped object's handle
	}
	e.arena.release(o)
	o.SetCold(tag, e.seq)
	e.removeHot(o)
	e.hot.Add(-int64(o.TierSize))
	e.coldKeys.Add(1)
	e.stats.demotions.Add(1)
}

// yield ends one of the demoter's slices of the keyspace lock, records how long it held the lock, and, when
// another slice follows (more), paces the demoter (paceRatio) unless writers are waiting for it.
//
// Without the pause the demoter took the lock back right after giving it up: its rounds of a few
// milliseconds of work in 100 µs slices then held the lock most of the time while they ran, commands
// waited for it more than 1 ms (which turns Go's mutex into its first-come first-served mode, where every
// hand-over waits for the next goroutine to be scheduled), and at a fixed 30,000 requests a second the
// GET p99 was 3-5 ms in every second against 1.3 ms with nothing to demote.
func (e *Engine) yield(s *keyspace.Slice, more bool) {
	held := s.Yield()
	e.noteHold(held)
	if more && !e.mustWait() {
		time.Sleep(paceRatio * held)
	}
}

// noteHold records how long the demoter held the keyspace lock in one slice.
func (e *Engine) noteHold(d time.Duration) {
	us := d.Microseconds()
	for {
		cur := e.stats.longestHoldUS.Load()
		if us <= cur || e.stats.longestHoldUS.CompareAndSwap(cur, us) {
			return
		}
	}
}

// signalRelief wakes commands waiting in waitForRoom.
func (e *Engine) signalRelief() {
	ch := make(chan struct{})
	old := e.relief.Swap(&ch)
	close(*old)
}

// drainDeletes moves the queued deletions into b (keyspace lock held).
func (e *Engine) drainDeletes(b *pebble.Batch) {
	for _, k := range e.dels {
		b.Delete(k, nil)
	}
	e.dels = e.dels[:0]
	for _, tag := range e.ranges {
		var lo, hi [4]byte
		binary.BigEndian.PutUint32(lo[:], tag)
		binary.BigEndian.PutUint32(hi[:], tag+1)
		b.DeleteRange(lo[:], hi[:], nil)
	}
	e.ranges = e.ranges[:0]
}

// pickVictim samples hot objects and returns the least recently used one worth moving (keyspace lock
// held), or nil when sampling finds none. Sampling is random memory access, the demoter's main cost under
// the lock, so it goes in passes: draw every sample's list entry, then read every sample's recency, then
// choose. The loads of one pass do not depend on one another, so the CPU overlaps their cache misses
// instead of waiting for one sample after another (BenchmarkPickVictim). A sample is checked against the
// victims already selected (a map lookup) only when it would be the best so far.
func (e *Engine) pickVictim() (*keyspace.DB, *keyspace.Object) {
	n := len(e.hotList)
	if n == 0 {
		return nil, nil
	}
	rng := e.ks.Rand()
	var samples [victimSamples]hotEntry
	var lru [victimSamples]uint32
	for i := range samples {
		samples[i] = e.hotList[rng.IntN(n)]
	}
	for i := range samples {
		lru[i] = samples[i].o.LRU
	}
	var best hotEntry
	for i, h := range samples {
		if best.o != nil && lru[i] >= best.o.LRU {
			continue
		}
		if h.o.Cold || h.o.TierSize < e.minValue || h.db.Detached() {
			continue
		}
		if _, taken := e.selected[h.o]; taken {
			continue
		}
		best = h
	}
	return best.db, best.o
}

// tuneMemoryLimit sets the Go memory limit so that the process stays near the key index plus 1.3x the
// budget (see the package doc), unless the operator set GOMEMLIMIT, and never lower than what the collector
// cannot give back plus room to allocate in. Called by the demoter goroutine only.
//
// That floor is what the process maps minus what a collection or the scavenger can return: live objects,
// the free slots of partly used spans, stacks and runtime metadata. A limit under it is a limit the
// collector can never reach: it then collects back to back, up to half the CPU, and frees nothing (in the
// tiering benchmark, before hot values moved to the arena and their holes with them, that halved
// throughput and put GET p99 at 15 ms).
func (e *Engine) tuneMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	s := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
	}
	metrics.Read(s)
	for _, v := range s {
		if v.Value.Kind() != metrics.KindUint64 {
			return
		}
	}
	live := int64(s[0].Value.Uint64())
	if live == 0 {
		return // no collection yet
	}
	total, released := int64(s[1].Value.Uint64()), int64(s[2].Value.Uint64())
	free, objects := int64(s[3].Value.Uint64()), int64(s[4].Value.Uint64())
	// Pebble's block cache and memtables live outside the Go heap, within tierCache (configured, not the
	// moment's figure: the limit should not move with every flush).
	// What the budget counts on the Go heap: hot values, the arena's free chunks (as they are), the hot
	// list.
	counted := e.hot.Load() + e.arena.pageBytes.Load() - e.arena.usedBytes.Load() + e.hotListRAM.Load()
	limit := memoryLimit(e.budget.Load(), counted, live, total-released-free-max(objects-live, 0), tierCache)
	if cur := e.memLim.Load(); cur == 0 || limit > cur+cur/20 || limit < cur-cur/20 {
		e.memLim.Store(limit)
		debug.SetMemoryLimit(limit)
	}
}

// memoryLimit is the Go memory limit for a budget, given the bytes of the Go heap the budget counts (hot
// values and the engine's overhead for them on the heap: see limits), the live heap, the floor of
// memory the collector cannot give back (see tuneMemoryLimit) and the memory Pebble holds outside the Go
// heap: the heap the budget does not count (the key index) plus 1.3x the budget, less what Pebble holds,
// so the whole process aims at the key index plus 1.3x the budget; raised when needed to the floor plus
// room to allocate in (a quarter of the budget, at least 64 MB), so a collection runs once that much is
// allocated. An eighth (32 MB) kept RSS 25 MiB lower in the tiering benchmark but collected two to four
// times as often, and every collection marks the whole key index: GET p99.9 went from 5.1-5.7 to 6.5-8.5
// ms. 16 MB collected every 1-3 s: GET p99 3.4-5.8 ms against 2.8 ms, p99.9 9-31 ms against 5.8-6.3 ms.
func memoryLimit(budget, counted, live, floor, outside int64) int64 {
	want := max(live-counted, 0) + budget/10*13 - outside
	return max(want, floor+max(budget/4, 64<<20))
}

// Stats adds the tier's figures (INFO kvlab section, metrics) to the wal engine's.
func (e *Engine) Stats() []engines.Stat {
	out := e.Engine.Stats()
	keys := int64(e.ks.KeyCount())
	cold := e.coldKeys.Load()
	var disk uint64
	var cacheHits, cacheMisses int64
	var flushes, compactions, compactionUS, flushed, compacted int64
	if m := e.db.Metrics(); m != nil {
		disk = m.DiskSpaceUsage()
		cacheHits, cacheMisses = m.BlockCache.Hits, m.BlockCache.Misses
		flushes, compactions, compactionUS = m.Flush.Count, m.Compact.Count, m.Compact.Duration.Microseconds()
		for _, l := range m.Levels {
			flushed += int64(l.TableBytesFlushed + l.BlobBytesFlushed)
			compacted += int64(l.TableBytesCompacted + l.BlobBytesCompacted)
		}
	}
	add := func(name string, v int64) {
		out = append(out, engines.Stat{Section: "kvlab", Name: name, Value: strconv.FormatInt(v, 10)})
	}
	budget, overhead, hotLimit := e.limits() // the three from one reading of the budget
	add("tier_budget_bytes", budget)
	add("tier_hot_limit_bytes", hotLimit)
	add("tier_ram_overhead_bytes", overhead)
	add("tier_max_bytes", e.maxTier)
	add("tier_keys_ram", keys-cold)
	add("tier_keys_disk", cold)
	add("tier_bytes_ram", e.hot.Load())
	add("tier_bytes_disk", e.tier.Load())
	add("tier_disk_usage_bytes", int64(disk))
	add("tier_hits", e.stats.hits.Load())
	add("tier_misses", e.stats.misses.Load())
	add("tier_sync_reads", e.stats.syncReads.Load())
	add("tier_promotions", e.stats.promotions.Load())
	add("tier_demotions", e.stats.demotions.Load())
	add("tier_clean_demotions", e.stats.cleanDemotions.Load())
	add("tier_stale_demotions", e.stats.stale.Load())
	add("tier_reclaims", e.stats.reclaims.Load())
	add("tier_read_bytes", e.stats.readBytes.Load())
	add("tier_written_bytes", e.stats.writtenBytes.Load())
	full := int64(0)
	if e.tierFull() {
		full = 1
	}
	add("tier_full", full)
	add("tier_block_cache_hits", cacheHits) // Pebble's: index, filter and data blocks
	add("tier_block_cache_misses", cacheMisses)
	// Pebble's background work: what its flushes and compactions wrote, and how long the compactions ran.
	add("tier_flushes", flushes)
	add("tier_flushed_bytes", flushed)
	add("tier_compactions", compactions)
	add("tier_compacted_bytes", compacted)
	add("tier_compaction_us", compactionUS)
	add("tier_arena_bytes", e.arena.pageBytes.Load())
	add("tier_arena_used_bytes", e.arena.usedBytes.Load())
	add("tier_arena_compactions", e.stats.compactions.Load())
	add("tier_longest_lock_slice_us", e.stats.longestHoldUS.Load())
	add("tier_go_memory_limit_bytes", e.memLim.Load()) // 0 until set (or when GOMEMLIMIT is)
	return out
}

// Snapshot is the wal engine's; cold values are read back through keyspace.ColdView and Keyspace.ReadCold.
func (e *Engine) Snapshot(ctx context.Context, background bool) error {
	return e.Engine.Snapshot(ctx, background)
}
