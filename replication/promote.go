package replication

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/kvlab/kvlab/keyspace"
)

// LogRecord is one effects record of a log, as a LogReader hands it out.
type LogRecord struct {
	LSN uint64
	// Time is the command time (Unix ms) to replay the effects at.
	Time int64
	// Effects is the keyspace.Effects buffer (valid during the callback only).
	Effects []byte
}

// LogReader reads the log of a dead primary's data directory strictly read-only, calling fn for every
// record with an LSN above after, in order (wal.ReadLog, adapted by the caller: this package does not
// depend on any engine).
type LogReader func(dir string, after uint64, fn func(LogRecord) error) error

var errNoLogReader = errors.New("no log reader configured (the server was built without the wal engine)")

// Promote makes the node a primary (REPLICAOF NO ONE, or a failover by the cluster layer). It stops the
// link to the old primary; when catchupDir is the old primary's wal data directory it then reads that
// log read-only (nothing there is modified; a torn tail is its end) and applies every record with an LSN
// above AppliedLSN, committing each to this node's engine and waiting until they are durable. That is the
// MemoryDB guarantee on failover: a write the old primary acknowledged was durable in its log, so it is
// either already replicated here or in the catch-up. Finally the node takes a new replication ID; the old
// one becomes replid2, valid up to second_repl_offset, so the old primary's other replicas can continue
// with PSYNC. On a catch-up error the node stays a replica, following the same primary again, and the
// error says why.
func (n *Node) Promote(catchupDir string) error {
	n.mu.Lock()
	wasReplica, host, port := n.role == RoleReplica, n.host, n.port
	n.mu.Unlock()
	if !wasReplica {
		if catchupDir != "" {
			return fmt.Errorf("replication: promote: this node is already a primary; a catch-up from %s applies only to a replica of the dead primary", catchupDir)
		}
		return nil
	}
	n.stopLink()
	var entries []LogRecord
	if catchupDir != "" {
		after := n.appliedLSN.Load()
		err := errNoLogReader
		if n.cfg.ReadLog != nil {
			err = n.cfg.ReadLog(catchupDir, after, func(e LogRecord) error {
				e.Effects = append([]byte(nil), e.Effects...)
				entries = append(entries, e)
				return nil
			})
		}
		if err != nil {
			if wasReplica {
				n.Follow(host, port)
			}
			return fmt.Errorf("replication: promote: catch up from the log in %s after primary LSN %d: %w; nothing changed (this node still follows %s:%d)",
				catchupDir, after, err, host, port)
		}
	}
	ks := n.ks
	ks.Mu.Lock()
	n.mu.Lock()
	if n.role == RoleReplica {
		n.replid2, n.secondOff = n.replid, n.reploff+1
		n.replid = newReplID()
		n.role = RolePrimary
		n.isReplica.Store(false)
		n.host, n.port = "", 0
		n.selDB = -1
		n.streaming.Store(n.active)
	}
	replid, replid2, secondOff := n.replid, n.replid2, n.secondOff
	n.mu.Unlock()
	var last uint64
	var applyErr error
	for _, e := range entries {
		var eff keyspace.Effects
		eff.Buf = e.Effects
		keyspace.DecodeEffects(e.Effects, func(int, [][]byte) error { eff.N++; return nil })
		if err := ks.ApplyEffects(e.Effects, e.Time); err != nil && applyErr == nil {
			applyErr = fmt.Errorf("record %d: %w", e.LSN, err)
		}
		lsn, err := n.Commit(&eff, e.Time)
		if err != nil {
			ks.Mu.Unlock()
			return fmt.Errorf("replication: promote: commit catch-up record %d to this node's engine: %w; the node is a primary but the catch-up is incomplete: restart it to recover from its own log", e.LSN, err)
		}
		last = max(last, lsn)
		n.appliedLSN.Store(e.LSN)
	}
	ks.Mu.Unlock()
	n.stats.promoteCatchup.Store(int64(len(entries)))
	if applyErr != nil {
		n.logf("replication: promote: replaying the old primary's log: %v (the data may differ from the old primary's)", applyErr)
	}
	if last > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := n.Engine.Wait(ctx, last); err != nil {
			return fmt.Errorf("replication: promote: the catch-up records are not durable here: %w", err)
		}
	}
	n.logf("replication: promoted to primary (replid %s; previous history %s valid up to offset %s); caught up %d records from %q",
		replid, replid2, strconv.FormatInt(secondOff, 10), len(entries), catchupDir)
	return nil
}
