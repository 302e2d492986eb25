package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvlab/kvlab/cluster"
	"github.com/kvlab/kvlab/keyspace"
)

// Cluster mode (Config.Extra["cluster-enabled"] = "yes"): the Redis Cluster protocol over a topology file
// (package cluster). Every command with keys is checked before it runs (pre-exec filter, order 30): keys
// in different slots get -CROSSSLOT, a slot served elsewhere -MOVED, a slot being migrated away whose key
// is gone -ASK, a slot being imported is served to clients that sent ASKING. Replicas serve reads to
// connections that sent READONLY. The topology is reloaded whenever its file changes.

// Config.Extra settings of cluster mode.
const (
	// ExtraClusterEnabled turns cluster mode on ("yes").
	ExtraClusterEnabled = "cluster-enabled"
	// ExtraClusterConfig is the topology file (created for a one-node cluster when missing; default
	// DIR/nodes.json).
	ExtraClusterConfig = "cluster-config-file"
	// ExtraClusterNodeID is this node's id in the topology (needed when it lists several nodes).
	ExtraClusterNodeID = "cluster-node-id"
	// ExtraClusterTimeout is how many milliseconds a primary may be unreachable before a replica takes over.
	ExtraClusterTimeout = "cluster-node-timeout"
)

// clusterView is one loaded topology, immutable once published.
type clusterView struct {
	topo   *cluster.Topology
	owners []int16 // slot → index in topo.Nodes of its primary, -1 unassigned
	self   int     // index of this node in topo.Nodes
	// primary is the index of the primary this node replicates (-1 when it is a primary).
	primary int
	mtime   time.Time
	size    int64
}

func (v *clusterView) me() *cluster.Node { return &v.topo.Nodes[v.self] }

// clusterState is a server's cluster mode.
type clusterState struct {
	path    string
	id      string
	timeout time.Duration
	view    atomic.Pointer[clusterView]
	stop    chan struct{}
	wg      sync.WaitGroup

	// migrating and importing map a slot to the node id it is moving to / from (CLUSTER SETSLOT); guarded by
	// the keyspace lock.
	migrating map[int]string
	importing map[int]string

	// promoting is set while this node takes over its primary's slots (they answer -TRYAGAIN until it
	// has caught up).
	promoting atomic.Bool

	// peers forward PUBLISH to the other nodes (cluster_pubsub.go).
	peers peerLinks
}

// connCluster is a connection's cluster state (owned by the connection).
type connCluster struct {
	readonly bool // READONLY: reads of a replica's slots are served here
	asking   bool // ASKING: the next command may use a slot being imported
}

