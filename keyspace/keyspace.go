// Package keyspace holds kvlab's data: sixteen databases of Redis-typed values, the command table, and the
// handlers that every engine shares. A handler runs with Keyspace.Mu held, reads its arguments from a Ctx,
// writes its reply through the Ctx's resp.Writer and, for a write, records deterministic per-key effects
// (EXPIRE k 10 becomes PEXPIREAT k <abs ms>; INCRBYFLOAT becomes SET of the result) that durable engines log
// and replay with ApplyEffects. Engines differ only in what they do with those effects; the keyspace never
// learns which engine it runs on.
//
// Locking: Keyspace.Mu is the one lock of the data set. The server holds it while it executes the commands of
// one pipeline read; background work (active expiry) takes it in short slices.
package keyspace

import (
	"hash/maphash"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvlab/kvlab/cluster"
)

// NumDBs is the number of logical databases (SELECT 0..15).
const NumDBs = 16

// Keyspace is the whole data set: NumDBs databases plus the hooks the server and engines attach.
type Keyspace struct {
	// Mu guards every DB, every Object and the fields below that are not atomics.
	Mu  sync.Mutex
	dbs [NumDBs]*DB
	// countSlots: databases count their keys per cluster hash slot (CountSlots).
	countSlots bool

	// RecordEffects asks the server to collect each write's effects and pass them to the engine's Commit
	// (set by engines that log, and when replicas follow this node).
	RecordEffects bool
	// TrackLSN makes writes stamp keys with NextLSN and deletions leave tombstones, so a read that observes
	// a write which is not yet durable can wait for it (set by durable engines before serving).
	TrackLSN bool
	// NextLSN is the LSN the next committed effect record will carry; the engine keeps it current under Mu.
	NextLSN uint64
	// OnModify, when set, is called (with Mu held) for every key a command, expiry or eviction changes
	// (WATCH invalidation, blocked-client wake-up). db is the database index.
	OnModify func(db int, key []byte)
	// OnFlush, when set, is called (with Mu held) when a database is emptied (db = -1 for all).
	OnFlush func(db int)
	// Notify, when set, is called (with Mu held) for keyspace events: class is Redis's notify-keyspace-events
	// letter ('g' generic, '$' string, 'x' expired, 'e' evicted, ...), event the event name.
	Notify func(db int, class byte, event string, key []byte)

	// BeforeWrite, when set, is called (with Mu held) before an existing key's object is modified, replaced or
	// deleted, with the object as it is. A snapshot in progress uses it to capture the old value first
	// (copy-on-write per key), so snapshots are point-in-time without stopping writers.
	BeforeWrite func(db int, key []byte, o *Object)
	// BeforeBulk, when set, is called (with Mu held) before FLUSHDB/FLUSHALL/SWAPDB change whole databases.
	BeforeBulk func()
	// Thaw, when set by a tiering engine, is called (with Mu held) when a lookup meets a cold object: it must
	// bring the value back into o (Str/Val, Cold cleared) or, if it cannot, leave o cold and return an error.
	// Engines normally thaw keys before the command runs (engines.Preparer); this is the fallback.
	Thaw func(db *DB, o *Object) error
	// ReadCold, when set by a tiering engine, appends a cold object's value in MarshalValue's format to dst
	// without bringing it back (called with Mu held; snapshots and DUMP of cold keys).
	ReadCold func(db *DB, o *Object, dst []byte) ([]byte, error)
	// ColdView, when set, returns a view of the cold values as they are now (called with Mu held), from
	// which a snapshot reads the cold objects it met after releasing Mu.
	ColdView func() ColdView
	// Dropped, when set, is called (with Mu held) for every object that leaves the keyspace: deleted,
	// expired, evicted, replaced by another object under its key, or in a flushed database. A tiering engine
	// uses it to reclaim the object's space.
	Dropped func(db *DB, o *Object)
	// Written, when set, is called (with Mu held) for every object a command creates or modifies, after
	// Modified has stamped it; a tiering engine re-measures the object's size from it.
	Written func(db *DB, o *Object)
	// Writing, when set, is called (with Mu held) when a command looks up a hot object for writing, before
	// the command changes it: a tiering engine drops the tier's copy of the value (Object.TierTag), stale
	// from now on, and notes where the value's bytes are, which the command may replace.
	Writing func(db *DB, o *Object)
	// SnapEpoch is stamped on objects created while a snapshot runs, so the snapshot skips them (they are
	// newer than its LSN). Maintained by the engine that snapshots.
	SnapEpoch uint8

	clock atomic.Uint32 // LRU clock: seconds since start, refreshed by the cron

	// Stats (atomics so INFO can read them without the lock).
	ExpiredKeys   atomic.Int64
	EvictedKeys   atomic.Int64
	KeyspaceHits  atomic.Int64
	KeyspaceMiss  atomic.Int64
	ExpireCycleMS atomic.Int64

	seed maphash.Seed
	rng  *rand.Rand
}

