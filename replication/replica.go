package replication

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"github.com/kvlab/kvlab/resp"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvlab/kvlab/keyspace"
)

// replTimeout is how long either side of a link waits for the other before giving it up (Redis's
// repl-timeout): the primary pings every 10 s, the replica acknowledges every second.
const replTimeout = 60 * time.Second

// Link states (ROLE's names).
const (
	linkConnect int32 = iota
	linkConnecting
	linkSync
	linkConnected
)

// link is a replica's connection to its primary: one goroutine connects (with backoff), handshakes,
// loads a full sync or continues, then applies the stream until the connection fails, and starts over.
type link struct {
	n          *Node
	host       string
	port       int
	stop       chan struct{}
	done       chan struct{}
	state      atomic.Int32
	lastIO     atomic.Int64 // Unix ms of the last byte from the primary
	readOff    atomic.Int64 // offset of the last byte read (slave_read_repl_offset)
	downSince  atomic.Int64 // Unix ms the link went down (0 while up)
	mu         sync.Mutex   // guards nc
	nc         net.Conn
	ackNow     chan struct{} // cap 1: send an ACK now (REPLCONF GETACK)
	applyErrAt time.Time
}

func (l *link) stateName() string {
	return [...]string{"connect", "connecting", "sync", "connected"}[l.state.Load()]
}

// Follow makes the node a replica of host:port (REPLICAOF host port). Any previous link stops; connected
// replicas of this node are dropped (they resynchronize with it). already reports that the node already
// followed that primary, in which case nothing changes.
func (n *Node) Follow(host string, port int) (already bool) {
	n.mu.Lock()
	if n.role == RoleReplica && n.host == host && n.port == port && n.link != nil {
		n.mu.Unlock()
		return true
	}
	n.mu.Unlock()
	n.stopLink()
	n.ks.Mu.Lock()
	n.mu.Lock()
	if n.role == RolePrimary {
		// Keep the history: a PSYNC from here continues it if the new primary has it (PSYNC2).
		n.reploff = n.bl.end
		n.streamDB = 0 // the new primary's stream selects its database before its first entry
	}
	n.role = RoleReplica
	n.isReplica.Store(true)
	n.streaming.Store(false)
	n.host, n.port = host, port
	for f := range n.feeds {
		f.close()
	}
	l := &link{n: n, host: host, port: port, stop: make(chan struct{}), done: make(chan struct{}), ackNow: make(chan struct{}, 1)}
	l.downSince.Store(time.Now().UnixMilli())
	n.link = l
	n.mu.Unlock()
	n.ks.Mu.Unlock()
	n.logf("replication: following %s:%d", host, port)
	go l.run()
	return false
}

// stopLink stops the link to the primary, if any, and waits for it (no locks held).
func (n *Node) stopLink() {
	n.mu.Lock()
	l := n.link
	n.link = nil
	n.mu.Unlock()
	if l == nil {
		return
	}
	close(l.stop)
	l.mu.Lock()
	if l.nc != nil {
		l.nc.Close()
	}
	l.mu.Unlock()
	<-l.done
}

func (l *link) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

