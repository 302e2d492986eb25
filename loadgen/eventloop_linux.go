//go:build linux

package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kvlab/kvlab/resp"
)

// eventLoopOS reports whether this platform has the event-loop I/O mode (epoll).
const eventLoopOS = true

// evConn is one connection driven by an event loop: its socket is used directly (non-blocking; Go's
// poller does not read or write it while the loop runs), its operations in flight and its buffers.
type evConn struct {
	c   *client
	fd  int
	idx int // in evLoop.conns (the epoll event's tag)
	rc  renderCtx
	// batch holds the operations sent, in order (closed loop: one batch of Pipeline operations; open loop:
	// a queue of at most Pipeline); batch[head:] await replies, and k replies of batch[head] were read.
	batch []pending
	head  int
	k     int
	o     outcome   // the outcome of batch[head] so far
	outs  []outcome // closed loop: outcomes of batch[:head]
	// in holds received bytes; in[rpos:] are not parsed yet.
	in   []byte
	rpos int
	// out holds the requests to send; out[wpos:] are not written yet (the socket was full).
	out     []byte
	wpos    int
	wantOut bool
	src     sliceReader
	parse   client // a ReplyReader over src, which holds exactly the complete reply being parsed
	due     time.Time
}

// sliceReader serves one byte slice to a ReplyReader.
type sliceReader struct{ b []byte }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

// evLoop is one worker's epoll instance and connections. The epoll descriptor is itself registered with
// Go's poller (an epoll instance is readable while it has ready events), so a worker with nothing to do
// parks its goroutine instead of blocking an OS thread in epoll_wait, and the runtime does not hand its P
// to another thread and wake a third to poll the network on every wait.
type evLoop struct {
	r    *run
	rec  *recorder
	epfd int
	ep   *os.File
	rc   syscall.RawConn
	dl   time.Time // the read deadline set on ep
	// cancelled is set when the run's context was cancelled (not at its end): no drain.
	cancelled atomic.Bool
	conns     []*evConn
	events    []unix.EpollEvent
	fin       []outcome // receive: the operations one read finished
	// timer is a timerfd that wakes the loop when the next open-loop operation is due (-1 in closed loop).
	timer int
}

// socketFD returns the descriptor of a plain TCP connection.
func socketFD(nc net.Conn) (int, error) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return -1, fmt.Errorf("loadgen: event loop needs a plain TCP connection, got %T", nc)
	}
	sc, err := tc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := sc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return -1, err
	}
	return fd, nil
}

func newEvLoop(r *run, rec *recorder, conns []*client, ids []int, rng *rand.Rand, open bool) (*evLoop, error) {
	l := &evLoop{r: r, rec: rec, timer: -1, events: make([]unix.EpollEvent, len(conns)+1)}
	if err := l.open(); err != nil {
		return nil, err
	}
	epfd := l.epfd
	for i, c := range conns {
		fd, err := socketFD(c.nc)
		if err != nil {
			l.close()
			return nil, err
		}
		ec := &evConn{c: c, fd: fd, idx: i, rc: renderCtx{r: rng, conn: ids[i]}, in: make([]byte, 0, 16<<10)}
		ec.parse.rr = resp.NewReplyReader(&ec.src)
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			l.close()
			return nil, fmt.Errorf("loadgen: epoll_ctl: %w", err)
		}
		l.conns = append(l.conns, ec)
	}
	if open {
		tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("loadgen: timerfd_create: %w", err)
		}
		l.timer = tfd
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(len(conns))}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, tfd, &ev); err != nil {
			l.close()
			return nil, fmt.Errorf("loadgen: epoll_ctl: %w", err)
		}
	}
	return l, nil
}

// open creates the epoll instance, non-blocking, and hands it to Go's poller.
func (l *evLoop) open() error {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("loadgen: epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return fmt.Errorf("loadgen: epoll: %w", err)
	}
	l.epfd, l.ep = epfd, os.NewFile(uintptr(epfd), "epoll")
	if l.rc, err = l.ep.SyscallConn(); err != nil {
		l.ep.Close()
		return fmt.Errorf("loadgen: epoll: %w", err)
	}
	return nil
}

func (l *evLoop) close() {
	if l.timer >= 0 {
		unix.Close(l.timer)
	}
	l.ep.Close()
}