// New returns an empty keyspace.
func New() *Keyspace {
	ks := &Keyspace{seed: maphash.MakeSeed(), rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b97f4a7c15))}
	for i := range ks.dbs {
		ks.dbs[i] = newDB(ks, i)
	}
	ks.clock.Store(1)
	return ks
}

// DB returns database i (0 <= i < NumDBs).
func (ks *Keyspace) DB(i int) *DB { return ks.dbs[i] }

// Clock returns the LRU clock in seconds.
func (ks *Keyspace) Clock() uint32 { return ks.clock.Load() }

// YieldLock ends a background job's slice of Mu: it unlocks, then lets the goroutines that queued on Mu
// during the slice run before the job can lock again. Go's mutex lets a running goroutine barge ahead of
// the waiters it wakes, so a job that unlocks and locks again at once (snapshot, demotion, active expiry)
// would win the lock back before a woken client is even scheduled, and hold it almost without a break:
// a runtime trace of the tiered engine's demoter showed it running alone through every 5-12 ms stall a
// 1 ms PING probe saw.
func (ks *Keyspace) YieldLock() {
	ks.Mu.Unlock()
	runtime.Gosched()
}

// Slice is a background job's hold of Mu (a snapshot's walk, a tiering engine's demotion): the job works
// while Over is false, then ends the hold with Yield, so no client waits for the lock much longer than the
// slice's limit.
type Slice struct {
	ks    *Keyspace
	start time.Time
	limit time.Duration
}

// LockSlice locks Mu for a slice of about limit.
func (ks *Keyspace) LockSlice(limit time.Duration) Slice {
	ks.Mu.Lock()
	return Slice{ks: ks, start: time.Now(), limit: limit}
}

// Over reports whether the slice has held Mu for its limit.
func (s *Slice) Over() bool { return time.Since(s.start) > s.limit }

// Yield ends the slice (YieldLock) and returns how long it held Mu.
func (s *Slice) Yield() time.Duration {
	d := time.Since(s.start)
	s.ks.YieldLock()
	return d
}

// Rand returns the keyspace's random source; use it with Mu held.
func (ks *Keyspace) Rand() *rand.Rand { return ks.rng }

// KeyCount returns the number of keys in every database (Mu held).
func (ks *Keyspace) KeyCount() (n int) {
	for _, db := range ks.dbs {
		n += db.d.count
	}
	return n
}

// Now returns the current Unix time in milliseconds.
func Now() int64 { return time.Now().UnixMilli() }

// DB is one logical database.
type DB struct {
	ks    *Keyspace
	Index int
	// Tag identifies this database instance for the life of the process: unlike Index it follows the
	// database through SWAPDB and changes when FLUSHDB replaces it (tiering engines key cold values by it).
	Tag uint32
	d   *dict
	// expires indexes the keys that carry a TTL, for the active expiry cycle and volatile-* eviction.
	expires map[string]*Object
	// tombstones holds the LSN of keys deleted while TrackLSN is on, so a read of a missing key can wait for
	// the deletion to be durable. Entries older than the durable LSN are pruned by PruneTombstones.
	tombstones map[string]uint64
}

func newDB(ks *Keyspace, i int) *DB {
	db := &DB{ks: ks, Index: i, Tag: dbTags.Add(1), d: newDict(ks.seed), expires: map[string]*Object{}}
	if ks.countSlots {
		db.d.slots = make([]uint32, cluster.SlotCount)
	}
	return db
}

// CountSlots makes every database count its keys per cluster hash slot (cluster mode), counting the keys
// already there once (Mu held). It costs a CRC16 per key insertion and deletion from then on.
func (ks *Keyspace) CountSlots() {
	if ks.countSlots {
		return
	}
	ks.countSlots = true
	for _, db := range ks.dbs {
		db.d.slots = make([]uint32, cluster.SlotCount)
		db.ForEach(func(key string, _ *Object) bool {
			db.d.slots[cluster.KeySlotString(key)]++
			return true
		})
	}
}

// KeysInSlot returns the number of keys of db in a cluster hash slot (0 unless Keyspace.CountSlots ran).
func (db *DB) KeysInSlot(slot int) int {
	if db.d.slots == nil || slot < 0 || slot >= len(db.d.slots) {
		return 0
	}
	return int(db.d.slots[slot])
}