func (l *link) run() {
	defer close(l.done)
	backoff := 100 * time.Millisecond
	for !l.stopped() {
		err := l.session()
		l.state.Store(linkConnect)
		l.downSince.Store(time.Now().UnixMilli())
		if l.stopped() {
			return
		}
		if err != nil {
			l.n.logf("replication: link to primary %s:%d: %v; retrying in %s", l.host, l.port, err, backoff)
		}
		select {
		case <-l.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
		if err == nil {
			backoff = 100 * time.Millisecond
		}
	}
}

// session connects, synchronizes and applies the stream until the connection fails.
func (l *link) session() error {
	n := l.n
	l.state.Store(linkConnecting)
	addr := net.JoinHostPort(l.host, strconv.Itoa(l.port))
	d := net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return fmt.Errorf("connect: %w (is the primary up, and is --replicaof right?)", err)
	}
	if n.cfg.TLS != nil {
		cfg := n.cfg.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = l.host
		}
		tc := tls.Client(nc, cfg)
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return fmt.Errorf("TLS handshake: %w (check --tls-ca, --tls-cert and --tls-key)", err)
		}
		tc.SetDeadline(time.Time{})
		nc = tc
	}
	l.mu.Lock()
	if l.stopped() {
		l.mu.Unlock()
		nc.Close()
		return nil
	}
	l.nc = nc
	l.mu.Unlock()
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 64<<10)
	cmd := func(args ...string) (string, error) {
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		defer nc.SetDeadline(time.Time{})
		if _, err := nc.Write(resp.AppendCommandStrings(nil, args...)); err != nil {
			return "", err
		}
		return readLine(br)
	}
	if r, err := cmd("PING"); err != nil {
		return fmt.Errorf("PING: %w", err)
	} else if strings.HasPrefix(r, "-") && !strings.HasPrefix(r, "-NOAUTH") && !strings.HasPrefix(r, "-NOPERM") {
		return fmt.Errorf("PING: %s", r[1:])
	}
	if n.cfg.MasterAuth != "" {
		args := []string{"AUTH", n.cfg.MasterAuth}
		if n.cfg.MasterUser != "" {
			args = []string{"AUTH", n.cfg.MasterUser, n.cfg.MasterAuth}
		}
		if r, err := cmd(args...); err != nil || !strings.HasPrefix(r, "+") {
			return fmt.Errorf("AUTH: %v%s (check --masteruser and --masterauth)", err, r)
		}
	}
	if r, err := cmd("REPLCONF", "listening-port", strconv.FormatInt(n.listenPort.Load(), 10)); err != nil {
		return fmt.Errorf("REPLCONF listening-port: %w", err)
	} else if strings.HasPrefix(r, "-NOAUTH") || strings.HasPrefix(r, "-NOPERM") {
		return fmt.Errorf("REPLCONF: %s (the primary requires authentication: set --masterauth/--masteruser)", r[1:])
	}
	if _, err := cmd("REPLCONF", "capa", "eof", "capa", "psync2"); err != nil {
		return fmt.Errorf("REPLCONF capa: %w", err)
	}
	n.mu.Lock()
	replid, off := n.replid, n.reploff+1
	psync := []string{"PSYNC", replid, strconv.FormatInt(off, 10)}
	if n.reploff == 0 && !n.active {
		psync = []string{"PSYNC", "?", "-1"}
	}
	n.mu.Unlock()
	r, err := cmd(psync...)
	if err != nil {
		return fmt.Errorf("PSYNC: %w", err)
	}
	l.lastIO.Store(time.Now().UnixMilli())
	switch {
	case strings.HasPrefix(r, "+FULLRESYNC "):
		f := strings.Fields(r)
		if len(f) != 3 {
			return fmt.Errorf("PSYNC: bad reply %q", r)
		}
		moff, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return fmt.Errorf("PSYNC: bad offset in %q", r)
		}
		l.state.Store(linkSync)
		if err := l.loadFullSync(br, f[1], moff); err != nil {
			return err
		}
	case strings.HasPrefix(r, "+CONTINUE"):
		newID := strings.TrimSpace(strings.TrimPrefix(r, "+CONTINUE"))
		n.ks.Mu.Lock()
		n.mu.Lock()
		if newID != "" && newID != n.replid {
			// The primary's history has a new ID (it was promoted): ours becomes the second one.
			n.replid2, n.secondOff = n.replid, n.reploff+1
			n.replid = newID
		}
		n.mu.Unlock()
		n.ks.Mu.Unlock()
		n.logf("replication: partial resynchronization with %s:%d from offset %d", l.host, l.port, off)
	default:
		return fmt.Errorf("PSYNC: %s", strings.TrimPrefix(r, "-"))
	}
	l.state.Store(linkConnected)
	l.downSince.Store(0)
	n.logf("replication: link with primary %s:%d is up", l.host, l.port)
	ackStop := make(chan struct{})
	var ackWG sync.WaitGroup
	ackWG.Add(1)
	go func() { defer ackWG.Done(); l.sendAcks(nc, ackStop) }()
	err = l.applyStream(nc, br)
	close(ackStop)
	ackWG.Wait()
	if l.stopped() {
		return nil
	}
	return err
}

// sendAcks sends REPLCONF ACK <offset> every second, and at once when the primary asks (GETACK).
func (l *link) sendAcks(nc net.Conn, stop chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-stop:
				return
			case <-t.C:
			case <-l.ackNow:
			}
		}
		l.n.mu.Lock()
		off := l.n.reploff
		l.n.mu.Unlock()
		nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := nc.Write(resp.AppendCommandStrings(nil, "REPLCONF", "ACK", strconv.FormatInt(off, 10))); err != nil {
			nc.Close()
			return
		}
	}
}

func readLine(br *bufio.Reader) (string, error) {
	for {
		s, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		s = strings.TrimRight(s, "\r\n")
		if s == "" {
			continue // keepalive newlines before a payload
		}
		return s, nil
	}
}

// loadFullSync reads the $<len> payload and replaces the data set with it, under the keyspace lock (the
// replica answers nobody while it loads), committing the effects to the engine in bounded records.
func (l *link) loadFullSync(br *bufio.Reader, replid string, moff int64) error {
	n := l.n
	line, err := readLine(br)
	if err != nil {
		return fmt.Errorf("full sync: read payload length: %w", err)
	}
	if !strings.HasPrefix(line, "$") {
		return fmt.Errorf("full sync: expected a payload, got %q", clip([]byte(line)))
	}
	size, err := strconv.ParseInt(line[1:], 10, 64)
	if err != nil || size < 0 {
		return fmt.Errorf("full sync: bad payload length %q", line)
	}
	payload := make([]byte, size)
	if _, err := io.ReadFull(br, payload); err != nil {
		return fmt.Errorf("full sync: read %d-byte payload: %w", size, err)
	}
	l.lastIO.Store(time.Now().UnixMilli())
	if err := n.loadPayload(payload, replid, moff); err != nil {
		return err
	}
	l.readOff.Store(moff)
	return nil
}

