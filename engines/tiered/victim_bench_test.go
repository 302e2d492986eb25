package tiered

import (
	"fmt"
	"testing"

	"github.com/kvlab/kvlab/keyspace"
)

// BenchmarkPickVictim samples victims from a hot list of 1M objects (the tiering benchmark holds about
// 520,000 hot values), whose objects and list entries are far beyond the CPU's cache: sampling is random
// memory access, the demoter's main cost under the keyspace lock.
//
//	go test ./engines/tiered -run XXX -bench BenchmarkPickVictim
func BenchmarkPickVictim(b *testing.B) {
	ks := keyspace.New()
	db := ks.DB(0)
	e := &Engine{ks: ks, selected: map[*keyspace.Object]struct{}{}, minValue: 1}
	for i := range 1_000_000 {
		o := keyspace.NewString(make([]byte, 100))
		o.TierSize, o.LRU = 100, uint32(i*7919%1_000_003)
		db.Load(fmt.Sprintf("key:%012d", i), o)
		e.hotList = append(e.hotList, hotEntry{db: db, o: o})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, o := e.pickVictim(); o == nil {
			b.Fatal("no victim")
		}
	}
}
