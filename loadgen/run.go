// Package loadgen drives a RESP server with a scenario's traffic and measures it: a pool of pipelined
// connections, closed loop (each connection sends a batch of --pipeline operations and waits for their
// replies, like redis-benchmark and memtier) or open loop (--rate: operations start at precisely scheduled
// times whether or not earlier ones finished, and latency is measured from the intended start, which
// corrects for coordinated omission). Latencies go to HdrHistogram histograms (1 µs .. 60 s, 3 significant
// digits) per operation and worker, merged at the end; a per-second timeline is kept; errors are counted by
// reply prefix. It speaks only RESP, so it works against kvlab, Redis, Valkey, ElastiCache and MemoryDB.
//
// Workers drive their connections in one of two I/O modes (Config.IO): on Linux, an epoll event loop per
// worker over the raw non-blocking sockets (eventloop_linux.go), like redis-benchmark and memtier; and
// blocking reads and writes through Go's net package, for TLS, cluster mode, open loop with follow-up
// commands, and other systems.
//
// With Config.Cluster the target is a Redis cluster's seed node: the slot map comes from CLUSTER SHARDS or
// CLUSTER SLOTS, every operation goes to the shard owning its keys' hash slot (Slot), MOVED and ASK
// redirections are followed, and the result carries per-shard figures (cluster.go, cluster_run.go).
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/kvlab/kvlab/resp"
	"github.com/kvlab/kvlab/results"
	"github.com/kvlab/kvlab/scenarios"
)

// Config is one load run.
type Config struct {
	Target      Target
	Connections int
	Pipeline    int
	// Threads is the number of workers; connections are spread over them. 0 means min(Connections, 4) in
	// the goroutine mode and min(Connections, 4, max(1, NumCPU/2)) with the event loop, whose workers each
	// keep an OS thread busy (on a 2-core host: one, like redis-benchmark's single event loop, leaving a
	// core to a server on the same host).
	Threads  int
	Rate     float64 // total ops/s; 0 = closed loop
	Duration time.Duration
	Warmup   time.Duration
	Seed     int64
	// SkipPreload skips the scenario's preload phase (the data is already there).
	SkipPreload bool
	// Progress receives a live line every second (nil = quiet).
	Progress io.Writer
	// ProgressTTY makes the progress line rewrite itself in place.
	ProgressTTY bool
	// Cluster treats Target as the seed node of a Redis cluster: the slot map is read with CLUSTER SHARDS
	// (or CLUSTER SLOTS), every operation goes to the shard owning its keys' slot, MOVED and ASK
	// redirections are followed, and Connections is the number of connections per shard.
	Cluster bool
	// ReadFromReplicas (with Cluster) sends read-only operations to replicas, on connections that sent
	// READONLY; shards without replicas serve reads from their primary.
	ReadFromReplicas bool
	// IO is how workers drive their connections: IOEventLoop, IOGoroutines or IOAuto (empty: IOAuto).
	IO string
}

// I/O modes of Config.IO.
const (
	// IOAuto picks IOEventLoop where it applies and IOGoroutines elsewhere.
	IOAuto = "auto"
	// IOEventLoop drives each worker's connections from one epoll loop over non-blocking sockets (Linux):
	// a connection sends its next request as soon as its reply is parsed, like redis-benchmark and
	// memtier_benchmark. Not available with TLS, --cluster, or open loop with follow-ups (on_miss, ack).
	IOEventLoop = "eventloop"
	// IOGoroutines uses blocking reads and writes through Go's net package: closed loop, a worker sends a
	// batch on each of its connections, then reads their replies in turn; open loop, a writer and a reader
	// goroutine per connection.
	IOGoroutines = "goroutines"
)

