package wal

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// workload runs n random commands over every data type and returns the executer.
func workload(t *testing.T, e *Engine, seed uint64, n int) *execer {
	t.Helper()
	x := newExecer(e)
	r := rand.New(rand.NewPCG(seed, 7))
	for i := 0; i < n; i++ {
		if i%97 == 0 {
			x.do(t, "SELECT", strconv.Itoa(r.IntN(3)))
		}
		x.do(t, randomCommand(r)...)
	}
	return x
}

// Recovery from snapshot + log equals the state before shutdown, with snapshots taken while writes ran
// and segments rolling over.
func TestRecoverySnapshotPlusLog(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []string
		saves int
	}{
		{"log only", nil, 0},
		{"one snapshot", nil, 1},
		{"three snapshots small segments", []string{"segment-size=8kb"}, 3},
		{"everysec", []string{"fsync=everysec"}, 1},
		{"no fsync", []string{"fsync=no", "segment-size=16kb"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			e := openEngine(t, dir, tc.opts...)
			for i := 0; i <= tc.saves; i++ {
				workload(t, e, uint64(i+1), 600)
				if i < tc.saves {
					if err := e.Snapshot(context.Background(), i%2 == 1); err != nil {
						t.Fatal(err)
					}
				}
			}
			e.snap.wait()
			cutoff := time.Now().UnixMilli() + 60_000
			want := dump(e.Keyspace(), cutoff)
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			e2 := openEngine(t, dir, tc.opts...)
			sameDump(t, "after reopen", dump(e2.Keyspace(), cutoff), want)
			rs := e2.Recovery()
			if tc.saves > 0 && rs.Snapshot == "" {
				t.Fatalf("recovery did not use a snapshot: %+v", rs)
			}
			if rs.NextLSN != e.lastLSN.Load()+1 {
				t.Fatalf("next LSN %d, want %d", rs.NextLSN, e.lastLSN.Load()+1)
			}
			// The log continues where it stopped.
			x := newExecer(e2)
			x.do(t, "SET", "after", "restart")
			want2 := dump(e2.Keyspace(), cutoff)
			if err := e2.Close(); err != nil {
				t.Fatal(err)
			}
			e3 := openEngine(t, dir, tc.opts...)
			sameDump(t, "after second reopen", dump(e3.Keyspace(), cutoff), want2)
		})
	}
}

// buildLog writes a few commands, one batch each, and returns the directory (closed) and the dump of the
// state before the last command and after it.
func buildLog(t *testing.T, n int) (dir string, before, after []string) {
	t.Helper()
	dir = t.TempDir()
	e := openEngine(t, dir)
	x := newExecer(e)
	for i := 0; i < n-1; i++ {
		x.do(t, "SET", "k"+strconv.Itoa(i), strings.Repeat("v", i+1))
	}
	before = dump(e.Keyspace(), 0)
	x.do(t, "HSET", "last", "field", "value")
	after = dump(e.Keyspace(), 0)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, before, after
}

// A crash in the middle of writing the last record: recovery truncates the torn tail with a warning and
// the data set is exactly the state before that record, at every byte offset of the record.
func TestTornTailEveryOffset(t *testing.T) {
	if !has("hset") {
		t.Skip("needs HSET")
	}
	dir, before, after := buildLog(t, 6)
	segs := segmentFiles(t, dir)
	seg := segs[len(segs)-1]
	recs := effectsRecords(t, seg)
	last := recs[len(recs)-1]
	start, end := last.Offset, last.Offset+last.Size()
	for cut := start; cut <= end; cut++ {
		d := copyDir(t, dir)
		p := filepath.Join(d, "wal", filepath.Base(seg))
		if err := os.Truncate(p, cut); err != nil {
			t.Fatal(err)
		}
		e, err := tryOpen(t, d)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		want := before
		if cut == end {
			want = after
		}
		sameDump(t, "cut at "+strconv.FormatInt(cut, 10), dump(e.Keyspace(), 0), want)
		if got := e.Recovery().TornBytes; got != cut-start && cut != end {
			t.Fatalf("cut at %d: %d torn bytes reported, want %d", cut, got, cut-start)
		}
		// The log goes on cleanly after the truncation.
		x := newExecer(e)
		x.do(t, "SET", "new", "write")
		want2 := dump(e.Keyspace(), 0)
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		e2, err := tryOpen(t, d)
		if err != nil {
			t.Fatalf("cut at %d, second open: %v", cut, err)
		}
		sameDump(t, "cut then write", dump(e2.Keyspace(), 0), want2)
		if e2.Recovery().TornBytes != 0 {
			t.Fatalf("cut at %d: a torn tail after a clean restart", cut)
		}
		e2.Close()
	}
}

