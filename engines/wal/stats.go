package wal

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kvlab/kvlab/engines"
)

// Stats reports the persistence figures with Redis's INFO field names where they exist (rdb_* for
// snapshots, aof_* for the log) and kvlab's own under the kvlab section. It takes no keyspace lock.
func (e *Engine) Stats() []engines.Stat {
	var out []engines.Stat
	p := func(name string, v any) {
		out = append(out, engines.Stat{Section: "persistence", Name: name, Value: fmt.Sprint(v)})
	}
	k := func(name string, v any) {
		out = append(out, engines.Stat{Section: "kvlab", Name: name, Value: fmt.Sprint(v)})
	}
	s := &e.snap
	s.mu.Lock()
	running, started := s.running, s.started
	saves, lastOK, lastErr, lastTime, lastDur := s.saves, s.lastOK, s.lastErr, s.lastTime, s.lastDuration
	lastLSN, lastKeys, lastSize, lastCow, lastCowKeys, lastPause, lastSlices := s.lastLSN, s.lastKeys, s.lastSize, s.lastCow, s.lastCowKeys, s.lastPause, s.lastSlices
	s.mu.Unlock()
	e.segMu.Lock()
	nseg := len(e.segments)
	var walBytes int64
	for _, sg := range e.segments {
		walBytes += sg.size
	}
	e.segMu.Unlock()
	lsn := e.lastLSN.Load()
	durable := e.durable.Load()
	status, writeStatus := "ok", "ok"
	if lastErr != nil && !lastOK {
		status = "err"
	}
	if f := e.failure.Load(); f != nil {
		writeStatus = "err"
	}
	bool01 := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	cur := -1
	if running {
		cur = int(time.Since(started).Seconds())
	}
	p("rdb_changes_since_last_save", lsn-min(lsn, lastLSN))
	p("rdb_bgsave_in_progress", bool01(running))
	p("rdb_last_save_time", lastTime.Unix())
	p("rdb_last_bgsave_status", status)
	p("rdb_last_bgsave_time_sec", int(lastDur.Seconds()))
	p("rdb_current_bgsave_time_sec", cur)
	p("rdb_saves", saves)
	p("rdb_last_cow_size", lastCow)
	p("aof_enabled", 1)
	p("aof_rewrite_in_progress", 0)
	p("aof_rewrite_scheduled", 0)
	p("aof_last_write_status", writeStatus)
	p("aof_current_size", walBytes)
	p("aof_base_size", walBytes-min(walBytes, e.stats.sinceSnapshot.Load()))
	p("aof_pending_bio_fsync", 0)
	p("aof_delayed_fsync", 0)

	batches := e.stats.batches.Load()
	records := e.stats.records.Load()
	avg := 0.0
	if batches > 0 {
		avg = float64(records) / float64(batches)
	}
	k("engine", "wal")
	k("wal_fsync_policy", e.opts.Fsync)
	k("wal_commit_delay_us", e.opts.CommitDelay.Microseconds())
	k("wal_lsn", lsn)
	k("wal_durable_lsn", durable)
	k("wal_segments", nseg)
	k("wal_bytes", walBytes)
	k("wal_bytes_since_snapshot", e.stats.sinceSnapshot.Load())
	k("wal_fsyncs", e.stats.fsyncs.Load())
	k("wal_batches", batches)
	k("wal_records", records)
	k("wal_avg_batch", strconv.FormatFloat(avg, 'f', 2, 64))
	fsyncAvg := 0.0
	if n := e.stats.fsyncs.Load(); n > 0 {
		fsyncAvg = float64(e.stats.fsyncMicros.Load()) / float64(n)
	}
	k("wal_fsync_avg_us", strconv.FormatFloat(fsyncAvg, 'f', 1, 64))
	k("wal_bytes_written", e.stats.bytes.Load())
	if f := e.failure.Load(); f != nil {
		k("wal_write_error", strings.ReplaceAll(f.err.Error(), "\n", " "))
	}
	k("snapshot_last_lsn", lastLSN)
	k("snapshot_next_at_log_bytes", e.snapshotThreshold())
	k("snapshot_last_keys", lastKeys)
	k("snapshot_last_bytes", lastSize)
	k("snapshot_last_duration_ms", lastDur.Milliseconds())
	k("snapshot_last_cow_keys", lastCowKeys)
	k("snapshot_last_max_pause_us", lastPause.Microseconds())
	k("snapshot_last_slices", lastSlices)
	if lastErr != nil && !lastOK {
		k("snapshot_last_error", strings.ReplaceAll(lastErr.Error(), "\n", " "))
	}
	r := e.recovery
	k("recovery_snapshot_keys", r.SnapshotKeys)
	k("recovery_snapshot_bytes", r.SnapshotBytes)
	k("recovery_log_records", r.LogRecords)
	k("recovery_log_bytes", r.LogBytes)
	k("recovery_torn_bytes", r.TornBytes)
	k("recovery_ms", r.Total.Milliseconds())
	k("recovery_mb_per_sec", strconv.FormatFloat(r.MBPerSec(), 'f', 1, 64))
	k("recovery_records_per_sec", strconv.FormatFloat(r.RecordsPerSec(), 'f', 0, 64))
	k("recovery_dropped_items", len(r.Dropped))
	return out
}
