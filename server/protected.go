package server

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kvlab/kvlab/acl"
	"github.com/kvlab/kvlab/resp"
)

// The security layer wraps the server's listeners (in a start hook, before the accept loops begin) so that
// every connection is a *secConn. The wrapper refuses connections in protected mode, completes TLS
// handshakes with a deadline, delays reads after failed AUTH attempts, and bounds what an unauthenticated
// client may send; the connection's ACL user lives in it too.

// deniedMsg is Redis 7's reply to a client from outside the loopback interface in protected mode.
const deniedMsg = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"

// notTLSMsg is written in clear text to a client that speaks plain RESP to a TLS port.
const notTLSMsg = "-ERR kvlab: this port accepts only TLS connections; connect with TLS (rediss://, --tls)\r\n"

const (
	// unauthQueryLimit bounds the bytes of one pending request of a client that has not authenticated
	// (Redis limits such a client to 10 arguments of 16 KiB each).
	unauthQueryLimit = 64 << 10
	// handshakeTimeout bounds a TLS handshake.
	handshakeTimeout = 10 * time.Second
)

// errUnauthTooBig ends a connection whose unauthenticated request exceeds unauthQueryLimit; the
// connection loop replies "-ERR <msg>" and closes, as for every protocol error.
var errUnauthTooBig = &resp.ProtocolError{Msg: "Protocol error: unauthenticated query buffer limit exceeded"}

// secListener wraps a server listener.
type secListener struct {
	net.Listener
	st *security
}

// Accept returns the next connection allowed in, wrapped. In protected mode (the default user needs no
// password) only loopback clients are allowed; others get Redis's DENIED message.
func (l *secListener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.st.protected && l.st.open.Load() && !isLoopback(nc.RemoteAddr()) {
			l.st.s.stats.rejectedConns.Add(1)
			go refuse(nc, deniedMsg, time.Now().Add(5*time.Second))
			continue
		}
		return l.st.newSecConn(nc), nil
	}
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// refuse writes msg and closes nc without making the client miss the message: the write side is shut
// first and unread input drained briefly, since closing with unread input makes the kernel send a reset
// that can destroy the message in flight.
func refuse(nc net.Conn, msg string, deadline time.Time) {
	nc.SetDeadline(deadline)
	if msg != "" {
		nc.Write([]byte(msg))
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.CloseWrite()
	} else if tc, ok := nc.(*tls.Conn); ok {
		tc.CloseWrite()
	}
	nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	io.Copy(io.Discard, io.LimitReader(nc, 1<<20))
	nc.Close()
}

// secConn is a client connection seen through the security layer. The fields without a comment are
// owned by the connection's goroutine.
type secConn struct {
	net.Conn
	st *security
	ip string

	user   atomic.Pointer[acl.User] // the authenticated user (default until AUTH)
	authed atomic.Bool              // authenticated (or created while the default user needed no password)

	c         *conn // linked at the first command
	readBytes int64 // bytes read before c is linked
	tlsDone   bool

	failures  int          // failed AUTH attempts (under the keyspace lock)
	notBefore atomic.Int64 // Unix ns before which the next read waits (set after failed AUTH)

	closeOnce sync.Once
	closed    chan struct{}
}

func (st *security) newSecConn(nc net.Conn) *secConn {
	sc := &secConn{Conn: nc, st: st, closed: make(chan struct{})}
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		sc.ip = ta.IP.String()
	}
	sc.user.Store(st.defaultUser.Load())
	sc.authed.Store(st.open.Load())
	if d := st.fails.penalty(sc.ip, time.Now()); d > 0 {
		sc.notBefore.Store(time.Now().Add(d).UnixNano())
	}
	return sc
}

// Close closes the connection and wakes a read waiting out an AUTH delay.
func (sc *secConn) Close() error {
	sc.closeOnce.Do(func() { close(sc.closed) })
	return sc.Conn.Close()
}

// Read is the connection's source of bytes: it finishes the TLS handshake, waits out an AUTH delay, and
// keeps an unauthenticated client's pending request under unauthQueryLimit. The event loop reads around
// it only when none of that applies (readPolicy).
func (sc *secConn) Read(p []byte) (int, error) {
	if !sc.tlsDone {
		sc.tlsDone = true
		if err := sc.handshake(); err != nil {
			return 0, err
		}
	}
	wait, capped := sc.readPolicy()
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-sc.closed:
			t.Stop()
			return 0, net.ErrClosed
		}
	}
	if capped {
		pending := sc.readBytes
		if sc.c != nil {
			pending = int64(sc.c.rd.Buffered())
		}
		room := unauthQueryLimit - pending
		if room <= 0 {
			return 0, errUnauthTooBig
		}
		if int64(len(p)) > room {
			p = p[:room]
		}
	}
	n, err := sc.Conn.Read(p)
	sc.readBytes += int64(n)
	return n, err
}

