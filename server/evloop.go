package server

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kvlab/kvlab/engines"
)

// evloop serves the plain TCP connections of a durable engine (engines.DurableNotifier) that are between
// commands, the way Redis's event loop does: one goroutine waits on an epoll set of them, reads each
// ready connection once, runs its commands and hands the replies to the engine, which writes them once
// durable. A connection's own goroutine stays parked meanwhile (park) and takes the connection back only
// for what the loop cannot finish without waiting: a blocked command, a deferred reply, CLIENT PAUSE, a
// protocol error, a reply the socket did not take at once, a close.
//
// Without it, every durable write costs its connection's goroutine a wake-up by Go's network poller, a
// read of the command, and a second read that finds nothing and parks the goroutine again: twice the
// read system calls Redis makes, and a goroutine switch per command. The loop reads once per command
// (its epoll set is level-triggered, so a read that leaves bytes behind is reported again) and switches
// goroutines once per batch of ready connections.
//
// The epoll set's own descriptor is registered with Go's network poller, so the loop goroutine parks
// there when nothing is ready instead of blocking a thread in epoll_wait; it polls the set with a timeout
// of zero, once per wake-up (harvest). Every system call on a connection's socket goes through its
// syscall.RawConn, which holds the descriptor open for the length of the call: a connection closed
// meanwhile fails the call instead of reaching a descriptor number already reused by another connection.
//
// It takes clients that send one command at a time: a pipelining client's turn (several commands) goes
// back to its goroutine, so pipelines are read and parsed in parallel with the loop. Serving them from the
// loop too cost redis-benchmark -P 16 6% of its SET/s (4 rounds side by side with --event-loop=false);
// leaving them to their goroutines, the two run even.
//
// Only engines without a preparation step use it (wal, not tiered): with the tiered engine's cold reads
// handed back to the connections' goroutines, the tiering scenario lost 5-22% of its GET/s.
//
// Measured side by side with the same binary under --event-loop=false (redis-benchmark -c 50 -n 300000
// -r 1000000 -d 100 -t set -P 1, three runs of 5, 5 and 10 interleaved rounds): 70.0k against 67.7k SET/s
// on average (higher in 13 of the 20 rounds), a lower p99 in 14 of 20, and 12.0 against 12.3 µs of server
// CPU per write. A modest gain: on this shared 2-core machine one round swings by 20%.
type evloop struct {
	s        *Server
	notifier engines.DurableNotifier // the engine's, to hand replies to
	epfd     int
	file     *os.File        // epfd, for Go's network poller
	rc       syscall.RawConn // file's
	done     chan struct{}   // closed when the loop goroutine returns

	mu    sync.Mutex
	conns map[int64]*conn // the parked connections by id (an epoll event carries the id)

	events [128]unix.EpollEvent
	timer  *time.Timer     // bounds settle's wait
	again  bool            // poll again before parking: a read filled the buffer, or the events did
	noWait context.Context // cancelled: Wait with it reports whether an LSN is durable, without waiting
	// serve is the RawConn.Read callback of the loop, built once.
	serve func(fd uintptr) bool
	ready []*conn  // harvest's scratch: the connections read, to serve
	keys  [][]byte // prefetch's scratch
}

// newEvloop creates the epoll set and starts the loop goroutine.
func newEvloop(s *Server, n engines.DurableNotifier) (*evloop, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("event loop: epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("event loop: make the epoll set non-blocking: %w", err)
	}
	f := os.NewFile(uintptr(fd), "kvlab-event-loop")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("event loop: %w", err)
	}
	l := &evloop{s: s, notifier: n, epfd: fd, file: f, rc: rc, done: make(chan struct{}), conns: make(map[int64]*conn)}
	l.serve = l.harvest
	l.timer = time.NewTimer(time.Hour)
	l.timer.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.noWait = ctx
	go l.run()
	return l, nil
}

// eventLoop returns the server's event loop, starting it on first use; nil when it is disabled or could
// not start (the connections then keep their goroutines).
func (s *Server) eventLoop() *evloop {
	s.loopOnce.Do(func() {
		n, _ := s.base.(engines.DurableNotifier)
		if s.cfg.NoEventLoop || s.closing.Load() || n == nil {
			return
		}
		l, err := newEvloop(s, n)
		if err != nil {
			s.Logf("%v; serving every connection from its own goroutine", err)
			return
		}
		s.loop.Store(l)
	})
	return s.loop.Load()
}

// run waits for ready connections and serves them until the epoll set is closed.
func (l *evloop) run() {
	defer close(l.done)
	for {
		if err := l.rc.Read(l.serve); err != nil {
			return
		}
	}
}

