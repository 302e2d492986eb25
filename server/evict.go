package server

import (
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/kvlab/kvlab/engines"
	"github.com/kvlab/kvlab/keyspace"
	"github.com/kvlab/kvlab/resp"
)

// maxmemory and eviction, approximated as Redis does.
//
// Used memory is the Go heap found live by the last garbage collection, sampled by the server cron every
// 100 ms (reading it per command would cost more than the command); what evictions free is subtracted
// from that sample until the next collection shows it, and a collection is requested (at most once a
// second) while evicting so the next sample does.
//
// Before every command, when maxmemory is set and used memory is above it, the policy evicts keys until it
// is not: noeviction evicts nothing; *-random pick random keys; the others keep an eviction pool of the 16
// best candidates found by sampling maxmemory-samples keys per database (least recently used for *-lru,
// least frequently used for *-lfu, nearest expiry for volatile-ttl) and evict the best one still present.
// volatile-* consider only keys with a TTL. Each eviction is logged as a DEL effect (durable engines) and
// announced as an "evicted" keyspace event. If memory is still above the limit — noeviction, or nothing
// left to evict — commands flagged denyoom are refused with Redis's OOM error, and so is every command
// queued inside MULTI and an EXEC whose transaction holds one.

// evictPoolSize is Redis's EVPOOL_SIZE.
const evictPoolSize = 16

// evictState is the eviction bookkeeping.
type evictState struct {
	freed  atomic.Int64 // bytes evicted since the last memory sample
	lastGC atomic.Int64
	// The fields below are guarded by the keyspace lock.
	eff  keyspace.Effects
	pool []poolEntry // sorted by score, best candidate last
	next int         // the next database *-random evicts from
}

// poolEntry is an eviction candidate: higher score = better to evict.
type poolEntry struct {
	score float64
	db    int
	key   string
}

func init() { addPreExec(35, oomFilter) }

// oomFilter evicts before a command when memory is over maxmemory, and refuses the command with the OOM
// error if memory stays over and the command may grow it.
func oomFilter(c *conn, cmd *keyspace.Command, msg string, args [][]byte) (bool, uint64) {
	s := c.s
	if cmd == nil || msg != "" || s.set.maxMemory.Load() <= 0 || !s.evictIfNeeded() {
		return false, 0
	}
	deny := cmd.Flags&keyspace.FlagDenyOOM != 0
	isExec := cmd.Name == "exec" && cmd.Parent == nil
	if c.tx.active {
		switch cmd.Name {
		case "exec":
			deny = deny || c.tx.denyOOM
		case "discard", "quit", "reset":
		default:
			deny = true // queuing may consume memory without bound
		}
	}
	if !deny {
		return false, 0
	}
	s.cmdStat(cmd).rejected.Add(1)
	s.stats.errorReplies.Add(1)
	s.countError([]byte(keyspace.ErrOOM))
	switch {
	case isExec && c.tx.active:
		c.endTx()
		c.w.Error("EXECABORT Transaction discarded because of: " + keyspace.ErrOOM)
	default:
		if c.tx.active {
			c.tx.failed = true
		}
		c.w.Error(keyspace.ErrOOM)
	}
	return true, 0
}

// usedForEviction is the used-memory estimate maxmemory is compared with.
func (s *Server) usedForEviction() int64 { return s.cron.used.Load() - s.evict.freed.Load() }

// sampleMemory refreshes the used-memory sample (server cron, and when a limit is set).
func (s *Server) sampleMemory() {
	live := LiveHeap()
	if live == 0 {
		live = UsedMemory() // no collection has completed yet
	}
	if live != s.cron.used.Load() {
		// A collection finished since the last sample: what was evicted before it is reflected now.
		s.cron.used.Store(live)
		s.evict.freed.Store(0)
	}
}

