package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/kvlab/kvlab/resp"
	"github.com/kvlab/kvlab/scenarios"
)

// maxRedirects bounds the MOVED/ASK hops one operation follows before it counts as an error.
const maxRedirects = 5

// maxTryAgain bounds the retries of an operation answered -TRYAGAIN (a multi-key operation on a slot whose
// keys are being migrated), tryAgainPause apart.
const (
	maxTryAgain   = 50
	tryAgainPause = 10 * time.Millisecond
)

var argASKING = []byte("ASKING")

// lane is one logical connection of a cluster run: one connection to every node it sends to, dialed on
// first use. --connections N makes N lanes, so each shard primary gets N connections (and, with
// --read-from-replicas, one replica of each shard gets N more). A lane is used by one goroutine at a time.
type lane struct {
	rt    *router
	id    int // {conn}
	conns map[string]*client
	ver   int64
	topo  *topology
	prim  []*client // per shard of topo, nil until dialed
	repl  []*client // per shard: the replica reads go to (with read-from-replicas)
	// onDial runs for every new connection (open loop: starts its reader).
	onDial func(*client)
	// active are the connections with a batch in the current closed-loop round.
	active  []*client
	obuf    []byte // one rendered operation
	xbuf    []byte // synchronous commands (setup, follow-ups)
	carry   []carried
	cbuf    []byte
	scratch renderScratch
	any     int
}

// carried is an operation generated for a connection whose batch was full: it goes in the next round.
type carried struct {
	pd       pending
	slot     int
	readOnly bool
}

func newLane(rt *router, id int) *lane {
	return &lane{rt: rt, id: id, conns: map[string]*client{}}
}

// sync adopts the router's current slot map (a safe point: no request of the lane is in flight).
func (l *lane) sync() {
	v := l.rt.version.Load()
	if l.topo != nil && v == l.ver {
		return
	}
	t := l.rt.topo.Load()
	l.ver, l.topo = v, t
	l.prim = l.prim[:0]
	l.repl = l.repl[:0]
	for _, s := range t.shards {
		l.prim = append(l.prim, l.conns[s.primary])
		var r *client
		if l.rt.readRep && len(s.replicas) > 0 {
			r = l.conns[s.replicas[l.id%len(s.replicas)]]
		}
		l.repl = append(l.repl, r)
	}
}

// conn returns the lane's connection to addr, dialing it (with READONLY for replicas) when needed.
func (l *lane) conn(addr string, replica bool) (*client, error) {
	if c := l.conns[addr]; c != nil {
		return c, nil
	}
	c, err := dial(l.rt.nodeTarget(addr))
	if err != nil {
		return nil, fmt.Errorf("cluster node %s: %w", addr, err)
	}
	if replica {
		if err := c.call("READONLY"); err != nil {
			c.close()
			return nil, fmt.Errorf("loadgen: READONLY on replica %s: %w (drop --read-from-replicas?)", addr, err)
		}
	}
	l.conns[addr] = c
	if l.onDial != nil {
		l.onDial(c)
	}
	return c, nil
}

// route returns the connection for an operation on slot (-1: no keys, any shard will do).
func (l *lane) route(slot int, readOnly bool) (*client, error) {
	t := l.topo
	var si int
	if slot < 0 {
		l.any++
		si = l.any % len(t.shards)
	} else if si = int(t.owner[slot]); si < 0 {
		return nil, fmt.Errorf("loadgen: no cluster node owns slot %d (check CLUSTER INFO: is cluster_state ok?)", slot)
	}
	if readOnly && l.rt.readRep && len(t.shards[si].replicas) > 0 {
		if c := l.repl[si]; c != nil {
			return c, nil
		}
		c, err := l.conn(t.shards[si].replicas[l.id%len(t.shards[si].replicas)], true)
		if err != nil {
			return nil, err
		}
		l.repl[si] = c
		return c, nil
	}
	if c := l.prim[si]; c != nil {
		return c, nil
	}
	c, err := l.conn(t.shards[si].primary, false)
	if err != nil {
		return nil, err
	}
	l.prim[si] = c
	return c, nil
}