// wait returns the ready events, parking until there are some or until deadline (then it returns none).
func (l *evLoop) wait(deadline time.Time) ([]unix.EpollEvent, error) {
	if !deadline.Equal(l.dl) {
		l.dl = deadline
		if err := l.ep.SetReadDeadline(deadline); err != nil {
			return nil, fmt.Errorf("loadgen: epoll: %w", err)
		}
	}
	var n int
	var werr error
	err := l.rc.Read(func(fd uintptr) bool {
		n, werr = unix.EpollWait(int(fd), l.events, 0)
		return n > 0 || (werr != nil && werr != unix.EINTR)
	})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, nil
	}
	if err == nil {
		err = werr
	}
	if err != nil {
		return nil, fmt.Errorf("loadgen: epoll_wait: %w", err)
	}
	return l.events[:n], nil
}

// watch makes the current and every later wait return at once when ctx is cancelled (not when it just
// reaches the run's end: wait's deadline covers that, and the replies in flight are drained). The
// returned function stops watching.
func (l *evLoop) watch(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			l.cancelled.Store(true)
			l.ep.SetReadDeadline(time.Unix(1, 0))
		}
	})
}

// drainTimeout bounds how long a worker waits, after the run's end, for the replies still in flight (the
// goroutine mode's readers wait as long): a server stalled at the end shows up in the latencies.
const drainTimeout = 5 * time.Second

// serve handles ready events: it writes what a full socket held back and parses the replies received,
// calling done for each finished operation and then batchDone (if not nil) for each connection whose
// operations are all finished. After the run's end (send false) batchDone is still called but the
// caller sends nothing new.
func (l *evLoop) serve(evs []unix.EpollEvent, done func(*evConn, *pending, outcome), batchDone func(*evConn) error) error {
	for _, ev := range evs {
		if int(ev.Fd) == len(l.conns) {
			var b [8]byte
			unix.Read(l.timer, b[:]) // the expiration count; the schedule is read from the connections
			continue
		}
		ec := l.conns[ev.Fd]
		if ev.Events&unix.EPOLLOUT != 0 {
			if err := l.flush(ec); err != nil {
				return err
			}
		}
		if ev.Events&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			continue
		}
		if err := l.receive(ec, done); err != nil {
			return err
		}
		if batchDone != nil && len(ec.batch) > 0 && ec.head == len(ec.batch) {
			if err := batchDone(ec); err != nil {
				return err
			}
		}
	}
	return nil
}

// drain waits up to drainTimeout for the operations still in flight once the run is over (not when it
// was cancelled).
func (l *evLoop) drain(done func(*evConn, *pending, outcome), batchDone func(*evConn) error) {
	deadline := time.Now().Add(drainTimeout)
	for time.Now().Before(deadline) && !l.cancelled.Load() {
		busy := false
		for _, ec := range l.conns {
			if ec.head < len(ec.batch) {
				busy = true
				break
			}
		}
		if !busy {
			return
		}
		evs, err := l.wait(deadline)
		if err != nil {
			return
		}
		if l.serve(evs, done, batchDone) != nil {
			return // the run is over: errors are not reported, as in the goroutine mode
		}
	}
}

