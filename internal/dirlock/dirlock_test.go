package dirlock

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestAcquireExcludesOthers(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A second holder in this process (another open file) is refused, as another process would be.
	if _, err := Acquire(dir); err == nil || !strings.Contains(err.Error(), "in use by another kvlab server") {
		t.Fatalf("second Acquire: %v, want in-use error", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}

// TestLockHeldByOtherProcess checks the lock against a real second process (flock(1) from util-linux).
func TestLockHeldByOtherProcess(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock(1) not installed")
	}
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("flock", "-n", dir+"/"+Name, "true").CombinedOutput()
	if err == nil {
		t.Fatalf("another process took the lock: %s", out)
	}
	l.Release()
	if out, err := exec.Command("flock", "-n", dir+"/"+Name, "true").CombinedOutput(); err != nil {
		t.Fatalf("lock not released: %v %s", err, out)
	}
	if b, _ := os.ReadFile(dir + "/" + Name); !strings.Contains(string(b), "\n") {
		t.Fatalf("lock file holds %q, want the pid", b)
	}
}
