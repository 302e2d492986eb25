package server

import (
	"net"
	"sync/atomic"
	"syscall"

	"github.com/kvlab/kvlab/engines"
)

// errNotDurable begins the error that replaces the replies of writes the engine could not make durable.
const errNotDurable = "ERR kvlab: write not durable: "

// handover is a connection's replies waiting for the engine to make their writes durable, written by the
// engine's notifier instead of by the connection's goroutine (engines.DurableNotifier). The connection
// goroutine goes back to reading its next command at once; a durable write then costs one goroutine
// wake-up per group commit rather than one per connection, the way Redis's event loop answers every client
// of an fsync from one thread. Only plain TCP connections hand over (the notifier writes with one
// non-blocking system call; TLS needs the connection's own goroutine).
type handover struct {
	raw syscall.RawConn // nil: this connection never hands over
	// write is raw.Write's callback, built once per connection; it writes wbuf from wn on (tryWrite).
	write func(fd uintptr) bool
	wbuf  []byte
	wn    int
	out   bool          // a handover is outstanding (connection goroutine only)
	phase atomic.Int32  // where the outstanding handover is: hoWaiting, hoWriting or hoSlow
	buf   []byte        // the replies handed over
	err   error         // set by Durable when the writes failed
	done  chan struct{} // receives once buf is written (or the failure handled)
}

// The phases of a handover (handover.phase): its writes are not durable yet (hoWaiting); the engine's
// notifier is writing the replies, with a non-blocking call, and signals done right after (hoWriting);
// what the socket did not take is being written by a goroutine of its own, at the peer's pace (hoSlow).
const (
	hoWaiting int32 = iota
	hoWriting
	hoSlow
)

// initHandover enables handovers on a plain TCP connection.
func (c *conn) initHandover() {
	nc := c.nc
	if sc, ok := nc.(*secConn); ok {
		nc = sc.Conn
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		if raw, err := tc.SyscallConn(); err == nil {
			c.ho.raw = raw
			c.ho.done = make(chan struct{}, 1)
			c.ho.write = c.writeFD
		}
	}
}

// canHandOver reports whether the turn's replies may be handed over: a plain TCP connection, and nothing
// else to happen on it after them (plain).
func (c *conn) canHandOver(t *turn) bool {
	return c.ho.raw != nil && c.plain(t)
}

// handOver gives the turn's replies to the engine to write once need is durable. It reports false, with
// the replies still in c.w, when need is durable already (or cannot become so): the caller waits as usual.
func (c *conn) handOver(n engines.DurableNotifier, need uint64) bool {
	if !c.settleHandover() {
		return false
	}
	c.ho.buf = c.w.Buf
	if c.spare != nil {
		c.w.Buf, c.spare = c.spare, nil
	} else {
		c.w.Buf = make([]byte, 0, 4096)
	}
	c.ho.out = true
	c.ho.phase.Store(hoWaiting)
	if n.NotifyDurable(need, c) {
		return true
	}
	c.spare = c.w.Buf[:0]
	c.w.Buf, c.ho.buf, c.ho.out = c.ho.buf, nil, false
	return false
}

// settleHandover waits until the outstanding handover (if any) is written: every write of the connection
// goes after it. It reports false when the handed-over writes failed (the connection is closed then).
func (c *conn) settleHandover() bool {
	if !c.ho.out {
		return true
	}
	<-c.ho.done
	return c.settled()
}

// settled finishes a handover whose done was received: its buffer becomes the spare again. It reports
// false when the handed-over writes failed (the connection is closed then, and closes after the turn).
func (c *conn) settled() bool {
	c.ho.out = false
	c.spare, c.ho.buf = c.ho.buf[:0], nil
	if c.ho.err != nil {
		c.ho.err = nil
		c.closeAfter = true
		return false
	}
	return true
}

// Durable implements engines.Durable; it runs on the engine's notifier goroutine and must not block: it
// writes with one non-blocking system call and leaves what the socket did not take to a goroutine of its
// own. On failure it sends the error instead of the replies and closes the connection, as the connection's
// goroutine would.
func (c *conn) Durable(err error) {
	c.ho.phase.Store(hoWriting)
	if err != nil {
		c.ho.err = err
		c.tryWrite([]byte("-" + errNotDurable + err.Error() + "\r\n"))
		c.hangup()
		c.ho.done <- struct{}{}
		return
	}
	n := c.tryWrite(c.ho.buf)
	if n < len(c.ho.buf) {
		c.ho.phase.Store(hoSlow)
		go func(rest []byte) {
			m, werr := c.nc.Write(rest)
			c.s.stats.netOutput.Add(int64(m))
			if werr != nil {
				c.ho.err = werr
				c.hangup()
			}
			c.ho.done <- struct{}{}
		}(c.ho.buf[n:])
		return
	}
	c.ho.done <- struct{}{}
}

// tryWrite writes b without waiting for the socket to have room; it returns the bytes written.
func (c *conn) tryWrite(b []byte) int {
	c.ho.wbuf, c.ho.wn = b, 0
	c.ho.raw.Write(c.ho.write)
	n := c.ho.wn
	c.ho.wbuf = nil
	c.s.stats.netOutput.Add(int64(n))
	return n
}

// writeFD is tryWrite's system call: it writes until done or the socket is full, never waiting.
func (c *conn) writeFD(fd uintptr) bool {
	for c.ho.wn < len(c.ho.wbuf) {
		m, err := syscall.Write(int(fd), c.ho.wbuf[c.ho.wn:])
		if m > 0 {
			c.ho.wn += m
		}
		if err != syscall.EINTR && (err != nil || m <= 0) {
			break
		}
	}
	return true
}
