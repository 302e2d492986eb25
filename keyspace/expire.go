package keyspace

import (
	"context"
	"time"
)

// Active expiry, modelled on Redis's activeExpireCycle: every tick, each database with volatile keys is
// sampled (20 keys at a time); expired samples are deleted; sampling repeats while more than a quarter of a
// sample was expired, until the tick's time budget is spent. The lock is taken per sample, so a cycle never
// holds up clients for more than one sample's work.
const (
	expireSample      = 20
	expireHz          = 10
	expireBudgetShare = 4 // at most 1/4 of each tick (25 ms of 100 ms), like Redis's 25% CPU bound
)

// RunCron runs the keyspace's background work (LRU clock, active expiry) until ctx is done.
func (ks *Keyspace) RunCron(ctx context.Context) {
	start := time.Now()
	t := time.NewTicker(time.Second / expireHz)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			ks.clock.Store(uint32(now.Sub(start)/time.Second) + 1)
			ks.ActiveExpireCycle(time.Second / expireHz / expireBudgetShare)
		}
	}
}

// ActiveExpireCycle reclaims expired keys for at most budget and returns how many it deleted.
func (ks *Keyspace) ActiveExpireCycle(budget time.Duration) int {
	deadline := time.Now().Add(budget)
	deleted := 0
	for i := 0; i < NumDBs; i++ {
		for {
			ks.Mu.Lock()
			db := ks.dbs[i]
			if len(db.expires) == 0 {
				ks.Mu.Unlock()
				break
			}
			now := Now()
			sampled, expired := 0, 0
			var victims [expireSample]string
			for k, o := range db.expires {
				if o.ExpireAt <= now {
					victims[expired] = k
					expired++
				}
				sampled++
				if sampled == expireSample {
					break
				}
			}
			for _, k := range victims[:expired] {
				db.deleteExpired([]byte(k))
			}
			ks.YieldLock()
			deleted += expired
			if expired*4 <= sampled || time.Now().After(deadline) {
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
	}
	ks.ExpireCycleMS.Add(int64(time.Since(deadline.Add(-budget)) / time.Millisecond))
	return deleted
}
