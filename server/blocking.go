package server

import (
	"errors"
	"net"
	"syscall"
	"time"

	"github.com/kvlab/kvlab/keyspace"
	"github.com/kvlab/kvlab/resp"
)

// Blocking commands (BLPOP, BZPOPMIN, XREAD BLOCK, ...). A handler that finds nothing sets Ctx.Block and
// writes no reply. The connection then stops executing its pipeline, writes the replies it has, and parks.
// As Redis's handleClientsBlockedOnKeys does, when a command modifies a key some clients block on, the
// server — right after that command, still under the keyspace lock — re-runs the blocked commands in the
// order the clients blocked, on their behalf (their database, protocol and reply buffer), commits their
// effects, and wakes each client it served. So wake-ups are fair (first blocked, first served) and atomic
// (nobody can take the element between the push and the pop). A client that times out, is unblocked with
// CLIENT UNBLOCK, or disconnects is removed from every queue.

// blockState is a parked client's request; guarded by the keyspace lock.
type blockState struct {
	cmd      *keyspace.Command
	args     [][]byte // owned copies
	db       int
	keys     []watchKey
	nullArr  bool
	deadline time.Time
	// done receives the LSN the reply depends on once the client was served, unblocked or timed out.
	done   chan uint64
	served bool
	// The command re-runs with its own context, reply buffer and effects, so the server never touches the
	// parked connection's own buffers (its goroutine may still be writing earlier replies).
	ctx keyspace.Ctx
	w   resp.Writer
	eff keyspace.Effects
}

func init() {
	modifyHooks = append(modifyHooks, func(s *Server, db int, key []byte) {
		if len(s.blockedOn) == 0 {
			return
		}
		wk := watchKey{db, string(key)}
		if _, ok := s.blockedOn[wk]; ok {
			s.readyKeys = append(s.readyKeys, wk)
		}
	})
}

// block parks c on the request its command made. Called with the keyspace lock held, right after the
// handler ran.
func (c *conn) block(x *keyspace.Ctx) {
	req := x.Block
	args := req.Args
	if args == nil {
		args = x.Args
	}
	b := &blockState{cmd: x.Cmd, db: c.db, nullArr: req.NullArrayOnTimeout, done: make(chan uint64, 1)}
	b.w.Proto = c.w.Proto
	b.ctx = keyspace.Ctx{KS: c.s.ks, W: &b.w, Conn: c}
	b.args = make([][]byte, len(args))
	for i, a := range args {
		b.args[i] = keyspace.Owned(a)
	}
	if req.TimeoutMS > 0 {
		b.deadline = time.Now().Add(time.Duration(req.TimeoutMS) * time.Millisecond)
	}
	s := c.s
	if s.blockedOn == nil {
		s.blockedOn = map[watchKey][]*conn{}
	}
	seen := map[string]bool{}
	for _, k := range req.Keys {
		if seen[string(k)] {
			continue
		}
		seen[string(k)] = true
		wk := watchKey{c.db, string(k)}
		b.keys = append(b.keys, wk)
		s.blockedOn[wk] = append(s.blockedOn[wk], c)
	}
	c.blocked = b
	s.cron.blocked.Add(1)
}

