package server

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/kvlab/kvlab/keyspace"
	"github.com/kvlab/kvlab/resp"
)

// Eviction, approximated like Redis's: when used memory passes maxmemory and the policy evicts, sample
// maxmemory-samples keys (5) from the databases, evict the best candidate by the policy (oldest access for
// *-lru, least frequent for *-lfu, nearest expiry for volatile-ttl, any for *-random), and repeat until the
// estimate is under the limit. Used memory is the Go heap sampled every 100 ms; what evictions free is
// subtracted from that sample until the next one, and a GC is requested so the next sample sees it.
// Each eviction is logged as a DEL effect (durable engines) and announced as an "evicted" keyspace event.

const evictSamples = 5

// freedSinceSample is bytes evicted since the last memory sample.
type evictState struct {
	freed  atomic.Int64
	lastGC atomic.Int64
	eff    keyspace.Effects // guarded by the keyspace lock
}

// evictIfNeeded runs before a command that may grow memory (keyspace lock held). It reports whether memory
// is (still) over the limit.
func (s *Server) evictIfNeeded(now time.Time) bool {
	limit := s.maxMemory.Load()
	if limit <= 0 {
		return false
	}
	used := s.cron.used.Load() - s.evict.freed.Load()
	if used <= limit {
		return false
	}
	policy := s.maxMemoryPolicy()
	if policy == "noeviction" {
		return true
	}
	volatile := policy[:8] == "volatile"
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
	for used > limit {
		db, key, o := s.evictionCandidate(policy, volatile)
		if o == nil {
			return true // nothing left to evict under this policy
		}
		size := int64(keyspace.ObjectSize(key, o))
		x.DB = s.ks.DB(db)
		kb := []byte(key)
		x.Delete(kb)
		x.Notify('e', "evicted", kb)
		x.Emit([]byte("DEL"), kb)
		s.ks.EvictedKeys.Add(1)
		s.evict.freed.Add(size)
		used -= size
	}
	if now := time.Now().UnixMilli(); now-s.evict.lastGC.Load() > 1000 {
		s.evict.lastGC.Store(now)
		go runtime.GC()
	}
	return false
}

// evictionCandidate samples keys and returns the best one to evict by policy.
func (s *Server) evictionCandidate(policy string, volatile bool) (int, string, *keyspace.Object) {
	bestDB, bestKey := -1, ""
	var best *keyspace.Object
	score := func(o *keyspace.Object) int64 {
		switch policy {
		case "allkeys-lru", "volatile-lru":
			return int64(o.LRU)
		case "allkeys-lfu", "volatile-lfu":
			return int64(o.LFU)
		case "volatile-ttl":
			return o.ExpireAt
		}
		return 0
	}
	for i := 0; i < keyspace.NumDBs; i++ {
		db := s.ks.DB(i)
		if db.Len() == 0 || (volatile && db.ExpiresLen() == 0) {
			continue
		}
		for n := 0; n < evictSamples; n++ {
			var k string
			var o *keyspace.Object
			if volatile {
				k, o = db.RandomVolatile()
			} else {
				k, o = db.RandomKey()
			}
			if o == nil {
				break
			}
			if best == nil || score(o) < score(best) {
				bestDB, bestKey, best = i, k, o
			}
			if policy == "allkeys-random" || policy == "volatile-random" {
				break
			}
		}
	}
	return bestDB, bestKey, best
}
