package results

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestClusterFieldRoundTrip: the optional cluster section survives Save and Load, files without it load as
// before (nil), and Show prints the per-shard table.
func TestClusterFieldRoundTrip(t *testing.T) {
	h := NewHistogram()
	h.RecordValue(250)
	var op OpStats
	if err := FillOp(&op, h, 1); err != nil {
		t.Fatal(err)
	}
	op.Name = "get"
	base := Result{Scenario: ScenarioInfo{Name: "s"}, Ops: []OpStats{op}, Total: op, Start: time.Unix(0, 0), End: time.Unix(1, 0)}
	dir := t.TempDir()
	plain := base
	if err := Save(filepath.Join(dir, "plain.json"), &plain); err != nil {
		t.Fatal(err)
	}
	back, err := Load(filepath.Join(dir, "plain.json"))
	if err != nil || back.Cluster != nil {
		t.Fatalf("plain result: %v, cluster %+v", err, back.Cluster)
	}
	cl := base
	cl.Target.Cluster = true
	cl.Cluster = &ClusterStats{TopologySource: "CLUSTER SHARDS", ConnectionsPerShard: 4, Moved: 3, Ask: 1, Refreshes: 2,
		Shards: []ShardStats{{Primary: "10.0.0.1:6379", Replicas: []string{"10.0.0.4:6379"}, Slots: 8192, Count: 1,
			OpsPerSec: 1, LatencyUS: op.LatencyUS, Histogram: op.Histogram, Moved: 3, Ask: 1}}}
	if err := Save(filepath.Join(dir, "cluster.json"), &cl); err != nil {
		t.Fatal(err)
	}
	back, err = Load(filepath.Join(dir, "cluster.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Cluster, cl.Cluster) || back.Schema != SchemaVersion {
		t.Fatalf("cluster section %+v (schema %d), want %+v", back.Cluster, back.Schema, cl.Cluster)
	}
	var buf bytes.Buffer
	Show(&buf, back)
	for _, want := range []string{"cluster: 1 shards", "3 MOVED, 1 ASK", "10.0.0.1:6379", "8192"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, buf.String())
		}
	}
}
