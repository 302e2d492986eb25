package tiered

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// fakeClock is a pacer's clock that moves only when the pacer sleeps or the test advances it.
// Pebble's compactions call it from their own goroutines, hence the lock.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.sleeps += d
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// slept returns how long the pacer has slept.
func (c *fakeClock) slept() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sleeps
}

func newFakePacer(rate float64) (*compactionPacer, *fakeClock) {
	c := &fakeClock{t: time.Unix(1000, 0)}
	p := newCompactionPacer(rate)
	p.now, p.sleep = c.now, c.sleep
	return p, c
}

func TestCompactionPacer(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name      string
		active    bool
		urgent    bool          // writers wait for the demoter
		idle      time.Duration // clock moves this much before the writes
		writes    int           // writes of 64 KB
		wantSlept time.Duration
	}{
		// 32 MB at 32 MB/s take a second; the first burst (20 ms) of it is free.
		{"paced", true, false, 0, 512, time.Second - 20*time.Millisecond},
		// A quiet spell earns at most the burst.
		{"after idle", true, false, time.Hour, 512, time.Second - 20*time.Millisecond},
		// Writes within the burst go straight through.
		{"within burst", true, false, 0, 10, 0},
		{"off", false, false, 0, 512, 0},
		{"writers waiting", true, true, 0, 512, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, c := newFakePacer(32 * mb)
			p.SetActive(tc.active)
			p.urgent = func() bool { return tc.urgent }
			c.advance(tc.idle)
			for range tc.writes {
				p.wait(64 << 10)
			}
			if d := c.slept() - tc.wantSlept; d < -time.Millisecond || d > time.Millisecond {
				t.Fatalf("slept %v, want %v", c.slept(), tc.wantSlept)
			}
			if got := time.Duration(p.paused.Load()) * time.Microsecond; got-c.slept() < -time.Millisecond || got-c.slept() > time.Millisecond {
				t.Fatalf("paused counts %v, slept %v", got, c.slept())
			}
		})
	}
}

// TestPacedFSCategories checks that only compactions' outputs are paced: a flush, the manifest or any other
// file must never wait (they hold up the demoter or Pebble's own commits).
func TestPacedFSCategories(t *testing.T) {
	p, c := newFakePacer(1 << 20) // 1 MB/s: every 256 KB write past the burst sleeps
	p.SetActive(true)
	fs := pacedFS{FS: vfs.Default, p: p}
	dir := t.TempDir()
	buf := make([]byte, 256<<10)
	for i, tc := range []struct {
		category vfs.DiskWriteCategory
		paced    bool
	}{
		{"pebble-memtable-flush", false},
		{vfs.WriteCategoryUnspecified, false},
		{"pebble-compaction", true},
		{"pebble-blob-file-rewrite", true},
	} {
		before := c.slept()
		f, err := fs.Create(fs.PathJoin(dir, string(rune('a'+i))), tc.category)
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			if _, err := f.Write(buf); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if paced := c.slept() > before; paced != tc.paced {
			t.Errorf("category %q: paced %v, want %v", tc.category, paced, tc.paced)
		}
	}
}

// TestPebbleCompactionsPaced checks the pacer against Pebble itself: its flushes write unpaced, and a
// compaction's output goes through the pacer (the categories Pebble names its files with are what pacedFS
// goes by, so a Pebble that renamed them would fail here, not silently run unpaced).
func TestPebbleCompactionsPaced(t *testing.T) {
	p, c := newFakePacer(1 << 20)
	p.SetActive(true)
	db, err := pebble.Open(t.TempDir(), tierOptions(func(string, ...any) {}, p))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for round := range 3 {
		b := db.NewBatch()
		for i := range 2000 {
			b.Set(tierKey(round*1000+i), tierValue, nil)
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			t.Fatal(err)
		}
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if c.slept() != 0 {
		t.Fatalf("flushes were paced: slept %v", c.slept())
	}
	if err := db.Compact(context.Background(), []byte{0}, []byte{0xff, 0xff, 0xff, 0xff, 0xff}, true); err != nil {
		t.Fatal(err)
	}
	if c.slept() == 0 {
		t.Fatal("a compaction wrote without the pacer")
	}
	t.Logf("the compaction slept %v (fake clock)", c.slept())
}