func (c *Config) normalize() error {
	if c.Connections <= 0 {
		c.Connections = 50
	}
	if c.Pipeline <= 0 {
		c.Pipeline = 1
	}
	if c.Threads < 0 {
		c.Threads = 0
	}
	c.Threads = min(c.Threads, c.Connections)
	if c.Duration <= 0 {
		return fmt.Errorf("loadgen: duration must be positive")
	}
	if c.Rate < 0 {
		return fmt.Errorf("loadgen: rate must be >= 0")
	}
	if c.ReadFromReplicas && !c.Cluster {
		return fmt.Errorf("loadgen: --read-from-replicas needs --cluster")
	}
	switch c.IO {
	case "":
		c.IO = IOAuto
	case IOAuto, IOEventLoop, IOGoroutines:
	default:
		return fmt.Errorf("loadgen: --io %q: want auto, eventloop or goroutines", c.IO)
	}
	return nil
}

// ioMode resolves Config.IO for a plan: IOEventLoop or IOGoroutines, or an error when the event loop was
// asked for where it does not apply.
func (c *Config) ioMode(p *plan) (string, error) {
	why := ""
	switch {
	case !eventLoopOS:
		why = "this platform has no epoll"
	case c.Target.TLS != nil:
		why = "TLS connections"
	case c.Cluster:
		why = "--cluster"
	case c.Rate > 0 && p.hasFollowUps():
		why = "open loop with follow-up commands (on_miss, ack)"
	}
	switch {
	case c.IO == IOGoroutines:
		return IOGoroutines, nil
	case why == "":
		return IOEventLoop, nil
	case c.IO == IOEventLoop:
		return "", fmt.Errorf("loadgen: --io eventloop is not available with %s (use --io auto or goroutines)", why)
	}
	return IOGoroutines, nil
}

// hasFollowUps reports whether an operation may send commands after its reply (cache-aside loads, XACK).
func (p *plan) hasFollowUps() bool {
	for _, co := range p.ops {
		if len(co.onMiss) > 0 || co.op.Ack != nil {
			return true
		}
	}
	return false
}

// compiledOp is an operation ready to render.
type compiledOp struct {
	op      *scenarios.Operation
	idx     int
	cmds    []cmdTemplate
	onMiss  []cmdTemplate
	specs   []keySpec // which arguments of each command are keys (cluster routing)
	missKS  []keySpec
	chooser KeyChooser
	pattern []string
	cum     float64
	needVal bool // reply values are inspected (on_miss, ack)
}

type plan struct {
	sc     *scenarios.Scenario
	ops    []*compiledOp
	values map[string]*valueGen
}

func compile(sc *scenarios.Scenario, seed int64) (*plan, error) {
	p := &plan{sc: sc, values: map[string]*valueGen{}}
	names := make([]string, 0, len(sc.Values))
	for n := range sc.Values {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		p.values[n] = newValueGen(sc.Values[n], uint64(seed)+uint64(i)*7919)
	}
	acc := 0.0
	for i, op := range sc.Ops {
		co := &compiledOp{op: op, idx: i}
		for _, c := range op.Commands {
			t, err := compileCommand(c, op, p.values)
			if err != nil {
				return nil, fmt.Errorf("loadgen: operation %s: %w", op.Name, err)
			}
			co.cmds = append(co.cmds, t)
			co.specs = append(co.specs, specFor(c[0]))
		}
		for _, c := range op.OnMiss {
			t, err := compileCommand(c, op, p.values)
			if err != nil {
				return nil, fmt.Errorf("loadgen: operation %s on_miss: %w", op.Name, err)
			}
			co.onMiss = append(co.onMiss, t)
			co.missKS = append(co.missKS, specFor(c[0]))
		}
		if op.Keyspace != "" {
			ks := sc.Keyspaces[op.Keyspace]
			ch, err := NewChooser(op.Distribution, ks.Count)
			if err != nil {
				return nil, err
			}
			co.chooser = ch
			co.pattern = strings.Split(ks.Pattern, "{id}")
		}
		acc += op.Weight / sc.TotalWeig
		co.cum = acc
		co.needVal = len(op.OnMiss) > 0 || op.Ack != nil
		p.ops = append(p.ops, co)
	}
	p.ops[len(p.ops)-1].cum = 1
	return p, nil
}

func (p *plan) pick(r *rand.Rand) *compiledOp {
	x := r.Float64()
	for _, o := range p.ops {
		if x < o.cum {
			return o
		}
	}
	return p.ops[len(p.ops)-1]
}

