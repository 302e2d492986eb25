package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kvlab/kvlab/cluster"
	"github.com/kvlab/kvlab/internal/proctest"
)

// upCluster runs `kvlab cluster up` with free ports in a temporary directory and stops it at cleanup.
func upCluster(t *testing.T, dir string, args ...string) *cluster.Topology {
	t.Helper()
	bin := proctest.Binary(t)
	up := exec.Command(bin, append([]string{"cluster", "up", "--base-port", "0", "--dir", dir, "--start-timeout", "30s"}, args...)...)
	out, err := up.CombinedOutput()
	t.Cleanup(func() {
		down, err := exec.Command(bin, "cluster", "down", "--dir", dir).CombinedOutput()
		if err != nil {
			t.Errorf("kvlab cluster down: %v\n%s", err, down)
		}
		if t.Failed() {
			topo, _ := cluster.Load(filepath.Join(dir, "nodes.json"))
			if topo != nil {
				for _, n := range topo.Nodes {
					b, _ := os.ReadFile(filepath.Join(n.Dir, "kvlab.log"))
					t.Logf("node %s log:\n%s", n.Addr(), b)
				}
			}
		}
	})
	if err != nil {
		t.Fatalf("kvlab cluster up: %v\n%s", err, out)
	}
	topo, err := cluster.Load(filepath.Join(dir, "nodes.json"))
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// TestClusterGoRedisTLSACL starts a 3-shard cluster of wal nodes with TLS, an ACL file and requirepass,
// and drives it with go-redis's ClusterClient as an application would: routing by slot, pipelines,
// MGET on hash-tagged keys, CROSSSLOT on keys of different slots. redis-py's RedisCluster (Debian's
// python3-redis) does the same when it is installed.
func TestClusterGoRedisTLSACL(t *testing.T) {
	dir := t.TempDir()
	pki := newSecPKI(t, dir)
	aclFile := filepath.Join(dir, "users.acl")
	os.WriteFile(aclFile, []byte("user app on >apppw ~* &* +@all\n"), 0o600)
	topo := upCluster(t, filepath.Join(dir, "c"), "--shards", "3", "--replicas", "1", "--engine", "wal", "--tls-cert", pki.certFile,
		"--tls-key", pki.keyFile, "--aclfile", aclFile, "--requirepass", "adminpw")
	ctx := t.Context()
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{topo.Nodes[0].Addr()}, Username: "app", Password: "apppw",
		TLSConfig: &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1"}})
	defer rc.Close()
	const n = 300
	for i := range n {
		if err := rc.Set(ctx, fmt.Sprintf("key:%d", i), i, 0).Err(); err != nil {
			t.Fatalf("SET key:%d: %v", i, err)
		}
	}
	pipe := rc.Pipeline()
	gets := make([]*redis.StringCmd, n)
	for i := range n {
		gets[i] = pipe.Get(ctx, fmt.Sprintf("key:%d", i))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	for i, g := range gets {
		if g.Val() != fmt.Sprint(i) {
			t.Fatalf("GET key:%d = %q", i, g.Val())
		}
	}
	// Every shard holds keys, exactly those of its slots.
	var shards []string
	for _, p := range topo.Primaries() {
		c := redis.NewClient(&redis.Options{Addr: p.Addr(), Username: "app", Password: "apppw",
			TLSConfig: &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1"}})
		keys, err := c.Keys(ctx, "key:*").Result()
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			s := cluster.KeySlot([]byte(k))
			if s < p.Slots[0].Start || s > p.Slots[0].End {
				t.Errorf("%s holds %s (slot %d) outside its slots %v", p.Addr(), k, s, p.Slots)
			}
		}
		shards = append(shards, fmt.Sprintf("%s:%d", p.Addr(), len(keys)))
		if len(keys) == 0 {
			t.Errorf("shard %s holds no key", p.Addr())
		}
	}
	t.Logf("keys per shard: %v", shards)
	if err := rc.MSet(ctx, "{user1}.name", "ann", "{user1}.mail", "ann@example.com").Err(); err != nil {
		t.Fatalf("MSET hash-tagged: %v", err)
	}
	vals, err := rc.MGet(ctx, "{user1}.name", "{user1}.mail", "{user1}.none").Result()
	if err != nil || len(vals) != 3 || vals[0] != "ann" || vals[1] != "ann@example.com" || vals[2] != nil {
		t.Fatalf("MGET hash-tagged = %v, %v", vals, err)
	}
	if err := rc.MGet(ctx, "key:1", "key:2").Err(); err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT") {
		t.Fatalf("MGET across slots: %v, want CROSSSLOT", err)
	}
	if err := rc.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// Replicas follow their primaries over TLS, authenticated, and serve READONLY reads.
	tlsCfg := &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1"}
	for _, p := range topo.Primaries() {
		r := topo.Replicas(p.ID)[0]
		c := redis.NewClient(&redis.Options{Addr: r.Addr(), Username: "app", Password: "apppw", TLSConfig: tlsCfg})
		deadline := time.Now().Add(10 * time.Second)
		for {
			info, err := c.Info(ctx, "replication").Result()
			if err == nil && strings.Contains(info, "master_link_status:up") && strings.Contains(info, "master_port:"+fmt.Sprint(p.Port)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %s of %s: link not up over TLS: %v\n%s", r.Addr(), p.Addr(), err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
	ro := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{topo.Nodes[0].Addr()}, Username: "app", Password: "apppw",
		TLSConfig: tlsCfg, ReadOnly: true})
	defer ro.Close()
	if err := rc.Do(ctx, "WAIT", 1, 2000).Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if v, err := ro.Get(ctx, fmt.Sprintf("key:%d", i)).Result(); err != nil || v != fmt.Sprint(i) {
			t.Fatalf("READONLY read of key:%d = %q, %v", i, v, err)
		}
	}
	replicaGets := 0
	for _, p := range topo.Primaries() {
		r := topo.Replicas(p.ID)[0]
		c := redis.NewClient(&redis.Options{Addr: r.Addr(), Username: "app", Password: "apppw", TLSConfig: tlsCfg})
		stats, _ := c.Info(ctx, "commandstats").Result()
		c.Close()
		if i := strings.Index(stats, "cmdstat_get:calls="); i >= 0 {
			var n int
			fmt.Sscanf(stats[i+len("cmdstat_get:calls="):], "%d", &n)
			replicaGets += n
		}
	}
	if replicaGets == 0 {
		t.Error("a ReadOnly ClusterClient's GETs reached no replica")
	}
	t.Logf("%d of 50 READONLY GETs served by replicas", replicaGets)

	// PUBLISH on one node reaches subscribers on every other node (Redis's bus broadcast), over the
	// nodes' TLS links with the cluster's password.
	var subs []*redis.PubSub
	for _, n := range topo.Nodes[1:] {
		c := redis.NewClient(&redis.Options{Addr: n.Addr(), Username: "app", Password: "apppw", TLSConfig: tlsCfg})
		defer c.Close()
		ps := c.Subscribe(ctx, "news")
		if _, err := ps.Receive(ctx); err != nil {
			t.Fatalf("SUBSCRIBE on %s: %v", n.Addr(), err)
		}
		defer ps.Close()
		subs = append(subs, ps)
	}
	pub := redis.NewClient(&redis.Options{Addr: topo.Nodes[0].Addr(), Username: "app", Password: "apppw", TLSConfig: tlsCfg})
	defer pub.Close()
	if err := pub.Publish(ctx, "news", "hello").Err(); err != nil {
		t.Fatal(err)
	}
	for i, ps := range subs {
		select {
		case m := <-ps.Channel():
			if m.Channel != "news" || m.Payload != "hello" {
				t.Errorf("node %s received %+v", topo.Nodes[i+1].Addr(), m)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("node %s: the PUBLISH sent to %s did not arrive", topo.Nodes[i+1].Addr(), topo.Nodes[0].Addr())
		}
	}
	// Without TLS, or with a wrong password, nothing is served.
	bad := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{topo.Nodes[0].Addr()}, Username: "app", Password: "nope",
		TLSConfig: &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1"}, MaxRedirects: 1})
	defer bad.Close()
	if err := bad.Get(ctx, "key:1").Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password: %v", err)
	}

	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil || exec.Command(py, "-c", "import redis.cluster").Run() != nil {
		t.Log("redis-py (Debian python3-redis) not installed: the RedisCluster part is skipped (make deps-redis installs it)")
		return
	}
	script := fmt.Sprintf(`
import redis
from redis.cluster import RedisCluster
rc = RedisCluster(host="127.0.0.1", port=%d, username="app", password="apppw", ssl=True, ssl_ca_certs=%q)
for i in range(200):
    rc.set("py:%%d" %% i, i)
assert all(rc.get("py:%%d" %% i) == str(i).encode() for i in range(200))
assert rc.get("key:7") == b"7"
rc.mset({"{user2}.a": "1", "{user2}.b": "2"})
assert rc.mget("{user2}.a", "{user2}.b") == [b"1", b"2"], rc.mget("{user2}.a", "{user2}.b")
assert rc.mget_nonatomic("key:1", "key:2", "key:3") == [b"1", b"2", b"3"]
p = rc.pipeline()
for i in range(50):
    p.incr("py:ctr:%%d" %% (i %% 7))
p.execute()
print("redis-py ok", len(rc.get_nodes()), "nodes")
`, topo.Nodes[0].Port, pki.caFile)
	out, err := exec.Command(py, "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-py RedisCluster: %v\n%s", err, out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
}

// ackLog records the writes the cluster acknowledged.
type ackLog struct {
	mu    sync.Mutex
	acked map[string]string
	fails int
	errs  map[string]int // failures by error text (first 40 characters)
}

// writeLoad runs writers against rc until ctx ends: every writer sets its own keys with unique values.
func writeLoad(ctx context.Context, rc *redis.ClusterClient, writers int, log *ackLog) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				k, v := fmt.Sprintf("w%d:%d", w, i), fmt.Sprintf("v%d-%d-%d", w, i, time.Now().UnixNano())
				err := rc.Set(context.Background(), k, v, 0).Err()
				log.mu.Lock()
				if err == nil {
					log.acked[k] = v
				} else {
					log.fails++
					if log.errs == nil {
						log.errs = map[string]int{}
					}
					e := err.Error()
					log.errs[e[:min(40, len(e))]]++
				}
				log.mu.Unlock()
			}
		}()
	}
	return &wg
}