// readPolicy is what Read must do before it reads: wait out a failed AUTH's delay (wait > 0), and cap
// an unauthenticated client's pending request (capped). A reader that bypasses Read (the event loop) may
// read only when neither applies. It reads the clock only while a delay is set.
func (sc *secConn) readPolicy() (wait time.Duration, capped bool) {
	if nb := sc.notBefore.Load(); nb != 0 {
		wait = time.Duration(nb - time.Now().UnixNano())
	}
	return wait, !sc.authed.Load() && !sc.st.open.Load()
}

// handshake completes a TLS handshake within handshakeTimeout. A client that speaks clear text (its first
// byte is not a TLS handshake record's) gets clear-text errors; every failure is logged once and ends the
// connection quietly.
func (sc *secConn) handshake() error {
	tc, ok := sc.Conn.(*tls.Conn)
	if !ok {
		return nil
	}
	deadline := time.Now().Add(handshakeTimeout)
	raw := tc.NetConn()
	if first, err := peekByte(raw, deadline); err == nil && first != 0x16 {
		sc.st.s.Logf("client addr=%s sent clear text to a TLS port; closing", sc.RemoteAddr())
		answerPlain(raw)
		return io.EOF
	}
	tc.SetDeadline(deadline)
	err := tc.Handshake()
	if err == nil {
		tc.SetDeadline(time.Time{})
		return nil
	}
	if !sc.st.s.closing.Load() {
		sc.st.s.Logf("client addr=%s: TLS handshake failed: %v", sc.RemoteAddr(), err)
	}
	return io.EOF
}

// peekByte waits (until deadline) for the first byte of nc and returns it without consuming it.
func peekByte(nc net.Conn, deadline time.Time) (byte, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return 0, errors.ErrUnsupported
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	nc.SetReadDeadline(deadline)
	defer nc.SetReadDeadline(time.Time{})
	var b [1]byte
	var n int
	var rerr error
	err = raw.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
		return !errors.Is(rerr, syscall.EAGAIN)
	})
	switch {
	case err != nil:
		return 0, err
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return b[0], nil
}

// answerPlain replies notTLSMsg in clear text to each of the first few commands a plain-text client sends
// to a TLS port (whatever a client library sends first, its caller sees the message), then closes.
func answerPlain(nc net.Conn) {
	nc.SetDeadline(time.Now().Add(2 * time.Second))
	lim := resp.Limits{MaxBulkLen: 64 << 10, MaxMultibulkLen: 64, MaxQueryBuffer: 64 << 10, MaxInlineLen: 4 << 10}
	rd := resp.NewReader(nc, lim)
	for range 8 {
		if _, err := rd.ReadCommand(); err != nil {
			break
		}
		if _, err := nc.Write([]byte(notTLSMsg)); err != nil {
			break
		}
		nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond)) // a client's next command follows quickly
	}
	refuse(nc, "", time.Now().Add(time.Second))
}

// ipFailures counts failed AUTH attempts per client IP over a sliding ten minutes, so that reconnecting
// does not reset the delay of a client guessing passwords. Its mutex guards the map.
type ipFailures struct {
	mu sync.Mutex
	m  map[string]*ipRecord
}

type ipRecord struct {
	n    int
	last time.Time
}

const (
	ipWindow     = 10 * time.Minute
	ipThreshold  = 20 // failures from one IP before its new connections and attempts are delayed too
	ipMaxTracked = 4096
)

// add records a failure and returns the IP's count in the window.
func (f *ipFailures) add(ip string, now time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]*ipRecord{}
	}
	r := f.m[ip]
	if r == nil || now.Sub(r.last) > ipWindow {
		if len(f.m) >= ipMaxTracked {
			f.prune(now)
		}
		r = &ipRecord{}
		f.m[ip] = r
	}
	r.n++
	r.last = now
	return r.n
}

func (f *ipFailures) prune(now time.Time) {
	for ip, r := range f.m {
		if now.Sub(r.last) > ipWindow || len(f.m) >= ipMaxTracked {
			delete(f.m, ip)
		}
	}
}

// penalty is how long a new connection from ip waits before its first read.
func (f *ipFailures) penalty(ip string, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.m[ip]
	if r == nil || now.Sub(r.last) > ipWindow {
		return 0
	}
	d := r.last.Add(authDelay(r.n - ipThreshold + freeFailures)).Sub(now)
	return max(d, 0)
}

const (
	// freeFailures are the failed AUTH attempts a connection may make before delays start.
	freeFailures = 3
	maxAuthDelay = 5 * time.Second
)

// authDelay is the wait imposed after the n-th failed attempt: none for the first freeFailures, then
// 100 ms doubling up to maxAuthDelay.
func authDelay(n int) time.Duration {
	if n <= freeFailures {
		return 0
	}
	shift := n - freeFailures - 1
	if shift >= 6 {
		return maxAuthDelay
	}
	return min(100*time.Millisecond<<shift, maxAuthDelay)
}

// NetConn returns the underlying socket (below TLS too), for code that needs the file descriptor, such
// as the hang-up watch of blocked clients.
func (sc *secConn) NetConn() net.Conn {
	if u, ok := sc.Conn.(interface{ NetConn() net.Conn }); ok {
		return u.NetConn()
	}
	return sc.Conn
}
