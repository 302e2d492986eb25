package replication

import (
	"strconv"
	"testing"

	"github.com/kvlab/kvlab/engines"
	_ "github.com/kvlab/kvlab/engines/memory"
	"github.com/kvlab/kvlab/keyspace"
)

// BenchmarkFullSyncPayload measures the keyspace-lock pause of a full sync: serializing 1M 100-byte
// strings (the figure INFO reports as kvlab_repl_fullsync_pause_ms).
//
//	go test ./replication -run XXX -bench FullSyncPayload -benchtime 3x
func BenchmarkFullSyncPayload(b *testing.B) {
	e, err := engines.Open("memory", engines.Config{})
	if err != nil {
		b.Fatal(err)
	}
	n := New(e, Config{})
	defer n.Close()
	db := n.ks.DB(0)
	val := make([]byte, 100)
	for i := 0; i < 1_000_000; i++ {
		db.Load("key:"+strconv.Itoa(i), keyspace.NewString(append([]byte(nil), val...)))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n.ks.Mu.Lock()
		_, size, keys, err := n.fullSyncPayload()
		n.ks.Mu.Unlock()
		if err != nil || keys != 1_000_000 {
			b.Fatal(keys, err)
		}
		b.ReportMetric(float64(size), "bytes")
	}
}

// BenchmarkFullSyncLoad measures a replica loading the payload of 1M 100-byte strings (under its keyspace
// lock; INFO's kvlab_repl_load_ms).
//
//	go test ./replication -run XXX -bench FullSyncLoad -benchtime 3x
func BenchmarkFullSyncLoad(b *testing.B) {
	e, _ := engines.Open("memory", engines.Config{})
	n := New(e, Config{})
	defer n.Close()
	db := n.ks.DB(0)
	val := make([]byte, 100)
	for i := 0; i < 1_000_000; i++ {
		db.Load("key:"+strconv.Itoa(i), keyspace.NewString(append([]byte(nil), val...)))
	}
	n.ks.Mu.Lock()
	chunks, _, _, err := n.fullSyncPayload()
	n.ks.Mu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	var payload []byte
	for _, c := range chunks {
		payload = append(payload, c...)
	}
	e2, _ := engines.Open("memory", engines.Config{})
	r := New(e2, Config{})
	defer r.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := r.loadPayload(payload, zeroID, 1); err != nil {
			b.Fatal(err)
		}
	}
	if r.ks.DB(0).Len() != 1_000_000 {
		b.Fatal("keys missing")
	}
}
