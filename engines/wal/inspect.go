package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kvlab/kvlab/internal/record"
	"github.com/kvlab/kvlab/keyspace"
)

// SegmentReport describes one log segment as found on disk.
type SegmentReport struct {
	Path string
	// NameLSN is the first LSN the file name promises.
	NameLSN uint64
	Size    int64
	// Records counts effects records, Syncs sync records; FirstLSN-LastLSN is the records' LSN range.
	Records, Syncs    int
	FirstLSN, LastLSN uint64
	// SyncedTo is the highest synced offset the segment's sync records claim (-1 when none).
	SyncedTo int64
	// Damage describes a torn tail or corruption ("" when the segment reads cleanly); Torn tells which.
	Damage string
	Torn   bool
	// Problems lists other inconsistencies (LSN gaps, a name that does not match the first record).
	Problems []string
}

// SnapshotReport describes one snapshot file.
type SnapshotReport struct {
	Info SnapshotInfo
	// Err is why the snapshot cannot be used (nil when it verifies).
	Err error
}

// Report is what Inspect found in a data directory.
type Report struct {
	Dir       string
	Segments  []SegmentReport
	Snapshots []SnapshotReport
	// Problems are directory-level findings (LSN gaps between segments, a log that does not reach back to
	// the newest snapshot).
	Problems []string
}

// Damaged reports whether recovery would refuse to start on the directory (a torn tail at the end of the
// newest segment is not damage: recovery truncates it).
func (r *Report) Damaged() bool {
	if len(r.Problems) > 0 {
		return true
	}
	for i, s := range r.Segments {
		if len(s.Problems) > 0 || (s.Damage != "" && !(s.Torn && i == len(r.Segments)-1)) {
			return true
		}
	}
	if n := len(r.Snapshots); n > 0 && r.Snapshots[n-1].Err != nil {
		return true
	}
	return false
}

// Inspect reads every segment and snapshot of a data directory without changing anything.
func Inspect(dir string) (*Report, error) {
	rep := &Report{Dir: dir}
	segs, err := listSegments(filepath.Join(dir, "wal"))
	if err != nil {
		return nil, err
	}
	snaps, err := listSnapshots(filepath.Join(dir, "snapshots"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, sf := range snaps {
		info, err := readSnapshot(sf.path, nil)
		info.Path = sf.path
		rep.Snapshots = append(rep.Snapshots, SnapshotReport{Info: info, Err: err})
	}
	var prevLast uint64
	for i, sg := range segs {
		sr := inspectSegment(sg, i == len(segs)-1)
		if i > 0 && sr.Records > 0 && prevLast > 0 && sr.FirstLSN != prevLast+1 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("LSN gap between %s (ends at %d) and %s (starts at %d)",
				filepath.Base(segs[i-1].path), prevLast, filepath.Base(sg.path), sr.FirstLSN))
		}
		if sr.Records > 0 {
			prevLast = sr.LastLSN
		}
		rep.Segments = append(rep.Segments, sr)
	}
	var snapLSN uint64
	for i := len(rep.Snapshots) - 1; i >= 0; i-- {
		if rep.Snapshots[i].Err == nil {
			snapLSN = rep.Snapshots[i].Info.LSN
			break
		}
	}
	if len(rep.Segments) > 0 {
		first := rep.Segments[0]
		if first.Records > 0 && first.FirstLSN > snapLSN+1 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("the log starts at LSN %d but the newest usable snapshot covers only up to LSN %d: records %d-%d are missing",
				first.FirstLSN, snapLSN, snapLSN+1, first.FirstLSN-1))
		}
	}
	return rep, nil
}

func inspectSegment(sg segment, newest bool) SegmentReport {
	sr := SegmentReport{Path: sg.path, NameLSN: sg.first, Size: sg.size, SyncedTo: -1}
	data, err := os.ReadFile(sg.path)
	if err != nil {
		sr.Damage = err.Error()
		return sr
	}
	r := record.NewReader(sg.path, data, sg.first)
	next := sg.first
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			sr.Damage = err.Error()
			sr.Torn = errors.Is(err, record.ErrTorn)
			if sr.Torn && !newest {
				sr.Damage += " (not the newest segment: this is corruption)"
			}
			break
		}
		if rec.Type == record.TypeSync {
			sr.Syncs++
			off, _ := record.SyncedOffset(rec.Payload)
			sr.SyncedTo = max(sr.SyncedTo, off)
			continue
		}
		if rec.Type != record.TypeEffects {
			sr.Problems = append(sr.Problems, fmt.Sprintf("offset %d: unexpected %s record", rec.Offset, rec.Type))
			continue
		}
		if rec.LSN != next {
			sr.Problems = append(sr.Problems, fmt.Sprintf("offset %d: LSN %d where %d belongs", rec.Offset, rec.LSN, next))
		}
		next = rec.LSN + 1
		if sr.Records == 0 {
			sr.FirstLSN = rec.LSN
		}
		sr.Records++
		sr.LastLSN = rec.LSN
	}
	return sr
}

