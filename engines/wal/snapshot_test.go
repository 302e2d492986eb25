package wal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kvlab/kvlab/keyspace"
)

// preload fills database db with n string keys prefix0..prefixN with MSET (100 keys per command).
func preload(t testing.TB, x *execer, db, n int, prefix string) {
	t.Helper()
	x.do(t, "SELECT", strconv.Itoa(db))
	for i := 0; i < n; i += 100 {
		args := []string{"MSET"}
		for j := i; j < min(i+100, n); j++ {
			args = append(args, prefix+strconv.Itoa(j), "value-"+strconv.Itoa(j))
		}
		x.do(t, args...)
	}
	x.do(t, "SELECT", "0")
}

// A snapshot taken while writers run is exactly the data set as of its LSN: it equals the replay of the
// log's first LSN records, although keys were modified, deleted, renamed, moved between databases,
// flushed and swapped while it walked the keyspace (copy-on-write per key).
func TestSnapshotPointInTime(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, "fsync=no")
	h := &history{recs: map[uint64]histRec{}}
	x := newExecer(e)
	x.history = h
	const n = 150_000
	preload(t, x, 0, n, "p")
	preload(t, x, 1, 20_000, "q")
	preload(t, x, 3, 20_000, "r")

	var stop atomic.Bool
	var wg sync.WaitGroup
	var during atomic.Int64 // writes that ran while the snapshot was running
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		w := newExecer(e)
		w.history = h
		r := rand.New(rand.NewPCG(1, 2))
		<-started
		for i := 0; !stop.Load(); i++ {
			k := "p" + strconv.Itoa(r.IntN(n))
			var cmd []string
			switch i {
			case 50:
				cmd = []string{"SWAPDB", "1", "2"}
			case 100:
				w.do(t, "SELECT", "3")
				w.do(t, "FLUSHDB")
				w.do(t, "SET", "r1", "new after flush")
				cmd = []string{"SELECT", "0"}
			case 150:
				cmd = []string{"MOVE", k, "5"}
			default:
				switch r.IntN(6) {
				case 0:
					cmd = []string{"SET", k, "changed"}
				case 1:
					cmd = []string{"DEL", k}
				case 2:
					cmd = []string{"APPEND", k, "+more"}
				case 3:
					cmd = []string{"RENAME", k, "renamed" + strconv.Itoa(i)}
				case 4:
					cmd = []string{"PEXPIRE", k, "3600000"}
				default:
					cmd = randomCommand(r)
				}
			}
			w.do(t, cmd...)
			e.snap.mu.Lock()
			if e.snap.running {
				during.Add(1)
			}
			e.snap.mu.Unlock()
		}
	}()
	if err := e.Snapshot(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	close(started)
	e.snap.wait()
	stop.Store(true)
	wg.Wait()
	e.snap.mu.Lock()
	lsn, cow, ok, serr := e.snap.lastLSN, e.snap.lastCowKeys, e.snap.lastOK, e.snap.lastErr
	e.snap.mu.Unlock()
	if !ok {
		t.Fatal(serr)
	}
	if during.Load() < 200 || cow == 0 {
		t.Fatalf("the writer did not overlap the snapshot enough: %d writes during it, %d copy-on-write captures", during.Load(), cow)
	}
	t.Logf("snapshot at LSN %d: %d writes during it, %d keys captured copy-on-write", lsn, during.Load(), cow)

	path := filepath.Join(dir, "snapshots", snapshotName(lsn))
	got := keyspace.New()
	info, err := loadSnapshot(path, got)
	if err != nil {
		t.Fatal(err)
	}
	want := keyspace.New()
	for l := uint64(1); l <= lsn; l++ {
		rec, ok := h.recs[l]
		if !ok {
			t.Fatalf("LSN %d missing from the history", l)
		}
		if err := want.ApplyEffects(rec.eff, rec.now); err != nil {
			t.Fatalf("replay LSN %d: %v", l, err)
		}
	}
	cutoff := info.Time.UnixMilli()
	sameDump(t, "snapshot vs log prefix", dump(got, cutoff), dump(want, cutoff))
}

// The snapshot walk gives the keyspace lock up between short slices, so writes keep flowing during a SAVE.
func TestSnapshotPauses(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, "fsync=no")
	x := newExecer(e)
	preload(t, x, 0, 100_000, "k")
	// The walk gives the lock up between its slices (500 objects or 500 µs each): 100,000 keys take at
	// least 200 of them, while a client writes alongside as clients do. Counting slices,
	// not timing them, keeps the test true on a loaded machine.
	w := newExecer(e)
	done := make(chan struct{})
	writeErr := make(chan error, 1)
	go func() {
		var err error
		defer func() { writeErr <- err }()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			if _, err = w.try("SET", "k"+strconv.Itoa(99_999-i%100_000), "new"); err != nil {
				return
			}
		}
	}()
	if err := e.Snapshot(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	close(done)
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	stats := map[string]int64{}
	for _, st := range e.Stats() {
		n, err := strconv.ParseInt(st.Value, 10, 64)
		if err == nil {
			stats[st.Name] = n
		}
	}
	if n := stats["snapshot_last_slices"]; n < 100_000/500 {
		t.Fatalf("the walk of 100,000 keys took the lock %d times, want at least %d", n, 100_000/500)
	}
	if stats["snapshot_last_max_pause_us"] <= 0 {
		t.Fatal("snapshot_last_max_pause_us is not reported")
	}
	// One snapshot at a time, as Redis: a second request while one runs is refused.
	run, err := e.startSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Snapshot(context.Background(), true); err != ErrSnapshotRunning {
		t.Fatalf("second snapshot: %v, want ErrSnapshotRunning", err)
	}
	if err := e.finishSnapshot(context.Background(), run); err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotGrowthPercent checks the automatic snapshot's threshold: snapshot-every-bytes alone, then,
// once a snapshot exists, also the given percent of the data it held.
func TestSnapshotGrowthPercent(t *testing.T) {
	for _, tc := range []struct {
		percent string
		want    func(raw int64) int64
	}{
		{"0", func(int64) int64 { return 4096 }},
		{"100", func(raw int64) int64 { return max(4096, raw) }},
		{"300", func(raw int64) int64 { return max(4096, raw*3) }},
	} {
		t.Run(tc.percent, func(t *testing.T) {
			e := openEngine(t, t.TempDir(), "snapshot-every-bytes=4kb", "snapshot-growth-percent="+tc.percent)
			if got := e.snapshotThreshold(); got != 4096 {
				t.Fatalf("threshold before any snapshot = %d, want 4096", got)
			}
			x := newExecer(e)
			for i := 0; i < 500; i++ {
				x.do(t, "SET", fmt.Sprint("key:", i), strings.Repeat("v", 200))
			}
			// A foreground snapshot of all of it (waiting for any automatic one the writes started).
			for {
				err := e.Snapshot(context.Background(), false)
				if err == nil {
					break
				}
				if err != ErrSnapshotRunning {
					t.Fatal(err)
				}
				time.Sleep(5 * time.Millisecond)
			}
			raw := e.snapRaw.Load()
			if raw < 500*200 {
				t.Fatalf("no automatic snapshot of the data set (raw bytes %d)", raw)
			}
			if got, want := e.snapshotThreshold(), tc.want(raw); got != want {
				t.Fatalf("threshold after a snapshot of %d raw bytes = %d, want %d", raw, got, want)
			}
		})
	}
}
