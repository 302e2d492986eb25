package cluster

import (
	"path/filepath"
	"reflect"
	"sync"
	"testing"
)

func TestSplitSlots(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []Range
	}{
		{1, []Range{{0, 16383}}},
		{3, []Range{{0, 5460}, {5461, 10921}, {10922, 16383}}}, // redis-cli --cluster create's split
	} {
		if got := SplitSlots(tc.n); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitSlots(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
	if got := RangesOf(SlotsOf([]Range{{5, 7}, {0, 2}, {3, 4}})); !reflect.DeepEqual(got, []Range{{0, 7}}) {
		t.Errorf("RangesOf(SlotsOf) = %v", got)
	}
}

func testTopology() *Topology {
	a, b := NewID(), NewID()
	return &Topology{Epoch: 1, Nodes: []Node{
		{ID: a, Shard: NewID(), Host: "127.0.0.1", Port: 7000, Role: RolePrimary, Slots: []Range{{0, 8191}}},
		{ID: b, Shard: NewID(), Host: "127.0.0.1", Port: 7001, Role: RolePrimary, Slots: []Range{{8192, 16383}}},
		{ID: NewID(), Host: "127.0.0.1", Port: 7002, Role: RoleReplica, PrimaryID: a},
	}}
}

func TestValidate(t *testing.T) {
	for name, break_ := range map[string]func(*Topology){
		"ok":               func(*Topology) {},
		"overlap":          func(t *Topology) { t.Nodes[1].Slots[0].Start = 8000 },
		"out of range":     func(t *Topology) { t.Nodes[1].Slots[0].End = 16384 },
		"duplicate addr":   func(t *Topology) { t.Nodes[2].Port = 7000 },
		"orphan replica":   func(t *Topology) { t.Nodes[2].PrimaryID = NewID() },
		"replica w/ slots": func(t *Topology) { t.Nodes[2].Slots = []Range{{1, 1}} },
		"bad id":           func(t *Topology) { t.Nodes[0].ID = "x" },
	} {
		tp := testTopology()
		break_(tp)
		err := tp.Validate()
		if (err == nil) != (name == "ok") {
			t.Errorf("%s: Validate() = %v", name, err)
		}
	}
	owners := testTopology().SlotOwners()
	if owners[0] != 0 || owners[8192] != 1 || owners[16383] != 1 {
		t.Errorf("SlotOwners: %d %d %d", owners[0], owners[8192], owners[16383])
	}
}

// TestUpdateSerializes runs concurrent updates: each must see the previous one's change (file lock).
func TestUpdateSerializes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.json")
	if err := Save(path, testTopology()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := Update(path, func(*Topology) error { return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	tp, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if tp.Epoch != 21 {
		t.Errorf("epoch after 20 updates = %d, want 21", tp.Epoch)
	}
	if _, err := Update(path, func(*Topology) error { return ErrUnchanged }); err != nil {
		t.Fatal(err)
	}
	if tp, _ := Load(path); tp.Epoch != 21 {
		t.Errorf("ErrUnchanged bumped the epoch to %d", tp.Epoch)
	}
}