// Write prints the report in a fixed, line-oriented form.
func (r *Report) Write(w io.Writer) error {
	var err error
	pf := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, args...)
		}
	}
	pf("data directory %s\n", r.Dir)
	pf("snapshots: %d\n", len(r.Snapshots))
	for _, s := range r.Snapshots {
		if s.Err != nil {
			pf("  %s  DAMAGED: %v\n", filepath.Base(s.Info.Path), s.Err)
			continue
		}
		pf("  %s  lsn=%d keys=%d chunks=%d size=%d raw=%d time=%s\n", filepath.Base(s.Info.Path), s.Info.LSN,
			s.Info.Keys, s.Info.Chunks, s.Info.Size, s.Info.RawBytes, s.Info.Time.UTC().Format(time.RFC3339))
	}
	pf("log segments: %d\n", len(r.Segments))
	for i, s := range r.Segments {
		lsns := "none"
		if s.Records > 0 {
			lsns = fmt.Sprintf("%d-%d", s.FirstLSN, s.LastLSN)
		}
		pf("  %s  size=%d records=%d lsn=%s syncs=%d synced_to=%d\n", filepath.Base(s.Path), s.Size, s.Records, lsns, s.Syncs, s.SyncedTo)
		if s.Damage != "" {
			what := "CORRUPT"
			if s.Torn && i == len(r.Segments)-1 {
				what = "TORN TAIL (truncated at the next start)"
			}
			pf("    %s: %s\n", what, s.Damage)
		}
		for _, p := range s.Problems {
			pf("    PROBLEM: %s\n", p)
		}
	}
	for _, p := range r.Problems {
		pf("PROBLEM: %s\n", p)
	}
	if r.Damaged() {
		pf("status: DAMAGED (kvlab serve refuses to start; --recover-from-corruption starts from the last good point)\n")
	} else {
		pf("status: ok\n")
	}
	return err
}

// DumpSegment prints every record of a log segment, one per line, with its effects as commands; damage is
// marked where it is found.
func DumpSegment(path string, w io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	first, _ := parseNumbered(filepath.Base(path), ".log")
	r := record.NewReader(filepath.Base(path), data, first)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			_, werr := fmt.Fprintf(w, "%s\n", err)
			return werr
		}
		line := fmt.Sprintf("%d %s lsn=%d", rec.Offset, rec.Type, rec.LSN)
		switch rec.Type {
		case record.TypeSync:
			off, _ := record.SyncedOffset(rec.Payload)
			line += fmt.Sprintf(" synced_to=%d", off)
		case record.TypeEffects:
			if len(rec.Payload) < 8 {
				line += " (payload too short)"
				break
			}
			t := int64(binary.LittleEndian.Uint64(rec.Payload))
			line += " time=" + strconv.FormatInt(t, 10)
			derr := keyspace.DecodeEffects(rec.Payload[8:], func(db int, args [][]byte) error {
				line += fmt.Sprintf(" | db%d", db)
				for _, a := range args {
					line += " " + strconv.Quote(string(a))
				}
				return nil
			})
			if derr != nil {
				line += " (" + derr.Error() + ")"
			}
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
}

// RestoreSnapshot verifies a snapshot file and installs it as the only content of a new data directory
// (which must not exist or be empty), like restoring a MemoryDB snapshot into a new cluster. The new
// directory starts from the snapshot's LSN with an empty log.
func RestoreSnapshot(file, dir string) (SnapshotInfo, error) {
	info, err := readSnapshot(file, nil)
	if err != nil {
		return info, err
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return info, fmt.Errorf("wal: restore into %s: the directory is not empty (restore needs a new data directory)", dir)
	}
	snapDir := filepath.Join(dir, "snapshots")
	for _, d := range []string{filepath.Join(dir, "wal"), snapDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return info, fmt.Errorf("wal: restore: %w", err)
		}
	}
	final := filepath.Join(snapDir, snapshotName(info.LSN))
	if err := copyFileSync(file, final+".tmp"); err != nil {
		return info, err
	}
	if err := os.Rename(final+".tmp", final); err != nil {
		return info, fmt.Errorf("wal: restore: %w", err)
	}
	for _, d := range []string{snapDir, dir} {
		if err := syncDir(d); err != nil {
			return info, err
		}
	}
	info.Path = final
	return info, nil
}

// VerifySnapshot reads a whole snapshot file and checks every chunk.
func VerifySnapshot(file string) (SnapshotInfo, error) { return readSnapshot(file, nil) }

// copyFileSync copies src to dst and fsyncs dst.
func copyFileSync(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("wal: copy %s to %s: %w", src, dst, err)
	}
	return nil
}
