package wal

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A full disk under the log: writes fail with a clear error reply, nothing acknowledged is lost, and the
// engine carries on by itself once space returns. It runs on a real 8 MB tmpfs filled with a file (it
// needs permission to mount, so it is skipped elsewhere).
func TestDiskFull(t *testing.T) {
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=8m"); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	dir := filepath.Join(mnt, "data")
	srv := startServer(t, dir, nil)
	c := dial(t, srv.Addr())
	c.do(t, "SET", "before", "full")

	// Fill the file system.
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()

	val := strings.Repeat("v", 1000)
	acked := map[string]bool{}
	var refused []string
	var firstErr string
	for i := 0; i < 5000 && len(refused) < 20; i++ {
		k := "k" + strconv.Itoa(i)
		v, err := c.try("SET", k, val)
		if err != nil {
			// After a write that could not be made durable the server replies with the error and closes
			// the connection (its state is unknown to the client): reconnect, the outcome is unknown.
			refused = append(refused, k)
			c = dial(t, srv.Addr())
			continue
		}
		if v.Kind == '-' {
			if firstErr == "" {
				firstErr = string(v.Str)
			}
			refused = append(refused, k)
			continue
		}
		acked[k] = true
	}
	if len(refused) == 0 {
		t.Fatal("writes never failed on a full disk")
	}
	if !strings.Contains(firstErr, "no space left on device") || !strings.Contains(firstErr, "free space") {
		t.Fatalf("the error reply does not say what is wrong and what to do: %q", firstErr)
	}
	if got := info(t, c, "aof_last_write_status"); got != "err" {
		t.Fatalf("aof_last_write_status = %q while the disk is full", got)
	}
	t.Logf("%d writes acknowledged, then refused with: %s", len(acked), firstErr)

	// Space returns: the engine retries on its own and writes are accepted again.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := c.do(t, "SET", "after", "space")
		if v.Kind != '-' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes still refused 10s after space returned: %s", v.Str)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := info(t, c, "aof_last_write_status"); got != "ok" {
		t.Fatalf("aof_last_write_status = %q after recovery", got)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	// Everything acknowledged is in the recovered data set; refused writes were kept in memory and
	// logged once space returned, so each is either there with its value or absent (never half).
	e := openEngine(t, dir)
	ks := e.Keyspace()
	ks.Mu.Lock()
	defer ks.Mu.Unlock()
	for _, k := range append([]string{"before", "after"}, keys(acked)...) {
		o := ks.DB(0).Peek([]byte(k))
		if o == nil {
			t.Fatalf("acknowledged key %q lost", k)
		}
	}
	for _, k := range refused {
		if o := ks.DB(0).Peek([]byte(k)); o != nil && string(o.Str()) != val {
			t.Fatalf("refused key %q recovered with a different value", k)
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
