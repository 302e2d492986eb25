package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kvlab/kvlab/results"
	"github.com/kvlab/kvlab/scenarios"
)

// testCluster is a real Redis cluster of redis-server processes on loopback ports.
type testCluster struct {
	ports []int
}

func (tc *testCluster) addr(i int) string { return "127.0.0.1:" + strconv.Itoa(tc.ports[i]) }

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startCluster starts n redis-server nodes in cluster mode and joins them with redis-cli --cluster create
// (replicas per primary: n/(replicas+1) primaries). It skips the test when redis-server is not installed.
func startCluster(t *testing.T, n, replicas int) *testCluster {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not on PATH (make deps-redis installs it)", bin)
		}
	}
	dir := t.TempDir()
	tc := &testCluster{}
	for i := 0; i < n; i++ {
		p := freePort(t)
		tc.ports = append(tc.ports, p)
		ps := strconv.Itoa(p)
		cmd := exec.Command("redis-server", "--port", ps, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes-"+ps+".conf"), "--dir", dir,
			"--save", "", "--appendonly", "no", "--bind", "127.0.0.1", "--logfile", filepath.Join(dir, "redis-"+ps+".log"))
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
	for i := range tc.ports {
		waitFor(t, 10*time.Second, func() bool { return redisCLI(t, tc.addr(i), "PING") == "PONG" })
	}
	args := []string{"--cluster", "create"}
	for i := range tc.ports {
		args = append(args, tc.addr(i))
	}
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for i := range tc.ports {
		waitFor(t, 20*time.Second, func() bool {
			return strings.Contains(redisCLI(t, tc.addr(i), "CLUSTER", "INFO"), "cluster_state:ok")
		})
	}
	// Every node must also agree on the slot map before the tests look at it.
	waitFor(t, 20*time.Second, func() bool {
		for i := range tc.ports {
			if strings.Count(redisCLI(t, tc.addr(i), "CLUSTER", "SLOTS"), "\n") < 3 {
				return false
			}
		}
		return true
	})
	return tc
}

func redisCLI(t *testing.T, addr string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	out, _ := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out))
}

