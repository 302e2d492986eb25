package server

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvlab/kvlab/engines"
	"github.com/kvlab/kvlab/keyspace"
	"github.com/kvlab/kvlab/resp"
)

// conn is one client connection. Its goroutine owns every field except those marked otherwise.
type conn struct {
	s    *Server
	nc   net.Conn
	rd   *resp.Reader
	w    resp.Writer
	ctx  keyspace.Ctx
	eff  keyspace.Effects
	id   int64
	db   int
	born time.Time

	// info fields read by CLIENT LIST from other goroutines: guarded by infoMu.
	infoMu  sync.Mutex
	name    string
	libName string
	libVer  string
	noEvict bool

	lastCmd atomic.Pointer[keyspace.Command]

	pfKeys [][]byte // prefetch's scratch

	tx txState // MULTI/WATCH state
	cl connCluster
	// CLIENT REPLY state: replyMode "", "on", "off" or "skip"; muting while a muted command runs.
	replyMode string
	skipOnce  bool
	muting    bool
	// blocked is set while the client waits in a blocking command (guarded by the keyspace lock).
	blocked    *blockState
	hangupDone chan struct{}
	// sub is the pub/sub state once the client subscribed (its fields are guarded by the keyspace lock,
	// its outbox by its own mutex).
	sub *subState

	// later, set by a command whose reply must be produced without the keyspace lock (WAIT, REPLICAOF),
	// ends the turn after that command and runs once the lock is released, writing the reply.
	later func(w *resp.Writer)
	// takeover, set by PSYNC/SYNC, runs once the turn's replies are written and owns the connection until
	// it closes (the replication feed).
	takeover func()
	// replica is set while the connection carries a replication feed (CLIENT LIST flag S, KILL TYPE replica).
	replica atomic.Bool
	// replPort is the port a replica announced with REPLCONF listening-port.
	replPort int

	// ho is the turn's replies handed to the engine to write once durable; spare is the other reply buffer.
	ho    handover
	spare []byte
	lp    connLoop // the event loop's hold of the connection (evloop)
	keys  [][]byte // the current command's keys for the engine's Plan (reused; the engine keeps none)

	lastActive atomic.Int64 // Unix ms of the last command
	closeAfter bool         // QUIT, or a KILL of this client: close once replies are written
	killed     atomic.Bool
	monitor    bool // MONITOR mode (monitor.go; set and read under the keyspace lock)
}

func (s *Server) newConn(nc net.Conn) *conn {
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	c := &conn{s: s, nc: nc, born: time.Now()}
	c.rd = resp.NewReader(countingReader{c}, *s.set.limits.Load())
	c.w.Proto = 2
	c.w.Buf = make([]byte, 0, 4096)
	c.ctx = keyspace.Ctx{KS: s.ks, W: &c.w, Conn: c}
	s.mu.Lock()
	s.nextID++
	c.id = s.nextID
	s.clients[c.id] = c
	s.mu.Unlock()
	c.lastActive.Store(time.Now().UnixMilli())
	return c
}

// countingReader reads from the connection and counts the bytes (INFO total_net_input_bytes): one atomic
// add per read system call, not per command.
type countingReader struct{ c *conn }

func (r countingReader) Read(p []byte) (int, error) {
	n, err := r.c.nc.Read(p)
	r.c.s.stats.netInput.Add(int64(n))
	return n, err
}

func (c *conn) close() {
	c.settleHandover() // the engine writes to (or closes) the connection until then
	if len(c.tx.watched) > 0 || c.sub != nil {
		c.s.ks.Mu.Lock()
		c.s.unwatchAll(c)
		c.s.unsubscribeAll(c)
		c.s.unmonitor(c)
		c.s.ks.Mu.Unlock()
	}
	c.s.mu.Lock()
	delete(c.s.clients, c.id)
	c.s.mu.Unlock()
	c.nc.Close()
	if c.sub != nil {
		c.sub.stop() // after Close, so a writer stuck on a slow peer returns
	}
}