// dbTags numbers database instances (DB.Tag).
var dbTags atomic.Uint32

// Thaw brings a cold object's value back into memory (a no-op for a hot object). Handlers get thawed objects
// from Lookup and LookupWrite; server code that reads values it found with Peek calls this first.
func (db *DB) Thaw(o *Object) error {
	if !o.Cold {
		return nil
	}
	if db.ks.Thaw == nil {
		return errNoThaw
	}
	return db.ks.Thaw(db, o)
}

// Len returns the number of keys (expired keys not yet reclaimed included, as in Redis's DBSIZE).
func (db *DB) Len() int { return db.d.count }

// ExpiresLen returns the number of keys with a TTL.
func (db *DB) ExpiresLen() int { return len(db.expires) }

// Peek returns the object of key without expiry, statistics or LSN tracking (engines, snapshots).
func (db *DB) Peek(key []byte) *Object { return db.d.get(key) }

// Prefetch brings into the CPU's cache what looking up keys will touch, PrefetchMax keys at a time, so
// that their cache misses overlap: a pipeline's commands, looked up one by one, would each wait for theirs
// in turn. It changes nothing a lookup can see, and may be given keys that do not exist or belong to another
// database. The caller holds the keyspace lock.
func (db *DB) Prefetch(keys [][]byte) { db.d.prefetch(keys) }

// PeekKey is Peek for a key held as a string (no conversion).
func (db *DB) PeekKey(key string) *Object { return db.d.getStr(key) }

// Detached reports whether db is no longer one of its keyspace's databases (FLUSHDB and FLUSHALL replace
// them); objects of a detached database are gone for good.
func (db *DB) Detached() bool { return db.ks.dbs[db.Index] != db }

// expired reports whether o has passed its TTL at now; it deletes it if so.
func (db *DB) expireIfNeeded(key []byte, o *Object, now int64) bool {
	if o.ExpireAt == 0 || o.ExpireAt > now {
		return false
	}
	db.deleteExpired(key)
	return true
}

func (db *DB) deleteExpired(key []byte) {
	db.remove(key)
	db.ks.ExpiredKeys.Add(1)
	if db.ks.Notify != nil {
		db.ks.Notify(db.Index, 'x', "expired", key)
	}
	if db.ks.OnModify != nil {
		db.ks.OnModify(db.Index, key)
	}
}

// remove deletes key from the dict and the expires index and leaves a tombstone when tracking LSNs.
func (db *DB) remove(key []byte) bool {
	o := db.d.get(key)
	if o == nil {
		return false
	}
	if bw := db.ks.BeforeWrite; bw != nil {
		bw(db.Index, key, o)
	}
	if o.ExpireAt != 0 {
		delete(db.expires, o.key)
	}
	db.d.del(key)
	if dr := db.ks.Dropped; dr != nil {
		dr(db, o)
	}
	if db.ks.TrackLSN {
		if db.tombstones == nil {
			db.tombstones = map[string]uint64{}
		}
		db.tombstones[string(key)] = db.ks.NextLSN
	}
	return true
}

// Lookup returns the live object for a read, or nil: it expires the key lazily, refreshes its access
// recency, counts hits and misses, and records the LSN the reply must wait for.
func (c *Ctx) Lookup(key []byte) *Object {
	db := c.DB
	o := db.d.get(key)
	if o != nil && !c.Replay && db.expireIfNeeded(key, o, c.Now) {
		o = nil
	}
	if o == nil {
		db.ks.KeyspaceMiss.Add(1)
		if db.tombstones != nil {
			if lsn, ok := db.tombstones[string(key)]; ok && lsn > c.NeedLSN {
				c.NeedLSN = lsn
			}
		}
		return nil
	}
	if o.Cold && !c.thaw(o) {
		return nil
	}
	db.ks.KeyspaceHits.Add(1)
	o.LRU = db.ks.clock.Load()
	if o.LFU < 255 {
		o.LFU++
	}
	if o.LSN > c.NeedLSN {
		c.NeedLSN = o.LSN
	}
	return o
}

// LookupWrite returns the live object of key for a command that may modify it (no hit/miss statistics).
func (c *Ctx) LookupWrite(key []byte) *Object {
	db := c.DB
	o := db.d.get(key)
	if o == nil {
		if db.tombstones != nil {
			if lsn, ok := db.tombstones[string(key)]; ok && lsn > c.NeedLSN {
				c.NeedLSN = lsn
			}
		}
		return nil
	}
	if db.expireIfNeeded(key, o, c.Now) {
		return nil
	}
	if o.Cold && !c.thaw(o) {
		return nil
	}
	return c.lookedUpForWrite(key, o)
}

