// Package dirlock keeps two processes from using one data directory at once: an exclusive advisory lock
// (flock) on DIR/LOCK, held for as long as the engine is open. The kernel drops it when the process exits,
// however it exits (kill -9 included), so a crash never leaves a stale lock behind.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Name is the lock file's name inside the directory.
const Name = "LOCK"

// Lock is a held directory lock.
type Lock struct{ f *os.File }

// Acquire locks dir (which must exist) for this process, or reports which process holds it.
func Acquire(dir string) (*Lock, error) {
	path := filepath.Join(dir, Name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = fmt.Sprintf(" (pid %d)", pid)
			}
		}
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is in use by another kvlab server%s: stop it, or give this one another --dir", dir, holder)
		}
		return nil, fmt.Errorf("lock data directory %s: %w", path, err)
	}
	// The holder's pid, for the message above; the lock itself is what counts.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Release drops the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
