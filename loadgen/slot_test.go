package loadgen

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/kvlab/kvlab/cluster"
	"github.com/kvlab/kvlab/resp"
	"github.com/kvlab/kvlab/scenarios"
)

// TestSlot checks the hash slot function against the vectors of the Redis cluster specification.
func TestSlot(t *testing.T) {
	for _, tc := range []struct {
		key  string
		same string // hashes like this key (hash-tag rules) ...
		want int    // ... or to this slot when same is ""
	}{
		{key: "foo", want: 12182},
		{key: "bar", want: 5061},
		{key: "123456789", want: 0x31C3}, // CRC16-XMODEM check value
		{key: "", want: 0},
		{key: "{user1000}.following", same: "user1000"},
		{key: "{user1000}.followers", same: "{user1000}.following"},
		{key: "foo{}{bar}", want: crcSlot("foo{}{bar}")},
		{key: "foo{{bar}}zap", same: "{bar"},
		{key: "foo{bar}{zap}", same: "bar"},
		{key: "{bar", want: crcSlot("{bar")},
		{key: "bar}", want: crcSlot("bar}")},
		{key: "{}", want: crcSlot("{}")},
		{key: "a{b}", same: "b"},
	} {
		want := tc.want
		if tc.same != "" {
			want = Slot([]byte(tc.same))
		}
		if got := Slot([]byte(tc.key)); got != want {
			t.Errorf("Slot(%q) = %d, want %d", tc.key, got, want)
		}
	}
}

func crcSlot(s string) int { return int(cluster.CRC16([]byte(s))) % SlotCount }

func BenchmarkSlot(b *testing.B) {
	keys := [][]byte{[]byte("device:123456"), []byte("{user1000}.following"), []byte("session:abcdefghijklmnopqrstuvwxyz0123456789")}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = Slot(keys[i%len(keys)])
	}
}

// TestKeySpecs checks which arguments routing treats as keys.
func TestKeySpecs(t *testing.T) {
	for _, tc := range []struct {
		cmd  []string
		keys []string
	}{
		{[]string{"GET", "a"}, []string{"a"}},
		{[]string{"set", "a", "v", "EX", "10"}, []string{"a"}},
		{[]string{"PING"}, nil},
		{[]string{"MGET", "a", "b", "c"}, []string{"a", "b", "c"}},
		{[]string{"MSET", "a", "1", "b", "2"}, []string{"a", "b"}},
		{[]string{"BLPOP", "a", "b", "0"}, []string{"a", "b"}},
		{[]string{"XGROUP", "CREATE", "s", "g", "$"}, []string{"s"}},
		{[]string{"XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "STREAMS", "s1", "s2", ">", ">"}, []string{"s1", "s2"}},
		{[]string{"EVAL", "return 1", "2", "a", "b", "arg"}, []string{"a", "b"}},
		{[]string{"ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"}, []string{"d", "a", "b"}},
		{[]string{"ZINTER", "2", "a", "b"}, []string{"a", "b"}},
		{[]string{"BITOP", "AND", "d", "a", "b"}, []string{"d", "a", "b"}},
		{[]string{"RENAME", "a", "b"}, []string{"a", "b"}},
	} {
		var args [][]byte
		for _, a := range tc.cmd {
			args = append(args, []byte(a))
		}
		var got []string
		specFor(tc.cmd[0]).keys(args, func(k []byte) { got = append(got, string(k)) })
		if strings.Join(got, ",") != strings.Join(tc.keys, ",") {
			t.Errorf("%v: keys %v, want %v", tc.cmd, got, tc.keys)
		}
	}
}

// TestSplitCommands: ASK re-sends split a pipelined operation into its commands.
func TestSplitCommands(t *testing.T) {
	b := resp.AppendCommandStrings(nil, "SET", "k", "0123456789ab")
	b = resp.AppendCommandStrings(b, "GET", "k")
	b = resp.AppendCommandStrings(b, "PING")
	got := splitCommands(b)
	want := []string{"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$12\r\n0123456789ab\r\n", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "*1\r\n$4\r\nPING\r\n"}
	if len(got) != len(want) {
		t.Fatalf("split into %d commands, want %d", len(got), len(want))
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("command %d: %q, want %q", i, got[i], want[i])
		}
	}
}

// BenchmarkClusterRoute measures the cluster hot path without a network: pick an operation, render it,
// compute its slot and find its shard's connection.
func BenchmarkClusterRoute(b *testing.B) {
	sc, err := scenarios.Parse("b.yaml", []byte(`name: b
keyspaces:
  k: {pattern: "device:{id}", count: 1000000}
values:
  v: {size: {fixed: 64}}
operations:
  - {name: get, weight: 4, keyspace: k, commands: [[GET, "{key}"]]}
  - {name: set, weight: 1, keyspace: k, value: v, commands: [[SET, "{key}", "{value}"]]}
`))
	if err != nil {
		b.Fatal(err)
	}
	p, err := compile(sc, 1)
	if err != nil {
		b.Fatal(err)
	}
	topo := newTopology()
	for i := 0; i < 3; i++ {
		si := topo.shardIndex("10.0.0." + strconv.Itoa(i+1) + ":6379")
		topo.assign(int64(i*SlotCount/3), int64((i+1)*SlotCount/3-1), si)
	}
	rt := &router{}
	rt.topo.Store(topo)
	rt.version.Store(1)
	l := newLane(rt, 0)
	for _, s := range topo.shards {
		l.conns[s.primary] = &client{addr: s.primary}
	}
	l.sync()
	r := &run{plan: p}
	rng := rand.New(rand.NewPCG(1, 2))
	rc := renderCtx{r: rng}
	b.ReportAllocs()
	for b.Loop() {
		co := p.pick(rng)
		r.prepare(&rc, co)
		_, slot, err := r.renderOp(l, co, &rc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.route(slot, co.op.ReadOnly); err != nil {
			b.Fatal(err)
		}
	}
}
