package wal

import (
	"sync/atomic"
	"time"

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
	// long counts the lists of at least longReplies waiters handed to the replier and not yet answered;
	// answered receives (cap 1) when it drops to zero. The committer waits for them (awaitReplies).
	long     atomic.Int32
	answered chan struct{}
}

// longReplies is the number of waiters from which a batch's replies take long enough to write (a few
// microseconds each) that the connections answered first are back with their next command before the
// last reply goes out. The committer then waits for the replier before it seals the next batch, so those
// commands join it rather than the one after: Redis's event loop gets the same effect by writing every
// reply of an fsync before it reads again. With 50 connections at one command each this nearly doubled
// the records per fdatasync (12 to 20) and cut the server's CPU per write by about 6%; below this
// number of waiters the clients could not be back in time, and waiting only added latency.
const longReplies = 8

// maxReplyWait bounds how long the committer waits for the replier before it seals the next batch anyway.
const maxReplyWait = time.Millisecond

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
		if len(ready) >= longReplies {
			e.notes.long.Add(1)
		}
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
		if len(ready) >= longReplies && e.notes.long.Add(-1) == 0 {
			select {
			case e.notes.answered <- struct{}{}:
			default:
			}
		}
		clear(ready)
		select {
		case e.notes.spare <- ready[:0]:
		default:
		}
	}
}

// awaitReplies waits (committer goroutine), at most maxReplyWait, until the replier has answered every
// long list of waiters it was handed (see longReplies).
func (e *Engine) awaitReplies() {
	if e.notes.long.Load() == 0 {
		return
	}
	if e.log.replyWait == nil {
		e.log.replyWait = time.NewTimer(maxReplyWait)
	} else {
		e.log.replyWait.Reset(maxReplyWait)
	}
	for e.notes.long.Load() > 0 {
		select {
		case <-e.notes.answered:
		case <-e.log.replyWait.C:
			return
		}
	}
	e.log.replyWait.Stop()
}