var (
	argMULTI = []byte("MULTI")
	argEXEC  = []byte("EXEC")
)

// pending is one operation in flight: its rendered request is in the connection's write buffer.
type pending struct {
	op      *compiledOp
	ncmds   int // replies to read (MULTI/QUEUED/EXEC included)
	id      int64
	start   time.Time
	pattern []string
	// req is the rendered request (cluster mode: re-sent on a redirection); off and end locate it in the
	// connection's write buffer while a closed-loop batch is built.
	req      []byte
	off, end int
}

// appendOp renders op into w and returns the number of replies it will produce.
func appendOp(w []byte, co *compiledOp, rc *renderCtx, scratch *renderScratch) ([]byte, int) {
	n := 0
	if co.op.Mode == "multi" {
		w = resp.AppendCommand(w, argMULTI)
		n++
	}
	for _, t := range co.cmds {
		w = scratch.appendCmd(w, t, rc)
		n++
	}
	if co.op.Mode == "multi" {
		w = resp.AppendCommand(w, argEXEC)
		n++
	}
	return w, n
}

// renderScratch holds reusable buffers for rendering commands without allocating.
type renderScratch struct {
	buf  []byte
	idx  [][2]int
	args [][]byte
}

func (s *renderScratch) appendCmd(w []byte, t cmdTemplate, rc *renderCtx) []byte {
	s.buf, s.idx = t.render(rc, s.buf[:0], s.idx[:0])
	s.args = s.args[:0]
	for _, b := range s.idx {
		s.args = append(s.args, s.buf[b[0]:b[1]])
	}
	return resp.AppendCommand(w, s.args...)
}

// recorder accumulates one worker's measurements.
type recorder struct {
	mu       sync.Mutex // guards everything below (readers of open-loop connections record concurrently)
	ops      []*hdrhistogram.Histogram
	errs     []int64
	errByPfx map[string]int64
	secs     []*hdrhistogram.Histogram // per second of the measured phase (2 significant digits)
	secErrs  []int64
	nodes    map[string]*nodeRec // cluster mode: by node address
}

func newRecorder(nops int) *recorder {
	r := &recorder{errByPfx: map[string]int64{}}
	for i := 0; i < nops; i++ {
		r.ops = append(r.ops, results.NewHistogram())
		r.errs = append(r.errs, 0)
	}
	return r
}

// shared state of a run
type run struct {
	cfg          Config
	plan         *plan
	measureStart time.Time
	end          time.Time
	done         atomic.Int64 // ops completed in the measured phase
	completed    atomic.Int64 // ops completed, warm-up included (progress line)
	errors       atomic.Int64
	recs         []*recorder
	fatal        atomic.Pointer[error]
	rt           *router // cluster mode
	interrupted  bool    // the caller's context ended the run before its planned end (cut)
}

func (r *run) record(rec *recorder, opIdx int, start, end time.Time, errPfx string) {
	r.completed.Add(1)
	if end.Before(r.measureStart) {
		return // warm-up
	}
	us := end.Sub(start).Microseconds()
	if us < 1 {
		us = 1
	}
	sec := int(end.Sub(r.measureStart) / time.Second)
	rec.mu.Lock()
	rec.ops[opIdx].RecordValue(us)
	for len(rec.secs) <= sec {
		rec.secs = append(rec.secs, hdrhistogram.New(results.HistMinUS, results.HistMaxUS, 2))
		rec.secErrs = append(rec.secErrs, 0)
	}
	rec.secs[sec].RecordValue(us)
	if errPfx != "" {
		rec.errs[opIdx]++
		rec.errByPfx[errPfx]++
		rec.secErrs[sec]++
	}
	rec.mu.Unlock()
	r.done.Add(1)
	if errPfx != "" {
		r.errors.Add(1)
	}
}

// errPrefix returns the first word of an error reply ("WRONGTYPE", "OOM", "MOVED", "ERR").
func errPrefix(text []byte) string {
	for i, c := range text {
		if c == ' ' {
			return string(text[:i])
		}
	}
	if len(text) == 0 {
		return "ERR"
	}
	return string(text)
}

