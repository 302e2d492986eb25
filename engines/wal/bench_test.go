package wal

import (
	"context"
	"encoding/binary"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/kvlab/kvlab/internal/proctest"
	"github.com/kvlab/kvlab/internal/record"
	"github.com/kvlab/kvlab/keyspace"
	"github.com/kvlab/kvlab/resp"
)

var (
	benchKeys  = flag.Int("bench.keys", 1_000_000, "keys loaded by BenchmarkBGSAVE and BenchmarkRecovery")
	benchPhase = flag.Duration("bench.phase", 5*time.Second, "length of each measured phase of BenchmarkBGSAVE")
)

// BenchmarkBGSAVE measures what a snapshot costs the clients: the real binary holds 1M keys of 100 bytes,
// 50 clients write random keys for one phase without snapshots and one phase with BGSAVE running back to
// back; it reports each phase's write latency percentiles, throughput and peak RSS (sampled from INFO every
// 20 ms). Run: go test -run '^$' -bench BGSAVE -benchtime 1x ./engines/wal
func BenchmarkBGSAVE(b *testing.B) {
	for _, fsync := range []string{"always", "no"} {
		b.Run("fsync="+fsync, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchBGSAVE(b, fsync)
			}
		})
	}
}

func benchBGSAVE(b *testing.B, fsync string) {
	dir := b.TempDir()
	srv := proctest.Start(b, "--engine", "wal", "--dir", dir, "--fsync", fsync, "--snapshot-every-bytes", "0")
	load(b, srv.Addr, *benchKeys)
	ctl, err := tryDial(srv.Addr)
	if err != nil {
		b.Fatal(err)
	}
	defer ctl.nc.Close()
	infoInt := func(field string) int64 {
		v, err := ctl.try("INFO", "everything")
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(string(v.Str), "\r\n") {
			if k, val, ok := strings.Cut(line, ":"); ok && k == field {
				n, _ := strconv.ParseInt(val, 10, 64)
				return n
			}
		}
		return -1
	}
	rssBefore := infoInt("used_memory_rss")
	for _, phase := range []string{"baseline", "bgsave"} {
		hist, ops, peak, saves := writePhase(b, srv.Addr, phase == "bgsave", infoInt)
		ms := func(q float64) float64 { return float64(hist.ValueAtQuantile(q)) / 1000 }
		b.ReportMetric(float64(ops)/benchPhase.Seconds(), phase+"-ops/s")
		b.ReportMetric(ms(99), phase+"-p99-ms")
		b.ReportMetric(ms(99.9), phase+"-p99.9-ms")
		b.ReportMetric(float64(hist.Max())/1000, phase+"-max-ms")
		b.ReportMetric(float64(peak)/(1<<20), phase+"-peakRSS-MB")
		if phase == "bgsave" {
			b.ReportMetric(float64(saves), "snapshots")
			b.ReportMetric(float64(infoInt("rdb_last_cow_size"))/(1<<20), "last-cow-MB")
			b.ReportMetric(float64(infoInt("snapshot_last_duration_ms")), "last-snapshot-ms")
			b.ReportMetric(float64(infoInt("snapshot_last_max_pause_us"))/1000, "last-max-lock-slice-ms")
		}
		b.Logf("fsync=%s %s: %d writes, p50 %.2fms p99 %.2fms p99.9 %.2fms max %.2fms, peak RSS %d MB (before: %d MB), %d snapshots",
			fsync, phase, ops, ms(50), ms(99), ms(99.9), float64(hist.Max())/1000, peak>>20, rssBefore>>20, saves)
	}
}

