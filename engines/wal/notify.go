package wal

import (
	"github.com/kvlab/kvlab/engines"
)

// notifier holds the waiters that asked to be told, rather than woken, when their LSN is durable
// (NotifyDurable). The committer hands each published batch's ready waiters to the replier goroutine,
// which calls them while the committer writes and syncs the next batch: one goroutine wake-up per batch
// instead of one per waiting connection.
type notifier struct {
	reqs    []notifyReq
	replies chan []notifyReq // to runReplier
	spare   chan []notifyReq // slices back from runReplier, for reuse
}

type notifyReq struct {
	lsn uint64
	d   engines.Durable
}

// NotifyDurable implements engines.DurableNotifier.
func (e *Engine) NotifyDurable(lsn uint64, d engines.Durable) bool {
	e.nmu.Lock()
	defer e.nmu.Unlock()
	if e.durable.Load() >= lsn || e.failure.Load() != nil || e.nclosed {
		return false
	}
	e.notes.reqs = append(e.notes.reqs, notifyReq{lsn: lsn, d: d})
	return true
}

// notifyDurable hands the waiters whose LSN is now durable to the replier (committer goroutine).
func (e *Engine) notifyDurable() {
	e.nmu.Lock()
	if len(e.notes.reqs) == 0 {
		e.nmu.Unlock()
		return
	}
	durable := e.durable.Load()
	var ready []notifyReq
	select {
	case ready = <-e.notes.spare:
	default:
	}
	keep := e.notes.reqs[:0]
	for _, r := range e.notes.reqs {
		if r.lsn <= durable {
			ready = append(ready, r)
		} else {
			keep = append(keep, r)
		}
	}
	clear(e.notes.reqs[len(keep):])
	e.notes.reqs = keep
	e.nmu.Unlock()
	if len(ready) > 0 {
		e.notes.replies <- ready
	}
}

// notifyFailed tells every waiter that its writes cannot be made durable (err), or that the engine closed.
func (e *Engine) notifyFailed(err error, closing bool) {
	e.nmu.Lock()
	reqs := e.notes.reqs
	e.notes.reqs = nil
	if closing {
		e.nclosed = true
	}
	e.nmu.Unlock()
	for _, r := range reqs {
		r.d.Durable(err)
	}
}

// runReplier calls the waiters the committer found durable.
func (e *Engine) runReplier() {
	defer e.wg.Done()
	for ready := range e.notes.replies {
		for i := range ready {
			ready[i].d.Durable(nil)
		}
		clear(ready)
		select {
		case e.notes.spare <- ready[:0]:
		default:
		}
	}
}