// Run executes the scenario's setup and preload (unless skipped), then the warm-up and measured phases,
// and returns the measurements as a result (target, server and host fields are left to the caller).
func Run(ctx context.Context, sc *scenarios.Scenario, cfg Config) (*results.Result, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	p, err := compile(sc, cfg.Seed)
	if err != nil {
		return nil, err
	}
	mode, err := cfg.ioMode(p)
	if err != nil {
		return nil, err
	}
	cfg.IO = mode
	if cfg.Threads == 0 {
		cfg.Threads = min(cfg.Connections, 4)
		if mode == IOEventLoop {
			cfg.Threads = min(cfg.Threads, max(1, runtime.NumCPU()/2))
		}
	}
	if cfg.Cluster {
		return runCluster(ctx, p, cfg)
	}
	if err := setup(sc, cfg); err != nil {
		return nil, err
	}
	if !cfg.SkipPreload && len(sc.Preload) > 0 {
		if err := preload(ctx, p, cfg); err != nil {
			return nil, err
		}
	}
	conns := make([]*client, cfg.Connections)
	for i := range conns {
		c, err := dial(cfg.Target)
		if err != nil {
			for _, c := range conns[:i] {
				c.close()
			}
			return nil, err
		}
		conns[i] = c
	}
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	r := &run{cfg: cfg, plan: p}
	start := time.Now()
	r.measureStart = start.Add(cfg.Warmup)
	r.end = r.measureStart.Add(cfg.Duration)
	parent := ctx
	ctx, cancel := context.WithDeadline(ctx, r.end)
	defer cancel()
	var wg sync.WaitGroup
	progressDone := make(chan struct{})
	if cfg.Progress != nil {
		go r.progress(ctx, progressDone)
	} else {
		close(progressDone)
	}
	for w := 0; w < cfg.Threads; w++ {
		rec := newRecorder(len(p.ops))
		r.recs = append(r.recs, rec)
		var mine []*client
		var ids []int
		for i := w; i < len(conns); i += cfg.Threads {
			mine = append(mine, conns[i])
			ids = append(ids, i)
		}
		rng := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(w)+1))
		loop := r.closedLoop
		switch {
		case cfg.Rate > 0 && mode == IOEventLoop:
			loop = r.openEventLoop
		case cfg.Rate > 0:
			loop = r.openLoop
		case mode == IOEventLoop:
			loop = r.eventLoop
		}
		wg.Add(1)
		go func() { defer wg.Done(); loop(ctx, rec, mine, ids, rng) }()
	}
	wg.Wait()
	stopped := time.Now()
	cancel()
	<-progressDone
	if e := r.fatal.Load(); e != nil {
		return nil, *e
	}
	if err := r.cut(parent, stopped); err != nil {
		return nil, err
	}
	return r.result(start)
}

// cut fits the run to an interruption: when the caller's context ended (Ctrl-C) before the planned end,
// the measured phase ends where the workers stopped, so throughput is counted over the time measured, not
// the time planned. It is an error when nothing was measured yet.
func (r *run) cut(parent context.Context, stopped time.Time) error {
	if parent.Err() == nil || !stopped.Before(r.end) {
		return nil
	}
	if !stopped.After(r.measureStart) {
		return fmt.Errorf("loadgen: interrupted during the %s warm-up, before anything was measured: %w",
			r.cfg.Warmup, context.Cause(parent))
	}
	r.end = stopped
	r.interrupted = true
	return nil
}

func (r *run) fail(err error) {
	r.fatal.CompareAndSwap(nil, &err)
}