// serve is the connection loop. Each turn blocks for one command, then executes it and every further
// command already complete in the read buffer while holding the keyspace lock once; effects are committed
// in execution order under that lock; then, without the lock, it waits until the engine has made durable
// the highest LSN those replies depend on, and writes all replies with one write. With an engine that can
// notify (engines.DurableNotifier) a plain TCP connection hands the replies over instead and reads its next
// command at once; the engine writes them once durable, and every later write of the connection waits for
// that one (settleHandover), so replies keep their order.
//
// A turn ends early when a command blocks (the replies so far are written and the client parks), when the
// replies pass the normal client's hard output buffer limit (the client is closed), or when CLIENT PAUSE
// holds the next command (it runs first in the next turn, once the pause is over).
func (c *conn) serve() {
	defer c.close()
	s := c.s
	preparer, _ := s.base.(engines.Preparer)
	notifier, _ := s.base.(engines.DurableNotifier)
	c.initHandover()
	loop := preparer == nil && notifier != nil && c.ho.raw != nil
	var args [][]byte // a command read but held back by CLIENT PAUSE, or nil
	var ran *turn     // a turn the event loop ran and handed back to finish here
	for {
		var t turn
		if ran != nil {
			t, ran = *ran, nil
		} else {
			if args == nil {
				var err error
				if args, err = c.rd.ReadCommand(); err != nil {
					c.readFailed(err)
					return
				}
			}
			if s.pause.active.Load() {
				s.waitUnpaused(s.ctx, args)
			}
			t = c.runTurn(args, preparer)
		}
		args = t.held
		if t.quit {
			return
		}
		if !c.endTurn(&t, notifier) {
			return
		}
		if loop && args == nil && c.sub == nil && t.n == 1 && c.readsPlain() {
			// The turn is over and nothing complete is left to read (its replies written, or the engine's
			// to write once durable): the event loop watches the connection until a command comes that it
			// cannot finish on its own. Only a client that sends one command at a time: reading and parsing
			// a pipeline is worth doing in parallel with the loop (see evloop).
			if l := s.eventLoop(); l != nil {
				m := l.park(c)
				ran, args = m.turn, m.args
			}
		}
	}
}

// turn is what a turn (runTurn) leaves to do once the keyspace lock is released (endTurn).
type turn struct {
	need    uint64      // the highest LSN the turn's replies depend on (0: none)
	blocked *blockState // the blocking command the turn ended with, or nil
	err     error       // the protocol error that ended the turn, or nil
	held    [][]byte    // a command read but held back by CLIENT PAUSE, to run first in the next turn
	quit    bool        // the connection is done: return without writing anything
	n       int         // the commands the turn ran
}

// plain reports whether nothing has to happen on the connection after the turn's replies: no blocked
// command, protocol error, deferred reply, pub/sub, replication takeover or close.
func (c *conn) plain(t *turn) bool {
	return t.blocked == nil && t.err == nil && c.later == nil && c.takeover == nil && c.sub == nil &&
		!c.closeAfter
}

// runTurn executes args and every further command complete in the read buffer under one hold of the
// keyspace lock (with a Preparer engine, the lock is released while a command's keys are prepared).
func (c *conn) runTurn(args [][]byte, preparer engines.Preparer) (t turn) {
	s := c.s
	ks := s.ks
	hard := s.outbufLimits().normal.hard
	ks.Mu.Lock()
	pre := c.prefetch(args) // the commands, from this one, whose keys are in the CPU's cache
	if preparer != nil {
		if p := c.plan(preparer, args); p != nil {
			c.prepare(p, args)
		}
	}
	// One clock read per command: each command's end time is the next one's start time. held is when
	// this hold of the lock began; the hold ends at the last command's end (no extra clock read).
	now := time.Now()
	held := now
	for {
		var lsn uint64
		lsn, now = c.exec(args, now)
		t.n++
		args = nil
		if lsn > t.need {
			t.need = lsn
		}
		if c.closeAfter || c.blocked != nil || c.later != nil || c.takeover != nil {
			break
		}
		if hard > 0 && int64(len(c.w.Buf)) > hard {
			s.stats.execLockNS.Add(int64(now.Sub(held)))
			ks.Mu.Unlock()
			c.closeForOutbuf("normal", int64(len(c.w.Buf)))
			t.quit = true
			return t
		}
		next, ok, err := c.rd.Next()
		if err != nil || !ok {
			t.err = err
			break
		}
		if s.pause.active.Load() && s.pausedFor(next) {
			t.held = next // run it once the pause is over
			break
		}
		args = next
		if pre--; pre == 0 {
			pre = c.prefetch(args)
		}
		if preparer != nil {
			if p := c.plan(preparer, args); p != nil {
				s.stats.execLockNS.Add(int64(now.Sub(held)))
				c.prepare(p, args)
				now = time.Now()
				held = now
			}
		}
	}
	t.blocked = c.blocked // read under the lock: once it is released the client may be served at any time
	if c.sub != nil && t.need == 0 && t.blocked == nil {
		// A subscriber's replies enter its outbox before the lock is released, so no message published
		// after a SUBSCRIBE can overtake its confirmation.
		if !c.flush() {
			s.stats.execLockNS.Add(int64(now.Sub(held)))
			ks.Mu.Unlock()
			t.quit = true
			return t
		}
	}
	s.stats.execLockNS.Add(int64(now.Sub(held)))
	ks.Mu.Unlock()
	return t
}