// loadPayload replaces the data set with a full sync payload taken at stream offset moff of history
// replid. It holds the keyspace lock throughout (the replica answers nobody while it loads) and commits
// the effects to the engine in records of about 1 MB.
func (n *Node) loadPayload(payload []byte, replid string, moff int64) error {
	start := time.Now()
	var eff keyspace.Effects
	db, keys := 0, 0
	now := keyspace.Now()
	var lsn uint64
	ks := n.ks
	ks.Mu.Lock()
	defer ks.Mu.Unlock()
	rp := ks.NewReplayer()
	applyErrs := 0
	commit := func() error {
		if eff.N == 0 {
			return nil
		}
		if _, err := n.Engine.Commit(&eff, now); err != nil {
			return fmt.Errorf("full sync: commit to the engine: %w", err)
		}
		eff.Reset()
		return nil
	}
	var args [][]byte
	for p := 0; p < len(payload); {
		var used int
		var err error
		args, used, err = parseCommand(payload[p:], args)
		if err != nil {
			return fmt.Errorf("full sync: payload offset %d: %w", p, err)
		}
		p += used
		switch {
		case equalFoldStr(args[0], "replconf") && len(args) == 4 && equalFoldStr(args[1], "kvlab-meta"):
			lsn, _ = strconv.ParseUint(string(args[2]), 10, 64)
			now, _ = strconv.ParseInt(string(args[3]), 10, 64)
		case equalFoldStr(args[0], "select") && len(args) == 2:
			db, _ = strconv.Atoi(string(args[1]))
			if db < 0 || db >= keyspace.NumDBs {
				return fmt.Errorf("full sync: bad database %q", args[1])
			}
		default:
			if equalFoldStr(args[0], "restore") {
				keys++
			}
			if err := rp.Apply(db, args, now); err != nil {
				n.stats.applyErrors.Add(1)
				if applyErrs++; applyErrs <= 3 {
					n.logf("replication: full sync: %v", err)
				}
			}
			if n.innerLogs {
				eff.Add(db, args...)
				if len(eff.Buf) >= 1<<20 {
					if err := commit(); err != nil {
						return err
					}
				}
			}
		}
	}
	if err := commit(); err != nil {
		return err
	}
	n.mu.Lock()
	for f := range n.feeds {
		f.close() // sub-replicas followed the old data set
	}
	n.replid, n.replid2, n.secondOff = replid, zeroID, -1
	n.reploff = moff
	n.streamDB = db // the payload ends with the database the stream has selected
	n.active = true
	n.bl = newBacklog(n.cfg.BacklogSize, moff)
	ks.RecordEffects = true
	n.mu.Unlock()
	n.appliedLSN.Store(lsn)
	n.stats.loadMS.Store(time.Since(start).Milliseconds())
	n.stats.loadKeys.Store(int64(keys))
	n.logf("replication: full sync loaded: %d keys in %s, offset %d, primary LSN %d",
		keys, time.Since(start).Round(time.Millisecond), moff, lsn)
	return nil
}

// unit is what the replica applies at once: a command, or a MULTI/EXEC block.
type streamCmd struct {
	args [][]byte
	raw  []byte
}

// applyStream reads the live stream and applies it: every command already received is parsed in place
// (no copy, no allocation per command) and applied under one acquisition of the keyspace lock.
func (l *link) applyStream(nc net.Conn, br *bufio.Reader) error {
	buf := make([]byte, 256<<10)
	r, w := 0, 0
	var batch []streamCmd
	var arena [][]byte
	st := &applyState{rp: l.n.ks.NewReplayer()}
	for {
		if r > 0 && r == w {
			r, w = 0, 0
		}
		if w == len(buf) {
			if r > 0 {
				w = copy(buf, buf[r:w])
				r = 0
			} else {
				buf = append(buf, make([]byte, len(buf))...) // one command larger than the buffer
			}
		}
		// The primary pings every 10 s: a minute of silence means it is gone (Redis's repl-timeout).
		nc.SetReadDeadline(time.Now().Add(replTimeout))
		m, err := br.Read(buf[w:])
		if m == 0 && err != nil {
			return fmt.Errorf("stream: %w", err)
		}
		w += m
		l.lastIO.Store(time.Now().UnixMilli())
		batch, arena = batch[:0], arena[:0]
		for r < w {
			args, used, err := parseCommand(buf[r:w], arena[len(arena):])
			if err == io.ErrUnexpectedEOF {
				break
			}
			if err != nil {
				l.applyBatch(batch, st)
				return fmt.Errorf("stream: %w", err)
			}
			// args was built in arena's spare capacity when it fitted (then this copies it onto itself).
			arena = append(arena, args...)
			args = arena[len(arena)-len(args):]
			batch = append(batch, streamCmd{args: args, raw: buf[r : r+used]})
			r += used
			l.readOff.Add(int64(used))
		}
		if len(batch) > 0 {
			l.applyBatch(batch, st)
		}
	}
}

