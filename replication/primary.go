package replication

import (
	"errors"
	"fmt"
	"github.com/kvlab/kvlab/resp"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvlab/kvlab/keyspace"
)

// feedHardLimit is the most stream bytes a replica may have pending before it is disconnected (Redis's
// client-output-buffer-limit replica 256mb).
const feedHardLimit = 256 << 20

// Feed is one connected replica as the primary sees it: the bytes still to send (the full sync payload,
// then the live stream, appended under the node's lock in stream order) and what the replica acknowledged.
type Feed struct {
	n    *Node
	ip   string
	port int
	id   int64 // order of arrival

	// pre is written before out: the full sync reply and payload (owned by ServeFeed once registered).
	pre [][]byte

	mu      sync.Mutex
	out     []byte
	closed  bool
	wake    chan struct{} // cap 1
	done    chan struct{} // closed by close
	ack     atomic.Int64  // REPLCONF ACK offset
	lastAck atomic.Int64  // Unix ms of the last ACK
	acked   atomic.Bool
}

var feedIDs atomic.Int64

func (f *Feed) push(p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	if len(f.out)+len(p) > feedHardLimit {
		f.n.logf("replication: replica %s:%d is more than %d MB behind; disconnecting it (it will resynchronize)", f.ip, f.port, feedHardLimit>>20)
		f.closeLocked()
		return
	}
	f.out = append(f.out, p...)
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *Feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closeLocked()
}

func (f *Feed) closeLocked() {
	if !f.closed {
		f.closed = true
		f.out = nil
		close(f.done)
	}
}

func (f *Feed) state() string {
	if f.acked.Load() {
		return "online"
	}
	return "send_bulk"
}

func (n *Node) sortedFeeds() []*Feed {
	fs := make([]*Feed, 0, len(n.feeds))
	for f := range n.feeds {
		fs = append(fs, f)
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].id < fs[j].id })
	return fs
}

// ErrNoMasterLink is PSYNC's reply on a replica whose own link is down (Redis's wording).
var ErrNoMasterLink = errors.New("NOMASTERLINK Can't SYNC while not connected with my master")

// StartSync answers PSYNC replid offset (or SYNC when legacy is set) for a replica at ip, announced port
// port. It must be called with Keyspace.Mu held: the full sync payload is the keyspace at this instant, at
// the stream offset of this instant. It registers the replica's feed, which starts with the reply
// (+FULLRESYNC and the payload, or +CONTINUE and the backlog from the offset); ServeFeed sends it.
func (n *Node) StartSync(replid string, offset int64, legacy bool, ip string, port int) (*Feed, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.role == RoleReplica && (n.link == nil || n.link.state.Load() != linkConnected) {
		return nil, ErrNoMasterLink
	}
	n.activateLocked()
	f := &Feed{n: n, ip: ip, port: port, id: feedIDs.Add(1), wake: make(chan struct{}, 1), done: make(chan struct{})}
	if !legacy && replid != "?" {
		ok := replid == n.replid || (replid == n.replid2 && offset <= n.secondOff)
		if ok {
			if out, held := n.bl.appendFrom([]byte("+CONTINUE "+n.replid+"\r\n"), offset); held {
				n.stats.syncPartialOK.Add(1)
				f.out = out
				n.feeds[f] = struct{}{}
				n.logf("replication: partial resynchronization of replica %s:%d from offset %d (%d bytes of backlog)", ip, port, offset, n.offsetLocked()-offset+1)
				return f, nil
			}
		}
		n.stats.syncPartialErr.Add(1)
		n.logf("replication: replica %s:%d asked to continue %s at offset %d, which the backlog does not hold (ours: %s up to %d, backlog from %d); full resynchronization (a larger --repl-backlog-size survives longer disconnections)",
			ip, port, replid, offset, n.replid, n.offsetLocked(), n.bl.first())
	}
	n.stats.syncFull.Add(1)
	start := time.Now()
	chunks, size, keys, err := n.fullSyncPayload()
	if err != nil {
		return nil, fmt.Errorf("replication: full sync payload: %w", err)
	}
	off := n.offsetLocked()
	var head []byte
	if !legacy {
		head = append(head, "+FULLRESYNC "+n.replid+" "+strconv.FormatInt(off, 10)+"\r\n"...)
	}
	head = append(head, '$')
	head = strconv.AppendInt(head, int64(size), 10)
	head = append(head, '\r', '\n')
	f.pre = append([][]byte{head}, chunks...)
	if n.role == RolePrimary {
		// The replica starts from the payload's state: the next entry must select its database.
		n.selDB = -1
	}
	pause := time.Since(start)
	n.stats.fullSyncPauseMS.Store(pause.Milliseconds())
	n.stats.fullSyncKeys.Store(int64(keys))
	n.feeds[f] = struct{}{}
	n.logf("replication: full resynchronization of replica %s:%d at offset %d: %d keys, %d bytes, keyspace locked for %s",
		ip, port, off, keys, size, pause.Round(time.Microsecond))
	return f, nil
}

// payloadChunk is the size of the buffers a full sync payload is built in (no copying as it grows).
const payloadChunk = 4 << 20

