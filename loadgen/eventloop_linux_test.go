package loadgen

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestEventLoopPartialWrite fills a socket with a small send buffer: flush must keep what the socket
// refused, wait for EPOLLOUT, and deliver every byte in order.
func TestEventLoopPartialWrite(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	if err := unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 4096); err != nil {
		t.Fatal(err)
	}
	peer := os.NewFile(uintptr(fds[1]), "peer")
	defer peer.Close()
	l := &evLoop{r: &run{}, timer: -1, events: make([]unix.EpollEvent, 1)}
	if err := l.open(); err != nil {
		t.Fatal(err)
	}
	defer l.close()
	ec := &evConn{c: &client{addr: "socketpair"}, fd: fds[0]}
	l.conns = []*evConn{ec}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, ec.fd, &unix.EpollEvent{Events: unix.EPOLLIN}); err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	ec.out = append(ec.out, want...)
	if err := l.flush(ec); err != nil {
		t.Fatal(err)
	}
	if !ec.wantOut || ec.wpos >= len(want) {
		t.Fatalf("a 1 MiB write into a 4 KiB socket buffer completed at once (wpos %d, waiting %v)", ec.wpos, ec.wantOut)
	}
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(peer, int64(len(want))))
		got <- b
	}()
	for ec.wantOut {
		evs, err := l.wait(time.Now().Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if err := l.serve(evs, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("peer received %d bytes, not the %d written in order", len(b), len(want))
	}
	if len(ec.out) != 0 || ec.wpos != 0 {
		t.Fatalf("output buffer not reset: %d bytes, wpos %d", len(ec.out), ec.wpos)
	}
}
