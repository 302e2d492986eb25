package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kvlab/kvlab/internal/record"
)

// LogEntry is one effects record of a log, as ReadLog hands it out.
type LogEntry struct {
	LSN uint64
	// Time is the command time (Unix ms) the effects must be replayed at.
	Time int64
	// Effects is the keyspace.Effects buffer; it aliases the segment data and is valid during the call only.
	Effects []byte
}

// ErrLogGap reports that a data directory's log does not hold every record after the LSN asked for (its
// older segments were deleted after a snapshot, or a segment is missing).
var ErrLogGap = errors.New("wal: the log does not reach back to the requested LSN")

// ReadLog reads the log of the wal data directory dir strictly read-only (nothing is created, truncated,
// renamed or quarantined, so it is safe on the directory of a dead or even running process) and calls fn
// for every effects record with an LSN greater than after, in LSN order. A torn tail of the newest segment
// is simply the end of the log. It returns the highest LSN seen (after when none). Corruption before the
// newest segment's tail, or a log that starts after after+1, is an error naming the file.
func ReadLog(dir string, after uint64, fn func(LogEntry) error) (last uint64, err error) {
	segs, err := listSegments(filepath.Join(dir, "wal"))
	if err != nil {
		return after, err
	}
	last = after
	next := uint64(0) // the LSN the next record must carry once one was seen
	for i, sg := range segs {
		if i+1 < len(segs) && segs[i+1].first <= after+1 {
			continue // wholly before the records wanted
		}
		data, err := os.ReadFile(sg.path)
		if err != nil {
			return last, fmt.Errorf("wal: read log segment: %w", err)
		}
		r := record.NewReader(sg.path, data, sg.first)
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if errors.Is(err, record.ErrTorn) && i == len(segs)-1 {
					return last, nil // a crash mid-write: the end of what was acknowledged
				}
				return last, fmt.Errorf("wal: %s: %w (run kvlab wal inspect on the directory)", sg.path, err)
			}
			if rec.Type != record.TypeEffects {
				continue
			}
			if next == 0 && rec.LSN > after+1 {
				return last, fmt.Errorf("%w: %s starts at LSN %d, records %d-%d are missing", ErrLogGap, sg.path, rec.LSN, after+1, rec.LSN-1)
			}
			if next != 0 && rec.LSN != next {
				return last, fmt.Errorf("wal: %s offset %d: LSN %d where %d belongs (run kvlab wal inspect on the directory)", sg.path, rec.Offset, rec.LSN, next)
			}
			next = rec.LSN + 1
			if rec.LSN <= after {
				continue
			}
			if len(rec.Payload) < 8 {
				return last, fmt.Errorf("wal: %s offset %d: effects record too short", sg.path, rec.Offset)
			}
			e := LogEntry{LSN: rec.LSN, Time: int64(binary.LittleEndian.Uint64(rec.Payload)), Effects: rec.Payload[8:]}
			if err := fn(e); err != nil {
				return last, err
			}
			last = rec.LSN
		}
	}
	return last, nil
}