// closedLoop drives a worker's connections (IOGoroutines): send a batch of Pipeline operations on each,
// then read every reply; latency of an operation runs from its batch's send to its last reply.
func (r *run) closedLoop(ctx context.Context, rec *recorder, conns []*client, ids []int, rng *rand.Rand) {
	var scratch renderScratch
	batches := make([][]pending, len(conns))
	var outcomes []outcome
	rcs := make([]renderCtx, len(conns))
	for i := range rcs {
		rcs[i] = renderCtx{r: rng, conn: ids[i]}
	}
	for ctx.Err() == nil {
		for i, c := range conns {
			now := time.Now() // this connection's batch is sent now, after the previous connections'
			c.wbuf = c.wbuf[:0]
			batches[i] = batches[i][:0]
			rc := &rcs[i]
			rc.nowMS = now.UnixMilli()
			for j := 0; j < r.cfg.Pipeline; j++ {
				co := r.plan.pick(rng)
				r.prepare(rc, co)
				var n int
				c.wbuf, n = appendOp(c.wbuf, co, rc, &scratch)
				batches[i] = append(batches[i], pending{op: co, ncmds: n, id: rc.id, start: now, pattern: rc.pattern})
			}
			if _, err := c.nc.Write(c.wbuf); err != nil {
				if ctx.Err() == nil {
					r.fail(fmt.Errorf("loadgen: write to %s: %w", r.cfg.Target.Addr, err))
				}
				return
			}
		}
		for i, c := range conns {
			// Read every reply of the batch first: follow-up commands (cache-aside loads, XACK) can only be
			// sent once the pipeline is drained, or their replies would interleave with the batch's.
			outs := outcomes[:0]
			for _, pd := range batches[i] {
				var o outcome
				if err := readOp(c, &pd, &o); err != nil {
					if ctx.Err() == nil {
						r.fail(fmt.Errorf("loadgen: read from %s: %w", r.cfg.Target.Addr, err))
					}
					return
				}
				o.end = time.Now()
				outs = append(outs, o)
			}
			r.finishBatch(rec, c, &rcs[i], &scratch, batches[i], outs)
			outcomes = outs
		}
	}
}

// finishBatch completes a closed-loop batch whose replies were all read: it runs the cache-aside loads and
// XACKs the replies call for (synchronously on c, whose pipeline is drained), then records every operation.
func (r *run) finishBatch(rec *recorder, c *client, rc *renderCtx, scratch *renderScratch, batch []pending, outs []outcome) {
	for j, pd := range batch {
		o := &outs[j]
		if o.miss && len(pd.op.onMiss) > 0 {
			rc.id, rc.pattern, rc.ttl = pd.id, pd.pattern, pd.op.op.TTL
			if e := followUp(c, pd.op.onMiss, rc, scratch, nil); e != "" && o.errPfx == "" {
				o.errPfx = e
			}
			o.end = time.Now()
		}
		if len(o.ackIDs) > 0 {
			if e := ack(c, pd.op.op.Ack, o.ackIDs); e != "" && o.errPfx == "" {
				o.errPfx = e
			}
			o.end = time.Now()
		}
		r.record(rec, pd.op.idx, pd.start, o.end, o.errPfx)
	}
}

// outcome is what reading one operation's replies produced.
type outcome struct {
	errPfx string
	miss   bool
	ackIDs []string
	end    time.Time
	// redirect is the text of the first -MOVED, -ASK or -TRYAGAIN reply ("MOVED 3999 10.0.0.2:6379").
	redirect             string
	moved, ask, tryAgain int // redirections and retries followed (cluster mode)
}

func (r *run) prepare(rc *renderCtx, co *compiledOp) {
	if co.chooser != nil {
		rc.id = co.chooser.Next(rc.r)
		rc.pattern = co.pattern
	}
	rc.ttl = co.op.TTL
}

// readOp reads the replies of one operation into o: the first error prefix, whether the first reply was
// a null (a cache miss), the entry IDs an XREADGROUP reply delivered when the operation acks, and the text
// of a cluster redirection.
func readOp(c *client, pd *pending, o *outcome) error {
	for k := 0; k < pd.ncmds; k++ {
		if err := readReply(c, pd, k, o); err != nil {
			return err
		}
	}
	return nil
}

// readReply reads the reply to command k of an operation into o.
func readReply(c *client, pd *pending, k int, o *outcome) error {
	if k == 0 && pd.op != nil && pd.op.needVal {
		v, err := c.rr.Read()
		if err != nil {
			return err
		}
		switch {
		case v.Kind == '-':
			o.errPfx = errPrefix(v.Str)
			o.noteRedirect(v.Str)
		case v.Null || v.Kind == '_':
			o.miss = true
		case pd.op.op.Ack != nil:
			o.ackIDs = streamIDs(v)
		}
		return nil
	}
	kind, text, err := c.rr.Skip()
	if err != nil {
		return err
	}
	if (kind == '-' || kind == '!') && o.errPfx == "" {
		o.errPfx = errPrefix(text)
		o.noteRedirect(text)
	}
	return nil
}