func (l *lane) close() {
	for _, c := range l.conns {
		c.close()
	}
}

// crossSlotError reports an operation whose keys a cluster cannot serve together.
type crossSlotError struct {
	scenario, op string
	k1, k2       string
}

func (e *crossSlotError) Error() string {
	return fmt.Sprintf("loadgen: scenario %s, operation %s: keys %q and %q hash to different cluster slots (%d and %d), "+
		"so a cluster cannot serve the operation: give its keys a common hash tag, e.g. a keyspace pattern "+
		"\"{user:{id}}:profile\" hashes only \"user:<id>\"", e.scenario, e.op, e.k1, e.k2,
		Slot([]byte(e.k1)), Slot([]byte(e.k2)))
}

// renderRouted appends cmds (wrapped in MULTI/EXEC when multi) to w and returns the number of replies and
// the slot of their keys (-1: no keys). crossed reports two keys of different slots.
func renderRouted(w []byte, cmds []cmdTemplate, specs []keySpec, multi bool, rc *renderCtx, s *renderScratch) (
	out []byte, n, slot int, crossed *crossSlotError) {
	slot = -1
	if multi {
		w = resp.AppendCommand(w, argMULTI)
		n++
	}
	for i, t := range cmds {
		s.buf, s.idx = t.render(rc, s.buf[:0], s.idx[:0])
		s.args = s.args[:0]
		for _, b := range s.idx {
			s.args = append(s.args, s.buf[b[0]:b[1]])
		}
		sl, cross, k1, k2 := specs[i].slotOf(s.args)
		if cross {
			return w, n, slot, &crossSlotError{k1: string(k1), k2: string(k2)}
		}
		if sl >= 0 {
			if slot >= 0 && sl != slot {
				return w, n, slot, &crossSlotError{k1: firstKey(cmds[:i], specs, rc, s), k2: string(firstKeyOf(specs[i], s.args))}
			}
			slot = sl
		}
		w = resp.AppendCommand(w, s.args...)
		n++
	}
	if multi {
		w = resp.AppendCommand(w, argEXEC)
		n++
	}
	return w, n, slot, nil
}

func firstKeyOf(spec keySpec, args [][]byte) []byte {
	var k []byte
	spec.keys(args, func(key []byte) {
		if k == nil {
			k = key
		}
	})
	return k
}

// firstKey renders cmds again (error path only) and returns their first key.
func firstKey(cmds []cmdTemplate, specs []keySpec, rc *renderCtx, s *renderScratch) string {
	for i, t := range cmds {
		buf, idx := t.render(rc, nil, nil)
		var args [][]byte
		for _, b := range idx {
			args = append(args, buf[b[0]:b[1]])
		}
		if k := firstKeyOf(specs[i], args); k != nil {
			return string(k)
		}
	}
	return ""
}

// renderOp renders one operation into l.obuf.
func (r *run) renderOp(l *lane, co *compiledOp, rc *renderCtx) (n, slot int, err error) {
	var cross *crossSlotError
	l.obuf, n, slot, cross = renderRouted(l.obuf[:0], co.cmds, co.specs, co.op.Mode == "multi", rc, &l.scratch)
	if cross != nil {
		cross.scenario, cross.op = r.plan.sc.Name, co.op.Name
		return 0, 0, cross
	}
	return n, slot, nil
}