// verifyAcked reads every acknowledged key back.
func verifyAcked(t *testing.T, rc *redis.ClusterClient, log *ackLog) {
	t.Helper()
	ctx := context.Background()
	missing := 0
	for k, v := range log.acked {
		got, err := rc.Get(ctx, k).Result()
		if err != nil || got != v {
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged %s=%s, read back %q (%v)", k, v, got, err)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged writes lost", missing, len(log.acked))
	}
	t.Logf("%d acknowledged writes all readable (%d writes failed: %v)", len(log.acked), log.fails, log.errs)
}

func waitTopology(t *testing.T, dir string, ok func(*cluster.Topology) bool) *cluster.Topology {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		topo, err := cluster.Load(filepath.Join(dir, "nodes.json"))
		if err == nil && ok(topo) {
			return topo
		}
		if time.Now().After(deadline) {
			t.Fatalf("topology did not reach the expected state: %+v (%v)", topo, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func clusterClient(t *testing.T, addr string) *redis.ClusterClient {
	// go-redis only reloads the slot map on MOVED/ASK or every ClusterStateReloadInterval (default 60 s),
	// and keeps sending a dead primary's slots to it until then: failover-aware clients set it short.
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{addr}, MaxRedirects: 50, MaxRetries: 1,
		MinRetryBackoff: 20 * time.Millisecond, MaxRetryBackoff: 200 * time.Millisecond, DialTimeout: 500 * time.Millisecond,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, ClusterStateReloadInterval: 500 * time.Millisecond})
	t.Cleanup(func() { rc.Close() })
	return rc
}