// noteRedirect keeps the text of a -MOVED, -ASK or -TRYAGAIN error.
func (o *outcome) noteRedirect(text []byte) {
	if o.redirect == "" && (hasPrefix(text, "MOVED ") || hasPrefix(text, "ASK ") || hasPrefix(text, "TRYAGAIN")) {
		o.redirect = string(text)
	}
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

// streamIDs extracts entry IDs from an XREAD/XREADGROUP reply (RESP2 array or RESP3 map form).
func streamIDs(v resp.Value) []string {
	var ids []string
	streams := v.Elems
	step := 1
	if v.Kind == '%' {
		step = 2
	}
	for i := 0; i < len(streams); i += step {
		var entries resp.Value
		if step == 2 {
			if i+1 >= len(streams) {
				break
			}
			entries = streams[i+1]
		} else if len(streams[i].Elems) == 2 {
			entries = streams[i].Elems[1]
		}
		for _, e := range entries.Elems {
			if len(e.Elems) > 0 {
				ids = append(ids, string(e.Elems[0].Str))
			}
		}
	}
	return ids
}

// followUp sends commands synchronously after an operation's reply (cache-aside loads) and returns the
// first error prefix.
func followUp(c *client, cmds []cmdTemplate, rc *renderCtx, scratch *renderScratch, _ []string) string {
	c.fbuf = c.fbuf[:0]
	for _, t := range cmds {
		c.fbuf = scratch.appendCmd(c.fbuf, t, rc)
	}
	if _, err := c.nc.Write(c.fbuf); err != nil {
		return "IOERR"
	}
	first := ""
	for range cmds {
		kind, text, err := c.rr.Skip()
		if err != nil {
			return "IOERR"
		}
		if (kind == '-' || kind == '!') && first == "" {
			first = errPrefix(text)
		}
	}
	return first
}

func ack(c *client, a *scenarios.AckSpec, ids []string) string {
	args := append([]string{"XACK", a.Stream, a.Group}, ids...)
	v, err := c.do(args...)
	if err != nil {
		return "IOERR"
	}
	if v.Kind == '-' {
		return errPrefix(v.Str)
	}
	return ""
}

// openLoop schedules operations at a fixed rate per connection. A writer goroutine sends each operation at
// its intended time (never waiting for earlier replies, up to Pipeline in flight); a reader records latency
// from the intended time, so a stalled server shows up in the latencies instead of silently lowering the rate.
func (r *run) openLoop(ctx context.Context, rec *recorder, conns []*client, ids []int, rng *rand.Rand) {
	var wg sync.WaitGroup
	perConn := r.cfg.Rate / float64(r.cfg.Connections)
	interval := time.Duration(float64(time.Second) / perConn)
	for i, c := range conns {
		seed := rng.Uint64()
		wg.Add(1)
		go func(c *client, connID int) {
			defer wg.Done()
			crng := rand.New(rand.NewPCG(seed, uint64(connID)))
			inflight := make(chan pending, r.cfg.Pipeline)
			readerDone := make(chan struct{})
			aux, auxErr := (*client)(nil), error(nil)
			go func() {
				defer close(readerDone)
				var scratch renderScratch
				rc := renderCtx{r: rand.New(rand.NewPCG(seed+1, uint64(connID))), conn: connID}
				for pd := range inflight {
					var o outcome
					err := readOp(c, &pd, &o)
					errPfx, miss, ackIDs := o.errPfx, o.miss, o.ackIDs
					if err != nil {
						if ctx.Err() == nil {
							r.fail(fmt.Errorf("loadgen: read from %s: %w", r.cfg.Target.Addr, err))
						}
						for range inflight {
						}
						return
					}
					if (miss && len(pd.op.onMiss) > 0) || len(ackIDs) > 0 {
						if aux == nil && auxErr == nil {
							aux, auxErr = dial(r.cfg.Target)
						}
						if aux != nil {
							rc.id, rc.pattern, rc.ttl, rc.nowMS = pd.id, pd.pattern, pd.op.op.TTL, time.Now().UnixMilli()
							if miss {
								if e := followUp(aux, pd.op.onMiss, &rc, &scratch, nil); e != "" && errPfx == "" {
									errPfx = e
								}
							} else if e := ack(aux, pd.op.op.Ack, ackIDs); e != "" && errPfx == "" {
								errPfx = e
							}
						}
					}
					r.record(rec, pd.op.idx, pd.start, time.Now(), errPfx)
				}
				if aux != nil {
					aux.close()
				}
			}()
			var scratch renderScratch
			rc := renderCtx{r: crng, conn: connID}
			// Stagger connections so their schedules interleave evenly.
			next := time.Now().Add(time.Duration(crng.Int64N(int64(interval) + 1)))
			for ctx.Err() == nil {
				if !sleepUntil(ctx, next) {
					break
				}
				co := r.plan.pick(crng)
				r.prepare(&rc, co)
				rc.nowMS = next.UnixMilli()
				var n int
				c.wbuf, n = appendOp(c.wbuf[:0], co, &rc, &scratch)
				pd := pending{op: co, ncmds: n, id: rc.id, start: next, pattern: rc.pattern}
				select {
				case inflight <- pd: // blocks while Pipeline operations are in flight
				case <-ctx.Done():
				}
				if ctx.Err() != nil {
					break
				}
				if _, err := c.nc.Write(c.wbuf); err != nil {
					if ctx.Err() == nil {
						r.fail(fmt.Errorf("loadgen: write to %s: %w", r.cfg.Target.Addr, err))
					}
					break
				}
				next = next.Add(interval)
			}
			close(inflight)
			// Unblock the reader if replies never come.
			c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			<-readerDone
		}(c, ids[i])
	}
	wg.Wait()
}

// progress prints a live line every second.
func (r *run) progress(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	start := time.Now()
	var last int64
	for {
		select {
		case <-ctx.Done():
			if r.cfg.ProgressTTY {
				fmt.Fprintln(r.cfg.Progress)
			}
			return
		case now := <-t.C:
			cur := r.completed.Load()
			phase := "measuring"
			if now.Before(r.measureStart) {
				phase = "warming up"
			}
			p99 := r.lastSecondP99(now)
			line := fmt.Sprintf("  %s %4.0fs  %9.0f ops/s  p99 %-8s errors %d", phase, now.Sub(start).Seconds(),
				float64(cur-last), results.FormatUS(p99), r.errors.Load())
			last = cur
			if r.cfg.ProgressTTY {
				fmt.Fprintf(r.cfg.Progress, "\r%-78s", line)
			} else {
				fmt.Fprintln(r.cfg.Progress, line)
			}
		}
	}
}

func (r *run) lastSecondP99(now time.Time) float64 {
	sec := int(now.Sub(r.measureStart)/time.Second) - 1
	if sec < 0 {
		return 0
	}
	h := hdrhistogram.New(results.HistMinUS, results.HistMaxUS, 2)
	for _, rec := range r.recs {
		rec.mu.Lock()
		if sec < len(rec.secs) {
			h.Merge(rec.secs[sec])
		}
		rec.mu.Unlock()
	}
	return float64(h.ValueAtPercentile(99))
}

// result merges the workers' recorders.
func (r *run) result(start time.Time) (*results.Result, error) {
	secs := r.end.Sub(r.measureStart).Seconds() // the planned duration unless the run was cut short
	res := &results.Result{
		Start:  r.measureStart,
		End:    r.end,
		Errors: map[string]int64{},
		Config: results.RunConfig{
			Connections: r.cfg.Connections, Pipeline: r.cfg.Pipeline, Threads: r.cfg.Threads, Rate: r.cfg.Rate,
			Duration: r.cfg.Duration.String(), Warmup: r.cfg.Warmup.String(), Seed: r.cfg.Seed,
			OpenLoop: r.cfg.Rate > 0, COCorrected: r.cfg.Rate > 0, IO: r.cfg.IO,
		},
	}
	total := results.NewHistogram()
	var totalErrs int64
	nsec := 0
	for _, rec := range r.recs {
		nsec = max(nsec, len(rec.secs))
	}
	for i, co := range r.plan.ops {
		h := results.NewHistogram()
		var errs int64
		for _, rec := range r.recs {
			h.Merge(rec.ops[i])
			errs += rec.errs[i]
		}
		op := results.OpStats{Name: co.op.Name, Errors: errs, ReadOnly: co.op.ReadOnly}
		if err := results.FillOp(&op, h, secs); err != nil {
			return nil, err
		}
		res.Ops = append(res.Ops, op)
		total.Merge(h)
		totalErrs += errs
	}
	res.Total = results.OpStats{Name: "total", Errors: totalErrs}
	if err := results.FillOp(&res.Total, total, secs); err != nil {
		return nil, err
	}
	for _, rec := range r.recs {
		for k, v := range rec.errByPfx {
			res.Errors[k] += v
		}
	}
	for s := 0; s < nsec && s < int(secs+0.5); s++ {
		h := hdrhistogram.New(results.HistMinUS, results.HistMaxUS, 2)
		var errs int64
		for _, rec := range r.recs {
			if s < len(rec.secs) {
				h.Merge(rec.secs[s])
				errs += rec.secErrs[s]
			}
		}
		res.Timeline = append(res.Timeline, results.TimelinePoint{T: s, OpsPerSec: float64(h.TotalCount()),
			P50US: float64(h.ValueAtPercentile(50)), P99US: float64(h.ValueAtPercentile(99)), Errors: errs})
	}
	if r.interrupted {
		res.Notes = append(res.Notes, fmt.Sprintf("interrupted after %s of the %s measurement: the figures cover the time measured",
			r.end.Sub(r.measureStart).Round(100*time.Millisecond), r.cfg.Duration))
	}
	if r.cfg.Rate > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("open loop at %.0f ops/s: latency is measured from each operation's intended start time (coordinated-omission corrected)", r.cfg.Rate))
	} else {
		res.Notes = append(res.Notes, "closed loop: latency is measured from when each pipelined batch was sent")
	}
	var reads, all float64
	for _, op := range res.Ops {
		all += float64(op.Count)
		if op.ReadOnly {
			reads += float64(op.Count)
		}
	}
	if all > 0 {
		res.Scenario.ReadFraction = reads / all
	}
	// Hot fraction: the keyspace-weighted hot share of the operations that choose keys.
	var hot, w float64
	for _, co := range r.plan.ops {
		if co.chooser != nil {
			hot += co.chooser.HotFraction() * co.op.Weight
			w += co.op.Weight
		}
	}
	if w > 0 {
		res.Scenario.HotKeyFraction = hot / w
	}
	_ = start
	return res, nil
}

// setup runs the scenario's setup commands once; "BUSYGROUP" and similar already-exists errors are fine.
func setup(sc *scenarios.Scenario, cfg Config) error {
	if len(sc.Setup) == 0 {
		return nil
	}
	c, err := dial(cfg.Target)
	if err != nil {
		return err
	}
	defer c.close()
	for _, cmd := range sc.Setup {
		v, err := c.do(cmd...)
		if err != nil {
			return fmt.Errorf("loadgen: setup %v: %w", cmd, err)
		}
		if v.Kind == '-' && !strings.HasPrefix(string(v.Str), "BUSYGROUP") {
			return fmt.Errorf("loadgen: setup %v: %s", cmd, v.Str)
		}
	}
	return nil
}

// ErrPreload reports a preload the server refused.
var ErrPreload = errors.New("loadgen: preload failed")

// sleepUntil waits until t (open loop's schedule) or until ctx ends; it reports whether ctx is still live.
func sleepUntil(ctx context.Context, t time.Time) bool {
	if d := time.Until(t); d > 0 {
		tm := time.NewTimer(d)
		defer tm.Stop()
		select {
		case <-ctx.Done():
		case <-tm.C:
		}
	}
	return ctx.Err() == nil
}