// checkSlots renders every operation for a few ids and fails fast when one crosses slots.
func checkSlots(p *plan) error {
	var s renderScratch
	for _, co := range p.ops {
		for _, cmds := range []struct {
			c []cmdTemplate
			k []keySpec
		}{{co.cmds, co.specs}, {co.onMiss, co.missKS}} {
			for id := int64(0); id < 64; id++ {
				rc := renderCtx{r: rand.New(rand.NewPCG(uint64(id), 7)), id: id, pattern: co.pattern, ttl: co.op.TTL,
					nowMS: time.Now().UnixMilli()}
				if rc.ttl == nil {
					rc.ttl = &scenarios.TTLSpec{}
				}
				if _, _, _, cross := renderRouted(nil, cmds.c, cmds.k, false, &rc, &s); cross != nil {
					cross.scenario, cross.op = p.sc.Name, co.op.Name
					return cross
				}
				if co.chooser == nil {
					break
				}
			}
		}
	}
	return nil
}

// parseRedirect splits "MOVED 3999 10.0.0.2:6379" (or ASK); an empty host means the seed's.
func (rt *router) parseRedirect(text string) (ask bool, addr string, ok bool) {
	f := strings.Fields(text)
	if len(f) != 3 {
		return false, "", false
	}
	host, port, err := net.SplitHostPort(f[2])
	if err != nil {
		return false, "", false
	}
	if host == "" {
		host = rt.seedHost
	}
	return f[0] == "ASK", net.JoinHostPort(host, port), true
}

// follow re-sends an operation that got -MOVED or -ASK to the node named, synchronously, until it is
// served or maxRedirects hops were made. MOVED also schedules a slot map refresh; ASK sends ASKING first
// and leaves the map alone. -TRYAGAIN re-sends to the same node (from) after a pause. It returns the node
// that served the operation.
func (l *lane) follow(pd *pending, o *outcome, from *client) (*client, error) {
	served := from
	hops, tries := 0, 0
	for o.redirect != "" {
		ask, addr := false, served.addr
		if strings.HasPrefix(o.redirect, "TRYAGAIN") {
			if tries++; tries > maxTryAgain {
				break
			}
			o.tryAgain++
			time.Sleep(tryAgainPause)
		} else {
			var ok bool
			if ask, addr, ok = l.rt.parseRedirect(o.redirect); !ok {
				break
			}
			if hops++; hops > maxRedirects {
				break
			}
			if ask {
				o.ask++
			} else {
				o.moved++
				l.rt.requestRefresh()
			}
		}
		c, err := l.conn(addr, false)
		if err != nil {
			return nil, err
		}
		*o = outcome{moved: o.moved, ask: o.ask, tryAgain: o.tryAgain}
		if err := sendRedirected(c, pd, ask, o); err != nil {
			return nil, fmt.Errorf("loadgen: redirected to %s: %w", addr, err)
		}
		served = c
	}
	o.end = time.Now()
	return served, nil
}

// sendRedirected sends pd.req to c and reads its replies into o. For ASK, every command is preceded by
// ASKING (a MULTI block once: the flag lasts through the transaction).
func sendRedirected(c *client, pd *pending, ask bool, o *outcome) error {
	c.fbuf = c.fbuf[:0]
	multi := pd.op != nil && pd.op.op.Mode == "multi"
	switch {
	case !ask:
		c.fbuf = append(c.fbuf, pd.req...)
	case multi:
		c.fbuf = resp.AppendCommand(c.fbuf, argASKING)
		c.fbuf = append(c.fbuf, pd.req...)
	default:
		for _, cmd := range splitCommands(pd.req) {
			c.fbuf = resp.AppendCommand(c.fbuf, argASKING)
			c.fbuf = append(c.fbuf, cmd...)
		}
	}
	if _, err := c.nc.Write(c.fbuf); err != nil {
		return err
	}
	if !ask || multi {
		if ask {
			if err := skipASKING(c, o); err != nil {
				return err
			}
		}
		return readOp(c, pd, o)
	}
	for k := 0; k < pd.ncmds; k++ {
		if err := skipASKING(c, o); err != nil {
			return err
		}
		if err := readReply(c, pd, k, o); err != nil {
			return err
		}
	}
	return nil
}

func skipASKING(c *client, o *outcome) error {
	kind, text, err := c.rr.Skip()
	if err == nil && kind == '-' && o.errPfx == "" {
		o.errPfx = errPrefix(text)
	}
	return err
}

