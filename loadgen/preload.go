package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// preloadDepth is how many preload commands each connection keeps in one pipelined batch.
const preloadDepth = 256

// preload runs each preload command once per id of its keyspace, pipelined over a few connections, with
// a progress line. Any error reply stops it: a half-loaded dataset would make the measurements meaningless.
func preload(ctx context.Context, p *plan, cfg Config) error {
	for _, pl := range p.sc.Preload {
		ks := p.sc.Keyspaces[pl.Keyspace]
		tmpl, err := compileCommand(pl.Command, nil, p.values)
		if err != nil {
			return fmt.Errorf("loadgen: preload %s: %w", pl.Keyspace, err)
		}
		pattern := strings.Split(ks.Pattern, "{id}")
		nconn := min(8, max(cfg.Connections, 1))
		var next, done atomic.Int64
		var firstErr atomic.Pointer[error]
		var wg sync.WaitGroup
		stop := make(chan struct{})
		if cfg.Progress != nil {
			go func() {
				t := time.NewTicker(time.Second)
				defer t.Stop()
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						line := fmt.Sprintf("  preload %s: %d/%d keys", pl.Keyspace, done.Load(), ks.Count)
						if cfg.ProgressTTY {
							fmt.Fprintf(cfg.Progress, "\r%-78s", line)
						} else {
							fmt.Fprintln(cfg.Progress, line)
						}
					}
				}
			}()
		}
		for w := 0; w < nconn; w++ {
			c, err := dial(cfg.Target)
			if err != nil {
				close(stop)
				return err
			}
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				defer c.close()
				var scratch renderScratch
				rc := renderCtx{r: rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(1000+w))), pattern: pattern, conn: w}
				for ctx.Err() == nil && firstErr.Load() == nil {
					from := next.Add(preloadDepth) - preloadDepth
					if from >= ks.Count {
						return
					}
					to := min(from+preloadDepth, ks.Count)
					c.wbuf = c.wbuf[:0]
					rc.nowMS = time.Now().UnixMilli()
					for id := from; id < to; id++ {
						rc.id = id
						c.wbuf = scratch.appendCmd(c.wbuf, tmpl, &rc)
					}
					if _, err := c.nc.Write(c.wbuf); err != nil {
						err = fmt.Errorf("%w: write: %v", ErrPreload, err)
						firstErr.CompareAndSwap(nil, &err)
						return
					}
					for id := from; id < to; id++ {
						kind, text, err := c.rr.Skip()
						if err != nil {
							err = fmt.Errorf("%w: read: %v", ErrPreload, err)
							firstErr.CompareAndSwap(nil, &err)
							return
						}
						if kind == '-' {
							err := fmt.Errorf("%w: %s on key id %d: %s", ErrPreload, pl.Command[0], id, text)
							firstErr.CompareAndSwap(nil, &err)
							return
						}
					}
					done.Add(to - from)
				}
			}(w)
		}
		wg.Wait()
		close(stop)
		if cfg.ProgressTTY && cfg.Progress != nil {
			fmt.Fprintln(cfg.Progress)
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
