package replication

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"github.com/kvlab/kvlab/resp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvlab/kvlab/engines"
	"github.com/kvlab/kvlab/keyspace"
)

// DefaultBacklogSize is the default --repl-backlog-size (Redis's 1mb).
const DefaultBacklogSize = 1 << 20

// Config configures a node's replication.
type Config struct {
	// BacklogSize is the replication backlog in bytes (0 = DefaultBacklogSize).
	BacklogSize int64
	// MasterUser and MasterAuth authenticate a replica to its primary (AUTH [user] password).
	MasterUser, MasterAuth string
	// TLS, when set, makes a replica connect to its primary with TLS (RootCAs verify the primary; a
	// client certificate is sent when Certificates holds one).
	TLS *tls.Config
	// ReadLog reads a dead primary's log for Promote's catch-up.
	ReadLog LogReader
	// Logf receives operator messages. Nil discards them.
	Logf func(format string, args ...any)
}

// Role is a node's replication role.
type Role int

// Roles.
const (
	RolePrimary Role = iota
	RoleReplica
)

// Node is the replication state of one server, and the engine the server runs on: it wraps the real
// engine (engines.Engine), so every Commit, made under the keyspace lock in execution order, is also
// encoded into the replication stream while the node is a primary with a backlog. As a replica it follows
// a primary over a link (see Follow) and applies the stream to the keyspace and the wrapped engine.
//
// Lock order: Keyspace.Mu, then Node.mu, then a feed's mu.
type Node struct {
	engines.Engine
	ks   *keyspace.Keyspace
	cfg  Config
	logf func(format string, args ...any)

	listenPort atomic.Int64 // announced to a primary with REPLCONF listening-port

	// mu guards the fields below. Role changes also hold Keyspace.Mu, so code under that lock may read
	// role without mu.
	mu        sync.Mutex
	role      Role
	isReplica atomic.Bool // role == RoleReplica, for the command path (read without any lock)
	replid    string
	replid2   string
	secondOff int64 // second_repl_offset (-1 = none)
	bl        backlog
	active    bool // the backlog exists (a replica connected once, or this node is a replica)
	selDB     int  // the database the stream last selected (-1 = none: the next entry SELECTs)
	metaTime  int64
	feeds     map[*Feed]struct{}
	scratch   []byte
	decArgs   [][]byte
	lastPing  time.Time
	// replica side: the followed primary, the link, and the stream position the link resumes from.
	host     string
	port     int
	link     *link
	reploff  int64 // offset of the last byte of the last whole unit applied
	streamDB int   // the database the primary's stream has selected

	streaming atomic.Bool // role primary and backlog active: Commit encodes
	// innerLogs: the wrapped engine records effects itself (wal, tiered), so a replica commits to it
	innerLogs bool

	appliedLSN atomic.Uint64 // last primary LSN applied (replica), or last LSN committed (primary)
	stats      struct {
		syncFull, syncPartialOK, syncPartialErr atomic.Int64
		fullSyncPauseMS, fullSyncKeys           atomic.Int64 // last full sync served: keyspace lock held
		loadMS, loadKeys                        atomic.Int64 // last full sync loaded as a replica
		applyErrors                             atomic.Int64
		promoteCatchup                          atomic.Int64 // records applied from a dead primary's log
	}
	cron   chan struct{} // closed by Close
	cronWG sync.WaitGroup
}