func init() {
	const f, st, ld = keyspace.FlagFast, keyspace.FlagStale, keyspace.FlagLoading
	g := "cluster"
	cat := keyspace.CatSlow
	sub := func(name string, arity int, flags keyspace.Flags, summary, since string, h func(*keyspace.Ctx, *clusterState)) *keyspace.Command {
		return &keyspace.Command{Name: name, Arity: arity, Flags: flags | st, Categories: cat, Group: g, Summary: summary, Since: since, Handler: clusterOnly(h)}
	}
	adm := keyspace.FlagAdmin
	keyspace.Register(
		&keyspace.Command{Name: "cluster", Arity: -2, Categories: cat, Group: g, Summary: "A container for Redis Cluster commands.", Since: "3.0.0",
			Subcommands: map[string]*keyspace.Command{
				"info":            sub("info", 2, 0, "Returns information about the state of a node.", "3.0.0", cmdClusterInfo),
				"myid":            sub("myid", 2, 0, "Returns the ID of a node.", "3.0.0", cmdClusterMyID),
				"myshardid":       sub("myshardid", 2, 0, "Returns the shard ID of a node.", "7.2.0", cmdClusterMyShardID),
				"slots":           sub("slots", 2, ld, "Returns the mapping of cluster slots to nodes.", "3.0.0", cmdClusterSlots),
				"shards":          sub("shards", 2, ld, "Returns the mapping of cluster slots to shards.", "7.0.0", cmdClusterShards),
				"nodes":           sub("nodes", 2, 0, "Returns the cluster configuration for a node.", "3.0.0", cmdClusterNodes),
				"replicas":        sub("replicas", 3, adm, "Lists the replica nodes of a master node.", "5.0.0", cmdClusterReplicas),
				"slaves":          sub("slaves", 3, adm, "Lists the replica nodes of a master node.", "3.0.0", cmdClusterReplicas),
				"keyslot":         sub("keyslot", 3, 0, "Returns the hash slot for a key.", "3.0.0", cmdClusterKeySlot),
				"countkeysinslot": sub("countkeysinslot", 3, 0, "Returns the number of keys in a hash slot.", "3.0.0", cmdClusterCountKeys),
				"getkeysinslot":   sub("getkeysinslot", 4, 0, "Returns the key names in a hash slot.", "3.0.0", cmdClusterGetKeys),
				"setslot":         sub("setslot", -4, adm, "Binds a hash slot to a node.", "3.0.0", cmdClusterSetSlot),
				"failover":        sub("failover", -2, adm, "Forces a replica to perform a manual failover of its master.", "3.0.0", cmdClusterFailover),
				"help":            sub("help", 2, ld, "Returns helpful text about the different subcommands.", "5.0.0", cmdClusterHelp),
			}},
		&keyspace.Command{Name: "readonly", Arity: 1, Flags: f | ld | st, Categories: keyspace.CatConnection, Group: g, Summary: "Enables read-only queries for a connection to a Redis Cluster replica node.", Since: "3.0.0", Handler: clusterOnly(cmdReadonly)},
		&keyspace.Command{Name: "readwrite", Arity: 1, Flags: f | ld | st, Categories: keyspace.CatConnection, Group: g, Summary: "Enables read-write queries for a connection to a Reids Cluster replica node.", Since: "3.0.0", Handler: clusterOnly(cmdReadwrite)},
		&keyspace.Command{Name: "asking", Arity: 1, Flags: f, Categories: keyspace.CatConnection, Group: g, Summary: "Signals that a cluster client is following an -ASK redirect.", Since: "3.0.0", Handler: clusterOnly(cmdAsking)},
	)
	addPreExec(30, clusterRedirect)
	startHooks = append(startHooks, startCluster)
	closeHooks = append(closeHooks, func(s *Server) {
		if s.cl != nil {
			close(s.cl.stop)
			s.cl.wg.Wait()
		}
	})
	resetHooks = append(resetHooks, func(c *conn) { c.cl = connCluster{} })
	infoHooks["cluster"] = append(infoHooks["cluster"], func(s *Server) string {
		if s.cl == nil {
			return "cluster_enabled:0\r\n"
		}
		return "cluster_enabled:1\r\n"
	})
}

// mode is Redis's server mode (INFO redis_mode, HELLO's mode).
func (s *Server) mode() string {
	if s.cl != nil {
		return "cluster"
	}
	return "standalone"
}

