package wal

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kvlab/kvlab/internal/units"
)

// FsyncPolicy says when a write counts as durable.
type FsyncPolicy uint8

// The policies (see the package doc).
const (
	FsyncAlways FsyncPolicy = iota
	FsyncEverySec
	FsyncNo
)

func (p FsyncPolicy) String() string {
	switch p {
	case FsyncEverySec:
		return "everysec"
	case FsyncNo:
		return "no"
	}
	return "always"
}

// Options are the engine's settings, from engines.Config.Options (the serve flags of the same names).
type Options struct {
	// Fsync is the durability policy ("fsync": always, everysec, no).
	Fsync FsyncPolicy
	// CommitDelay is added to every batch after its fsync ("commit-delay", a Go duration).
	CommitDelay time.Duration
	// SnapshotEveryBytes starts a background snapshot when the log has grown this much since the last one
	// ("snapshot-every-bytes", Redis units; 0 = never).
	SnapshotEveryBytes int64
	// SnapshotGrowthPercent also holds an automatic snapshot back until the log since the last one is at
	// least this percent of the data that snapshot held, uncompressed ("snapshot-growth-percent"; 0 = off).
	// Like Redis's auto-aof-rewrite-percentage it keeps snapshot work proportional to what is logged: a
	// snapshot rewrites the whole data set, so with a fixed threshold alone a large data set would be
	// rewritten many times over for every byte written.
	SnapshotGrowthPercent int
	// SnapshotInterval starts a background snapshot on this schedule ("snapshot-interval"; 0 = never).
	SnapshotInterval time.Duration
	// SegmentSize is the size at which the log moves to a new segment file ("segment-size").
	SegmentSize int64
	// RecoverFromCorruption starts from the last good point when recovery finds corruption, setting the
	// rest aside and reporting it ("recover-from-corruption": true/false).
	RecoverFromCorruption bool
}

// DefaultOptions are the settings used for options not given.
var DefaultOptions = Options{
	Fsync:                 FsyncAlways,
	SnapshotEveryBytes:    256 << 20,
	SnapshotGrowthPercent: 100,
	SegmentSize:           64 << 20,
}

// OptionNames lists the option keys the engine understands.
var OptionNames = []string{"commit-delay", "fsync", "recover-from-corruption", "segment-size", "snapshot-every-bytes", "snapshot-growth-percent", "snapshot-interval"}

// ParseOptions reads the engine's options from m; it returns the keys it does not know, sorted.
func ParseOptions(m map[string]string) (Options, []string, error) {
	o := DefaultOptions
	var unknown []string
	for k, v := range m {
		var err error
		switch k {
		case "fsync":
			switch strings.ToLower(v) {
			case "always":
				o.Fsync = FsyncAlways
			case "everysec":
				o.Fsync = FsyncEverySec
			case "no":
				o.Fsync = FsyncNo
			default:
				err = fmt.Errorf("want always, everysec or no")
			}
		case "commit-delay":
			o.CommitDelay, err = time.ParseDuration(v)
			if err == nil && o.CommitDelay < 0 {
				err = fmt.Errorf("negative duration")
			}
		case "snapshot-every-bytes":
			o.SnapshotEveryBytes, err = units.ParseBytes(v)
		case "snapshot-growth-percent":
			o.SnapshotGrowthPercent, err = strconv.Atoi(strings.TrimSuffix(v, "%"))
			if err == nil && o.SnapshotGrowthPercent < 0 {
				err = fmt.Errorf("negative percentage")
			}
		case "snapshot-interval":
			if v == "0" {
				o.SnapshotInterval = 0
			} else {
				o.SnapshotInterval, err = time.ParseDuration(v)
			}
			if err == nil && o.SnapshotInterval < 0 {
				err = fmt.Errorf("negative duration")
			}
		case "segment-size":
			o.SegmentSize, err = units.ParseBytes(v)
			if err == nil && o.SegmentSize < 4096 {
				err = fmt.Errorf("at least 4kb")
			}
		case "recover-from-corruption":
			o.RecoverFromCorruption, err = strconv.ParseBool(v)
		default:
			unknown = append(unknown, k)
			continue
		}
		if err != nil {
			return o, nil, fmt.Errorf("%w %s=%q: %v", ErrBadOption, k, v, err)
		}
	}
	sort.Strings(unknown)
	return o, unknown, nil
}
