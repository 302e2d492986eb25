package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kvlab/kvlab/cluster"
	"github.com/kvlab/kvlab/internal/proctest"
)

// TestClusterFailoverKill9 kills a primary (kill -9) of a wal cluster under write load: its replica must
// take over, and every write the cluster acknowledged must be readable afterwards.
func TestClusterFailoverKill9(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	topo := upCluster(t, dir, "--shards", "2", "--replicas", "1", "--engine", "wal", "--cluster-node-timeout", "1000")
	rc := clusterClient(t, topo.Nodes[0].Addr())
	log := &ackLog{acked: map[string]string{}}
	ctx, stop := context.WithCancel(context.Background())
	wg := writeLoad(ctx, rc, 8, log)
	time.Sleep(1500 * time.Millisecond)
	victim := topo.Primaries()[0]
	pid := nodePid(dir, victim.Port)
	if pid <= 0 {
		t.Fatal("no pid file for the primary")
	}
	// Freeze the replica first, so the primary acknowledges writes the replica never receives: the replica
	// must find them in the dead primary's log.
	replica := topo.Replicas(victim.ID)[0]
	rpid := nodePid(dir, replica.Port)
	syscall.Kill(rpid, syscall.SIGSTOP)
	time.Sleep(500 * time.Millisecond)
	log.mu.Lock()
	before := len(log.acked)
	log.mu.Unlock()
	t.Logf("kill -9 primary %s (pid %d) after %d acknowledged writes, the last 500 ms of them not replicated", victim.Addr(), pid, before)
	syscall.Kill(pid, syscall.SIGKILL)
	syscall.Kill(rpid, syscall.SIGCONT)
	killed := time.Now()
	after := waitTopology(t, dir, func(tp *cluster.Topology) bool {
		n := tp.Node(replica.ID)
		return n != nil && n.Role == cluster.RolePrimary && len(n.Slots) > 0
	})
	if n := after.Node(victim.ID); n == nil || !n.Failed || n.Role != cluster.RoleReplica {
		t.Errorf("old primary after the failover: %+v", n)
	}
	t.Logf("replica took over %s after the kill", time.Since(killed).Round(time.Millisecond))
	time.Sleep(2 * time.Second) // writes continue against the new primary
	stop()
	wg.Wait()
	t.Logf("writers stopped %s after the kill", time.Since(killed).Round(time.Millisecond))
	log.mu.Lock()
	if len(log.acked) <= before {
		t.Errorf("no write acknowledged after the failover (%d before, %d in all)", before, len(log.acked))
	}
	log.mu.Unlock()
	verifyAcked(t, rc, log)
	b, _ := os.ReadFile(filepath.Join(replica.Dir, "kvlab.log"))
	if !strings.Contains(string(b), "automatic failover done") {
		t.Errorf("the replica's log does not report the failover:\n%s", b)
	}
	// The dead node comes back (kvlab cluster restart) as a replica of the node that took its slots.
	if out, err := exec.Command(proctest.Binary(t), "cluster", "restart", "--dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("kvlab cluster restart: %v\n%s", err, out)
	}
	waitTopology(t, dir, func(tp *cluster.Topology) bool {
		n := tp.Node(victim.ID)
		return n != nil && !n.Failed && n.Role == cluster.RoleReplica && n.PrimaryID == replica.ID
	})
	back := redis.NewClient(&redis.Options{Addr: victim.Addr()})
	defer back.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		info, _ := back.Info(context.Background(), "replication").Result()
		if strings.Contains(info, "master_link_status:up") && strings.Contains(info, "master_port:"+strconv.Itoa(replica.Port)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted node does not follow the new primary:\n%s", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// How much the replica replayed from the log depends on how much of the stream the kernel's socket
	// buffers held while it was frozen (often all of it on a fast machine); the replay itself is tested
	// deterministically in package replication. Here the guarantee is what matters: no acknowledged write lost.
	if m := regexp.MustCompile(`caught up (\d+) records`).FindStringSubmatch(string(b)); m != nil {
		t.Logf("the new primary replayed %s records from the dead primary's log", m[1])
	} else {
		t.Errorf("the replica's log does not report its catch-up:\n%s", b)
	}
}

// TestClusterManualFailover runs CLUSTER FAILOVER on a replica under write load: roles swap, the old
// primary follows the new one, and no acknowledged write is lost.
func TestClusterManualFailover(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	topo := upCluster(t, dir, "--shards", "2", "--replicas", "1", "--engine", "wal")
	rc := clusterClient(t, topo.Nodes[0].Addr())
	log := &ackLog{acked: map[string]string{}}
	ctx, stop := context.WithCancel(context.Background())
	wg := writeLoad(ctx, rc, 8, log)
	time.Sleep(time.Second)
	prim := topo.Primaries()[1]
	replica := topo.Replicas(prim.ID)[0]
	c := redis.NewClient(&redis.Options{Addr: replica.Addr()})
	defer c.Close()
	if err := c.Do(context.Background(), "CLUSTER", "FAILOVER").Err(); err != nil {
		t.Fatalf("CLUSTER FAILOVER: %v", err)
	}
	waitTopology(t, dir, func(tp *cluster.Topology) bool {
		n, p := tp.Node(replica.ID), tp.Node(prim.ID)
		return n.Role == cluster.RolePrimary && p.Role == cluster.RoleReplica && p.PrimaryID == n.ID && !p.Failed
	})
	time.Sleep(1500 * time.Millisecond)
	stop()
	wg.Wait()
	verifyAcked(t, rc, log)
	// The old primary now replicates the new one.
	old := redis.NewClient(&redis.Options{Addr: prim.Addr()})
	defer old.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, _ := old.Info(context.Background(), "replication").Result()
		if strings.Contains(info, "role:slave") && strings.Contains(info, "master_link_status:up") &&
			strings.Contains(info, "master_port:"+strconv.Itoa(replica.Port)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("old primary does not follow the new one:\n%s", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