// startCluster loads (or creates) the topology and starts watching it.
func startCluster(s *Server) error {
	if s.cfg.Extra[ExtraClusterEnabled] != "yes" {
		return nil
	}
	path := s.cfg.Extra[ExtraClusterConfig]
	if path == "" {
		dir := s.cfg.Dir
		if dir == "" {
			dir = "."
		}
		path = filepath.Join(dir, "nodes.json")
	}
	cl := &clusterState{path: path, id: s.cfg.Extra[ExtraClusterNodeID], stop: make(chan struct{}),
		migrating: map[int]string{}, importing: map[int]string{}, timeout: 5 * time.Second}
	if v := s.cfg.Extra[ExtraClusterTimeout]; v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return fmt.Errorf("server: --cluster-node-timeout %q: want milliseconds > 0", v)
		}
		cl.timeout = time.Duration(ms) * time.Millisecond
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		// A node started alone: a one-shard cluster serving every slot, written down so restarts keep the id.
		host, port, _ := net.SplitHostPort(s.Addr())
		p, _ := strconv.Atoi(port)
		if cl.id == "" {
			cl.id = cluster.NewID()
		}
		t := &cluster.Topology{Epoch: 1, Nodes: []cluster.Node{{ID: cl.id, Shard: cluster.NewID(), Host: host, Port: p,
			TLS: s.cfg.TLS != nil && s.cfg.TLSAddr == "", Role: cluster.RolePrimary, Slots: cluster.SplitSlots(1), Dir: s.cfg.Dir, Epoch: 1}}}
		if err := cluster.Save(path, t); err != nil {
			return fmt.Errorf("server: cluster mode: %w (set --cluster-config-file to a writable path)", err)
		}
		s.Logf("cluster: created %s: this node (%s) serves all %d slots", path, cl.id, cluster.SlotCount)
	}
	if cl.id == "" {
		t, err := cluster.Load(path)
		if err != nil {
			return fmt.Errorf("server: cluster mode: %w", err)
		}
		if len(t.Nodes) != 1 {
			return fmt.Errorf("server: cluster mode: %s lists %d nodes; say which one this is with --cluster-node-id", path, len(t.Nodes))
		}
		cl.id = t.Nodes[0].ID
	}
	if err := cl.reload(s, false); err != nil {
		return fmt.Errorf("server: cluster mode: %w", err)
	}
	s.ks.Mu.Lock()
	s.ks.CountSlots() // COUNTKEYSINSLOT and SETSLOT's checks in O(1)
	s.ks.Mu.Unlock()
	s.cl = cl
	cl.wg.Add(1)
	go cl.watch(s)
	return s.startFailover()
}

// reload reads the topology file when it changed and publishes it.
func (cl *clusterState) reload(s *Server, locked bool) error {
	st, err := os.Stat(cl.path)
	if err != nil {
		return fmt.Errorf("topology %s: %w", cl.path, err)
	}
	old := cl.view.Load()
	if old != nil && st.ModTime().Equal(old.mtime) && st.Size() == old.size {
		return nil
	}
	t, err := cluster.Load(cl.path)
	if err != nil {
		return err
	}
	if old != nil && t.Epoch < old.topo.Epoch {
		return nil
	}
	v := &clusterView{topo: t, owners: t.SlotOwners(), self: -1, primary: -1, mtime: st.ModTime(), size: st.Size()}
	for i := range t.Nodes {
		if t.Nodes[i].ID == cl.id {
			v.self = i
		}
	}
	if v.self < 0 {
		return fmt.Errorf("topology %s has no node %s (check --cluster-node-id)", cl.path, cl.id)
	}
	if me := v.me(); me.Role == cluster.RoleReplica {
		for i := range t.Nodes {
			if t.Nodes[i].ID == me.PrimaryID {
				v.primary = i
			}
		}
	}
	cl.view.Store(v)
	if old != nil {
		// Slots that changed hands end their migration here (the reshard tool rewrites the topology once
		// for all its slots rather than sending CLUSTER SETSLOT NODE per slot).
		if !locked {
			s.ks.Mu.Lock()
		}
		for slot := range cl.migrating {
			if int(v.owners[slot]) != v.self {
				delete(cl.migrating, slot)
			}
		}
		for slot := range cl.importing {
			if int(v.owners[slot]) == v.self {
				delete(cl.importing, slot)
			}
		}
		if !locked {
			s.ks.Mu.Unlock()
		}
		s.Logf("cluster: topology epoch %d loaded (%s)", t.Epoch, v.me().Role)
		if locked {
			go s.clusterRoleChanged(old, v) // it may take the keyspace lock
		} else {
			s.clusterRoleChanged(old, v)
		}
	}
	return nil
}

// watch reloads the topology when its file changes.
func (cl *clusterState) watch(s *Server) {
	defer cl.wg.Done()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr string
	for {
		select {
		case <-cl.stop:
			return
		case <-tick.C:
			if err := cl.reload(s, false); err != nil {
				if err.Error() != lastErr {
					s.Logf("cluster: %v (keeping the topology of epoch %d)", err, cl.view.Load().topo.Epoch)
				}
				lastErr = err.Error()
			} else {
				lastErr = ""
			}
		}
	}
}

