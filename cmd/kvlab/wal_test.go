package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvlab/kvlab/internal/proctest"
	"github.com/kvlab/kvlab/resp"
)

// walDo sends one command to a running server and returns its reply.
func walDo(t *testing.T, addr string, args ...string) resp.Value {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := nc.Write(resp.AppendCommandStrings(nil, args...)); err != nil {
		t.Fatal(err)
	}
	v, err := resp.NewReplyReader(bufio.NewReader(nc)).Read()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func runKvlab(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, proctest.Binary(t), args...).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// The wal tools on a real data directory: inspect, snapshot verify and restore into a new directory that a
// server then serves, and a damaged log that serve refuses and --recover-from-corruption starts from.
func TestWalTools(t *testing.T) {
	dir := t.TempDir()
	srv := proctest.Start(t, "--engine", "wal", "--dir", dir, "--fsync", "always", "--wal-segment-size", "4kb")
	for i := 0; i < 100; i++ {
		walDo(t, srv.Addr, "SET", "key"+string(rune('a'+i%26))+strings.Repeat("x", i%7), strings.Repeat("v", 50))
	}
	if v := walDo(t, srv.Addr, "SAVE"); string(v.Str) != "OK" {
		t.Fatalf("SAVE: %+v", v)
	}
	walDo(t, srv.Addr, "SET", "after", "snapshot")
	for i := 0; i < 100; i++ { // several segments after the snapshot, which recovery reads
		walDo(t, srv.Addr, "SET", "later", strings.Repeat("w", 100))
	}
	srv.Kill()

	code, out := runKvlab(t, "wal", "inspect", dir)
	if code != 0 || !strings.Contains(out, "status: ok") || !strings.Contains(out, "log segments:") {
		t.Fatalf("wal inspect: exit %d\n%s", code, out)
	}
	snaps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*.snap"))
	if len(snaps) != 1 {
		t.Fatalf("snapshots: %v", snaps)
	}
	if code, out := runKvlab(t, "snapshot", "verify", snaps[0]); code != 0 || !strings.Contains(out, "ok: lsn=") {
		t.Fatalf("snapshot verify: exit %d\n%s", code, out)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if code, out := runKvlab(t, "snapshot", "restore", snaps[0], "--dir", restored); code != 0 || !strings.Contains(out, "restored") {
		t.Fatalf("snapshot restore: exit %d\n%s", code, out)
	}
	r := proctest.Start(t, "--engine", "wal", "--dir", restored)
	if v := walDo(t, r.Addr, "GET", "keya"); string(v.Str) != strings.Repeat("v", 50) {
		t.Fatalf("restored GET: %+v", v)
	}
	if v := walDo(t, r.Addr, "EXISTS", "after"); v.Int != 0 {
		t.Fatal("the restored directory holds a write made after the snapshot")
	}
	r.Kill()

	// Damage a record in the middle of the log (with a segment after it).
	segs, _ := filepath.Glob(filepath.Join(dir, "wal", "*.log"))
	if len(segs) < 2 {
		t.Fatalf("want several segments, have %v", segs)
	}
	data, err := os.ReadFile(segs[len(segs)-2])
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x40
	if err := os.WriteFile(segs[len(segs)-2], data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := runKvlab(t, "wal", "inspect", dir); code != 1 || !strings.Contains(out, "CORRUPT") {
		t.Fatalf("inspect of a damaged log: exit %d\n%s", code, out)
	}
	code, out = runKvlab(t, "serve", "--engine", "wal", "--dir", dir, "--addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(out, "--recover-from-corruption") || !strings.Contains(out, filepath.Base(segs[len(segs)-2])) {
		t.Fatalf("serve on a damaged log: exit %d\n%s", code, out)
	}
	fixed := proctest.Start(t, "--engine", "wal", "--dir", dir, "--recover-from-corruption")
	if !strings.Contains(fixed.Output(), "recover-from-corruption") {
		t.Fatalf("no report of what was dropped:\n%s", fixed.Output())
	}

	if code, out := runKvlab(t, "serve", "--engine", "wal", "--dir", t.TempDir(), "--fsync", "sometimes"); code != 2 || !strings.Contains(out, "--fsync") {
		t.Fatalf("bad --fsync: exit %d\n%s", code, out)
	}
}
