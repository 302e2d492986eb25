package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// segment is one log file, named after the LSN of its first record.
type segment struct {
	first uint64
	path  string
	size  int64
}

func segmentName(first uint64) string { return fmt.Sprintf("%020d.log", first) }

func snapshotName(lsn uint64) string { return fmt.Sprintf("%020d.snap", lsn) }

// parseNumbered returns the number in a file name "<20 digits><suffix>".
func parseNumbered(name, suffix string) (uint64, bool) {
	if !strings.HasSuffix(name, suffix) || len(name) != 20+len(suffix) {
		return 0, false
	}
	n, err := strconv.ParseUint(name[:20], 10, 64)
	return n, err == nil
}

// listSegments returns the segments in dir (DIR/wal), oldest first.
func listSegments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: list log segments: %w", err)
	}
	var out []segment
	for _, de := range ents {
		first, ok := parseNumbered(de.Name(), ".log")
		if !ok || !de.Type().IsRegular() {
			continue
		}
		info, err := de.Info()
		if err != nil {
			return nil, fmt.Errorf("wal: list log segments: %w", err)
		}
		out = append(out, segment{first: first, path: filepath.Join(dir, de.Name()), size: info.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].first < out[j].first })
	return out, nil
}

// snapFile is a snapshot file found on disk.
type snapFile struct {
	lsn  uint64
	path string
	size int64
}

// listSnapshots returns the snapshots in dir (DIR/snapshots), oldest first.
func listSnapshots(dir string) ([]snapFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: list snapshots: %w", err)
	}
	var out []snapFile
	for _, de := range ents {
		lsn, ok := parseNumbered(de.Name(), ".snap")
		if !ok || !de.Type().IsRegular() {
			continue
		}
		info, err := de.Info()
		if err != nil {
			return nil, fmt.Errorf("wal: list snapshots: %w", err)
		}
		out = append(out, snapFile{lsn: lsn, path: filepath.Join(dir, de.Name()), size: info.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].lsn < out[j].lsn })
	return out, nil
}

// syncDir fsyncs a directory so that file creations, renames and removals in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("wal: sync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("wal: sync directory %s: %w", dir, err)
	}
	return nil
}