const (
	errCrossSlot = "CROSSSLOT Keys in request don't hash to the same slot"
	errTryAgain  = "TRYAGAIN Multiple keys request during rehashing of slot"
	errNoCluster = "ERR This instance has cluster support disabled"
)

// clusterRedirect is the pre-exec filter: it answers commands whose keys this node must not serve.
func clusterRedirect(c *conn, cmd *keyspace.Command, msg string, args [][]byte) (bool, uint64) {
	cl := c.s.cl
	if cl == nil || cmd == nil || msg != "" {
		return false, 0
	}
	asking := c.cl.asking || cmd.Name == "restore-asking"
	if cmd.Name != "asking" {
		c.cl.asking = false
	}
	var ibuf [8]int // key positions, without allocating on the command path
	if cmd.Name == "exec" && c.tx.active {
		// The whole transaction must live in one slot this node serves.
		slot := -1
		for _, q := range c.tx.queue {
			for _, i := range q.cmd.AppendKeyIndexes(ibuf[:0], q.args) {
				sl := cluster.KeySlot(q.args[i])
				if slot >= 0 && sl != slot {
					c.endTx()
					c.w.Error(errCrossSlot)
					return true, 0
				}
				slot = sl
			}
		}
		if slot < 0 {
			return false, 0
		}
		var keys [][]byte // needed only while the slot moves
		if cl.migrating[slot] != "" || cl.importing[slot] != "" {
			for _, q := range c.tx.queue {
				for _, i := range q.cmd.AppendKeyIndexes(ibuf[:0], q.args) {
					keys = append(keys, q.args[i])
				}
			}
		}
		if reply := cl.route(c, cmd, slot, keys, asking); reply != "" {
			c.endTx()
			c.w.Error(reply)
			return true, 0
		}
		return false, 0
	}
	idx := cmd.AppendKeyIndexes(ibuf[:0], args)
	if len(idx) == 0 {
		return false, 0
	}
	slot := cluster.KeySlot(args[idx[0]])
	for _, i := range idx[1:] {
		if cluster.KeySlot(args[i]) != slot {
			c.w.Error(errCrossSlot)
			if c.tx.active {
				c.tx.failed = true
			}
			return true, 0
		}
	}
	var keys [][]byte
	if cl.migrating[slot] != "" || cl.importing[slot] != "" {
		keys = make([][]byte, len(idx))
		for j, i := range idx {
			keys[j] = args[i]
		}
	}
	if reply := cl.route(c, cmd, slot, keys, asking); reply != "" {
		c.w.Error(reply)
		if c.tx.active {
			c.tx.failed = true
		}
		return true, 0
	}
	return false, 0
}

// route decides whether this node serves cmd on slot; it returns the error reply when it does not.
// keys are the command's keys (needed only while the slot migrates).
func (cl *clusterState) route(c *conn, cmd *keyspace.Command, slot int, keys [][]byte, asking bool) string {
	v := cl.view.Load()
	owner := v.owners[slot]
	if owner < 0 {
		return "CLUSTERDOWN Hash slot not served"
	}
	if int(owner) == v.self {
		if cl.promoting.Load() {
			return "TRYAGAIN kvlab: failover in progress, this node is catching up with the old primary's log"
		}
		if to := cl.migrating[slot]; to != "" && cmd.Name != "migrate" { // MIGRATE works on what is here
			// As Redis: keys already moved are asked for on the target (-ASK when none is here); a mix of
			// moved and present keys cannot be served anywhere until the move ends (-TRYAGAIN).
			if missing := missingKeys(c.s.ks.DB(c.db), keys); missing > 0 {
				if missing < len(keys) {
					return errTryAgain
				}
				if n := v.topo.Node(to); n != nil {
					return fmt.Sprintf("ASK %d %s", slot, n.Addr())
				}
			}
		}
		return ""
	}
	if cl.importing[slot] != "" && !asking {
		// The slot may just have been handed over to this node in the topology file: look before sending the
		// client back to the source, whose own reload may already send it here (a redirection loop).
		if err := cl.reload(c.s, true); err == nil {
			if v = cl.view.Load(); int(v.owners[slot]) == v.self {
				return ""
			}
			owner = v.owners[slot]
		}
	}
	if cl.importing[slot] != "" && asking {
		// A client sent here by -ASK: served, unless a multi-key command lacks some of its keys.
		if len(keys) > 1 && missingKeys(c.s.ks.DB(c.db), keys) > 0 {
			return errTryAgain
		}
		return ""
	}
	if v.primary == int(owner) && c.cl.readonly && cmd.Flags&keyspace.FlagWrite == 0 {
		return "" // a replica serving a READONLY client's read
	}
	n := &v.topo.Nodes[owner]
	return fmt.Sprintf("MOVED %d %s", slot, n.Addr())
}