// LookupWriteCold is LookupWrite for a command that will replace the value without reading it (SET
// without GET): a cold value is not brought back. The object may be cold; only its metadata may be read.
func (c *Ctx) LookupWriteCold(key []byte) *Object {
	db := c.DB
	o := db.d.get(key)
	if o == nil {
		return c.LookupWrite(key) // the tombstone bookkeeping
	}
	if db.expireIfNeeded(key, o, c.Now) {
		return nil
	}
	return c.lookedUpForWrite(key, o)
}

func (c *Ctx) lookedUpForWrite(key []byte, o *Object) *Object {
	db := c.DB
	if bw := db.ks.BeforeWrite; bw != nil {
		bw(db.Index, key, o)
	}
	if !o.Cold && db.ks.Writing != nil {
		db.ks.Writing(db, o)
	}
	o.LRU = db.ks.clock.Load()
	if o.LSN > c.NeedLSN {
		c.NeedLSN = o.LSN
	}
	return o
}

// thaw brings a cold object back for a handler. When the tier cannot be read it records the error in
// ThawErr (the server replies with it instead of the handler's reply) and reports false; the handler then
// sees the key as missing and must not be trusted, which is why the server discards its reply.
func (c *Ctx) thaw(o *Object) bool {
	if err := c.DB.Thaw(o); err != nil {
		if c.ThawErr == nil {
			c.ThawErr = err
		}
		return false
	}
	return true
}

// LookupTyped returns the live object of key when it holds type t (read or write lookup). It returns nil
// for a missing key, and wrong=true, after replying WRONGTYPE, for another type: the opening of nearly
// every data-type handler.
func (c *Ctx) LookupTyped(key []byte, t Type, write bool) (o *Object, wrong bool) {
	if write {
		o = c.LookupWrite(key)
	} else {
		o = c.Lookup(key)
	}
	if o == nil {
		return nil, false
	}
	if o.Type != t {
		c.Error(ErrWrongType)
		return nil, true
	}
	return o, false
}

// Exists reports whether key is live, without touching its access recency (EXISTS, TYPE-less checks).
func (c *Ctx) Exists(key []byte) bool {
	o := c.DB.d.get(key)
	if o == nil {
		// A deletion not yet durable must be waited for, as for a read of the value.
		if ts := c.DB.tombstones; ts != nil {
			if lsn, ok := ts[string(key)]; ok && lsn > c.NeedLSN {
				c.NeedLSN = lsn
			}
		}
		return false
	}
	if c.DB.expireIfNeeded(key, o, c.Now) {
		return false
	}
	if o.LSN > c.NeedLSN {
		c.NeedLSN = o.LSN
	}
	return true
}

// Set stores o under key, replacing any previous value. With keepTTL the previous TTL (if any) carries over;
// otherwise o.ExpireAt is used as is. It marks the key modified.
func (c *Ctx) Set(key []byte, o *Object, keepTTL bool) {
	db := c.DB
	old := db.d.get(key)
	o.SnapEpoch = db.ks.SnapEpoch
	if old != nil {
		if bw := db.ks.BeforeWrite; bw != nil {
			bw(db.Index, key, old)
		}
		if keepTTL {
			o.ExpireAt = old.ExpireAt
		}
		db.d.set(old.key, o) // replaces in place, keeping the stored key string
		if dr := db.ks.Dropped; dr != nil && old != o {
			dr(db, old)
		}
		if old.ExpireAt != 0 && o.ExpireAt == 0 {
			delete(db.expires, o.key)
		} else if o.ExpireAt != 0 {
			db.expires[o.key] = o
		}
	} else {
		db.d.set(string(key), o)
		if o.ExpireAt != 0 {
			db.expires[o.key] = o
		}
		if db.tombstones != nil {
			delete(db.tombstones, o.key)
		}
	}
	o.LRU = db.ks.clock.Load()
	c.Modified(key, o)
}

// Modified marks key (whose object is o, nil when deleted) as written by this command: it stamps the LSN
// the command's effects will carry and wakes WATCH and blocked clients.
func (c *Ctx) Modified(key []byte, o *Object) {
	ks := c.DB.ks
	if o != nil {
		if ks.TrackLSN {
			o.LSN = ks.NextLSN
		}
		if ks.Written != nil {
			ks.Written(c.DB, o)
		}
	}
	c.Dirty++
	if ks.OnModify != nil {
		ks.OnModify(c.DB.Index, key)
	}
}