// harvest polls the epoll set once (timeout zero) and serves what is ready: it reads every ready
// connection, looks their commands' keys up in one pass (prefetch), then runs each. It returns false,
// which makes RawConn.Read park the goroutine until Go's poller finds the set readable, unless it must
// poll again at once: the events filled the array, or a read filled a connection's buffer. One poll per
// wake-up is enough (a second, empty one cost as much as the read it saved): every connection served was
// read to the end of what had arrived (a short read), and whatever arrives after the poll makes the set
// readable again, which Go's poller records; RawConn.Read clears that record only before its first call
// of harvest, never between harvest and the park.
//
// The prefetch: redis-benchmark -c 50 -n 300000 -r 1000000 -d 100 -t set -P 1 against a wal server, 11
// rounds side by side with the loop that looked each key up as it ran the command: 80.0k against 76.9k
// SET/s on average, more in 10 of the 11 rounds, p50 0.48-0.50 ms against 0.50-0.54 ms.
func (l *evloop) harvest(fd uintptr) bool {
	n, err := unix.EpollWait(int(fd), l.events[:], 0)
	if err == unix.EINTR {
		return true
	}
	if err != nil || n <= 0 {
		return false
	}
	l.again = n == len(l.events)
	ready := l.ready[:0]
	for i := range l.events[:n] {
		ev := &l.events[i]
		id := int64(uint32(ev.Fd)) | int64(ev.Pad)<<32
		l.mu.Lock()
		c := l.conns[id]
		l.mu.Unlock()
		if c != nil && c.lp.state.CompareAndSwap(loopParked, loopBusy) && l.readConn(c) {
			ready = append(ready, c)
		}
	}
	l.prefetch(ready)
	for _, c := range ready {
		l.serveConn(c)
	}
	clear(ready)
	l.ready = ready[:0]
	return l.again
}

// readConn reads a ready connection once (loopBusy on entry) and reports whether it has bytes to serve;
// otherwise the connection is back in the loop (nothing to read after all) or with its goroutine.
func (l *evloop) readConn(c *conn) bool {
	c.lp.n, c.lp.err = 0, nil
	if err := c.ho.raw.Read(c.lp.read); err != nil {
		l.handBack(c, loopMsg{}) // closed: the goroutine's own read reports it
		return false
	}
	if c.lp.full {
		l.again = true // more may be waiting: the level-triggered set reports it to the next harvest
	}
	switch {
	case c.lp.err == unix.EAGAIN:
		l.keep(c)
		return false
	case c.lp.n == 0 || c.lp.err != nil:
		l.handBack(c, loopMsg{}) // end of stream or a failed read: the goroutine's own read reports it
		return false
	}
	return true
}

// prefetch looks up the keys of the first command of every connection read in this harvest in one pass
// (keyspace.DB.Prefetch, as a connection's own pipeline does in runTurn), under one hold of the keyspace
// lock, before any of them runs: the cache misses of their lookups overlap instead of coming one command
// after another. Connections on another database than the first one's are left to their own lookups.
func (l *evloop) prefetch(ready []*conn) {
	if len(ready) < 2 {
		return
	}
	db := ready[0].db
	keys := l.keys[:0]
	for _, c := range ready {
		if c.db == db {
			keys = c.rd.PeekKeys(keys, 1)
		}
	}
	if len(keys) >= 2 {
		ks := l.s.ks
		ks.Mu.Lock()
		ks.DB(db).Prefetch(keys)
		ks.Mu.Unlock()
	}
	clear(keys) // they alias the connections' read buffers
	l.keys = keys[:0]
}

// serveConn runs the commands complete in a connection's buffer once readConn has read it; the connection
// stays in the loop when their replies are the engine's to write or went out whole, and goes back to its
// goroutine otherwise (loopBusy on entry).
func (l *evloop) serveConn(c *conn) {
	s := l.s
	if written, ok := l.settle(c); !written {
		l.handBack(c, loopMsg{}) // the previous replies are still going out: the goroutine waits for them
		return
	} else if !ok {
		l.handBack(c, loopMsg{turn: &turn{quit: true}}) // the previous replies could not be written
		return
	}
	args, ok, err := c.rd.Next()
	switch {
	case err != nil:
		l.handBack(c, loopMsg{}) // the goroutine's read meets the same protocol error and answers it
		return
	case !ok:
		l.keep(c) // part of a command: wait for the rest
		return
	case s.pause.active.Load():
		l.handBack(c, loopMsg{args: args})
		return
	}
	t := c.runTurn(args, nil)
	s.stats.loopTurns.Add(1)
	if t.quit || t.held != nil || !c.plain(&t) {
		l.handBack(c, loopMsg{turn: &t})
		return
	}
	if t.need > 0 {
		if c.handOver(l.notifier, t.need) {
			l.keepSingle(c, &t)
			return
		}
		// Durable already (a read of a write made durable since), or the log failed: the goroutine
		// answers a failure (the context is cancelled, so Wait only reports, never waits).
		if err := s.engine.Wait(l.noWait, t.need); err != nil {
			l.handBack(c, loopMsg{turn: &t})
			return
		}
	}
	if len(c.w.Buf) > 0 {
		n := c.tryWrite(c.w.Buf)
		if n < len(c.w.Buf) {
			c.w.Buf = c.w.Buf[:copy(c.w.Buf, c.w.Buf[n:])]
			l.handBack(c, loopMsg{turn: &t}) // the goroutine writes the rest, waiting for the socket
			return
		}
		c.replied()
	}
	l.keepSingle(c, &t)
}