// applyState is the stream position inside a unit not yet complete.
type applyState struct {
	pending  []byte // raw bytes of the unit so far
	metaLSN  uint64
	metaTime int64
	meta     bool
	inMulti  bool
	eff      keyspace.Effects
	rp       *keyspace.Replayer
	db       int // database of the single command in args (when eff is not used)
	args     [][]byte
}

func (l *link) applyBatch(batch []streamCmd, st *applyState) {
	n := l.n
	ks := n.ks
	ks.Mu.Lock()
	defer ks.Mu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range batch {
		st.pending = append(st.pending, c.raw...)
		args := c.args
		complete := true
		switch {
		case equalFoldStr(args[0], "select") && len(args) == 2:
			if db, err := strconv.Atoi(string(args[1])); err == nil && db >= 0 && db < keyspace.NumDBs {
				n.streamDB = db
			}
			complete = !st.inMulti && !st.meta
		case equalFoldStr(args[0], "ping"):
			complete = !st.inMulti && !st.meta
		case equalFoldStr(args[0], "replconf"):
			if len(args) == 4 && equalFoldStr(args[1], "kvlab-meta") {
				st.metaLSN, _ = strconv.ParseUint(string(args[2]), 10, 64)
				st.metaTime, _ = strconv.ParseInt(string(args[3]), 10, 64)
				st.meta = true
				complete = false
			} else {
				if len(args) >= 2 && equalFoldStr(args[1], "getack") {
					select {
					case l.ackNow <- struct{}{}:
					default:
					}
				}
				complete = !st.inMulti && !st.meta
			}
		case equalFoldStr(args[0], "multi"):
			st.inMulti = true
			st.eff.Reset()
			complete = false
		case equalFoldStr(args[0], "exec"):
			st.inMulti = false
			l.applyUnit(st)
		default:
			if st.inMulti {
				st.eff.Add(n.streamDB, args...)
				complete = false
			} else {
				st.eff.Reset()
				st.db, st.args = n.streamDB, args
				l.applyUnit(st)
				st.args = nil
			}
		}
		if complete {
			n.reploff += int64(len(st.pending))
			n.appendStreamLocked(st.pending)
			st.pending = st.pending[:0]
		}
	}
	if cap(st.pending) > 4<<20 && len(st.pending) == 0 {
		st.pending = nil
	}
}

// applyUnit applies one unit (Keyspace.Mu and Node.mu held): the single command in st.args, or the
// effects of a MULTI/EXEC block collected in st.eff; and commits it to the engine when the engine logs.
func (l *link) applyUnit(st *applyState) {
	n := l.n
	now := st.metaTime
	if now == 0 {
		now = keyspace.Now()
	}
	var err error
	if st.args != nil {
		err = st.rp.Apply(st.db, st.args, now)
		if n.innerLogs {
			st.eff.Add(st.db, st.args...)
		}
	} else if st.eff.N > 0 {
		err = keyspace.DecodeEffects(st.eff.Buf, func(db int, args [][]byte) error { return st.rp.Apply(db, args, now) })
	}
	if err != nil {
		n.stats.applyErrors.Add(1)
		if time.Since(l.applyErrAt) > time.Second {
			l.applyErrAt = time.Now()
			n.logf("replication: applying the primary's stream: %v (the replica may have diverged; REPLICAOF NO ONE then REPLICAOF again forces a full sync)", err)
		}
	}
	if n.innerLogs && st.eff.N > 0 {
		if _, err := n.Engine.Commit(&st.eff, now); err != nil {
			n.logf("replication: commit to the engine: %v", err)
		}
	}
	if st.meta && st.metaLSN > 0 {
		n.appliedLSN.Store(st.metaLSN)
	}
	st.meta, st.metaLSN = false, 0
	st.eff.Reset()
}

// DropLink closes the connection to the primary, if one is open (CLIENT KILL TYPE master); the link
// reconnects and continues from its offset. It reports whether a connection was closed.
func (n *Node) DropLink() bool {
	n.mu.Lock()
	l := n.link
	n.mu.Unlock()
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.nc == nil || l.state.Load() == linkConnect {
		return false
	}
	l.nc.Close()
	return true
}