// load writes n keys of 100 bytes with pipelined SETs.
func load(b *testing.B, addr string, n int) {
	b.Helper()
	c, err := tryDial(addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.nc.Close()
	val := strings.Repeat("x", 100)
	var buf []byte
	for i := 0; i < n; i += 1000 {
		buf = buf[:0]
		m := min(1000, n-i)
		for j := 0; j < m; j++ {
			buf = resp.AppendCommandStrings(buf, "SET", "key:"+strconv.Itoa(i+j), val)
		}
		c.nc.SetDeadline(time.Now().Add(time.Minute))
		if _, err := c.nc.Write(buf); err != nil {
			b.Fatal(err)
		}
		for j := 0; j < m; j++ {
			if _, err := c.rr.Read(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// writePhase runs 50 writing clients for one phase and returns the latency histogram (µs), the number of
// writes, the peak RSS and the number of snapshots completed.
func writePhase(b *testing.B, addr string, bgsave bool, infoInt func(string) int64) (*hdrhistogram.Histogram, int64, int64, int) {
	const clients = 50
	hist := hdrhistogram.New(1, 60_000_000, 3)
	var mu sync.Mutex
	var ops atomic.Int64
	deadline := time.Now().Add(*benchPhase)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := tryDial(addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer c.nc.Close()
			r := rand.New(rand.NewPCG(uint64(i), 9))
			h := hdrhistogram.New(1, 60_000_000, 3)
			val := strings.Repeat("y", 100)
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if _, err := c.try("SET", "key:"+strconv.Itoa(r.IntN(*benchKeys)), val); err != nil {
					b.Error(err)
					return
				}
				h.RecordValue(time.Since(t0).Microseconds())
				ops.Add(1)
			}
			mu.Lock()
			hist.Merge(h)
			mu.Unlock()
		}()
	}
	var peak int64
	saves := 0
	running := false
	for time.Now().Before(deadline) {
		peak = max(peak, infoInt("used_memory_rss"))
		if bgsave {
			if infoInt("rdb_bgsave_in_progress") == 0 {
				if running {
					saves++
				}
				ctlBGSAVE(b, addr)
				running = true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	return hist, ops.Load(), peak, saves
}

func ctlBGSAVE(b *testing.B, addr string) {
	c, err := tryDial(addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.nc.Close()
	c.try("BGSAVE")
}

// BenchmarkRecovery measures recovery speed: a snapshot of 1M keys of 100 bytes plus a log of 1M SET
// records after it, opened in process. Run: go test -run '^$' -bench Recovery -benchtime 1x ./engines/wal
func BenchmarkRecovery(b *testing.B) {
	dir := b.TempDir()
	n := *benchKeys
	e, err := tryOpen(b, dir, "fsync=no")
	if err != nil {
		b.Fatal(err)
	}
	x := newExecer(e)
	for i := 0; i < n; i += 500 {
		args := []string{"MSET"}
		for j := i; j < min(i+500, n); j++ {
			args = append(args, "key:"+strconv.Itoa(j), strings.Repeat("x", 100))
		}
		x.do(b, args...)
	}
	if err := e.Snapshot(context.Background(), false); err != nil {
		b.Fatal(err)
	}
	next := e.lastLSN.Load() + 1
	if err := e.Close(); err != nil {
		b.Fatal(err)
	}
	// The log after the snapshot: n SET records, written directly (as the committer frames them).
	var buf []byte
	now := time.Now().UnixMilli()
	val := []byte(strings.Repeat("z", 100))
	for i := 0; i < n; i++ {
		if i%1000 == 0 {
			buf = record.AppendSync(buf, next+uint64(i), int64(len(buf)))
		}
		var eff keyspace.Effects
		eff.Add(0, []byte("SET"), []byte("key:"+strconv.Itoa((i*7919)%n)), val)
		payload := binary.LittleEndian.AppendUint64(nil, uint64(now))
		buf = record.Append(buf, record.TypeEffects, next+uint64(i), append(payload, eff.Buf...))
	}
	for _, s := range segmentFiles(b, dir) {
		os.Remove(s)
	}
	if err := os.WriteFile(filepath.Join(dir, "wal", segmentName(next)), buf, 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := OpenEngine(configFor(dir))
		if err != nil {
			b.Fatal(err)
		}
		rs := e.Recovery()
		b.StopTimer()
		e.Close()
		b.ReportMetric(float64(rs.SnapshotBytes)/1e6/rs.SnapshotTime.Seconds(), "snapshot-MB/s")
		b.ReportMetric(float64(rs.SnapshotKeys)/rs.SnapshotTime.Seconds(), "snapshot-keys/s")
		b.ReportMetric(float64(rs.LogBytes)/1e6/rs.LogTime.Seconds(), "log-MB/s")
		b.ReportMetric(rs.RecordsPerSec(), "log-records/s")
		b.ReportMetric(rs.Total.Seconds(), "total-s")
		b.Logf("recovery: snapshot %d keys, %.1f MB in %s; log %d records, %.1f MB in %s; total %s",
			rs.SnapshotKeys, float64(rs.SnapshotBytes)/1e6, rs.SnapshotTime, rs.LogRecords, float64(rs.LogBytes)/1e6, rs.LogTime, rs.Total)
		// Later iterations would replay onto a log that now ends with a clean-shutdown sync record; fine.
		b.StartTimer()
	}
}
