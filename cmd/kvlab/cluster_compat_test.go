package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kvlab/kvlab/cluster"
	"github.com/kvlab/kvlab/internal/proctest"
)

// startRedisCluster1 starts Debian's redis-server as a one-node cluster serving every slot.
func startRedisCluster1(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed (make deps-redis installs it)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
		"--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--dir", dir, "--save", "", "--appendonly", "no")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(ctx).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	for {
		info, _ := c.ClusterInfo(ctx).Result()
		if strings.Contains(info, "cluster_state:ok") {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis cluster not ok: %s", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterRepliesMatchRedis runs the same cluster-mode commands against a one-node redis-server cluster
// and a one-node kvlab cluster and compares the replies (node ids and times aside).
func TestClusterRepliesMatchRedis(t *testing.T) {
	redisAddr := startRedisCluster1(t)
	srv := proctest.Start(t, "--cluster-enabled", "--dir", t.TempDir())
	script := [][]any{
		{"CLUSTER", "KEYSLOT", "foo"},
		{"CLUSTER", "KEYSLOT", "{user1000}.following"},
		{"CLUSTER", "KEYSLOT", "foo{}{bar}"},
		{"CLUSTER", "KEYSLOT", "foo{{bar}}zap"},
		{"CLUSTER", "KEYSLOT", "foo{bar}{zap}"},
		{"CLUSTER", "KEYSLOT"},
		{"MSET", "a", "1", "b", "2"},
		{"MSET", "{t}a", "1", "{t}b", "2"},
		{"MGET", "{t}a", "{t}b", "{t}c"},
		{"DEL", "a", "b"},
		{"SELECT", "1"},
		{"SELECT", "0"},
		{"CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa(15495)}, // slot of "{t}..."
		{"CLUSTER", "COUNTKEYSINSLOT", "16384"},
		{"CLUSTER", "COUNTKEYSINSLOT", "x"},
		{"CLUSTER", "GETKEYSINSLOT", "15495", "10"},
		{"CLUSTER", "GETKEYSINSLOT", "15495", "-1"},
		{"CLUSTER", "NOSUCH"},
		{"CLUSTER", "SETSLOT", "5", "BOGUS"},
		{"CLUSTER", "FAILOVER"},
		{"READONLY"},
		{"READWRITE"},
		{"ASKING"},
		{"RENAME", "{t}a", "{t}z"},
		{"RENAME", "{t}z", "other"},
		{"SUNIONSTORE", "d", "s1", "s2"},
		{"REPLICAOF", "127.0.0.1", "1"},
	}
	run := func(addr string) []string {
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1})
		defer c.Close()
		ctx := context.Background()
		c.FlushAll(ctx)
		var out []string
		for _, args := range script {
			v, err := c.Do(ctx, args...).Result()
			if err != nil {
				out = append(out, "(error) "+err.Error())
			} else {
				out = append(out, fmt.Sprint(v))
			}
		}
		// A transaction whose keys live in different slots.
		pipe := c.TxPipeline()
		pipe.Set(ctx, "a", "1", 0)
		pipe.Set(ctx, "b", "1", 0)
		_, err := pipe.Exec(ctx)
		out = append(out, fmt.Sprintf("multi a b: %v", err))
		return out
	}
	want, got := run(redisAddr), run(srv.Addr)
	for i := range want {
		if want[i] != got[i] {
			label := "transaction"
			if i < len(script) {
				label = fmt.Sprint(script[i])
			}
			t.Errorf("%s:\n  redis: %s\n  kvlab: %s", label, want[i], got[i])
		}
	}
}

// TestClusterMigratingSlotReplies checks Redis's rules for a slot being moved: on the source, keys still
// here are served, a key already gone gets -ASK, a mix gets -TRYAGAIN; on the target, only clients that
// sent ASKING are served, and a multi-key command missing keys gets -TRYAGAIN.
func TestClusterMigratingSlotReplies(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	topo := upCluster(t, dir, "--shards", "2")
	ctx := context.Background()
	slot := cluster.KeySlot([]byte("m"))
	var src, dst *cluster.Node
	for _, p := range topo.Primaries() {
		if p.Slots[0].Start <= slot && slot <= p.Slots[0].End {
			src = p
		} else {
			dst = p
		}
	}
	sc := redis.NewClient(&redis.Options{Addr: src.Addr(), MaxRetries: -1})
	dc := redis.NewClient(&redis.Options{Addr: dst.Addr(), MaxRetries: -1})
	defer sc.Close()
	defer dc.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sc.Set(ctx, "{m}a", "1", 0).Err())
	must(sc.Set(ctx, "{m}z", "26", 0).Err())
	must(dc.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", src.ID).Err())
	must(sc.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", dst.ID).Err())
	ask := fmt.Sprintf("ASK %d %s", slot, dst.Addr())
	for _, tc := range []struct {
		c    *redis.Client
		args []any
		want string
	}{
		{sc, []any{"GET", "{m}a"}, "1"},
		{sc, []any{"GET", "{m}b"}, ask},
		{sc, []any{"SET", "{m}b", "2"}, ask},
		{sc, []any{"MGET", "{m}a", "{m}b"}, "TRYAGAIN Multiple keys request during rehashing of slot"},
		{sc, []any{"MIGRATE", dst.Host, dst.Port, "{m}z", 0, 1000}, "OK"},
		{sc, []any{"GET", "{m}z"}, ask},
		{dc, []any{"GET", "{m}z"}, fmt.Sprintf("MOVED %d %s", slot, src.Addr())},
	} {
		v, err := tc.c.Do(ctx, tc.args...).Result()
		got := fmt.Sprint(v)
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.args, got, tc.want)
		}
	}
	// Through ASKING on the target.
	pipe := dc.Pipeline()
	pipe.Do(ctx, "ASKING")
	get := pipe.Do(ctx, "GET", "{m}z")
	pipe.Do(ctx, "ASKING")
	mget := pipe.Do(ctx, "MGET", "{m}z", "{m}q")
	pipe.Exec(ctx)
	if v, err := get.Result(); err != nil || v != "26" {
		t.Errorf("ASKING + GET {m}z on the target = %v, %v", v, err)
	}
	if err := mget.Err(); err == nil || !strings.HasPrefix(err.Error(), "TRYAGAIN") {
		t.Errorf("ASKING + MGET with a missing key on the target = %v, want TRYAGAIN", err)
	}
}