// New wraps an open engine. The node starts as a primary without a backlog: effects are encoded only once a
// replica connects (for the memory engine, effects are recorded only from then on).
func New(e engines.Engine, cfg Config) *Node {
	if cfg.BacklogSize <= 0 {
		cfg.BacklogSize = DefaultBacklogSize
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	n := &Node{Engine: e, ks: e.Keyspace(), cfg: cfg, logf: logf, replid: newReplID(), replid2: zeroID,
		secondOff: -1, selDB: -1, feeds: map[*Feed]struct{}{}, cron: make(chan struct{}),
		innerLogs: e.Keyspace().RecordEffects}
	n.cronWG.Add(1)
	go n.runCron()
	return n
}

const zeroID = "0000000000000000000000000000000000000000"

func newReplID() string {
	var b [20]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// SetListenPort sets the port a replica announces to its primary (the server's own port).
func (n *Node) SetListenPort(p int) { n.listenPort.Store(int64(p)) }

// IsReplica reports whether the node follows a primary.
func (n *Node) IsReplica() bool { return n.isReplica.Load() }

// AppliedLSN returns the last primary LSN this node applied as a replica (from the stream, a full sync or a
// promotion's catch-up), or, on a primary, the last LSN its engine assigned to a replicated write.
func (n *Node) AppliedLSN() uint64 { return n.appliedLSN.Load() }

// Offset returns master_repl_offset: the stream offset a primary has produced, or a replica has applied.
func (n *Node) Offset() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.offsetLocked()
}

func (n *Node) offsetLocked() int64 {
	if n.role == RoleReplica {
		return n.reploff
	}
	return n.bl.end
}

// Commit commits the effects to the wrapped engine and, on a primary with a backlog, appends them to the
// replication stream: a "REPLCONF KVLAB-META <lsn> <time>" entry when the LSN is known or the time changed,
// a SELECT when the database changes, and the effects as commands (wrapped in MULTI/EXEC when there are
// several, so a replica applies a transaction at once). It is called with Keyspace.Mu held.
func (n *Node) Commit(eff *keyspace.Effects, now int64) (uint64, error) {
	lsn, err := n.Engine.Commit(eff, now)
	if err != nil || !n.streaming.Load() {
		return lsn, err
	}
	n.mu.Lock()
	if n.role == RolePrimary && n.active {
		n.encodeLocked(eff, now, lsn)
	}
	n.mu.Unlock()
	return lsn, nil
}

var (
	argMULTI    = []byte("MULTI")
	argEXEC     = []byte("EXEC")
	argSELECT   = []byte("SELECT")
	argREPLCONF = []byte("REPLCONF")
	argMeta     = []byte("KVLAB-META")
)

func (n *Node) encodeLocked(eff *keyspace.Effects, now int64, lsn uint64) {
	b := n.scratch[:0]
	if lsn > 0 || now != n.metaTime {
		var l, t [20]byte
		b = resp.AppendCommand(b, argREPLCONF, argMeta, strconv.AppendUint(l[:0], lsn, 10), strconv.AppendInt(t[:0], now, 10))
		n.metaTime = now
	}
	if lsn > 0 {
		n.appliedLSN.Store(lsn)
	}
	multi := eff.N > 1
	if multi {
		b = resp.AppendCommand(b, argMULTI)
	}
	n.decArgs, _ = keyspace.DecodeEffectsReuse(eff.Buf, n.decArgs, func(db int, args [][]byte) error {
		if db != n.selDB {
			var d [4]byte
			b = resp.AppendCommand(b, argSELECT, strconv.AppendInt(d[:0], int64(db), 10))
			n.selDB = db
		}
		b = resp.AppendCommand(b, args...)
		return nil
	})
	if multi {
		b = resp.AppendCommand(b, argEXEC)
	}
	n.appendStreamLocked(b)
	if cap(b) <= 1<<20 {
		n.scratch = b
	} else {
		n.scratch = nil
	}
}

// appendStreamLocked adds stream bytes to the backlog and to every connected replica's feed (mu held).
func (n *Node) appendStreamLocked(p []byte) {
	n.bl.write(p)
	for f := range n.feeds {
		f.push(p)
	}
}

// activateLocked creates the backlog (mu and Keyspace.Mu held) and makes the server record effects.
func (n *Node) activateLocked() {
	if n.active {
		return
	}
	n.active = true
	n.bl = newBacklog(n.cfg.BacklogSize, n.bl.end)
	n.ks.RecordEffects = true
	n.streaming.Store(n.role == RolePrimary)
}

// runCron pings replicas every 10 seconds through the stream (Redis's repl-ping-replica-period), so
// their master_last_io_seconds_ago stays fresh while the primary is idle.
func (n *Node) runCron() {
	defer n.cronWG.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-n.cron:
			return
		case now := <-t.C:
			n.mu.Lock()
			if n.role == RolePrimary && len(n.feeds) > 0 && now.Sub(n.lastPing) >= 10*time.Second {
				n.appendStreamLocked(resp.AppendCommandStrings(nil, "PING"))
				n.lastPing = now
			}
			n.mu.Unlock()
		}
	}
}

// Close stops the link to a primary and every replica feed, then closes the wrapped engine.
func (n *Node) Close() error {
	n.stopLink()
	n.mu.Lock()
	for f := range n.feeds {
		f.close()
	}
	n.mu.Unlock()
	select {
	case <-n.cron:
	default:
		close(n.cron)
	}
	n.cronWG.Wait()
	return n.Engine.Close()
}

// Stats adds the replication figures of the kvlab section to the engine's.
func (n *Node) Stats() []engines.Stat {
	st := n.Engine.Stats()
	add := func(name string, v any) {
		st = append(st, engines.Stat{Section: "kvlab", Name: name, Value: fmt.Sprint(v)})
	}
	add("kvlab_primary_lsn_applied", n.appliedLSN.Load())
	add("kvlab_repl_fullsync_pause_ms", n.stats.fullSyncPauseMS.Load())
	add("kvlab_repl_fullsync_keys", n.stats.fullSyncKeys.Load())
	add("kvlab_repl_load_ms", n.stats.loadMS.Load())
	add("kvlab_repl_load_keys", n.stats.loadKeys.Load())
	add("kvlab_repl_apply_errors", n.stats.applyErrors.Load())
	add("kvlab_repl_promote_catchup_records", n.stats.promoteCatchup.Load())
	return st
}

