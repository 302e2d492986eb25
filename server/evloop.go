package server

import (
	"sync/atomic"
	"time"
)

// connLoop is a connection's state toward the event loop.
type connLoop struct {
	// state says who owns the connection: loopOwn (its goroutine), loopParked (watched by the loop, whose
	// goroutine waits on wake) or loopBusy (the loop is running its commands).
	state  atomic.Int32
	hungUp atomic.Bool  // set before the connection is closed by anyone but its own goroutine (hangup)
	wake   chan loopMsg // hands the connection back to its goroutine
	read   func(uintptr) bool
	n      int   // read's result: bytes read
	err    error // read's result: the read's error
	full   bool  // read's result: the read filled the buffer (more may be waiting)
}

const (
	loopOwn int32 = iota
	loopParked
	loopBusy
)

// loopMsg hands a connection back to its goroutine, with what is left to do.
type loopMsg struct {
	turn *turn    // a turn the loop ran, to finish (endTurn)
	args [][]byte // a command the loop read but did not run (CLIENT PAUSE)
}

// hangup closes the connection from outside its goroutine (CLIENT KILL, timeout, output buffer limit,
// shutdown, a failed durable write) and, if the event loop holds it, hands it back so the goroutine ends.
func (c *conn) hangup() {
	c.lp.hungUp.Store(true)
	c.nc.Close()
	if c.lp.state.CompareAndSwap(loopParked, loopOwn) {
		c.s.loop.Load().forget(c)
		c.lp.wake <- loopMsg{}
	}
}

// readsPlain reports whether the connection's next read may bypass its secConn.Read, as the event loop's
// does: not while a failed AUTH delays it, nor while the client is unauthenticated (its pending request
// is capped then).
func (c *conn) readsPlain() bool {
	sc, ok := c.nc.(*secConn)
	if !ok {
		return true
	}
	if sc.notBefore.Load() > time.Now().UnixNano() {
		return false
	}
	return sc.authed.Load() || sc.st.open.Load()
}
