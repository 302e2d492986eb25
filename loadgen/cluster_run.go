package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/kvlab/kvlab/results"
	"github.com/kvlab/kvlab/scenarios"
)

// nodeRec accumulates one node's share of a worker's measurements (cluster mode).
type nodeRec struct {
	h                    *hdrhistogram.Histogram
	errs                 int64
	moved, ask, tryAgain int64
}

func (rec *recorder) node(addr string) *nodeRec {
	if rec.nodes == nil {
		rec.nodes = map[string]*nodeRec{}
	}
	n := rec.nodes[addr]
	if n == nil {
		n = &nodeRec{h: results.NewHistogram()}
		rec.nodes[addr] = n
	}
	return n
}

// recordCluster records an operation like record, and also under the node that served it (served) and
// the node that redirected it (redirFrom, "" when none).
func (r *run) recordCluster(rec *recorder, opIdx int, served, redirFrom string, start, end time.Time, errPfx string, o *outcome) {
	r.record(rec, opIdx, start, end, errPfx)
	if end.Before(r.measureStart) {
		return
	}
	us := max(end.Sub(start).Microseconds(), 1)
	rec.mu.Lock()
	n := rec.node(served)
	n.h.RecordValue(us)
	if errPfx != "" {
		n.errs++
	}
	if o.moved+o.ask+o.tryAgain > 0 {
		m := rec.node(redirFrom)
		m.moved += int64(o.moved)
		m.ask += int64(o.ask)
		m.tryAgain += int64(o.tryAgain)
	}
	rec.mu.Unlock()
}

// runCluster is Run for a cluster target (cfg.Cluster).
func runCluster(ctx context.Context, p *plan, cfg Config) (*results.Result, error) {
	if err := checkSlots(p); err != nil {
		return nil, err
	}
	rt, err := newRouter(cfg.Target, cfg.ReadFromReplicas)
	if err != nil {
		return nil, err
	}
	defer rt.wait()
	if err := setupCluster(p.sc, rt); err != nil {
		return nil, err
	}
	if !cfg.SkipPreload && len(p.sc.Preload) > 0 {
		if err := preloadCluster(ctx, p, cfg, rt); err != nil {
			return nil, err
		}
	}
	r := &run{cfg: cfg, plan: p, rt: rt}
	lanes := make([]*lane, cfg.Connections)
	defer func() {
		for _, l := range lanes {
			if l != nil {
				l.close()
			}
		}
	}()
	for i := range lanes {
		l := newLane(rt, i)
		lanes[i] = l
		l.sync()
		// Dial every shard up front so connection setup is not measured.
		for si := range l.topo.shards {
			if _, err := l.route(firstSlot(l.topo, si), false); err != nil {
				return nil, err
			}
			if cfg.ReadFromReplicas {
				if _, err := l.route(firstSlot(l.topo, si), true); err != nil {
					return nil, err
				}
			}
		}
	}
	start := time.Now()
	r.measureStart = start.Add(cfg.Warmup)
	r.end = r.measureStart.Add(cfg.Duration)
	parent := ctx
	ctx, cancel := context.WithDeadline(ctx, r.end)
	defer cancel()
	progressDone := make(chan struct{})
	if cfg.Progress != nil {
		go r.progress(ctx, progressDone)
	} else {
		close(progressDone)
	}
	var wg sync.WaitGroup
	for w := 0; w < cfg.Threads; w++ {
		rec := newRecorder(len(p.ops))
		r.recs = append(r.recs, rec)
		var mine []*lane
		for i := w; i < len(lanes); i += cfg.Threads {
			mine = append(mine, lanes[i])
		}
		rng := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(w)+1))
		wg.Add(1)
		if cfg.Rate > 0 {
			go func() { defer wg.Done(); r.clusterOpenLoop(ctx, rec, mine, rng) }()
		} else {
			go func() { defer wg.Done(); r.clusterClosedLoop(ctx, rec, mine, rng) }()
		}
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
	res, err := r.result(start)
	if err != nil {
		return nil, err
	}
	rt.wait()
	if err := r.clusterResult(res); err != nil {
		return nil, err
	}
	return res, nil
}

// firstSlot returns a slot the shard owns.
func firstSlot(t *topology, shard int) int {
	for s, o := range t.owner {
		if int(o) == shard {
			return s
		}
	}
	return 0
}

// clusterResult adds the per-shard figures to res.
func (r *run) clusterResult(res *results.Result) error {
	t := r.rt.topo.Load()
	cs := &results.ClusterStats{TopologySource: t.source, ReadFromReplicas: r.cfg.ReadFromReplicas,
		ConnectionsPerShard: r.cfg.Connections, Refreshes: r.rt.refreshes.Load()}
	type agg struct {
		h                    *hdrhistogram.Histogram
		errs                 int64
		moved, ask, tryAgain int64
	}
	byShard := map[string]*agg{}
	get := func(primary string) *agg {
		a := byShard[primary]
		if a == nil {
			a = &agg{h: results.NewHistogram()}
			byShard[primary] = a
		}
		return a
	}
	for _, s := range t.shards {
		get(s.primary)
	}
	for _, rec := range r.recs {
		for addr, n := range rec.nodes {
			a := get(t.shardOf(addr))
			a.h.Merge(n.h)
			a.errs += n.errs
			a.moved += n.moved
			a.ask += n.ask
			a.tryAgain += n.tryAgain
		}
	}
	names := make([]string, 0, len(byShard))
	for k := range byShard {
		names = append(names, k)
	}
	sort.Strings(names)
	secs := r.cfg.Duration.Seconds()
	for _, name := range names {
		a := byShard[name]
		st := results.OpStats{Name: name}
		if err := results.FillOp(&st, a.h, secs); err != nil {
			return err
		}
		ss := results.ShardStats{Primary: name, Count: st.Count, Errors: a.errs, OpsPerSec: st.OpsPerSec,
			LatencyUS: st.LatencyUS, Histogram: st.Histogram, Moved: a.moved, Ask: a.ask, TryAgain: a.tryAgain}
		for _, s := range t.shards {
			if s.primary == name {
				ss.Replicas, ss.Slots = s.replicas, s.slots
			}
		}
		cs.Moved += a.moved
		cs.Ask += a.ask
		cs.TryAgain += a.tryAgain
		cs.Shards = append(cs.Shards, ss)
	}
	res.Cluster = cs
	res.Target.Cluster = true
	nodes := len(t.shards)
	for _, s := range t.shards {
		if r.cfg.ReadFromReplicas && len(s.replicas) > 0 {
			nodes++ // each lane reads from one replica of the shard
		}
	}
	res.Notes = append(res.Notes, fmt.Sprintf("cluster of %d shards (slot map from %s): config.connections is per shard, %d connections in all",
		len(t.shards), t.source, r.cfg.Connections*nodes))
	return nil
}