// missingKeys counts the keys db does not hold.
func missingKeys(db *keyspace.DB, keys [][]byte) int {
	n := 0
	for _, k := range keys {
		if db.Peek(k) == nil {
			n++
		}
	}
	return n
}

// clusterOnly adapts the handler of a command that exists only in cluster mode; elsewhere the command
// gets Redis's error.
func clusterOnly(h func(x *keyspace.Ctx, cl *clusterState)) func(*keyspace.Ctx) {
	return func(x *keyspace.Ctx) {
		cl := connOf(x).s.cl
		if cl == nil {
			x.Error(errNoCluster)
			return
		}
		h(x, cl)
	}
}

func cmdReadonly(x *keyspace.Ctx, cl *clusterState) {
	connOf(x).cl.readonly = true
	x.OK()
}

func cmdReadwrite(x *keyspace.Ctx, cl *clusterState) {
	connOf(x).cl.readonly = false
	x.OK()
}

func cmdAsking(x *keyspace.Ctx, cl *clusterState) {
	connOf(x).cl.asking = true
	x.OK()
}

func cmdClusterHelp(x *keyspace.Ctx, cl *clusterState) {
	writeHelp(x, "CLUSTER",
		"COUNTKEYSINSLOT <slot>", "    Return the number of keys in <slot>.",
		"GETKEYSINSLOT <slot> <count>", "    Return key names stored by current node in a slot.",
		"FAILOVER [FORCE|TAKEOVER]", "    Promote current replica node to being a master.",
		"INFO", "    Return information about the cluster.",
		"KEYSLOT <key>", "    Return the hash slot for <key>.",
		"MYID", "    Return the node id.",
		"MYSHARDID", "    Return the node's shard id.",
		"NODES", "    Return cluster configuration seen by node. Output format:",
		"    <id> <ip:port@bus-port[,hostname]> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
		"REPLICAS <node-id>", "    Return <node-id> replicas.",
		"SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)", "    Set slot state.",
		"SHARDS", "    Return information about slot range mappings and the nodes associated with them.",
		"SLOTS", "    Return information about slots range mappings. Each range is made of:",
		"    start, end, master and replicas IP addresses, ports and ids",
		"(kvlab: the topology is managed by `kvlab cluster`; MEET, ADDSLOTS, FORGET and RESET are not provided.)")
}