// SyncStats returns INFO stats' sync_full, sync_partial_ok and sync_partial_err: the synchronizations this
// node served as a primary (as in Redis, a replica's own synchronizations are not counted).
func (n *Node) SyncStats() (full, partialOK, partialErr int64) {
	return n.stats.syncFull.Load(), n.stats.syncPartialOK.Load(), n.stats.syncPartialErr.Load()
}

// Info writes the fields of INFO replication, in Redis 7's order.
func (n *Node) Info(w func(k string, v any)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := time.Now()
	if n.role == RoleReplica {
		w("role", "slave")
		w("master_host", n.host)
		w("master_port", n.port)
		l := n.link
		status, lastIO, syncing, readOff, downSince := "down", int64(-1), 0, n.reploff, int64(0)
		if l != nil {
			if l.state.Load() == linkConnected {
				status = "up"
			}
			if t := l.lastIO.Load(); t > 0 {
				lastIO = (now.UnixMilli() - t) / 1000
			}
			if l.state.Load() == linkSync {
				syncing = 1
			}
			if r := l.readOff.Load(); r > readOff {
				readOff = r
			}
			if t := l.downSince.Load(); t > 0 {
				downSince = (now.UnixMilli() - t) / 1000
			}
		}
		w("master_link_status", status)
		w("master_last_io_seconds_ago", lastIO)
		w("master_sync_in_progress", syncing)
		w("slave_read_repl_offset", readOff)
		w("slave_repl_offset", n.reploff)
		if status == "down" {
			w("master_link_down_since_seconds", downSince)
		}
		w("slave_priority", 100)
		w("slave_read_only", 1)
		w("replica_announced", 1)
	} else {
		w("role", "master")
	}
	w("connected_slaves", len(n.feeds))
	for i, f := range n.sortedFeeds() {
		lag := int64(0)
		if t := f.lastAck.Load(); t > 0 {
			lag = (now.UnixMilli() - t) / 1000
		}
		w(fmt.Sprintf("slave%d", i), fmt.Sprintf("ip=%s,port=%d,state=%s,offset=%d,lag=%d", f.ip, f.port, f.state(), f.ack.Load(), lag))
	}
	w("master_failover_state", "no-failover")
	w("master_replid", n.replid)
	w("master_replid2", n.replid2)
	w("master_repl_offset", n.offsetLocked())
	w("second_repl_offset", n.secondOff)
	active := 0
	if n.active {
		active = 1
	}
	w("repl_backlog_active", active)
	w("repl_backlog_size", n.cfg.BacklogSize)
	first := int64(0)
	if n.active {
		first = n.bl.first()
	}
	w("repl_backlog_first_byte_offset", first)
	w("repl_backlog_histlen", n.bl.hist)
}

// RoleReply returns the ROLE reply's fields: for a primary "master", offset and one [ip, port, offset]
// per replica; for a replica "slave", host, port, link state and offset.
func (n *Node) RoleReply() (role string, offset int64, replicas [][3]string, host string, port int, state string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.role == RoleReplica {
		state = "connect"
		if n.link != nil {
			state = n.link.stateName()
		}
		return "slave", n.reploff, nil, n.host, n.port, state
	}
	for _, f := range n.sortedFeeds() {
		replicas = append(replicas, [3]string{f.ip, strconv.Itoa(f.port), strconv.FormatInt(f.ack.Load(), 10)})
	}
	return "master", n.bl.end, replicas, "", 0, ""
}

// WaitReplicas blocks until numReplicas replicas acknowledged the stream up to offset, or timeout passes
// (0 = forever), or ctx ends; it returns how many did. It asks the replicas for an acknowledgement first.
func (n *Node) WaitReplicas(ctx context.Context, offset int64, numReplicas int, timeout time.Duration) int {
	count := func() int {
		n.mu.Lock()
		defer n.mu.Unlock()
		c := 0
		for f := range n.feeds {
			if f.ack.Load() >= offset {
				c++
			}
		}
		return c
	}
	if c := count(); c >= numReplicas {
		return c
	}
	n.mu.Lock()
	if n.role == RolePrimary && len(n.feeds) > 0 {
		n.appendStreamLocked(resp.AppendCommandStrings(nil, "REPLCONF", "GETACK", "*"))
	}
	n.mu.Unlock()
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return count()
		case <-deadline:
			return count()
		case <-tick.C:
			if c := count(); c >= numReplicas {
				return c
			}
		}
	}
}

// BacklogBytes returns the memory the backlog holds (INFO memory's mem_replication_backlog).
func (n *Node) BacklogBytes() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return int64(len(n.bl.buf))
}

// MasterAddr returns the followed primary as host:port ("" on a primary).
func (n *Node) MasterAddr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.role != RoleReplica {
		return ""
	}
	return n.host + ":" + strconv.Itoa(n.port)
}

func equalFoldStr(a []byte, s string) bool { return strings.EqualFold(string(a), s) }