// flush writes ec.out[ec.wpos:] until it is all sent or the socket is full (then the loop waits for
// EPOLLOUT).
func (l *evLoop) flush(ec *evConn) error {
	for ec.wpos < len(ec.out) {
		n, err := unix.Write(ec.fd, ec.out[ec.wpos:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			if !ec.wantOut {
				ec.wantOut = true
				return l.interest(ec, unix.EPOLLIN|unix.EPOLLOUT)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("loadgen: write to %s: %w", ec.c.addr, err)
		}
		ec.wpos += n
	}
	ec.out, ec.wpos = ec.out[:0], 0
	if ec.wantOut {
		ec.wantOut = false
		return l.interest(ec, unix.EPOLLIN)
	}
	return nil
}

func (l *evLoop) interest(ec *evConn, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(ec.idx)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, ec.fd, &ev); err != nil {
		return fmt.Errorf("loadgen: epoll_ctl: %w", err)
	}
	return nil
}

// receive reads what the socket holds and parses every complete reply of the operations in flight; done
// is called for each finished operation, with its end stamped once all the replies of this read were
// parsed (one clock read per read, not per operation; never earlier than an operation's last reply).
func (l *evLoop) receive(ec *evConn, done func(ec *evConn, pd *pending, o outcome)) error {
	if ec.rpos > 0 {
		n := copy(ec.in[:cap(ec.in)], ec.in[ec.rpos:])
		ec.in, ec.rpos = ec.in[:n], 0
	}
	if len(ec.in) == cap(ec.in) {
		ec.in = append(ec.in, make([]byte, cap(ec.in))...)[:len(ec.in)]
	}
	n, err := unix.Read(ec.fd, ec.in[len(ec.in):cap(ec.in)])
	if err == unix.EAGAIN || err == unix.EINTR {
		return nil
	}
	if err != nil {
		return fmt.Errorf("loadgen: read from %s: %w", ec.c.addr, err)
	}
	if n == 0 {
		return fmt.Errorf("loadgen: read from %s: %w", ec.c.addr, io.EOF)
	}
	ec.in = ec.in[:len(ec.in)+n]
	first := ec.head
	l.fin = l.fin[:0]
	for ec.head < len(ec.batch) {
		m, err := resp.ReplyLen(ec.in[ec.rpos:])
		if err != nil {
			return fmt.Errorf("loadgen: read from %s: %w", ec.c.addr, err)
		}
		if m == 0 {
			break
		}
		reply := ec.in[ec.rpos : ec.rpos+m]
		ec.rpos += m
		pd := &ec.batch[ec.head]
		if err := ec.parseReply(reply, pd); err != nil {
			return fmt.Errorf("loadgen: read from %s: %w", ec.c.addr, err)
		}
		if ec.k++; ec.k == pd.ncmds {
			l.fin = append(l.fin, ec.o)
			ec.o, ec.k = outcome{}, 0
			ec.head++
		}
	}
	if len(l.fin) > 0 {
		end := time.Now()
		for i := range l.fin {
			l.fin[i].end = end
			done(ec, &ec.batch[first+i], l.fin[i])
		}
	}
	return nil
}

// parseReply takes reply k of pd (complete: ReplyLen framed it) into ec.o. Status, error and bulk replies
// that need no inspection are read in place; the others go through a ReplyReader, as in the goroutine mode.
func (ec *evConn) parseReply(reply []byte, pd *pending) error {
	inspect := ec.k == 0 && pd.op != nil && pd.op.needVal
	if !inspect {
		switch reply[0] {
		case '+', '$':
			return nil
		case '-':
			if ec.o.errPfx == "" {
				text := reply[1 : len(reply)-2]
				ec.o.errPfx = errPrefix(text)
				ec.o.noteRedirect(text)
			}
			return nil
		}
	}
	ec.src.b = reply
	return readReply(&ec.parse, pd, ec.k, &ec.o)
}

// eventLoop is closedLoop as one epoll loop over the worker's connections, like redis-benchmark and
// memtier_benchmark: every iteration parses all the replies that arrived, then sends the next batch of
// Pipeline operations on each connection whose batch is finished, independently of the others. An
// operation's latency runs from just before its batch was rendered and written to the parsing of its
// last reply.
func (r *run) eventLoop(ctx context.Context, rec *recorder, conns []*client, ids []int, rng *rand.Rand) {
	l, err := newEvLoop(r, rec, conns, ids, rng, false)
	if err != nil {
		r.fail(err)
		return
	}
	defer l.close()
	defer l.watch(ctx)()
	var scratch renderScratch
	send := func(ec *evConn) error {
		ec.batch, ec.outs, ec.head, ec.k = ec.batch[:0], ec.outs[:0], 0, 0
		now := time.Now()
		ec.rc.nowMS = now.UnixMilli()
		for j := 0; j < r.cfg.Pipeline; j++ {
			co := r.plan.pick(ec.rc.r)
			r.prepare(&ec.rc, co)
			var n int
			ec.out, n = appendOp(ec.out, co, &ec.rc, &scratch)
			ec.batch = append(ec.batch, pending{op: co, ncmds: n, id: ec.rc.id, start: now, pattern: ec.rc.pattern})
		}
		return l.flush(ec)
	}
	collect := func(ec *evConn, _ *pending, o outcome) { ec.outs = append(ec.outs, o) }
	// finish runs a drained connection's follow-ups (cache-aside loads, XACK: synchronously, through Go's
	// poller, as in the goroutine mode) and records its batch.
	finish := func(ec *evConn) {
		r.finishBatch(rec, ec.c, &ec.rc, &scratch, ec.batch, ec.outs)
		ec.batch = ec.batch[:0]
	}
	// Connections whose batch is finished send their next one once every ready reply was parsed, like
	// redis-benchmark's event loop, which writes a client's next request in the iteration after the one
	// that read its reply: reads are not held up behind writes.
	var ready []*evConn
	queue := func(ec *evConn) error {
		finish(ec)
		ready = append(ready, ec)
		return nil
	}
	ready = append(ready, l.conns...)
	for ctx.Err() == nil {
		for _, ec := range ready {
			if err := send(ec); err != nil {
				if ctx.Err() == nil {
					r.fail(err)
				}
				return
			}
		}
		ready = ready[:0]
		evs, err := l.wait(r.end)
		if err == nil {
			err = l.serve(evs, collect, queue)
		}
		if err != nil {
			if ctx.Err() == nil {
				r.fail(err)
			}
			return
		}
	}
	l.drain(collect, func(ec *evConn) error { finish(ec); return nil })
}

// openEventLoop is openLoop as one epoll loop: each connection has its own schedule (Rate/Connections
// operations per second, staggered), a timerfd wakes the loop when the earliest operation is due, every
// due operation is written (at most Pipeline in flight per connection; a later one waits and its latency
// keeps counting), and latency runs from each operation's intended start to the parsing of its reply.
// Scenarios with follow-ups (on_miss, ack) use the goroutine mode.
func (r *run) openEventLoop(ctx context.Context, rec *recorder, conns []*client, ids []int, rng *rand.Rand) {
	l, err := newEvLoop(r, rec, conns, ids, rng, true)
	if err != nil {
		r.fail(err)
		return
	}
	defer l.close()
	defer l.watch(ctx)()
	perConn := r.cfg.Rate / float64(r.cfg.Connections)
	interval := time.Duration(float64(time.Second) / perConn)
	start := time.Now()
	for _, ec := range l.conns {
		// Stagger connections so their schedules interleave evenly.
		ec.rc.r = rand.New(rand.NewPCG(rng.Uint64(), uint64(ec.rc.conn)))
		ec.due = start.Add(time.Duration(ec.rc.r.Int64N(int64(interval) + 1)))
	}
	var scratch renderScratch
	record := func(_ *evConn, pd *pending, o outcome) { r.record(rec, pd.op.idx, pd.start, o.end, o.errPfx) }
	for ctx.Err() == nil {
		// Send every operation that is due, then arm the timer for the earliest next one.
		now := time.Now()
		var next time.Time
		for _, ec := range l.conns {
			if ec.head > 0 {
				ec.batch = ec.batch[:copy(ec.batch, ec.batch[ec.head:])]
				ec.head = 0
			}
			sent := false
			for !ec.due.After(now) && len(ec.batch) < r.cfg.Pipeline {
				co := r.plan.pick(ec.rc.r)
				r.prepare(&ec.rc, co)
				ec.rc.nowMS = ec.due.UnixMilli()
				var n int
				ec.out, n = appendOp(ec.out, co, &ec.rc, &scratch)
				ec.batch = append(ec.batch, pending{op: co, ncmds: n, id: ec.rc.id, start: ec.due, pattern: ec.rc.pattern})
				ec.due = ec.due.Add(interval)
				sent = true
			}
			if sent {
				if err = l.flush(ec); err != nil {
					break
				}
			}
			if len(ec.batch) < r.cfg.Pipeline && (next.IsZero() || ec.due.Before(next)) {
				next = ec.due
			}
		}
		if err == nil {
			err = l.arm(next)
		}
		var evs []unix.EpollEvent
		if err == nil {
			evs, err = l.wait(r.end)
		}
		if err == nil {
			err = l.serve(evs, record, nil)
		}
		if err != nil {
			if ctx.Err() == nil {
				r.fail(err)
			}
			return
		}
	}
	l.drain(record, nil)
}

// arm sets the timer to fire at t (zero: disarmed; a past t fires at once).
func (l *evLoop) arm(t time.Time) error {
	var spec unix.ItimerSpec
	if !t.IsZero() {
		d := max(time.Until(t), time.Microsecond)
		spec.Value = unix.NsecToTimespec(int64(d))
	}
	if err := unix.TimerfdSettime(l.timer, 0, &spec, nil); err != nil {
		return fmt.Errorf("loadgen: timerfd_settime: %w", err)
	}
	return nil
}