// fullSyncPayload serializes the keyspace as a stream of effects (Keyspace.Mu held): the primary's LSN
// marker, FLUSHALL, then per database SELECT and RESTORE key ttl payload REPLACE ABSTTL for every live key.
// It returns the payload in chunks, its total size and the number of keys.
func (n *Node) fullSyncPayload() (chunks [][]byte, size, keys int, err error) {
	now := keyspace.Now()
	lsn := n.appliedLSN.Load()
	if n.role == RolePrimary && n.ks.TrackLSN && n.ks.NextLSN > 0 {
		lsn = n.ks.NextLSN - 1
	}
	b := make([]byte, 0, payloadChunk)
	next := func() {
		if len(b) >= payloadChunk-64<<10 {
			chunks = append(chunks, b)
			size += len(b)
			b = make([]byte, 0, payloadChunk)
		}
	}
	b = resp.AppendCommandStrings(b, "REPLCONF", "KVLAB-META", strconv.FormatUint(lsn, 10), strconv.FormatInt(now, 10))
	b = resp.AppendCommandStrings(b, "FLUSHALL")
	var dump []byte
	for i := 0; i < keyspace.NumDBs; i++ {
		db := n.ks.DB(i)
		if db.Len() == 0 {
			continue
		}
		b = resp.AppendCommandStrings(b, "SELECT", strconv.Itoa(i))
		db.ForEach(func(key string, o *keyspace.Object) bool {
			if o.ExpireAt != 0 && o.ExpireAt <= now {
				return true
			}
			dump, err = keyspace.AppendDump(dump[:0], db, o)
			if err != nil {
				err = fmt.Errorf("db %d key %q: %w", i, key, err)
				return false
			}
			b = appendRestore(b, key, o.ExpireAt, dump)
			keys++
			next()
			return true
		})
		if err != nil {
			return nil, 0, 0, err
		}
	}
	if n.role == RoleReplica {
		// A replica passes its primary's stream on unchanged, which continues in the database it last
		// selected: the payload leaves the sub-replica there.
		b = resp.AppendCommandStrings(b, "SELECT", strconv.Itoa(n.streamDB))
	}
	chunks = append(chunks, b)
	size += len(b)
	return chunks, size, keys, nil
}

// appendRestore appends RESTORE key ttl dump REPLACE ABSTTL without converting the key.
func appendRestore(b []byte, key string, ttl int64, dump []byte) []byte {
	b = append(b, "*6\r\n$7\r\nRESTORE\r\n$"...)
	b = strconv.AppendInt(b, int64(len(key)), 10)
	b = append(b, '\r', '\n')
	b = append(b, key...)
	var t [20]byte
	ts := strconv.AppendInt(t[:0], ttl, 10)
	b = append(b, "\r\n$"...)
	b = strconv.AppendInt(b, int64(len(ts)), 10)
	b = append(b, '\r', '\n')
	b = append(b, ts...)
	b = append(b, "\r\n$"...)
	b = strconv.AppendInt(b, int64(len(dump)), 10)
	b = append(b, '\r', '\n')
	b = append(b, dump...)
	return append(b, "\r\n$7\r\nREPLACE\r\n$6\r\nABSTTL\r\n"...)
}

var (
	argRESTORE = []byte("RESTORE")
	argREPLACE = []byte("REPLACE")
	argABSTTL  = []byte("ABSTTL")
)

// ServeFeed sends a registered feed to the replica on nc until either side fails or the node closes it;
// readCmd reads the replica's commands (REPLCONF ACK) from the same connection. It is called without locks,
// from the connection's goroutine, and closes nc before returning.
func (n *Node) ServeFeed(f *Feed, nc net.Conn, readCmd func() ([][]byte, error)) {
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer f.close()
		for {
			nc.SetReadDeadline(time.Now().Add(replTimeout)) // the replica acknowledges every second
			args, err := readCmd()
			if err != nil {
				return
			}
			if len(args) >= 3 && equalFoldStr(args[0], "replconf") && equalFoldStr(args[1], "ack") {
				if off, err := strconv.ParseInt(string(args[2]), 10, 64); err == nil {
					f.ack.Store(off)
					f.lastAck.Store(time.Now().UnixMilli())
					f.acked.Store(true)
				}
			}
		}
	}()
	var buf []byte
	for i, p := range f.pre {
		nc.SetWriteDeadline(time.Now().Add(60 * time.Second))
		if _, err := nc.Write(p); err != nil {
			n.logf("replication: replica %s:%d: sending the full sync payload: %v; dropping it (it reconnects and resynchronizes)", f.ip, f.port, err)
			f.close()
			break
		}
		f.pre[i] = nil
	}
	f.pre = nil
	for {
		f.mu.Lock()
		closed := f.closed
		buf, f.out = f.out, buf[:0]
		f.mu.Unlock()
		if closed {
			break
		}
		if len(buf) > 0 {
			nc.SetWriteDeadline(time.Now().Add(60 * time.Second))
			if _, err := nc.Write(buf); err != nil {
				n.logf("replication: replica %s:%d: %v; dropping it (it reconnects and resynchronizes)", f.ip, f.port, err)
				break
			}
			if cap(buf) > 4<<20 {
				buf = nil
			}
			continue
		}
		select {
		case <-f.wake:
		case <-f.done:
		}
	}
	f.close()
	nc.Close()
	<-readDone
	n.mu.Lock()
	delete(n.feeds, f)
	n.mu.Unlock()
}