func waitFor(t *testing.T, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v", d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const clusterScenario = `name: cl
keyspaces:
  k: {pattern: "key:{id}", count: 2000}
values:
  v: {size: {fixed: 16}}
preload:
  - keyspace: k
    command: [SET, "{key}", "{value:v}"]
operations:
  - name: set
    weight: 1
    keyspace: k
    value: v
    commands:
      - [SET, "{key}", "{value}"]
  - name: get
    weight: 1
    keyspace: k
    commands:
      - [GET, "{key}"]
  - name: tagged
    weight: 1
    keyspace: k
    value: v
    mode: multi
    commands:
      - [SET, "{u{id}}:a", "{value}"]
      - [MGET, "{u{id}}:a", "{u{id}}:b"]
`

func checkClusterResult(t *testing.T, res *results.Result, shards int) {
	t.Helper()
	if res.Total.Count == 0 || res.Total.Errors != 0 || len(res.Errors) != 0 {
		t.Fatalf("total %d operations, %d errors %v: want some and no errors", res.Total.Count, res.Total.Errors, res.Errors)
	}
	if res.Cluster == nil || len(res.Cluster.Shards) != shards {
		t.Fatalf("cluster stats %+v: want %d shards", res.Cluster, shards)
	}
	var sum int64
	for _, s := range res.Cluster.Shards {
		if s.Count == 0 || s.OpsPerSec <= 0 || s.LatencyUS.P99 <= 0 {
			t.Errorf("shard %s: %d ops, %.0f ops/s, p99 %v: want load on every shard", s.Primary, s.Count, s.OpsPerSec, s.LatencyUS.P99)
		}
		sum += s.Count
	}
	if sum != res.Total.Count {
		t.Errorf("shards served %d operations, total says %d", sum, res.Total.Count)
	}
}

// TestClusterRouting runs closed- and open-loop loads against a 3-node cluster: no operation may fail (a
// misrouted one would get MOVED and be counted), every shard must serve some, and the keys must live on
// the node CLUSTER KEYSLOT and the slot map say.
func TestClusterRouting(t *testing.T) {
	tc := startCluster(t, 3, 0)
	sc := scenario(t, clusterScenario)
	for _, tt := range []struct {
		name string
		cfg  Config
	}{
		{"closed-pipeline-8", Config{Connections: 4, Pipeline: 8}},
		{"closed-pipeline-1", Config{Connections: 2, Pipeline: 1, SkipPreload: true}},
		{"closed-pipeline-16", Config{Connections: 3, Pipeline: 16, SkipPreload: true}},
		{"open-loop", Config{Connections: 3, Pipeline: 4, Rate: 3000, SkipPreload: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tc.ports {
				redisCLI(t, tc.addr(i), "CONFIG", "RESETSTAT")
			}
			cfg := tt.cfg
			cfg.Target, cfg.Cluster, cfg.Duration = Target{Addr: tc.addr(1)}, true, 1500*time.Millisecond
			res, err := Run(context.Background(), sc, cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkClusterResult(t, res, 3)
			if res.Cluster.Moved != 0 || res.Cluster.Ask != 0 {
				t.Errorf("stable cluster: %d MOVED, %d ASK redirections, want none", res.Cluster.Moved, res.Cluster.Ask)
			}
			if !cfg.SkipPreload {
				return
			}
			// Every operation reached the servers exactly once: the commands the nodes executed add up to
			// the operations the generator counted (no warm-up, so nothing is left out).
			calls := func(cmd string) (n int64) {
				for i := range tc.ports {
					n += int64(cmdCalls(t, tc.addr(i), cmd))
				}
				return n
			}
			get, set, tagged := res.Op("get").Count, res.Op("set").Count, res.Op("tagged").Count
			if g, s, m, e := calls("get"), calls("set"), calls("mget"), calls("exec"); g != get || s != set+tagged || m != tagged || e != tagged {
				t.Errorf("servers executed %d GET, %d SET, %d MGET, %d EXEC; generator counted get %d, set %d, tagged %d",
					g, s, m, e, get, set, tagged)
			}
		})
	}
	// Replies are matched to their operations: HGET on the preloaded strings always fails with WRONGTYPE,
	// GET never does, so any reply credited to the wrong operation of a pipelined batch shows up as an error
	// on "get" or a success on "wrong".
	for _, rate := range []float64{0, 4000} {
		res, err := Run(context.Background(), scenario(t, `name: match
keyspaces:
  k: {pattern: "key:{id}", count: 2000}
operations:
  - {name: get, weight: 1, keyspace: k, commands: [[GET, "{key}"]]}
  - {name: wrong, weight: 1, keyspace: k, commands: [[HGET, "{key}", f]]}
`), Config{Target: Target{Addr: tc.addr(0)}, Cluster: true, Connections: 2, Pipeline: 16, Rate: rate, Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		g, w := res.Op("get"), res.Op("wrong")
		if g.Count == 0 || g.Errors != 0 || w.Count == 0 || w.Errors != w.Count || res.Errors["WRONGTYPE"] != w.Count {
			t.Errorf("rate %v: get %d ops %d errors, wrong %d ops %d errors (%v): replies credited to the wrong operations",
				rate, g.Count, g.Errors, w.Count, w.Errors, res.Errors)
		}
	}
	// Keys are where Redis says they belong: each key's slot per CLUSTER KEYSLOT equals Slot, and exactly
	// one node holds the key: the owner of its slot in the load generator's map.
	for _, key := range []string{"key:0", "key:1", "key:17", "key:1999", "{u5}:a", "foo", "{user1000}.following"} {
		want, _ := strconv.Atoi(redisCLI(t, tc.addr(0), "CLUSTER", "KEYSLOT", key))
		if got := Slot([]byte(key)); got != want {
			t.Errorf("Slot(%q) = %d, CLUSTER KEYSLOT says %d", key, got, want)
		}
	}
	rt, err := newRouter(Target{Addr: tc.addr(0)}, false)
	if err != nil {
		t.Fatal(err)
	}
	topo := rt.topo.Load()
	for id := 0; id < 2000; id += 37 {
		key := fmt.Sprintf("key:%d", id)
		var holders []string
		for i := range tc.ports {
			if redisCLI(t, tc.addr(i), "EXISTS", key) == "1" {
				holders = append(holders, tc.addr(i))
			}
		}
		owner := topo.shards[topo.owner[Slot([]byte(key))]].primary
		if len(holders) != 1 || holders[0] != owner {
			t.Errorf("%s (slot %d) is held by %v, want only %s", key, Slot([]byte(key)), holders, owner)
		}
	}
}

// TestClusterMoved moves 300 slots (with their keys) from one primary to another with redis-cli --cluster
// reshard while a closed-loop and an open-loop run go on: the generator must follow MOVED (and ASK while
// keys migrate), refresh its slot map, and fail no operation.
func TestClusterMoved(t *testing.T) {
	tc := startCluster(t, 3, 0)
	sc := scenario(t, clusterScenario)
	from, to := redisCLI(t, tc.addr(0), "CLUSTER", "MYID"), redisCLI(t, tc.addr(1), "CLUSTER", "MYID")
	for i, cfg := range []Config{
		{Connections: 4, Pipeline: 8},
		{Connections: 3, Pipeline: 4, Rate: 4000, SkipPreload: true},
	} {
		cfg.Target, cfg.Cluster, cfg.Duration = Target{Addr: tc.addr(2)}, true, 3*time.Second
		src, dst := from, to
		if i == 1 {
			src, dst = to, from // move them back
		}
		done := make(chan error, 1)
		go func() {
			time.Sleep(time.Second)
			out, err := exec.Command("redis-cli", "--cluster", "reshard", tc.addr(0), "--cluster-from", src,
				"--cluster-to", dst, "--cluster-slots", "300", "--cluster-yes").CombinedOutput()
			if err != nil {
				err = fmt.Errorf("%v\n%s", err, out)
			}
			done <- err
		}()
		res, err := Run(context.Background(), sc, cfg)
		if rerr := <-done; rerr != nil {
			t.Fatalf("reshard: %v", rerr)
		}
		if err != nil {
			t.Fatal(err)
		}
		checkClusterResult(t, res, 3)
		c := res.Cluster
		t.Logf("run %d: %d ops, %d MOVED, %d ASK, %d TRYAGAIN, %d slot map loads", i, res.Total.Count, c.Moved, c.Ask, c.TryAgain, c.Refreshes)
		if c.Moved == 0 || c.Refreshes < 2 {
			t.Errorf("run %d: %d MOVED redirections and %d slot map loads: want the resharding noticed", i, c.Moved, c.Refreshes)
		}
	}
}

// TestClusterAsk puts a slot in migration (MIGRATING on its owner, IMPORTING on another primary, no key
// moved yet) and runs a load whose keys all hash to that slot: the owner answers -ASK for every key it does
// not hold, so every operation (single commands, a pipelined pair, a MULTI block, the preload) must be
// re-sent with ASKING to the importing node, without a slot map refresh and without a failure.
func TestClusterAsk(t *testing.T) {
	tc := startCluster(t, 3, 0)
	slot := Slot([]byte("t"))
	rt, err := newRouter(Target{Addr: tc.addr(0)}, false)
	if err != nil {
		t.Fatal(err)
	}
	topo := rt.topo.Load()
	owner := topo.shards[topo.owner[slot]].primary
	var importer string
	for i := range tc.ports {
		if tc.addr(i) != owner {
			importer = tc.addr(i)
			break
		}
	}
	ownerID, importerID := redisCLI(t, owner, "CLUSTER", "MYID"), redisCLI(t, importer, "CLUSTER", "MYID")
	s := strconv.Itoa(slot)
	if out := redisCLI(t, importer, "CLUSTER", "SETSLOT", s, "IMPORTING", ownerID); out != "OK" {
		t.Fatalf("SETSLOT IMPORTING: %s", out)
	}
	if out := redisCLI(t, owner, "CLUSTER", "SETSLOT", s, "MIGRATING", importerID); out != "OK" {
		t.Fatalf("SETSLOT MIGRATING: %s", out)
	}
	sc := scenario(t, `name: ask
keyspaces:
  k: {pattern: "{t}:{id}", count: 500}
values:
  v: {size: {fixed: 8}}
preload:
  - keyspace: k
    command: [SET, "{key}", "{value:v}"]
operations:
  - {name: get, weight: 1, keyspace: k, commands: [[GET, "{key}"]]}
  - {name: pair, weight: 1, keyspace: k, value: v, commands: [[SET, "{key}", "{value}"], [GET, "{key}"]]}
  - {name: tx, weight: 1, keyspace: k, value: v, mode: multi, commands: [[SET, "{key}", "{value}"], [GET, "{key}"]]}
`)
	res, err := Run(context.Background(), sc, Config{Target: Target{Addr: tc.addr(2)}, Cluster: true, Connections: 2,
		Pipeline: 4, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total.Count == 0 || res.Total.Errors != 0 {
		t.Fatalf("%d operations, %d errors %v: want some and none failed", res.Total.Count, res.Total.Errors, res.Errors)
	}
	c := res.Cluster
	if c.Ask < res.Total.Count || c.Moved != 0 || c.Refreshes != 1 {
		t.Errorf("%d operations: %d ASK, %d MOVED, %d slot map loads; want an ASK for each, no MOVED, no refresh",
			res.Total.Count, c.Ask, c.Moved, c.Refreshes)
	}
	for _, sh := range c.Shards {
		switch sh.Primary {
		case owner:
			if sh.Ask == 0 {
				t.Errorf("owner %s: no ASK counted", owner)
			}
		case importer:
			if sh.Count != res.Total.Count {
				t.Errorf("importer %s served %d of %d operations", importer, sh.Count, res.Total.Count)
			}
		}
	}
	if n := redisCLI(t, importer, "CLUSTER", "COUNTKEYSINSLOT", s); n != "500" {
		t.Errorf("importing node holds %s keys of slot %d, want the 500 preloaded", n, slot)
	}
	if n := redisCLI(t, owner, "CLUSTER", "COUNTKEYSINSLOT", s); n != "0" {
		t.Errorf("migrating node holds %s keys of slot %d, want none", n, slot)
	}
}

// TestClusterReplicas runs reads from replicas on a cluster of 3 primaries with a replica each: GETs must
// reach only replicas (INFO commandstats), writes only primaries, and CLUSTER SHARDS and CLUSTER SLOTS
// must yield the same slot map.
func TestClusterReplicas(t *testing.T) {
	tc := startCluster(t, 6, 1)
	c, err := dial(Target{Addr: tc.addr(0)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	var shards, slots *topology
	waitFor(t, 20*time.Second, func() bool {
		v, err := c.do("CLUSTER", "SHARDS")
		if err != nil || v.Kind == '-' {
			t.Fatalf("CLUSTER SHARDS: %v %s", err, v.Str)
		}
		if shards, err = parseShards(v, "127.0.0.1", false); err != nil {
			t.Fatal(err)
		}
		if v, err = c.do("CLUSTER", "SLOTS"); err != nil {
			t.Fatal(err)
		}
		if slots, err = parseSlots(v, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range shards.shards {
			n += len(s.replicas)
		}
		return n == 3 // replicas are listed once they are online
	})
	if shards.owner != slots.owner {
		t.Errorf("CLUSTER SHARDS and CLUSTER SLOTS give different slot owners")
	}
	if fmt.Sprint(shards.shards) != fmt.Sprint(slots.shards) {
		t.Errorf("CLUSTER SHARDS %v, CLUSTER SLOTS %v: want the same shards", shards.shards, slots.shards)
	}
	for _, s := range shards.shards {
		if len(s.replicas) != 1 || s.slots == 0 {
			t.Errorf("shard %+v: want 1 replica and some slots", s)
		}
	}
	sc := scenario(t, `name: rr
keyspaces:
  k: {pattern: "key:{id}", count: 1000}
values:
  v: {size: {fixed: 8}}
operations:
  - {name: get, weight: 3, keyspace: k, commands: [[GET, "{key}"]]}
  - {name: set, weight: 1, keyspace: k, value: v, commands: [[SET, "{key}", "{value}"]]}
`)
	for _, i := range tc.ports {
		redisCLI(t, "127.0.0.1:"+strconv.Itoa(i), "CONFIG", "RESETSTAT")
	}
	res, err := Run(context.Background(), sc, Config{Target: Target{Addr: tc.addr(0)}, Cluster: true, ReadFromReplicas: true,
		Connections: 2, Pipeline: 4, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	checkClusterResult(t, res, 3)
	if !res.Cluster.ReadFromReplicas {
		t.Error("result does not record read_from_replicas")
	}
	for _, s := range shards.shards {
		if n := cmdCalls(t, s.primary, "get"); n != 0 {
			t.Errorf("primary %s served %d GETs, want none", s.primary, n)
		}
		if n := cmdCalls(t, s.replicas[0], "get"); n == 0 {
			t.Errorf("replica %s served no GET", s.replicas[0])
		}
		if n := cmdCalls(t, s.primary, "set"); n == 0 {
			t.Errorf("primary %s served no SET", s.primary)
		}
	}
}

// cmdCalls returns the calls of a command in a node's INFO commandstats.
func cmdCalls(t *testing.T, addr, cmd string) int {
	for _, line := range strings.Split(redisCLI(t, addr, "INFO", "commandstats"), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_"+cmd+":calls="); ok {
			n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
			return n
		}
	}
	return 0
}

// TestClusterCrossSlot: an operation whose keys hash to different slots fails the run before any traffic,
// naming the scenario and operation and suggesting a hash tag.
func TestClusterCrossSlot(t *testing.T) {
	sc := scenario(t, `name: xs
keyspaces:
  k: {pattern: "key:{id}", count: 100}
operations:
  - {name: ok, weight: 1, keyspace: k, commands: [[GET, "{key}"]]}
  - {name: pair-read, weight: 1, keyspace: k, commands: [[MGET, "{key}", "other:{key}"]]}
`)
	_, err := Run(context.Background(), sc, Config{Target: Target{Addr: "127.0.0.1:1"}, Cluster: true, Duration: time.Second})
	var cross *crossSlotError
	if !errors.As(err, &cross) {
		t.Fatalf("Run: %v, want a cross-slot error", err)
	}
	for _, want := range []string{"scenario xs", "operation pair-read", "hash tag", `"key:0"`, `"other:key:0"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	// The same keys in one hash tag are fine.
	sc = scenario(t, `name: xs
keyspaces:
  k: {pattern: "{key:{id}}", count: 100}
operations:
  - {name: pair-read, weight: 1, keyspace: k, commands: [[MGET, "{key}", "other:{key}"]]}
`)
	if err := checkSlots(mustCompile(t, sc)); err != nil {
		t.Errorf("hash-tagged keys: %v", err)
	}
}

func mustCompile(t *testing.T, sc *scenarios.Scenario) *plan {
	t.Helper()
	p, err := compile(sc, 1)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