// splitCommands splits RESP-encoded commands (arrays of bulk strings, as AppendCommand writes them).
func splitCommands(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i, n := 1, 0
		for ; i < len(b) && b[i] != '\r'; i++ {
			n = n*10 + int(b[i]-'0')
		}
		i += 2
		for ; n > 0 && i < len(b); n-- {
			j, l := i+1, 0
			for ; j < len(b) && b[j] != '\r'; j++ {
				l = l*10 + int(b[j]-'0')
			}
			i = j + 2 + l + 2
		}
		i = min(i, len(b))
		out = append(out, b[:i])
		b = b[i:]
	}
	return out
}

// exec sends commands (already rendered in req, n replies, keys on slot) and follows redirections; it
// returns the first error prefix of the replies.
func (l *lane) exec(req []byte, n, slot int) (string, error) {
	c, err := l.route(slot, false)
	if err != nil {
		return "", err
	}
	pd := pending{ncmds: n, req: req}
	var o outcome
	c.fbuf = append(c.fbuf[:0], req...)
	if _, err := c.nc.Write(c.fbuf); err != nil {
		return "", fmt.Errorf("loadgen: write to %s: %w", c.addr, err)
	}
	if err := readOp(c, &pd, &o); err != nil {
		return "", fmt.Errorf("loadgen: read from %s: %w", c.addr, err)
	}
	if o.redirect != "" {
		if _, err := l.follow(&pd, &o, c); err != nil {
			return "", err
		}
	}
	return o.errPfx, nil
}

// execCommand routes one command given as strings.
func (l *lane) execCommand(args ...string) (string, error) {
	l.xbuf = resp.AppendCommandStrings(l.xbuf[:0], args...)
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	slot, cross, k1, k2 := specFor(args[0]).slotOf(bargs)
	if cross {
		return "", fmt.Errorf("loadgen: %s: keys %q and %q are in different cluster slots (use a hash tag)", args[0], k1, k2)
	}
	return l.exec(l.xbuf, 1, slot)
}

// finish completes a cluster operation after its replies were read: it follows a redirection, runs the
// cache-aside load or XACK on the right shard, and records the operation.
func (r *run) finish(l *lane, rec *recorder, c *client, pd *pending, o *outcome, rc *renderCtx) error {
	served, redirFrom := c, ""
	if o.redirect != "" {
		redirFrom = c.addr
		s, err := l.follow(pd, o, c)
		if err != nil {
			return err
		}
		served = s
	}
	if o.miss && len(pd.op.onMiss) > 0 {
		rc.id, rc.pattern, rc.ttl = pd.id, pd.pattern, pd.op.op.TTL
		var n, slot int
		var cross *crossSlotError
		l.xbuf, n, slot, cross = renderRouted(l.xbuf[:0], pd.op.onMiss, pd.op.missKS, false, rc, &l.scratch)
		if cross != nil {
			cross.scenario, cross.op = r.plan.sc.Name, pd.op.op.Name+" (on_miss)"
			return cross
		}
		e, err := l.exec(l.xbuf, n, slot)
		if err != nil {
			return err
		}
		if e != "" && o.errPfx == "" {
			o.errPfx = e
		}
		o.end = time.Now()
	}
	if len(o.ackIDs) > 0 {
		a := pd.op.op.Ack
		e, err := l.execCommand(append([]string{"XACK", a.Stream, a.Group}, o.ackIDs...)...)
		if err != nil {
			return err
		}
		if e != "" && o.errPfx == "" {
			o.errPfx = e
		}
		o.end = time.Now()
	}
	r.recordCluster(rec, pd.op.idx, served.addr, redirFrom, pd.start, o.end, o.errPfx, o)
	return nil
}

// add appends a rendered operation to c's batch.
func (l *lane) add(c *client, pd pending, req []byte) {
	if len(c.batch) == 0 {
		c.wbuf = c.wbuf[:0]
		c.outs = c.outs[:0]
		l.active = append(l.active, c)
	}
	pd.off = len(c.wbuf)
	c.wbuf = append(c.wbuf, req...)
	pd.end = len(c.wbuf)
	c.batch = append(c.batch, pd)
}