// prefetch looks up, in one pass (keyspace.DB.Prefetch), the key of the command about to run and those of
// the pipelined commands complete in the read buffer after it, and returns how many commands that covers
// (at least 1). A pipeline of SETs over a keyspace larger than the CPU's cache spent about a third of its
// time under the lock waiting for memory, one key after another; the pass lets the misses of different
// keys overlap. A lone command (nothing buffered after it) is left to look its key up itself.
func (c *conn) prefetch(args [][]byte) int {
	if c.rd.Buffered() == 0 {
		return 1
	}
	keys := c.pfKeys[:0]
	if len(args) >= 2 {
		keys = append(keys, args[1])
	}
	before := len(keys)
	keys = c.rd.PeekKeys(keys, keyspace.PrefetchMax-1)
	n := 1 + len(keys) - before // this command and those peeked at
	if len(keys) >= 2 {
		c.s.ks.DB(c.db).Prefetch(keys)
	}
	clear(keys) // they alias the read buffer
	c.pfKeys = keys[:0]
	return n
}

// endTurn does what the turn left to do without the lock: parks a blocked client, waits for the writes
// to be durable (or hands the replies to the engine), runs a deferred reply, writes the replies and hands
// the connection to a replication feed. It reports false when the connection is done.
func (c *conn) endTurn(t *turn, notifier engines.DurableNotifier) bool {
	s := c.s
	need := t.need
	if t.blocked != nil {
		// Write what the pipeline produced before the blocking command, then park.
		if need > 0 {
			if werr := s.engine.Wait(s.ctx, need); werr != nil {
				c.w.Reset()
				c.w.Error(errNotDurable + werr.Error())
				c.flush()
				return false
			}
			need = 0
		}
		if !c.flush() {
			s.ks.Mu.Lock()
			s.unblock(c)
			s.ks.Mu.Unlock()
			return false
		}
		lsn, ok := c.waitBlocked(t.blocked)
		if !ok {
			return false
		}
		need = lsn
	}
	if need > 0 && notifier != nil && c.canHandOver(t) && c.handOver(notifier, need) {
		return true // the engine writes the replies once durable; read the next command now
	}
	if need > 0 {
		if werr := s.engine.Wait(s.ctx, need); werr != nil {
			// The engine could not make the writes durable: the replies must not claim success.
			c.w.Reset()
			c.w.Error(errNotDurable + werr.Error())
			c.closeAfter = true
		}
	}
	if c.later != nil {
		f := c.later
		c.later = nil
		f(&c.w)
	}
	if t.err != nil {
		c.protocolError(t.err)
		c.flush()
		return false
	}
	if !c.flush() || c.closeAfter {
		return false
	}
	if c.takeover != nil {
		c.takeover()
		return false
	}
	return true
}

// plan asks the engine, keyspace lock held, what must happen before the command runs (nil: nothing).
func (c *conn) plan(p engines.Preparer, args [][]byte) engines.Preparation {
	c.keys = commandKeys(args, c.keys[:0])
	if len(c.keys) == 0 {
		return nil
	}
	return p.Plan(c.db, c.keys)
}

// prepare runs a preparation: its Run without the keyspace lock (held on entry and on return), then its
// Finish with the lock again.
func (c *conn) prepare(p engines.Preparation, args [][]byte) {
	c.s.ks.Mu.Unlock()
	p.Run()
	c.s.ks.Mu.Lock()
	if err := p.Finish(); err != nil {
		c.s.Logf("prepare keys for %s: %v", strings.ToLower(string(args[0])), err)
	}
}

