package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kvlab/kvlab/cluster"
	"github.com/kvlab/kvlab/internal/proctest"
)

// TestClusterReshardUnderLoad moves slots between two wal primaries while go-redis writes and reads:
// ASK redirections keep every operation working, every acknowledged write is readable afterwards, and the
// keys of the moved slots live on the target only.
func TestClusterReshardUnderLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	topo := upCluster(t, dir, "--shards", "2", "--engine", "wal")
	rc := clusterClient(t, topo.Nodes[0].Addr())
	ctx := context.Background()
	for i := range 2000 {
		if err := rc.Set(ctx, fmt.Sprintf("pre:%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	log := &ackLog{acked: map[string]string{}}
	lctx, stop := context.WithCancel(ctx)
	wg := writeLoad(lctx, rc, 4, log)
	src, dst := topo.Primaries()[0], topo.Primaries()[1]
	time.Sleep(300 * time.Millisecond)
	out, err := exec.Command(proctest.Binary(t), "cluster", "reshard", "--dir", dir, "--from", src.Addr(), "--to", dst.ID,
		"--slots", "3000", "--batch", "50").CombinedOutput()
	if err != nil {
		t.Fatalf("kvlab cluster reshard: %v\n%s", err, out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
	time.Sleep(300 * time.Millisecond)
	stop()
	wg.Wait()
	if log.fails > 0 {
		t.Errorf("%d writes failed during the reshard", log.fails)
	}
	verifyAcked(t, rc, log)
	for i := range 2000 {
		if v, err := rc.Get(ctx, fmt.Sprintf("pre:%d", i)).Result(); err != nil || v != fmt.Sprint(i) {
			t.Fatalf("pre:%d = %q, %v", i, v, err)
		}
	}
	after, err := cluster.Load(filepath.Join(dir, "nodes.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(cluster.SlotsOf(after.Node(src.ID).Slots)); got != 8192-3000 {
		t.Errorf("source serves %d slots after the move, want %d", got, 8192-3000)
	}
	// The source holds no key of a moved slot.
	sc := redis.NewClient(&redis.Options{Addr: src.Addr()})
	defer sc.Close()
	keys, err := sc.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	owners := after.SlotOwners()
	for _, k := range keys {
		if s := cluster.KeySlot([]byte(k)); after.Nodes[owners[s]].ID != src.ID {
			t.Fatalf("source still holds %s (slot %d, now served by %s)", k, s, after.Nodes[owners[s]].Addr())
		}
	}
}
