package loadgen

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvlab/kvlab/resp"
)

// shardInfo is one shard of a cluster: a primary, its replicas and how many slots it owns.
type shardInfo struct {
	primary  string // host:port, the shard's name in the results
	replicas []string
	slots    int
}

// topology is a cluster's slot map as CLUSTER SHARDS or CLUSTER SLOTS reported it.
type topology struct {
	owner  [SlotCount]int16 // shard index per slot; -1 = no owner
	shards []shardInfo
	source string // "CLUSTER SHARDS" or "CLUSTER SLOTS"
}

// shardOf returns the primary address of the shard addr belongs to (addr itself when it is unknown).
func (t *topology) shardOf(addr string) string {
	for _, s := range t.shards {
		if s.primary == addr {
			return addr
		}
		for _, r := range s.replicas {
			if r == addr {
				return s.primary
			}
		}
	}
	return addr
}

// fetchTopology asks a node for the slot map: CLUSTER SHARDS (Redis 7+, Valkey, MemoryDB), falling back to
// CLUSTER SLOTS on servers that do not know it. seedHost replaces empty or unknown ("?") endpoints.
func fetchTopology(c *client, seedHost string, useTLS bool) (*topology, error) {
	v, err := c.do("CLUSTER", "SHARDS")
	if err != nil {
		return nil, err
	}
	if v.Kind != '-' {
		t, err := parseShards(v, seedHost, useTLS)
		if err == nil {
			t.source = "CLUSTER SHARDS"
		}
		return t, err
	}
	if strings.Contains(strings.ToLower(string(v.Str)), "cluster support disabled") {
		return nil, fmt.Errorf("the target is not a cluster (%s): drop --cluster", v.Str)
	}
	v, err = c.do("CLUSTER", "SLOTS")
	if err != nil {
		return nil, err
	}
	if v.Kind == '-' {
		return nil, fmt.Errorf("CLUSTER SLOTS: %s (is the target a cluster? drop --cluster for a single server)", v.Str)
	}
	t, err := parseSlots(v, seedHost)
	if err == nil {
		t.source = "CLUSTER SLOTS"
	}
	return t, err
}

func newTopology() *topology {
	t := &topology{}
	for i := range t.owner {
		t.owner[i] = -1
	}
	return t
}

// shardIndex returns the index of the shard whose primary is addr, adding it when new.
func (t *topology) shardIndex(addr string) int {
	for i, s := range t.shards {
		if s.primary == addr {
			return i
		}
	}
	t.shards = append(t.shards, shardInfo{primary: addr})
	return len(t.shards) - 1
}

func (t *topology) assign(from, to int64, shard int) error {
	if from < 0 || to >= SlotCount || from > to {
		return fmt.Errorf("slot range %d-%d out of bounds", from, to)
	}
	for s := from; s <= to; s++ {
		t.owner[s] = int16(shard)
	}
	t.shards[shard].slots += int(to - from + 1)
	return nil
}

func (t *topology) finish() (*topology, error) {
	if len(t.shards) == 0 {
		return nil, fmt.Errorf("the cluster reports no slots (is it still being created? check CLUSTER INFO)")
	}
	// Canonical order (by primary address), whichever order the server listed the shards in.
	order := make([]int, len(t.shards))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return t.shards[order[a]].primary < t.shards[order[b]].primary })
	newIdx := make([]int16, len(t.shards))
	shards := make([]shardInfo, len(t.shards))
	for n, o := range order {
		newIdx[o] = int16(n)
		shards[n] = t.shards[o]
		sort.Strings(shards[n].replicas)
	}
	for s, o := range t.owner {
		if o >= 0 {
			t.owner[s] = newIdx[o]
		}
	}
	t.shards = shards
	return t, nil
}

func hostPort(host string, port int64, seedHost string) string {
	if host == "" || host == "?" {
		host = seedHost
	}
	return net.JoinHostPort(host, strconv.FormatInt(port, 10))
}

