package server

import "sync/atomic"

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