// commandKeys appends to buf the keys of args whose values the command reads (none for a command that only
// replaces or deletes values, or an unknown one).
func commandKeys(args [][]byte, buf [][]byte) [][]byte {
	cmd, msg := keyspace.Resolve(args)
	if msg != "" || cmd == nil || !needsValues(cmd, args) {
		return buf
	}
	var ibuf [8]int
	for _, j := range cmd.AppendKeyIndexes(ibuf[:0], args) {
		buf = append(buf, args[j])
	}
	return buf
}

// flush writes the accumulated replies; it reports false when the connection is gone.
func (c *conn) flush() bool {
	if !c.settleHandover() {
		return false
	}
	if len(c.w.Buf) == 0 {
		return true
	}
	if c.sub != nil {
		// Once subscribed, replies and messages share the outbox so they stay in order.
		ok := c.sub.enqueue(c, c.w.Buf)
		c.w.Reset()
		return ok
	}
	soft := c.s.outbufLimits().normal
	timed := soft.soft > 0 && int64(len(c.w.Buf)) > soft.soft
	if timed {
		// Above the soft limit: the peer must take the replies within the soft seconds.
		c.nc.SetWriteDeadline(time.Now().Add(time.Duration(soft.softSecs) * time.Second))
	}
	n, err := c.nc.Write(c.w.Buf)
	c.s.stats.netOutput.Add(int64(n))
	if timed {
		c.nc.SetWriteDeadline(time.Time{})
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.closeForOutbuf("normal", int64(len(c.w.Buf)-n))
		}
	}
	c.replied()
	return err == nil
}

// replied empties the reply buffer once its replies are written, giving back the memory of a huge one.
func (c *conn) replied() {
	if cap(c.w.Buf) > 1<<20 {
		c.w.Buf = make([]byte, 0, 4096)
	} else {
		c.w.Reset()
	}
}

func (c *conn) readFailed(err error) {
	var pe *resp.ProtocolError
	if errors.As(err, &pe) {
		c.protocolError(err)
		c.flush()
		return
	}
	if err != io.EOF && !errors.Is(err, net.ErrClosed) && !c.killed.Load() && !c.s.closing.Load() {
		if !strings.Contains(err.Error(), "connection reset") {
			c.s.Logf("client id=%d addr=%s: read: %v", c.id, c.nc.RemoteAddr(), err)
		}
	}
}

func (c *conn) protocolError(err error) {
	var pe *resp.ProtocolError
	if errors.As(err, &pe) {
		c.s.stats.protocolErrors.Add(1)
		c.w.Error("ERR " + pe.Error())
		c.s.Logf("client id=%d addr=%s: %s; closing the connection", c.id, c.nc.RemoteAddr(), pe.Error())
	}
}

// preExecFilter runs before a command executes, with the keyspace lock held. cmd is nil and msg holds the
// error for an unknown command or bad arity. Returning handled=true means the filter wrote the reply (and
// possibly ran the command itself, returning the LSN its reply must wait for).
type preExecFilter struct {
	order int // lower runs first: 10 authentication, 20 ACL, 30 cluster redirection, 40 pub/sub mode, 50 MULTI
	fn    func(c *conn, cmd *keyspace.Command, msg string, args [][]byte) (handled bool, lsn uint64)
}

var preExec []preExecFilter

// addPreExec installs a filter (from init functions) keeping them sorted by order.
func addPreExec(order int, fn func(c *conn, cmd *keyspace.Command, msg string, args [][]byte) (bool, uint64)) {
	preExec = append(preExec, preExecFilter{order, fn})
	for i := len(preExec) - 1; i > 0 && preExec[i].order < preExec[i-1].order; i-- {
		preExec[i], preExec[i-1] = preExec[i-1], preExec[i]
	}
}

