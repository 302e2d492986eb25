package tiered

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// tierCompactionRate is the pace of Pebble's compactions while they keep up (compactionPacer): 32 MB/s,
// several times what the tiering benchmark needs on average (6 MB/s at 30,000 requests a second), a tenth of
// what a compaction writes flat out here.
const tierCompactionRate = 32 << 20

// compactionPacer spreads the writes of Pebble's compactions out in time, as RocksDB's rate limiter does.
//
// Flat out, a compaction took one of the machine's two cores for 250-300 ms every 20 s in the tiering
// benchmark (a flush, then five to seven compactions back to back: the demoter's keys are spread over the
// whole key range, so each rewrites most of the level below), and at a fixed 30,000 requests a second the
// GET p99 of that second was 8-15 ms against 1.1-1.5 ms in the others. Paced, the same work runs a
// fraction of a millisecond at a time between sleeps.
//
// Pacing is off while compactions fall behind: while L0 holds more than twice the tables that start one
// (SetActive), and at any write while writers wait for the demoter, which waits for Pebble (urgent). So it moves work in
// time and never lets it pile up; loading a data set larger than the budget runs unpaced. Flushes are never
// paced: a memtable waiting for its flush blocks the demoter.
type compactionPacer struct {
	rate   float64 // bytes a second
	burst  time.Duration
	active atomic.Bool
	urgent func() bool  // reports writers waiting for the tier (nil: never): compactions then run flat out
	paused atomic.Int64 // µs slept, for INFO
	now    func() time.Time
	sleep  func(time.Duration)

	mu   sync.Mutex
	next time.Time // when the bytes accepted so far have been paid for
}

func newCompactionPacer(rate float64) *compactionPacer {
	return &compactionPacer{rate: rate, burst: 20 * time.Millisecond, now: time.Now, sleep: time.Sleep}
}

// SetActive switches pacing on or off.
func (p *compactionPacer) SetActive(on bool) { p.active.Store(on) }

// wait blocks until n more bytes fit the rate (at once while pacing is off). Up to burst of unused time
// carries over, so a write after a quiet spell goes straight through.
func (p *compactionPacer) wait(n int) {
	if !p.active.Load() || (p.urgent != nil && p.urgent()) {
		return
	}
	p.mu.Lock()
	now := p.now()
	if earliest := now.Add(-p.burst); p.next.Before(earliest) {
		p.next = earliest
	}
	p.next = p.next.Add(time.Duration(float64(n) / p.rate * float64(time.Second)))
	d := p.next.Sub(now)
	p.mu.Unlock()
	if d > 0 {
		p.paused.Add(d.Microseconds())
		p.sleep(d)
	}
}

// pacedFS is the tier's file system: files Pebble's compactions create write through the pacer.
type pacedFS struct {
	vfs.FS
	p *compactionPacer
}

// Create creates a file, paced when a compaction writes it. Pebble names the category of each file it
// creates: "pebble-compaction" and "pebble-blob-file-rewrite" are compactions' outputs; flushes, the
// manifest and the options file are written unpaced (they hold up the demoter or Pebble's own commits).
func (fs pacedFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	if err != nil || (category != "pebble-compaction" && category != "pebble-blob-file-rewrite") {
		return f, err
	}
	return pacedFile{File: f, p: fs.p}, nil
}

type pacedFile struct {
	vfs.File
	p *compactionPacer
}

// Write waits for the pacer, then writes.
func (f pacedFile) Write(b []byte) (int, error) {
	f.p.wait(len(b))
	return f.File.Write(b)
}