func cmdClusterInfo(x *keyspace.Ctx, cl *clusterState) {
	v := cl.view.Load()
	assigned, ok, fail := 0, 0, 0
	for _, o := range v.owners {
		if o < 0 {
			continue
		}
		assigned++
		if v.topo.Nodes[o].Failed {
			fail++
		} else {
			ok++
		}
	}
	size := 0
	for _, p := range v.topo.Primaries() {
		if len(p.Slots) > 0 {
			size++
		}
	}
	state := "ok"
	if assigned < cluster.SlotCount || fail > 0 {
		state = "fail"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cluster_state:%s\r\ncluster_slots_assigned:%d\r\ncluster_slots_ok:%d\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:%d\r\n", state, assigned, ok, fail)
	fmt.Fprintf(&b, "cluster_known_nodes:%d\r\ncluster_size:%d\r\ncluster_current_epoch:%d\r\ncluster_my_epoch:%d\r\n", len(v.topo.Nodes), size, v.topo.Epoch, v.me().Epoch)
	b.WriteString("cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\ntotal_cluster_links_buffer_limit_exceeded:0\r\n")
	x.W.Verbatim("txt", b.String())
}

func cmdClusterMyID(x *keyspace.Ctx, cl *clusterState) {
	x.W.BulkString(cl.id)
}

func cmdClusterMyShardID(x *keyspace.Ctx, cl *clusterState) {
	x.W.BulkString(cl.view.Load().me().Shard)
}

// writeNodeEndpoint writes a node as CLUSTER SLOTS does: ip, port, id, networking metadata (empty map).
func writeNodeEndpoint(x *keyspace.Ctx, n *cluster.Node) {
	x.W.Array(4)
	x.W.BulkString(n.Host)
	x.W.Int(int64(n.Port))
	x.W.BulkString(n.ID)
	x.W.Map(0)
}

func cmdClusterSlots(x *keyspace.Ctx, cl *clusterState) {
	v := cl.view.Load()
	type entry struct {
		r cluster.Range
		n *cluster.Node
	}
	var entries []entry
	for _, p := range v.topo.Primaries() {
		for _, r := range p.Slots {
			entries = append(entries, entry{r, p})
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].r.Start < entries[j].r.Start })
	x.W.Array(len(entries))
	for _, e := range entries {
		var reps []*cluster.Node
		for _, r := range v.topo.Replicas(e.n.ID) {
			if !r.Failed {
				reps = append(reps, r)
			}
		}
		x.W.Array(3 + len(reps))
		x.W.Int(int64(e.r.Start))
		x.W.Int(int64(e.r.End))
		writeNodeEndpoint(x, e.n)
		for _, r := range reps {
			writeNodeEndpoint(x, r)
		}
	}
}

func nodeHealth(n *cluster.Node) string {
	if n.Failed {
		return "fail"
	}
	return "online"
}

func cmdClusterShards(x *keyspace.Ctx, cl *clusterState) {
	v := cl.view.Load()
	prims := v.topo.Primaries()
	x.W.Array(len(prims))
	for _, p := range prims {
		x.W.Map(2)
		x.W.BulkString("slots")
		x.W.Array(2 * len(p.Slots))
		for _, r := range p.Slots {
			x.W.Int(int64(r.Start))
			x.W.Int(int64(r.End))
		}
		x.W.BulkString("nodes")
		nodes := append([]*cluster.Node{p}, v.topo.Replicas(p.ID)...)
		x.W.Array(len(nodes))
		for _, n := range nodes {
			x.W.Map(7)
			x.W.BulkString("id")
			x.W.BulkString(n.ID)
			if n.TLS {
				x.W.BulkString("tls-port")
			} else {
				x.W.BulkString("port")
			}
			x.W.Int(int64(n.Port))
			x.W.BulkString("ip")
			x.W.BulkString(n.Host)
			x.W.BulkString("endpoint")
			x.W.BulkString(n.Host)
			x.W.BulkString("role")
			if n.Role == cluster.RolePrimary {
				x.W.BulkString("master")
			} else {
				x.W.BulkString("replica")
			}
			x.W.BulkString("replication-offset")
			off := int64(0)
			if n.ID == cl.id {
				off = connOf(x).s.repl.Offset()
			}
			x.W.Int(off)
			x.W.BulkString("health")
			x.W.BulkString(nodeHealth(n))
		}
	}
}

// nodeLine is a node as CLUSTER NODES lists it.
func nodeLine(v *clusterView, n *cluster.Node) string {
	var flags []string
	if n.ID == v.me().ID {
		flags = append(flags, "myself")
	}
	master := "-"
	if n.Role == cluster.RolePrimary {
		flags = append(flags, "master")
	} else {
		flags = append(flags, "slave")
		master = n.PrimaryID
	}
	link := "connected"
	if n.Failed {
		flags = append(flags, "fail")
		link = "disconnected"
	}
	line := fmt.Sprintf("%s %s:%d@%d %s %s 0 %d %d %s", n.ID, n.Host, n.Port, n.Port+10000, strings.Join(flags, ","), master,
		time.Now().UnixMilli(), n.Epoch, link)
	for _, r := range n.Slots {
		if r.Start == r.End {
			line += " " + strconv.Itoa(r.Start)
		} else {
			line += fmt.Sprintf(" %d-%d", r.Start, r.End)
		}
	}
	return line
}