// A flipped bit in a middle record is corruption: recovery refuses to start and names the file and
// offset; with recover-from-corruption it starts from the last good record and reports what it dropped.
func TestFlippedBitMiddleRecord(t *testing.T) {
	if !has("hset") {
		t.Skip("needs HSET")
	}
	dir, _, _ := buildLog(t, 8)
	seg := segmentFiles(t, dir)[0]
	recs := effectsRecords(t, seg)
	mid := recs[3]
	// The state the good prefix holds: the first three records.
	prefix := t.TempDir()
	pe := openEngine(t, prefix)
	px := newExecer(pe)
	for i := 0; i < 3; i++ {
		px.do(t, "SET", "k"+strconv.Itoa(i), strings.Repeat("v", i+1))
	}
	want := dump(pe.Keyspace(), 0)
	for _, at := range []int64{0, 4, 8, 9, 16, 17, mid.Size() - 1} {
		d := copyDir(t, dir)
		p := filepath.Join(d, "wal", filepath.Base(seg))
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		data[mid.Offset+at] ^= 0x10
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = tryOpen(t, d)
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flip at +%d: want corruption, got %v", at, err)
		}
		msg := err.Error()
		for _, s := range []string{p, "offset " + strconv.FormatInt(mid.Offset, 10), "--recover-from-corruption", "good up to LSN 3"} {
			if !strings.Contains(msg, s) {
				t.Fatalf("flip at +%d: error does not mention %q:\n%s", at, s, msg)
			}
		}
		e, err := tryOpen(t, d, "recover-from-corruption=true")
		if err != nil {
			t.Fatalf("flip at +%d with recover-from-corruption: %v", at, err)
		}
		sameDump(t, "recovered prefix", dump(e.Keyspace(), 0), want)
		dropped := strings.Join(e.Recovery().Dropped, "\n")
		if !strings.Contains(dropped, "kept LSN up to 3") || !strings.Contains(dropped, "quarantine-") {
			t.Fatalf("flip at +%d: report does not say what was dropped:\n%s", at, dropped)
		}
		q, _ := filepath.Glob(filepath.Join(d, "quarantine-*", "*"))
		if len(q) != 1 {
			t.Fatalf("flip at +%d: quarantine holds %v", at, q)
		}
		newExecer(e).do(t, "SET", "after", "recovery")
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		// The repaired directory opens without the option.
		e2, err := tryOpen(t, d)
		if err != nil {
			t.Fatalf("flip at +%d, reopen after repair: %v", at, err)
		}
		e2.Close()
	}
}

// A snapshot cut short (or damaged) is refused with its file and offset; with recover-from-corruption
// the previous snapshot (or the whole log) plus the log rebuild the same state, losing nothing.
func TestTruncatedSnapshot(t *testing.T) {
	for _, snaps := range []int{1, 2} {
		t.Run(strconv.Itoa(snaps)+" snapshots", func(t *testing.T) {
			dir := t.TempDir()
			e := openEngine(t, dir, "segment-size=8kb")
			for i := 0; i < snaps; i++ {
				workload(t, e, uint64(10+i), 400)
				if err := e.Snapshot(context.Background(), false); err != nil {
					t.Fatal(err)
				}
			}
			workload(t, e, 99, 200)
			cutoff := time.Now().UnixMilli() + 60_000
			want := dump(e.Keyspace(), cutoff)
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*.snap"))
			newest := files[len(files)-1]
			st, err := os.Stat(newest)
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range []int64{0, 5, snapHeaderSize - 1, snapHeaderSize, snapHeaderSize + 20, st.Size() / 2, st.Size() - 1} {
				d := copyDir(t, dir)
				p := filepath.Join(d, "snapshots", filepath.Base(newest))
				if err := os.Truncate(p, size); err != nil {
					t.Fatal(err)
				}
				_, err := tryOpen(t, d)
				if !errors.Is(err, ErrBadSnapshot) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "offset") {
					t.Fatalf("cut to %d bytes: want a bad snapshot error naming %s and an offset, got %v", size, p, err)
				}
				e, err := tryOpen(t, d, "recover-from-corruption=true")
				if err != nil {
					t.Fatalf("cut to %d bytes, recover-from-corruption: %v", size, err)
				}
				sameDump(t, "recovered without the damaged snapshot", dump(e.Keyspace(), cutoff), want)
				if len(e.Recovery().Dropped) != 1 {
					t.Fatalf("report: %q", e.Recovery().Dropped)
				}
				e.Close()
			}
		})
	}
}

