package wal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadLogAfterLSN(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir)
	x := newExecer(e)
	for i := 0; i < 10; i++ {
		x.do(t, "SET", "k", string(rune('a'+i)))
	}
	if err := e.Wait(context.Background(), 10); err != nil {
		t.Fatal(err)
	}
	before := listDir(t, filepath.Join(dir, "wal"))
	var lsns []uint64
	last, err := ReadLog(dir, 6, func(le LogEntry) error {
		lsns = append(lsns, le.LSN)
		if le.Time == 0 || len(le.Effects) == 0 {
			t.Errorf("entry %d: no time or effects", le.LSN)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if last != 10 || len(lsns) != 4 || lsns[0] != 7 {
		t.Fatalf("ReadLog after 6: last=%d lsns=%v, want 7..10", last, lsns)
	}
	if after := listDir(t, filepath.Join(dir, "wal")); after != before {
		t.Fatalf("ReadLog changed the directory: %s -> %s", before, after)
	}
	stop := errors.New("stop")
	if _, err := ReadLog(dir, 0, func(LogEntry) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("callback error not returned: %v", err)
	}
}

func listDir(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := ""
	for _, de := range ents {
		info, _ := de.Info()
		s += de.Name() + ":" + info.ModTime().String() + ";"
	}
	return s
}

// TestReadLogTornTail: a record cut short at the end of the newest segment (a crash mid-write) is the end
// of the log, and ReadLog leaves the file as it found it.
func TestReadLogTornTail(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir)
	x := newExecer(e)
	for i := 0; i < 10; i++ {
		x.do(t, "SET", "k", strings.Repeat("v", 100))
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	segs, err := listSegments(filepath.Join(dir, "wal"))
	if err != nil || len(segs) == 0 {
		t.Fatal(segs, err)
	}
	path := segs[len(segs)-1].path
	var out strings.Builder
	if err := DumpSegment(path, &out); err != nil {
		t.Fatal(err)
	}
	var off int64 = -1
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, " lsn=10 ") {
			fmt.Sscan(line, &off)
		}
	}
	if off < 0 {
		t.Fatalf("record 10 not found:\n%s", out.String())
	}
	if err := os.Truncate(path, off+20); err != nil {
		t.Fatal(err)
	}
	before := listDir(t, filepath.Join(dir, "wal"))
	last, err := ReadLog(dir, 0, func(LogEntry) error { return nil })
	if err != nil || last != 9 {
		t.Fatalf("ReadLog over a torn tail: last=%d err=%v, want 9 and no error", last, err)
	}
	if after := listDir(t, filepath.Join(dir, "wal")); after != before {
		t.Fatalf("ReadLog changed the directory")
	}
	if st, _ := os.Stat(path); st.Size() != off+20 {
		t.Fatalf("segment size changed to %d", st.Size())
	}
}
