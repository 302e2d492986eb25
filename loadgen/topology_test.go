package loadgen

import (
	"reflect"
	"testing"

	"github.com/kvlab/kvlab/resp"
)

func bulk(s string) resp.Value { return resp.Value{Kind: '$', Str: []byte(s)} }
func num(n int64) resp.Value   { return resp.Value{Kind: ':', Int: n} }
func arr(vs ...resp.Value) resp.Value {
	return resp.Value{Kind: '*', Elems: vs}
}

// TestParseTopology reads synthetic CLUSTER SLOTS and CLUSTER SHARDS replies: empty and unknown ("?")
// endpoints mean the seed's host, TLS runs use tls-port, unhealthy nodes and slotless shards are left out.
func TestParseTopology(t *testing.T) {
	slots := arr(
		arr(num(0), num(99), arr(bulk(""), num(7000), bulk("id-a")), arr(bulk("10.0.0.9"), num(7003), bulk("id-d"))),
		arr(num(100), num(16383), arr(bulk("cache-b.example"), num(7001), bulk("id-b"))),
	)
	node := func(kv ...string) resp.Value {
		var vs []resp.Value
		for i := 0; i < len(kv); i += 2 {
			v := bulk(kv[i+1])
			if kv[i] == "port" || kv[i] == "tls-port" {
				v = num(atoi64(kv[i+1]))
			}
			vs = append(vs, bulk(kv[i]), v)
		}
		return arr(vs...)
	}
	shards := arr(
		arr(bulk("slots"), arr(num(0), num(99)), bulk("nodes"), arr(
			node("endpoint", "?", "ip", "", "port", "7000", "tls-port", "8000", "role", "master", "health", "online"),
			node("endpoint", "10.0.0.9", "port", "7003", "tls-port", "8003", "role", "replica", "health", "online"),
			node("endpoint", "10.0.0.8", "port", "7004", "role", "replica", "health", "loading"),
		)),
		arr(bulk("slots"), arr(num(100), num(16383)), bulk("nodes"), arr(
			node("endpoint", "cache-b.example", "port", "7001", "tls-port", "8001", "role", "master", "health", "online"),
		)),
		arr(bulk("slots"), arr(), bulk("nodes"), arr(
			node("endpoint", "10.0.0.7", "port", "7005", "role", "master", "health", "online"),
		)),
	)
	// Shards come in primary address order, whatever order the server used.
	want := []shardInfo{{primary: "cache-b.example:7001", slots: 16284},
		{primary: "seed:7000", replicas: []string{"10.0.0.9:7003"}, slots: 100}}
	ts, err := parseSlots(slots, "seed")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ts.shards, want) {
		t.Errorf("CLUSTER SLOTS: %+v, want %+v", ts.shards, want)
	}
	th, err := parseShards(shards, "seed", false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(th.shards, want) || th.owner != ts.owner {
		t.Errorf("CLUSTER SHARDS: %+v, want %+v and the same owners", th.shards, want)
	}
	if th.owner[99] != 1 || th.owner[100] != 0 || th.owner[16383] != 0 {
		t.Errorf("owners of slots 99, 100, 16383: %d %d %d", th.owner[99], th.owner[100], th.owner[16383])
	}
	tt, err := parseShards(shards, "seed", true)
	if err != nil {
		t.Fatal(err)
	}
	if tt.shards[1].primary != "seed:8000" || tt.shards[1].replicas[0] != "10.0.0.9:8003" || tt.shards[0].primary != "cache-b.example:8001" {
		t.Errorf("TLS: %+v, want tls-port addresses", tt.shards)
	}
	if _, err := parseSlots(arr(), "seed"); err == nil {
		t.Error("no slots: want an error")
	}
	if got := ts.shardOf("10.0.0.9:7003"); got != "seed:7000" {
		t.Errorf("shardOf(replica) = %s", got)
	}
	rt := &router{seedHost: "seed"}
	for _, tc := range []struct {
		text string
		ask  bool
		addr string
		ok   bool
	}{
		{"MOVED 3999 10.0.0.2:6381", false, "10.0.0.2:6381", true},
		{"ASK 3999 10.0.0.2:6381", true, "10.0.0.2:6381", true},
		{"MOVED 3999 :6381", false, "seed:6381", true},
		{"MOVED 3999 [::1]:6381", false, "[::1]:6381", true},
		{"MOVED 3999", false, "", false},
	} {
		ask, addr, ok := rt.parseRedirect(tc.text)
		if ask != tc.ask || addr != tc.addr || ok != tc.ok {
			t.Errorf("parseRedirect(%q) = %v %q %v", tc.text, ask, addr, ok)
		}
	}
}

func atoi64(s string) int64 {
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	return n
}