// fill builds one closed-loop round of a lane: each connection gets at most pipeline operations. An
// operation for a connection whose batch is full is carried to the next round (the mix of operations is
// kept); generation stops when every shard's batch is full or pipeline × shards operations are carried.
func (r *run) fill(l *lane, rc *renderCtx, rng *rand.Rand, now time.Time) error {
	l.sync()
	l.active = l.active[:0]
	P := r.cfg.Pipeline
	full := 0
	place := func(pd pending, slot int, ro bool, req []byte) (bool, error) {
		c, err := l.route(slot, ro)
		if err != nil {
			return false, err
		}
		if len(c.batch) >= P {
			return false, nil
		}
		l.add(c, pd, req)
		if len(c.batch) == P {
			full++
		}
		return true, nil
	}
	old := l.carry
	oldBuf := l.cbuf
	l.carry, l.cbuf = nil, nil
	var keep []carried
	var keepBuf []byte
	for _, cr := range old {
		req := oldBuf[cr.pd.off:cr.pd.end]
		ok, err := place(cr.pd, cr.slot, cr.readOnly, req)
		if err != nil {
			return err
		}
		if !ok {
			cr.pd.off = len(keepBuf)
			keepBuf = append(keepBuf, req...)
			cr.pd.end = len(keepBuf)
			keep = append(keep, cr)
		}
	}
	budget := P * len(l.topo.shards)
	rc.nowMS = now.UnixMilli()
	for gen := 0; full < len(l.topo.shards) && len(keep) < budget && gen < 4*budget; gen++ {
		co := r.plan.pick(rng)
		r.prepare(rc, co)
		n, slot, err := r.renderOp(l, co, rc)
		if err != nil {
			return err
		}
		pd := pending{op: co, ncmds: n, id: rc.id, start: now, pattern: rc.pattern}
		ok, err := place(pd, slot, co.op.ReadOnly, l.obuf)
		if err != nil {
			return err
		}
		if !ok {
			pd.off = len(keepBuf)
			keepBuf = append(keepBuf, l.obuf...)
			pd.end = len(keepBuf)
			keep = append(keep, carried{pd: pd, slot: slot, readOnly: co.op.ReadOnly})
		}
	}
	l.carry, l.cbuf = keep, keepBuf
	for _, c := range l.active {
		for i := range c.batch {
			c.batch[i].start = now
			c.batch[i].req = c.wbuf[c.batch[i].off:c.batch[i].end]
		}
	}
	return nil
}

// clusterClosedLoop is closedLoop for a cluster: every round, each lane sends one batch per shard
// connection (at most Pipeline operations each), then reads every connection's replies in order, then
// follows redirections and runs follow-ups synchronously, with every connection drained.
func (r *run) clusterClosedLoop(ctx context.Context, rec *recorder, lanes []*lane, rng *rand.Rand) {
	rcs := make([]renderCtx, len(lanes))
	for i, l := range lanes {
		rcs[i] = renderCtx{r: rng, conn: l.id}
	}
	for ctx.Err() == nil {
		now := time.Now()
		for i, l := range lanes {
			if err := r.fill(l, &rcs[i], rng, now); err != nil {
				r.fail(err)
				return
			}
			for _, c := range l.active {
				if _, err := c.nc.Write(c.wbuf); err != nil {
					if ctx.Err() == nil {
						r.fail(fmt.Errorf("loadgen: write to %s: %w", c.addr, err))
					}
					return
				}
			}
		}
		for _, l := range lanes {
			for _, c := range l.active {
				for j := range c.batch {
					var o outcome
					if err := readOp(c, &c.batch[j], &o); err != nil {
						if ctx.Err() == nil {
							r.fail(fmt.Errorf("loadgen: read from %s: %w", c.addr, err))
						}
						return
					}
					o.end = time.Now()
					c.outs = append(c.outs, o)
				}
			}
		}
		for i, l := range lanes {
			for _, c := range l.active {
				for j := range c.batch {
					if err := r.finish(l, rec, c, &c.batch[j], &c.outs[j], &rcs[i]); err != nil {
						if ctx.Err() == nil {
							r.fail(err)
						}
						return
					}
				}
				c.batch = c.batch[:0]
			}
		}
	}
}