// keepSingle keeps the connection in the loop after a turn of one command, and gives a pipelining one
// back to its goroutine (the turn is over), which parks it again after its next turn of one command; so
// does one whose next read must go through its secConn (a failed AUTH's delay, no authentication).
func (l *evloop) keepSingle(c *conn, t *turn) {
	if t.n > 1 || !c.readsPlain() {
		l.handBack(c, loopMsg{})
		return
	}
	l.keep(c)
}

// keep leaves the connection in the loop (loopBusy on entry), unless it was hung up meanwhile.
func (l *evloop) keep(c *conn) {
	c.lp.state.Store(loopParked)
	if c.lp.hungUp.Load() && c.lp.state.CompareAndSwap(loopParked, loopBusy) {
		l.handBack(c, loopMsg{})
	}
}

// handBack returns the connection to its goroutine (loopBusy, or taken from loopParked, on entry).
func (l *evloop) handBack(c *conn, m loopMsg) {
	l.s.stats.loopHandbacks.Add(1)
	l.forget(c)
	c.lp.state.Store(loopOwn)
	c.lp.wake <- m
}

// park gives c to the loop and returns when the loop (or a hangup) gives it back (c's goroutine).
func (l *evloop) park(c *conn) loopMsg {
	if c.lp.wake == nil {
		c.lp.wake = make(chan loopMsg, 1)
		c.lp.read = c.readFD
	}
	l.mu.Lock()
	l.conns[c.id] = c
	l.mu.Unlock()
	c.lp.state.Store(loopParked)
	var addErr error
	err := c.ho.raw.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(uint32(c.id)), Pad: int32(c.id >> 32)}
		addErr = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err != nil || addErr != nil || c.lp.hungUp.Load() {
		if c.lp.state.CompareAndSwap(loopParked, loopOwn) {
			l.forget(c)
			return loopMsg{} // the goroutine's own read reports a closed connection
		}
		// The loop or a hangup took the connection first, and hands it back.
	}
	return <-c.lp.wake
}

// forget removes c from the epoll set and the loop's table. A closed descriptor left the set already;
// Control then fails and touches no descriptor.
func (l *evloop) forget(c *conn) {
	c.ho.raw.Control(func(fd uintptr) {
		unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
	})
	l.mu.Lock()
	delete(l.conns, c.id)
	l.mu.Unlock()
}

// clients returns the number of connections the loop watches.
func (l *evloop) clients() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// close stops the loop once every connection has returned (Server.Close).
func (l *evloop) close() {
	l.file.Close()
	<-l.done
}

// readFD is the loop's read of the connection: one non-blocking read into the command buffer.
func (c *conn) readFD(fd uintptr) bool {
	sp := c.rd.Space()
	n, err := syscall.Read(int(fd), sp)
	if n > 0 {
		c.rd.Advance(n)
		c.s.stats.netInput.Add(int64(n))
	} else {
		n = 0
	}
	c.lp.n, c.lp.err, c.lp.full = n, err, n == len(sp)
	return true
}

// settleWait bounds how long the loop waits for the notifier to finish writing a connection's previous
// replies (hoWriting): it has written them already, or is about to, but its thread may have been
// preempted by the client it just woke.
const settleWait = time.Millisecond

// settle settles the connection's outstanding handover once its replies are written (written; ok is
// settled's: false when their writes failed and the connection is closed). It waits for the notifier only while the
// notifier is writing (hoWriting), and at most settleWait: a client that sends its next command the moment
// its reply arrives often does so before the notifier's thread, preempted by that client, has said it is
// done. Not settled, the connection goes back to its goroutine, which waits as long as it takes.
func (l *evloop) settle(c *conn) (written, ok bool) {
	if !c.ho.out {
		return true, true
	}
	select {
	case <-c.ho.done:
	default:
		if c.ho.phase.Load() != hoWriting {
			return false, false
		}
		l.timer.Reset(settleWait)
		select {
		case <-c.ho.done:
			l.timer.Stop()
		case <-l.timer.C:
			return false, false
		}
	}
	return true, c.settled()
}

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
// does: only when Read would neither wait nor cap the read (readPolicy).
func (c *conn) readsPlain() bool {
	sc, ok := c.nc.(*secConn)
	if !ok {
		return true
	}
	wait, capped := sc.readPolicy()
	return wait <= 0 && !capped
}
