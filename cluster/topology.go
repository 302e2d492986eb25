package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
)

// Roles of a node.
const (
	RolePrimary = "primary"
	RoleReplica = "replica"
)

// Range is an inclusive range of hash slots.
type Range struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// Node is one server of the cluster.
type Node struct {
	// ID is the node's 40-hex-character name (CLUSTER MYID).
	ID string `json:"id"`
	// Shard is the shard's 40-hex-character id (CLUSTER MYSHARDID); a primary and its replicas share it.
	Shard string `json:"shard"`
	Host  string `json:"host"`
	Port  int    `json:"port"`
	// TLS reports whether Port serves TLS (clients then see it as tls-port in CLUSTER SHARDS).
	TLS  bool   `json:"tls,omitempty"`
	Role string `json:"role"`
	// PrimaryID is the primary a replica follows ("" for a primary).
	PrimaryID string `json:"primary_id,omitempty"`
	// Slots are the ranges a primary serves (none for a replica).
	Slots []Range `json:"slots,omitempty"`
	// Dir is the node's data directory; a promoted replica replays a dead primary's log from it.
	Dir string `json:"dir,omitempty"`
	// Failed marks a node found dead by a failover; it serves nothing until it rejoins.
	Failed bool `json:"failed,omitempty"`
	// Epoch is the config epoch of the node's last change of role or slots.
	Epoch uint64 `json:"epoch"`
}

// Addr is the node's host:port.
func (n *Node) Addr() string { return net.JoinHostPort(n.Host, strconv.Itoa(n.Port)) }

// Topology is the whole cluster.
type Topology struct {
	// Epoch grows with every change (the cluster's current epoch).
	Epoch uint64 `json:"epoch"`
	// Nodes are sorted by port.
	Nodes []Node `json:"nodes"`
}

// NewID returns a random 40-hex-character node or shard id.
func NewID() string {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// Node returns the node with the id, or nil.
func (t *Topology) Node(id string) *Node {
	for i := range t.Nodes {
		if t.Nodes[i].ID == id {
			return &t.Nodes[i]
		}
	}
	return nil
}

// Replicas returns the replicas of the primary with the id.
func (t *Topology) Replicas(id string) []*Node {
	var out []*Node
	for i := range t.Nodes {
		if t.Nodes[i].Role == RoleReplica && t.Nodes[i].PrimaryID == id {
			out = append(out, &t.Nodes[i])
		}
	}
	return out
}

// Primaries returns the primaries in port order.
func (t *Topology) Primaries() []*Node {
	var out []*Node
	for i := range t.Nodes {
		if t.Nodes[i].Role == RolePrimary {
			out = append(out, &t.Nodes[i])
		}
	}
	return out
}

// SlotOwners maps every slot to the index in Nodes of the primary serving it (-1 = unassigned).
func (t *Topology) SlotOwners() []int16 {
	owners := make([]int16, SlotCount)
	for i := range owners {
		owners[i] = -1
	}
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if n.Role != RolePrimary {
			continue
		}
		for _, r := range n.Slots {
			for s := r.Start; s <= r.End && s < SlotCount; s++ {
				owners[s] = int16(i)
			}
		}
	}
	return owners
}

// Validate checks the topology: unique ids and addresses, replicas follow existing primaries, slot ranges
// are in bounds and no slot has two owners.
func (t *Topology) Validate() error {
	ids := map[string]bool{}
	addrs := map[string]bool{}
	var owner [SlotCount]string
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if len(n.ID) != 40 {
			return fmt.Errorf("cluster: node %s: id %q is not 40 hex characters", n.Addr(), n.ID)
		}
		if ids[n.ID] || addrs[n.Addr()] {
			return fmt.Errorf("cluster: node %s (%s) appears twice", n.Addr(), n.ID)
		}
		ids[n.ID], addrs[n.Addr()] = true, true
		switch n.Role {
		case RolePrimary:
			for _, r := range n.Slots {
				if r.Start < 0 || r.End >= SlotCount || r.Start > r.End {
					return fmt.Errorf("cluster: node %s: slot range %d-%d out of 0-%d", n.Addr(), r.Start, r.End, SlotCount-1)
				}
				for s := r.Start; s <= r.End; s++ {
					if owner[s] != "" {
						return fmt.Errorf("cluster: slot %d is served by both %s and %s", s, owner[s], n.Addr())
					}
					owner[s] = n.Addr()
				}
			}
		case RoleReplica:
			if len(n.Slots) > 0 {
				return fmt.Errorf("cluster: replica %s has slots", n.Addr())
			}
		default:
			return fmt.Errorf("cluster: node %s: unknown role %q", n.Addr(), n.Role)
		}
	}
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if n.Role == RoleReplica {
			p := t.Node(n.PrimaryID)
			if p == nil || p.Role != RolePrimary {
				return fmt.Errorf("cluster: replica %s follows %q, which is not a primary of the cluster", n.Addr(), n.PrimaryID)
			}
		}
	}
	return nil
}

// SplitSlots divides the 16384 slots into n contiguous ranges of near-equal size (Redis's own split).
func SplitSlots(n int) []Range {
	out := make([]Range, n)
	start := 0
	for i := range n {
		end := (i+1)*SlotCount/n - 1
		out[i] = Range{start, end}
		start = end + 1
	}
	return out
}

// SlotsOf returns the sorted slot numbers in ranges.
func SlotsOf(ranges []Range) []int {
	var out []int
	for _, r := range ranges {
		for s := r.Start; s <= r.End; s++ {
			out = append(out, s)
		}
	}
	sort.Ints(out)
	return out
}

// RangesOf packs sorted, distinct slot numbers into ranges.
func RangesOf(slots []int) []Range {
	var out []Range
	for _, s := range slots {
		if k := len(out); k > 0 && out[k-1].End == s-1 {
			out[k-1].End = s
			continue
		}
		out = append(out, Range{s, s})
	}
	return out
}

// Load reads a topology file.
func Load(path string) (*Topology, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cluster: read topology: %w", err)
	}
	var t Topology
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("cluster: topology %s is damaged (%v); recreate the cluster with kvlab cluster up", path, err)
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("cluster: topology %s: %w", path, err)
	}
	return &t, nil
}

// Save writes the topology atomically (temporary file, fsync, rename, fsync of the directory).
func Save(path string, t *Topology) error {
	if err := t.Validate(); err != nil {
		return err
	}
	sort.Slice(t.Nodes, func(i, j int) bool { return t.Nodes[i].Port < t.Nodes[j].Port })
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("cluster: encode topology: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("cluster: write topology: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cluster: write topology %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// ErrUnchanged may be returned by an Update function to leave the file as it is.
var ErrUnchanged = errors.New("cluster: topology unchanged")

// Update changes the topology file under an exclusive lock (a sibling .lock file, so concurrent failovers
// serialize): it loads the file, calls fn, bumps the epoch and saves. fn returning ErrUnchanged saves
// nothing and Update returns nil.
func Update(path string, fn func(t *Topology) error) (*Topology, error) {
	lf, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cluster: lock topology: %w", err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return nil, fmt.Errorf("cluster: lock topology: %w", err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
	t, err := Load(path)
	if err != nil {
		return nil, err
	}
	if err := fn(t); err != nil {
		if errors.Is(err, ErrUnchanged) {
			return t, nil
		}
		return nil, err
	}
	t.Epoch++
	if err := Save(path, t); err != nil {
		return nil, err
	}
	return t, nil
}