// clusterOpenLoop is openLoop for a cluster: each lane schedules its share of the rate and sends every
// operation to its shard's connection; each connection has a reader goroutine that records latency from
// the intended start and follows redirections on connections of its own.
func (r *run) clusterOpenLoop(ctx context.Context, rec *recorder, lanes []*lane, rng *rand.Rand) {
	var wg sync.WaitGroup
	perLane := r.cfg.Rate / float64(r.cfg.Connections)
	interval := time.Duration(float64(time.Second) / perLane)
	for _, l := range lanes {
		seed := rng.Uint64()
		wg.Add(1)
		go func() {
			defer wg.Done()
			var readers sync.WaitGroup
			l.onDial = func(c *client) {
				c.inflight = make(chan pending, r.cfg.Pipeline)
				readers.Add(1)
				go func() {
					defer readers.Done()
					r.clusterReader(ctx, rec, c, l.id, seed)
				}()
			}
			for _, c := range l.conns {
				l.onDial(c)
			}
			crng := rand.New(rand.NewPCG(seed, uint64(l.id)))
			rc := renderCtx{r: crng, conn: l.id}
			next := time.Now().Add(time.Duration(crng.Int64N(int64(interval) + 1)))
			for ctx.Err() == nil {
				if !sleepUntil(ctx, next) {
					break
				}
				l.sync()
				co := r.plan.pick(crng)
				r.prepare(&rc, co)
				rc.nowMS = next.UnixMilli()
				n, slot, err := r.renderOp(l, co, &rc)
				if err == nil {
					var c *client
					if c, err = l.route(slot, co.op.ReadOnly); err == nil {
						pd := pending{op: co, ncmds: n, id: rc.id, start: next, pattern: rc.pattern,
							req: append([]byte(nil), l.obuf...)}
						select {
						case c.inflight <- pd: // blocks while Pipeline operations are in flight on c
						case <-ctx.Done():
						}
						if ctx.Err() != nil {
							break
						}
						if _, werr := c.nc.Write(pd.req); werr != nil {
							err = fmt.Errorf("loadgen: write to %s: %w", c.addr, werr)
						}
					}
				}
				if err != nil {
					if ctx.Err() == nil {
						r.fail(err)
					}
					break
				}
				next = next.Add(interval)
			}
			for _, c := range l.conns {
				close(c.inflight)
				c.nc.SetReadDeadline(time.Now().Add(5 * time.Second)) // unblock readers if replies never come
			}
			readers.Wait()
		}()
	}
	wg.Wait()
}

// clusterReader reads one open-loop connection's replies in order.
func (r *run) clusterReader(ctx context.Context, rec *recorder, c *client, connID int, seed uint64) {
	aux := newLane(r.rt, connID)
	defer aux.close()
	rc := renderCtx{r: rand.New(rand.NewPCG(seed+1, uint64(connID))), conn: connID}
	for pd := range c.inflight {
		var o outcome
		if err := readOp(c, &pd, &o); err != nil {
			if ctx.Err() == nil {
				r.fail(fmt.Errorf("loadgen: read from %s: %w", c.addr, err))
			}
			for range c.inflight {
			}
			return
		}
		o.end = time.Now()
		aux.sync()
		rc.nowMS = o.end.UnixMilli()
		if err := r.finish(aux, rec, c, &pd, &o, &rc); err != nil {
			if ctx.Err() == nil {
				r.fail(err)
			}
			for range c.inflight {
			}
			return
		}
	}
}