// unblock removes c from every queue (keyspace lock held).
func (s *Server) unblock(c *conn) {
	b := c.blocked
	if b == nil {
		return
	}
	for _, wk := range b.keys {
		list := s.blockedOn[wk]
		for i, o := range list {
			if o == c {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(s.blockedOn, wk)
		} else {
			s.blockedOn[wk] = list
		}
	}
	c.blocked = nil
	s.cron.blocked.Add(-1)
}

// serveBlocked re-runs the commands of clients blocked on keys that became ready (keyspace lock held).
// Serving one client can make other keys ready (BLMOVE pushes), so it loops until nothing is ready.
func (s *Server) serveBlocked(now time.Time) {
	for len(s.readyKeys) > 0 {
		ready := s.readyKeys
		s.readyKeys = nil
		for _, wk := range ready {
			// Copy: serving a client removes it from the queue being walked.
			queue := append([]*conn(nil), s.blockedOn[wk]...)
			for _, bc := range queue {
				if bc.blocked == nil {
					continue
				}
				s.tryServe(bc, now)
			}
		}
	}
}

// tryServe runs bc's blocked command once; if it is served, bc is woken with the LSN to wait for.
func (s *Server) tryServe(bc *conn, now time.Time) {
	b := bc.blocked
	x := &b.ctx
	x.Args, x.Cmd = b.args, b.cmd
	x.DB = s.ks.DB(b.db)
	x.Now = now.UnixMilli()
	x.NeedLSN, x.Dirty, x.Block, x.InMulti = 0, 0, nil, false
	if s.ks.RecordEffects {
		b.eff.Reset()
		x.Effects = &b.eff
	} else {
		x.Effects = nil
	}
	b.w.Reset()
	b.cmd.Handler(x)
	if x.Block != nil {
		// Still nothing for this client (another client took it, or the key holds something else).
		b.w.Reset()
		x.Block = nil
		return
	}
	need := x.NeedLSN
	if x.Effects != nil && b.eff.N > 0 {
		lsn, err := s.engine.Commit(&b.eff, x.Now)
		if err != nil {
			b.w.Reset()
			b.w.Error("ERR kvlab: write could not be logged: " + err.Error())
		} else if lsn > need {
			need = lsn
		}
	}
	s.unblock(bc)
	b.served = true
	b.done <- need
}

// waitBlocked parks the connection's goroutine (keyspace lock NOT held) until it is served, times out,
// is unblocked, disconnects, or the server stops. It returns the LSN its reply must wait for and false when
// the connection is gone.
func (c *conn) waitBlocked(b *blockState) (uint64, bool) {
	var timeout <-chan time.Time
	if !b.deadline.IsZero() {
		t := time.NewTimer(time.Until(b.deadline))
		defer t.Stop()
		timeout = t.C
	}
	gone := c.watchHangup()
	defer c.stopHangupWatch()
	select {
	case lsn := <-b.done:
		c.w.Buf = append(c.w.Buf, b.w.Buf...)
		return lsn, true
	case <-timeout:
	case <-gone:
	case <-c.s.ctx.Done():
	}
	ks := c.s.ks
	ks.Mu.Lock()
	defer ks.Mu.Unlock()
	if b.served {
		c.w.Buf = append(c.w.Buf, b.w.Buf...)
		return <-b.done, true
	}
	c.s.unblock(c)
	select {
	case <-gone:
		return 0, false
	case <-c.s.ctx.Done():
		return 0, false
	default:
	}
	if b.nullArr {
		c.w.NullArray()
	} else {
		c.w.Null()
	}
	return 0, true
}

// watchHangup reports (by closing the returned channel) when the peer closes the connection while the
// client is parked, without consuming any byte the client may have pipelined: it waits for readability
// and peeks.
func (c *conn) watchHangup() <-chan struct{} {
	gone := make(chan struct{})
	nc := c.nc
	if tc, ok := nc.(interface{ NetConn() net.Conn }); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return gone
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return gone
	}
	c.hangupDone = make(chan struct{})
	go func() {
		defer close(c.hangupDone)
		var buf [1]byte
		closed := false
		raw.Read(func(fd uintptr) bool {
			n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if errors.Is(err, syscall.EAGAIN) {
				return false // keep waiting
			}
			closed = n == 0 || err != nil
			return true
		})
		if closed {
			close(gone)
		}
	}()
	return gone
}

func (c *conn) stopHangupWatch() {
	if c.hangupDone == nil {
		return
	}
	c.nc.SetReadDeadline(time.Now())
	<-c.hangupDone
	c.nc.SetReadDeadline(time.Time{})
	c.hangupDone = nil
}