// Delete removes key; it reports whether the key existed (live or not yet reclaimed and unexpired).
func (c *Ctx) Delete(key []byte) bool {
	db := c.DB
	o := db.d.get(key)
	if o == nil {
		return false
	}
	if db.expireIfNeeded(key, o, c.Now) {
		return false
	}
	db.remove(key)
	c.Modified(key, nil)
	return true
}

// SetExpire sets the absolute expiry of the live object o of key (0 removes the TTL).
func (c *Ctx) SetExpire(key []byte, o *Object, at int64) {
	db := c.DB
	if at == 0 {
		if o.ExpireAt != 0 {
			delete(db.expires, o.key)
		}
	} else if o.ExpireAt == 0 {
		db.expires[o.key] = o
	}
	o.ExpireAt = at
	c.Modified(key, o)
}

// Notify emits a keyspace event for key if notifications are enabled.
func (c *Ctx) Notify(class byte, event string, key []byte) {
	if c.Replay {
		return
	}
	if n := c.DB.ks.Notify; n != nil {
		n(c.DB.Index, class, event, key)
	}
}

// Flush empties database db (or all of them when db < 0).
func (ks *Keyspace) Flush(db int) {
	if ks.BeforeBulk != nil {
		ks.BeforeBulk()
	}
	for i := range ks.dbs {
		if db >= 0 && i != db {
			continue
		}
		old := ks.dbs[i]
		ks.dbs[i] = newDB(ks, i)
		if dr := ks.Dropped; dr != nil {
			old.d.forEach(func(o *Object) bool { dr(old, o); return true })
		}
		if ks.TrackLSN && old.d.count > 0 {
			// Reads of any former key must wait for the flush to be durable: keep tombstones for all of them.
			ts := make(map[string]uint64, old.d.count)
			old.d.forEach(func(o *Object) bool { ts[o.key] = ks.NextLSN; return true })
			ks.dbs[i].tombstones = ts
		}
	}
	if ks.OnFlush != nil {
		ks.OnFlush(db)
	}
}

// PruneTombstones drops tombstones of deletions that are durable (LSN <= durable). Call with Mu held.
func (ks *Keyspace) PruneTombstones(durable uint64) {
	for _, db := range ks.dbs {
		for k, lsn := range db.tombstones {
			if lsn <= durable {
				delete(db.tombstones, k)
			}
		}
		if len(db.tombstones) == 0 {
			db.tombstones = nil
		}
	}
}

// Swap exchanges the contents of databases a and b (SWAPDB).
func (ks *Keyspace) Swap(a, b int) {
	if ks.BeforeBulk != nil {
		ks.BeforeBulk()
	}
	ks.dbs[a], ks.dbs[b] = ks.dbs[b], ks.dbs[a]
	ks.dbs[a].Index, ks.dbs[b].Index = a, b
}

// ForEach calls fn for every key of the database (Mu held) until fn returns false. Expired keys that were
// not yet reclaimed are included; fn must not modify the database.
func (db *DB) ForEach(fn func(key string, o *Object) bool) {
	db.d.forEach(func(o *Object) bool { return fn(o.key, o) })
}

// Scan visits one step of a SCAN iteration and returns the next cursor (0 at the end).
func (db *DB) Scan(cursor uint64, fn func(key string, o *Object)) uint64 {
	return db.d.scan(cursor, func(o *Object) { fn(o.key, o) })
}

// RandomKey returns a random key and its object ("" when empty); expired keys may be returned.
func (db *DB) RandomKey() (string, *Object) {
	o := db.d.random(db.ks.rng.Uint64)
	if o == nil {
		return "", nil
	}
	return o.key, o
}

// RandomVolatile returns a random key that has a TTL ("" when none).
func (db *DB) RandomVolatile() (string, *Object) {
	for k, o := range db.expires {
		return k, o
	}
	return "", nil
}

// Load inserts key with o during recovery or snapshot loading, without effects, hooks or LSN tracking.
func (db *DB) Load(key string, o *Object) {
	old := db.d.getStr(key)
	if old != nil && old.ExpireAt != 0 {
		delete(db.expires, old.key)
	}
	db.d.set(key, o)
	if dr := db.ks.Dropped; dr != nil && old != nil && old != o {
		dr(db, old)
	}
	if o.ExpireAt != 0 {
		db.expires[o.key] = o
	}
}

// Unload removes key without effects or hooks (tiering engines, recovery).
func (db *DB) Unload(key string) { db.remove([]byte(key)) }