func (cl *clusterState) migrationsOf(v *clusterView) string {
	var out []string
	for s, to := range cl.migrating {
		out = append(out, fmt.Sprintf(" [%d->-%s]", s, to))
	}
	for s, from := range cl.importing {
		out = append(out, fmt.Sprintf(" [%d-<-%s]", s, from))
	}
	sort.Strings(out)
	return strings.Join(out, "")
}

func cmdClusterNodes(x *keyspace.Ctx, cl *clusterState) {
	v := cl.view.Load()
	var b strings.Builder
	for i := range v.topo.Nodes {
		n := &v.topo.Nodes[i]
		b.WriteString(nodeLine(v, n))
		if i == v.self {
			b.WriteString(cl.migrationsOf(v))
		}
		b.WriteString("\n")
	}
	x.W.Verbatim("txt", b.String())
}

func cmdClusterReplicas(x *keyspace.Ctx, cl *clusterState) {
	v := cl.view.Load()
	n := v.topo.Node(string(x.Args[2]))
	if n == nil {
		x.Error("ERR Unknown node " + string(x.Args[2]))
		return
	}
	if n.Role != cluster.RolePrimary {
		x.Error("ERR The specified node is not a master")
		return
	}
	reps := v.topo.Replicas(n.ID)
	x.W.Array(len(reps))
	for _, r := range reps {
		x.W.BulkString(nodeLine(v, r))
	}
}

func cmdClusterKeySlot(x *keyspace.Ctx, cl *clusterState) {
	x.W.Int(int64(cluster.KeySlot(x.Args[2])))
}

// parseSlot reads a slot number argument; it writes Redis's error and returns -1 when it is not one.
func parseSlot(x *keyspace.Ctx, b []byte) int {
	n, err := keyspace.ParseInt(b)
	if err != nil || n < 0 || n >= cluster.SlotCount {
		x.Error("ERR Invalid or out of range slot")
		return -1
	}
	return int(n)
}

func cmdClusterCountKeys(x *keyspace.Ctx, cl *clusterState) {
	slot, err := keyspace.ParseInt(x.Args[2])
	if err != nil {
		x.Error(keyspace.ErrNotInt)
		return
	}
	if slot < 0 || slot >= cluster.SlotCount {
		x.Error("ERR Invalid slot")
		return
	}
	x.W.Int(int64(x.DB.KeysInSlot(int(slot))))
}

// keysInSlot returns up to max keys of db in slot. The keyspace counts keys per slot but keeps no per-slot
// list, so this walks the database until it has them all: O(keys), for tools (kvlab cluster reshard uses
// one SCAN instead).
func keysInSlot(db *keyspace.DB, slot, max int) []string {
	want := min(max, db.KeysInSlot(slot))
	var keys []string
	if want == 0 {
		return nil
	}
	db.ForEach(func(key string, _ *keyspace.Object) bool {
		if cluster.KeySlotString(key) == slot {
			keys = append(keys, key)
		}
		return len(keys) < want
	})
	return keys
}

func cmdClusterGetKeys(x *keyspace.Ctx, cl *clusterState) {
	slot, err := keyspace.ParseInt(x.Args[2])
	if err != nil {
		x.Error(keyspace.ErrNotInt)
		return
	}
	max, err := keyspace.ParseInt(x.Args[3])
	if err != nil {
		x.Error(keyspace.ErrNotInt)
		return
	}
	if slot < 0 || slot >= cluster.SlotCount || max < 0 {
		x.Error("ERR Invalid slot or number of keys")
		return
	}
	keys := keysInSlot(x.DB, int(slot), int(min(max, 1<<31)))
	x.W.Array(len(keys))
	for _, k := range keys {
		x.W.BulkString(k)
	}
}