// evictIfNeeded evicts keys by the policy while memory is over the limit (keyspace lock held). It reports
// whether memory is still over the limit.
func (s *Server) evictIfNeeded() bool {
	if s.repl.IsReplica() {
		return false // a replica mirrors its primary and ignores maxmemory (Redis's replica-ignore-maxmemory yes)
	}
	limit := s.set.maxMemory.Load()
	used := s.usedForEviction()
	budgeter, tiering := s.base.(engines.Budgeter)
	if tiering {
		// The engine keeps RAM within its budget by moving values to disk; only what it cannot hold counts.
		limit, used = 0, budgeter.Overflow()
	}
	if (limit <= 0 && !tiering) || used <= limit {
		return false
	}
	policy := s.set.policy.Load()
	if policy == policyNoEviction {
		return true
	}
	now := time.Now()
	var discard resp.Writer
	x := &keyspace.Ctx{KS: s.ks, W: &discard, Now: now.UnixMilli()}
	if s.ks.RecordEffects {
		s.evict.eff.Reset()
		x.Effects = &s.evict.eff
	}
	defer func() {
		// The evictions are logged as their own record, before the command that triggered them.
		if x.Effects != nil && x.Effects.N > 0 {
			if _, err := s.engine.Commit(x.Effects, x.Now); err != nil {
				s.Logf("evict: log DEL effects: %v", err)
			}
		}
	}()
	over := true
	for used > limit {
		db, key, ok := s.evictionCandidate(policy, x.Now)
		if !ok {
			break // nothing left to evict under this policy
		}
		x.DB = s.ks.DB(db)
		kb := []byte(key)
		o := x.DB.Peek(kb)
		size := int64(keyspace.ObjectSize(key, o))
		if x.Delete(kb) {
			x.Emit([]byte("DEL"), kb)
			s.ks.EvictedKeys.Add(1)
			x.Notify('e', "evicted", kb)
		}
		// A key found expired was reclaimed as such by Delete: its memory is freed all the same.
		if tiering {
			used = budgeter.Overflow()
			continue
		}
		s.evict.freed.Add(size)
		used -= size
	}
	if used <= limit {
		over = false
	}
	if ms := time.Now().UnixMilli(); ms-s.evict.lastGC.Load() > 1000 {
		s.evict.lastGC.Store(ms)
		go runtime.GC()
	}
	return over
}

// evictionCandidate returns the next key to evict by policy, or ok=false when there is none.
func (s *Server) evictionCandidate(policy int32, now int64) (db int, key string, ok bool) {
	volatile := policy <= policyVolatileTTL
	if policy == policyAllkeysRandom || policy == policyVolatileRandom {
		for i := 0; i < keyspace.NumDBs; i++ {
			d := s.ks.DB((s.evict.next + i) % keyspace.NumDBs)
			var k string
			var o *keyspace.Object
			if volatile {
				k, o = d.RandomVolatile()
			} else {
				k, o = d.RandomKey()
			}
			if o != nil {
				s.evict.next = (d.Index + 1) % keyspace.NumDBs
				return d.Index, k, true
			}
		}
		return 0, "", false
	}
	samples := int(s.set.samples.Load())
	for i := 0; i < keyspace.NumDBs; i++ {
		d := s.ks.DB(i)
		if d.Len() == 0 || (volatile && d.ExpiresLen() == 0) {
			continue
		}
		for n := 0; n < samples; n++ {
			var k string
			var o *keyspace.Object
			if volatile {
				k, o = d.RandomVolatile()
			} else {
				k, o = d.RandomKey()
			}
			if o == nil {
				break
			}
			s.poolInsert(poolEntry{score: s.evictScore(policy, o), db: i, key: k})
		}
	}
	// The best candidate still present wins; entries whose key is gone (deleted since it was sampled) are
	// dropped on the way.
	for len(s.evict.pool) > 0 {
		e := s.evict.pool[len(s.evict.pool)-1]
		s.evict.pool = s.evict.pool[:len(s.evict.pool)-1]
		o := s.ks.DB(e.db).Peek([]byte(e.key))
		if o == nil || (volatile && o.ExpireAt == 0) {
			continue
		}
		return e.db, e.key, true
	}
	return 0, "", false
}

// evictScore rates o for eviction under policy: higher is evicted first.
func (s *Server) evictScore(policy int32, o *keyspace.Object) float64 {
	switch policy {
	case policyAllkeysLRU, policyVolatileLRU:
		return float64(s.ks.Clock() - min(o.LRU, s.ks.Clock()))
	case policyAllkeysLFU, policyVolatileLFU:
		return 255 - s.lfuScore(o)
	case policyVolatileTTL:
		return math.MaxInt64 - float64(o.ExpireAt)
	}
	return 0
}

// poolInsert adds a candidate to the eviction pool, keeping the best evictPoolSize (keyspace lock held).
func (s *Server) poolInsert(e poolEntry) {
	pool := s.evict.pool
	for _, p := range pool {
		if p.db == e.db && p.key == e.key {
			return
		}
	}
	i := 0
	for i < len(pool) && pool[i].score <= e.score {
		i++
	}
	if len(pool) == evictPoolSize {
		if i == 0 {
			return // worse than every candidate in a full pool
		}
		copy(pool[:i-1], pool[1:i]) // drop the worst to make room
		pool[i-1] = e
		return
	}
	pool = append(pool, poolEntry{})
	copy(pool[i+1:], pool[i:])
	pool[i] = e
	s.evict.pool = pool
}