// A missing middle segment is a gap in the LSNs: refused, naming the missing records.
func TestLogGap(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, "segment-size=4kb")
	workload(t, e, 5, 400)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	segs := segmentFiles(t, dir)
	if len(segs) < 3 {
		t.Fatalf("only %d segments", len(segs))
	}
	if err := os.Remove(segs[1]); err != nil {
		t.Fatal(err)
	}
	_, err := tryOpen(t, dir)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "are missing") {
		t.Fatalf("want a gap error, got %v", err)
	}
	rep, err := Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Damaged() || len(rep.Problems) == 0 {
		t.Fatalf("inspect does not see the gap: %+v", rep.Problems)
	}
}

// Restoring a snapshot into a new directory yields the data set as of the snapshot's LSN.
func TestRestoreSnapshot(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir)
	workload(t, e, 3, 500)
	if err := e.Snapshot(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	cutoff := time.Now().UnixMilli() + 60_000
	want := dump(e.Keyspace(), cutoff)
	workload(t, e, 4, 100) // after the snapshot: not in the restored copy
	files, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*.snap"))
	nd := filepath.Join(t.TempDir(), "restored")
	info, err := RestoreSnapshot(files[0], nd)
	if err != nil {
		t.Fatal(err)
	}
	r := openEngine(t, nd)
	sameDump(t, "restored", dump(r.Keyspace(), cutoff), want)
	if r.Recovery().NextLSN != info.LSN+1 {
		t.Fatalf("restored directory continues at LSN %d, want %d", r.Recovery().NextLSN, info.LSN+1)
	}
	if _, err := RestoreSnapshot(files[0], nd); err == nil {
		t.Fatal("restore into a non-empty directory succeeded")
	}
}

// Under fsync=no a power failure can take log records that a snapshot already includes (the snapshot only
// waits for them to be written). Recovery then starts from the snapshot, new records go to a new segment
// after its LSN, and a later recovery skips the gap the lost records left.
func TestSnapshotAheadOfLog(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, "fsync=no")
	workload(t, e, 21, 300)
	if err := e.Snapshot(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	cutoff := time.Now().UnixMilli() + 60_000
	atSnap := dump(e.Keyspace(), cutoff)
	snapLSN := e.lastLSN.Load()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	// The power failure: the last 40 records never reached the disk.
	seg := segmentFiles(t, dir)[0]
	recs := effectsRecords(t, seg)
	if err := os.Truncate(seg, recs[len(recs)-40].Offset); err != nil {
		t.Fatal(err)
	}
	e2 := openEngine(t, dir, "fsync=no")
	sameDump(t, "from the snapshot", dump(e2.Keyspace(), cutoff), atSnap)
	if e2.Recovery().NextLSN != snapLSN+1 {
		t.Fatalf("next LSN %d, want %d", e2.Recovery().NextLSN, snapLSN+1)
	}
	workload(t, e2, 22, 100)
	want := dump(e2.Keyspace(), cutoff)
	if err := e2.Close(); err != nil {
		t.Fatal(err)
	}
	e3 := openEngine(t, dir, "fsync=no")
	sameDump(t, "snapshot + new segment", dump(e3.Keyspace(), cutoff), want)
}

// TestDirectoryLocked checks that a second engine on a directory in use is refused with a message that
// says what to do, and that closing the first frees the directory.
func TestDirectoryLocked(t *testing.T) {
	dir := t.TempDir()
	e, err := tryOpen(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tryOpen(t, dir); err == nil || !strings.Contains(err.Error(), "is in use by another kvlab server") {
		t.Fatalf("second engine on %s: %v, want an in-use error", dir, err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e2, err := tryOpen(t, dir)
	if err != nil {
		t.Fatalf("reopen after Close: %v", err)
	}
	e2.Close()
}