// parseSlots reads CLUSTER SLOTS: [[start, end, [host, port, id, ...], replica..., ], ...].
func parseSlots(v resp.Value, seedHost string) (*topology, error) {
	t := newTopology()
	for _, r := range v.Elems {
		if len(r.Elems) < 3 || len(r.Elems[2].Elems) < 2 {
			return nil, fmt.Errorf("CLUSTER SLOTS: unexpected entry %s", r.String())
		}
		addr := func(n resp.Value) string { return hostPort(string(n.Elems[0].Str), n.Elems[1].Int, seedHost) }
		shard := t.shardIndex(addr(r.Elems[2]))
		if err := t.assign(r.Elems[0].Int, r.Elems[1].Int, shard); err != nil {
			return nil, fmt.Errorf("CLUSTER SLOTS: %w", err)
		}
		for _, rep := range r.Elems[3:] {
			if len(rep.Elems) < 2 {
				continue
			}
			a := addr(rep)
			if !contains(t.shards[shard].replicas, a) {
				t.shards[shard].replicas = append(t.shards[shard].replicas, a)
			}
		}
	}
	return t.finish()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fields turns a RESP2 flat key/value array or a RESP3 map into a lookup.
func fields(v resp.Value) map[string]resp.Value {
	m := map[string]resp.Value{}
	for i := 0; i+1 < len(v.Elems); i += 2 {
		m[strings.ToLower(string(v.Elems[i].Str))] = v.Elems[i+1]
	}
	return m
}

// parseShards reads CLUSTER SHARDS: [{slots: [start, end, ...], nodes: [{ip, endpoint, port, tls-port,
// role, health, ...}, ...]}, ...]. Nodes that are not online are left out.
func parseShards(v resp.Value, seedHost string, useTLS bool) (*topology, error) {
	t := newTopology()
	for _, sv := range v.Elems {
		sh := fields(sv)
		var primary string
		var replicas []string
		for _, nv := range sh["nodes"].Elems {
			n := fields(nv)
			if h, ok := n["health"]; ok && string(h.Str) != "online" {
				continue
			}
			host := string(n["endpoint"].Str)
			if host == "" || host == "?" {
				host = string(n["ip"].Str)
			}
			port := n["port"].Int
			if tp, ok := n["tls-port"]; ok && (useTLS || port == 0) {
				port = tp.Int
			}
			a := hostPort(host, port, seedHost)
			if string(n["role"].Str) == "master" {
				primary = a
			} else {
				replicas = append(replicas, a)
			}
		}
		slots := sh["slots"].Elems
		if primary == "" || len(slots) == 0 {
			continue // a shard without slots (a new, empty primary) or without a reachable primary
		}
		shard := t.shardIndex(primary)
		t.shards[shard].replicas = append(t.shards[shard].replicas, replicas...)
		for i := 0; i+1 < len(slots); i += 2 {
			if err := t.assign(slots[i].Int, slots[i+1].Int, shard); err != nil {
				return nil, fmt.Errorf("CLUSTER SHARDS: %w", err)
			}
		}
	}
	return t.finish()
}

// router holds the current slot map of a cluster run and refreshes it when a MOVED redirection says it is
// stale: asynchronously, at most once per refreshInterval, so a resharding does not turn into a storm of
// CLUSTER SHARDS calls.
type router struct {
	seed       Target
	seedHost   string
	readRep    bool
	topo       atomic.Pointer[topology]
	version    atomic.Int64 // bumped on every installed map
	refreshing atomic.Bool
	last       atomic.Int64 // unix nanos of the last refresh start
	refreshes  atomic.Int64
	wg         sync.WaitGroup
}

// refreshInterval is the shortest time between two slot map refreshes.
const refreshInterval = 100 * time.Millisecond

func newRouter(seed Target, readReplicas bool) (*router, error) {
	host, _, err := net.SplitHostPort(seed.Addr)
	if err != nil {
		return nil, fmt.Errorf("loadgen: cluster seed %q: %w", seed.Addr, err)
	}
	rt := &router{seed: seed, seedHost: host, readRep: readReplicas}
	if err := rt.refresh([]string{seed.Addr}); err != nil {
		return nil, fmt.Errorf("loadgen: cluster topology from %s: %w", seed.Addr, err)
	}
	return rt, nil
}

// nodeTarget is the seed's settings (auth, TLS, database) pointed at addr.
func (rt *router) nodeTarget(addr string) Target {
	t := rt.seed
	t.Addr = addr
	if t.TLS != nil {
		host, _, _ := net.SplitHostPort(addr)
		cfg := t.TLS.Clone()
		if net.ParseIP(host) == nil || net.ParseIP(rt.seedHost) != nil {
			// Verify a node by its own name; nodes announced by IP behind a named seed keep the seed's name.
			cfg.ServerName = host
		}
		t.TLS = cfg
	}
	return t
}

// refresh loads the slot map from the first of addrs that answers.
func (rt *router) refresh(addrs []string) error {
	var errs []string
	for _, a := range addrs {
		c, err := dial(rt.nodeTarget(a))
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		t, err := fetchTopology(c, rt.seedHost, rt.seed.TLS != nil)
		c.close()
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", a, err))
			continue
		}
		rt.topo.Store(t)
		rt.version.Add(1)
		rt.refreshes.Add(1)
		return nil
	}
	return fmt.Errorf("%s", strings.Join(errs, "; "))
}

// requestRefresh schedules an asynchronous refresh unless one runs or ran within refreshInterval.
func (rt *router) requestRefresh() {
	now := time.Now().UnixNano()
	if now-rt.last.Load() < int64(refreshInterval) || !rt.refreshing.CompareAndSwap(false, true) {
		return
	}
	rt.last.Store(now)
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		defer rt.refreshing.Store(false)
		t := rt.topo.Load()
		var addrs []string
		for _, s := range t.shards {
			addrs = append(addrs, s.primary)
		}
		_ = rt.refresh(append(addrs, rt.seed.Addr)) // a failed refresh keeps the old map; MOVED still works
	}()
}

// wait waits for a refresh in progress.
func (rt *router) wait() { rt.wg.Wait() }