// setupCluster runs the scenario's setup commands on the shards owning their keys.
func setupCluster(sc *scenarios.Scenario, rt *router) error {
	if len(sc.Setup) == 0 {
		return nil
	}
	l := newLane(rt, 0)
	defer l.close()
	l.sync()
	for _, cmd := range sc.Setup {
		e, err := l.execCommand(cmd...)
		if err != nil {
			return fmt.Errorf("loadgen: setup %v: %w", cmd, err)
		}
		if e != "" && e != "BUSYGROUP" {
			return fmt.Errorf("loadgen: setup %v: the server answered %s", cmd, e)
		}
	}
	return nil
}

// preloadCluster is preload for a cluster: each of a few lanes renders a window of ids, sends every shard
// its part pipelined, reads the replies in order and follows redirections.
func preloadCluster(ctx context.Context, p *plan, cfg Config, rt *router) error {
	for _, pl := range p.sc.Preload {
		ks := p.sc.Keyspaces[pl.Keyspace]
		tmpl, err := compileCommand(pl.Command, nil, p.values)
		if err != nil {
			return fmt.Errorf("loadgen: preload %s: %w", pl.Keyspace, err)
		}
		cmds, specs := []cmdTemplate{tmpl}, []keySpec{specFor(pl.Command[0])}
		pattern := strings.Split(ks.Pattern, "{id}")
		nconn := min(8, max(cfg.Connections, 1))
		var next, done atomic.Int64
		var firstErr atomic.Pointer[error]
		setErr := func(err error) { firstErr.CompareAndSwap(nil, &err) }
		var wg sync.WaitGroup
		for w := 0; w < nconn; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l := newLane(rt, w)
				defer l.close()
				rc := renderCtx{r: rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(1000+w))), pattern: pattern, conn: w}
				for ctx.Err() == nil && firstErr.Load() == nil {
					from := next.Add(preloadDepth) - preloadDepth
					if from >= ks.Count {
						return
					}
					to := min(from+preloadDepth, ks.Count)
					l.sync()
					l.active = l.active[:0]
					rc.nowMS = time.Now().UnixMilli()
					for id := from; id < to; id++ {
						rc.id = id
						var n, slot int
						var cross *crossSlotError
						l.obuf, n, slot, cross = renderRouted(l.obuf[:0], cmds, specs, false, &rc, &l.scratch)
						if cross != nil {
							setErr(fmt.Errorf("%w: %s", ErrPreload, cross.Error()))
							return
						}
						c, err := l.route(slot, false)
						if err != nil {
							setErr(fmt.Errorf("%w: %v", ErrPreload, err))
							return
						}
						l.add(c, pending{ncmds: n, id: id}, l.obuf)
					}
					for _, c := range l.active {
						if _, err := c.nc.Write(c.wbuf); err != nil {
							setErr(fmt.Errorf("%w: write to %s: %v", ErrPreload, c.addr, err))
							return
						}
					}
					for _, c := range l.active {
						for j := range c.batch {
							pd := &c.batch[j]
							pd.req = c.wbuf[pd.off:pd.end]
							var o outcome
							if err := readOp(c, pd, &o); err != nil {
								setErr(fmt.Errorf("%w: read from %s: %v", ErrPreload, c.addr, err))
								return
							}
							c.outs = append(c.outs, o)
						}
					}
					for _, c := range l.active {
						for j := range c.batch {
							pd, o := &c.batch[j], &c.outs[j]
							if o.redirect != "" {
								if _, err := l.follow(pd, o, c); err != nil {
									setErr(fmt.Errorf("%w: %v", ErrPreload, err))
									return
								}
							}
							if o.errPfx != "" {
								setErr(fmt.Errorf("%w: %s on key id %d: the server answered %s", ErrPreload, pl.Command[0], pd.id, o.errPfx))
								return
							}
						}
						c.batch = c.batch[:0]
					}
					done.Add(to - from)
				}
			}()
		}
		wg.Wait()
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "  preload %s: %d keys over %d shards\n", pl.Keyspace, done.Load(), len(rt.topo.Load().shards))
		}
		if e := firstErr.Load(); e != nil {
			return *e
		}
		if ctx.Err() != nil {
			return fmt.Errorf("loadgen: preload %s interrupted after %d of %d keys, before anything was measured: %w",
				pl.Keyspace, done.Load(), ks.Count, context.Cause(ctx))
		}
	}
	return nil
}