// cmdClusterSetSlot is CLUSTER SETSLOT slot IMPORTING id | MIGRATING id | STABLE | NODE id. MIGRATING and
// IMPORTING are this node's state (as in Redis); NODE rewrites the topology file, bumping the epoch, so
// every node learns the new owner.
func cmdClusterSetSlot(x *keyspace.Ctx, cl *clusterState) {
	slot := parseSlot(x, x.Args[2])
	if slot < 0 {
		return
	}
	v := cl.view.Load()
	sub := strings.ToLower(string(x.Args[3]))
	arg := func() *cluster.Node {
		if len(x.Args) != 5 {
			x.Error("ERR syntax error")
			return nil
		}
		n := v.topo.Node(string(x.Args[4]))
		if n == nil {
			x.Error("ERR I don't know about node " + string(x.Args[4]))
		}
		return n
	}
	switch sub {
	case "migrating":
		n := arg()
		if n == nil {
			return
		}
		if int(v.owners[slot]) != v.self {
			x.Error(fmt.Sprintf("ERR I'm not the owner of hash slot %d", slot))
			return
		}
		if n.Role != cluster.RolePrimary || n.ID == cl.id {
			x.Error("ERR Target node is not a master")
			return
		}
		cl.migrating[slot] = n.ID
	case "importing":
		n := arg()
		if n == nil {
			return
		}
		if int(v.owners[slot]) == v.self {
			x.Error(fmt.Sprintf("ERR I'm already the owner of hash slot %d", slot))
			return
		}
		if n.Role != cluster.RolePrimary {
			x.Error("ERR Target node is not a master")
			return
		}
		cl.importing[slot] = n.ID
	case "stable":
		if len(x.Args) != 4 {
			x.Error("ERR syntax error")
			return
		}
		delete(cl.migrating, slot)
		delete(cl.importing, slot)
	case "node":
		n := arg()
		if n == nil {
			return
		}
		if n.Role != cluster.RolePrimary {
			x.Error("ERR Target node is not a master")
			return
		}
		if int(v.owners[slot]) == v.self && n.ID != cl.id {
			// Redis refuses to give away a slot that still holds keys here.
			if x.DB.KeysInSlot(slot) > 0 {
				x.Error(fmt.Sprintf("ERR Can't assign hashslot %d to a different node while I still hold keys for this hash slot.", slot))
				return
			}
		}
		_, err := cluster.Update(cl.path, func(t *cluster.Topology) error {
			if owner := t.SlotOwners()[slot]; owner >= 0 && t.Nodes[owner].ID == n.ID {
				return cluster.ErrUnchanged
			}
			for i := range t.Nodes {
				p := &t.Nodes[i]
				slots := cluster.SlotsOf(p.Slots)
				kept := slots[:0]
				for _, s := range slots {
					if s != slot {
						kept = append(kept, s)
					}
				}
				if p.ID == n.ID {
					kept = append(kept, slot)
					sort.Ints(kept)
					p.Epoch = t.Epoch + 1
				}
				p.Slots = cluster.RangesOf(kept)
			}
			return nil
		})
		if err != nil {
			x.Error("ERR " + err.Error())
			return
		}
		delete(cl.migrating, slot)
		delete(cl.importing, slot)
		if err := cl.reload(connOf(x).s, true); err != nil {
			x.Error("ERR " + err.Error())
			return
		}
	default:
		x.Error("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")
		return
	}
	x.OK()
}

func cmdClusterFailover(x *keyspace.Ctx, cl *clusterState) {
	force := false
	if len(x.Args) > 3 {
		x.Error("ERR syntax error")
		return
	}
	if len(x.Args) == 3 {
		switch strings.ToLower(string(x.Args[2])) {
		case "force", "takeover":
			force = true
		default:
			x.Error("ERR syntax error")
			return
		}
	}
	if cl.view.Load().me().Role != cluster.RoleReplica {
		x.Error("ERR You should send CLUSTER FAILOVER to a replica")
		return
	}
	s := connOf(x).s
	// The promotion waits on the network and the disk: it runs in the background, like Redis's manual failover.
	go func() {
		if err := s.failover(force, false); err != nil {
			s.Logf("cluster: manual failover failed: %v", err)
		}
	}()
	x.OK()
}