// exec runs one command, started at now, with the keyspace lock held. It returns the LSN its reply must
// wait for and the time it ended.
func (c *conn) exec(args [][]byte, now time.Time) (uint64, time.Time) {
	s := c.s
	s.stats.commands.Add(1)
	cmd, msg := keyspace.Resolve(args)
	for _, f := range preExec {
		// Filters see unknown commands and arity errors too (AUTH must be checked first; MULTI queues the
		// error and aborts EXEC). A filter that handled the command writes its reply and returns true.
		if handled, lsn := f.fn(c, cmd, msg, args); handled {
			return lsn, time.Now()
		}
	}
	if msg != "" {
		s.stats.errorReplies.Add(1)
		s.countError([]byte(msg))
		c.w.Error(msg)
		return 0, now
	}
	c.lastActive.Store(now.UnixMilli())
	c.lastCmd.Store(cmd)
	x := &c.ctx
	x.Args = args
	x.Cmd = cmd
	x.DB = s.ks.DB(c.db)
	x.Now = now.UnixMilli()
	x.NeedLSN = 0
	x.Dirty = 0
	x.Block = nil
	x.ThawErr = nil
	if s.ks.RecordEffects {
		c.eff.Reset()
		x.Effects = &c.eff
	} else {
		x.Effects = nil
	}
	before := len(c.w.Buf)
	cmd.Handler(x)
	if x.ThawErr != nil {
		c.w.Buf = c.w.Buf[:before]
		x.Block = nil
		c.w.Error(thawError(x.ThawErr))
	}
	if x.Block != nil && !x.InMulti {
		c.block(x)
		x.Block = nil
	}
	need := x.NeedLSN
	if x.Effects != nil && c.eff.N > 0 {
		lsn, err := s.engine.Commit(&c.eff, x.Now)
		if err != nil {
			// The command ran in memory but could not be logged; report it rather than acknowledge.
			c.w.Buf = c.w.Buf[:before]
			c.w.Error("ERR kvlab: write could not be logged: " + err.Error())
			s.Logf("commit %s: %v", cmd.Name, err)
		} else if lsn > need {
			need = lsn
		}
	}
	if len(s.readyKeys) > 0 {
		s.serveBlocked(now)
	}
	if s.ks.TrackLSN && need > 0 && need >= s.ks.NextLSN {
		// An observed stamp with no record behind it (a write that produced no effects) needs no wait.
		need = s.ks.NextLSN - 1
	}
	end := time.Now()
	s.account(c, cmd, args, end.Sub(now), c.w.Buf[before:])
	return need, end
}

// account records one executed command in the statistics: commandstats, errorstats, the slow log, the
// latency monitor and the metrics histogram (keyspace lock held). reply is what the command wrote.
func (s *Server) account(c *conn, cmd *keyspace.Command, args [][]byte, elapsed time.Duration, reply []byte) {
	if s.monitorN.Load() != 0 {
		s.feedMonitorsAfter(c, cmd, args)
	}
	us := elapsed.Microseconds()
	if cmd.Flags&keyspace.FlagSkipSlowlog == 0 {
		if th := s.set.slowlogSlower.Load(); th >= 0 && us >= th {
			s.slowlogAdd(c, args, us)
		}
		if th := s.set.latencyThreshold.Load(); th > 0 && elapsed.Milliseconds() >= th {
			event := "command"
			if cmd.Flags&keyspace.FlagFast != 0 {
				event = "fast-command"
			}
			s.latencyRecord(event, elapsed.Milliseconds())
		}
	}
	st := s.cmdStat(cmd)
	st.record(us)
	if s.metrics != nil {
		s.metrics.observe(st, cmd, elapsed.Seconds())
	}
	if len(reply) > 0 && reply[0] == '-' {
		st.failed.Add(1)
		s.stats.errorReplies.Add(1)
		s.countError(reply[1:])
	}
}

// thawError is the reply to a command that needed a cold value the tier could not return.
func thawError(err error) string {
	return "ERR kvlab: a cold value could not be read back from the disk tier (" + err.Error() + "); check the data directory's disk, then restart: the data set is recovered from the log"
}

// needsValues reports whether a command reads the values of its keys, so that a tiering engine must bring
// cold ones back before it runs. DEL, UNLINK and EXISTS only need the keys; SET without GET replaces the
// value unread.
func needsValues(cmd *keyspace.Command, args [][]byte) bool {
	if cmd.Parent != nil {
		return true
	}
	switch cmd.Name {
	case "del", "unlink", "exists":
		return false
	case "set":
		for _, a := range args[3:] {
			if keyspace.EqualFold(a, "get") {
				return true
			}
		}
		return false
	}
	return true
}
