// Package proctest runs the real kvlab binary in tests: it builds it once per test binary, starts
// `kvlab serve` on 127.0.0.1:0, reads the bound address from the ready line, and can kill the process with
// SIGKILL and restart it on the same data directory. On failure the child's output is printed.
//
// A package that uses it runs its tests through Main, which removes the built binary afterwards:
//
//	func TestMain(m *testing.M) { proctest.Main(m) }
package proctest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

var build struct {
	once sync.Once
	path string
	err  error
	dir  string
}

// inMain is set by Main: Binary refuses to build a binary that nothing would remove.
var inMain bool

// Main runs the package's tests (m.Run), removes the binary Binary built, if any, and exits with the tests'
// status. Call it from the package's TestMain.
func Main(m *testing.M) {
	inMain = true
	code := m.Run()
	if build.dir != "" {
		if err := os.RemoveAll(build.dir); err != nil {
			fmt.Fprintf(os.Stderr, "proctest: remove the test binary: %v\n", err)
		}
	}
	os.Exit(code)
}

// Binary builds ./cmd/kvlab (once per test process) and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	if !inMain {
		t.Fatal("proctest: run this package's tests through proctest.Main (func TestMain(m *testing.M) { proctest.Main(m) }), which removes the binary it builds")
	}
	build.once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "kvlab-bin-")
		if err != nil {
			build.err = err
			return
		}
		build.dir = dir
		build.path = filepath.Join(dir, "kvlab")
		cmd := exec.Command("go", "build", "-o", build.path, "./cmd/kvlab")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("proctest: go build ./cmd/kvlab: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// Server is a kvlab process.
type Server struct {
	t    testing.TB
	Args []string // serve flags, without --addr
	Addr string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var readyRe = regexp.MustCompile(`ready to accept connections on (\S+)`)

// Start runs `kvlab serve --addr 127.0.0.1:0 ARGS...` and waits for its ready line. The process is killed
// at test cleanup if still running; its output is logged when the test fails.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	s := &Server{t: t, Args: args, out: &syncBuffer{}}
	s.start(t)
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("kvlab output:\n%s", s.out.String())
		}
	})
	return s
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	bin := Binary(t)
	addr := "127.0.0.1:0"
	if s.Addr != "" {
		addr = s.Addr // restart on the same port so clients can reconnect
	}
	s.cmd = exec.Command(bin, append([]string{"serve", "--addr", addr}, s.Args...)...)
	pr, pw := io.Pipe()
	// One writer for both streams: exec then gives the child a single pipe, so the log lines written before
	// the ready line are in Output by the time the ready line is seen.
	w := io.MultiWriter(s.out, pw) // s.out first: Output holds a line before the ready scanner sees it
	s.cmd.Stdout, s.cmd.Stderr = w, w
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("proctest: start kvlab: %v", err)
	}
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); pw.Close(); close(s.done) }()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := readyRe.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
				break
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case a := <-ready:
		s.Addr = a
	case <-s.done:
		t.Fatalf("proctest: kvlab exited before it was ready:\n%s", s.out.String())
	case <-time.After(60 * time.Second):
		s.Kill()
		t.Fatalf("proctest: kvlab not ready after 60s:\n%s", s.out.String())
	}
}

// Kill sends SIGKILL and waits for the process to exit.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// Stop sends SIGTERM and waits up to 30 s for a clean exit; it returns the exit error.
func (s *Server) Stop() error {
	if s.cmd == nil {
		return nil
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.Kill()
		return fmt.Errorf("proctest: kvlab did not stop within 30s after SIGTERM")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		return fmt.Errorf("proctest: kvlab exited with code %d", code)
	}
	return nil
}

// Restart starts the process again with the same arguments and port (after Kill or Stop).
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Kill()
	s.start(t)
}

// Output returns everything the process wrote so far.
func (s *Server) Output() string { return s.out.String() }
