package keyspace

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kvlab/kvlab/resp"
)

// hlsHarness runs hash, list and set commands directly against a keyspace, recording their effects.
type hlsHarness struct {
	t   testing.TB
	ks  *Keyspace
	now int64
	log []hlsRecord
}

type hlsRecord struct {
	args []string // the command that produced the effects
	buf  []byte
	now  int64
}

func newHLSHarness(t testing.TB) *hlsHarness {
	return &hlsHarness{t: t, ks: New(), now: 1_700_000_000_000}
}

// do runs one command (in RESP3 when proto3) and returns its reply.
func (h *hlsHarness) do(proto3 bool, args ...string) resp.Value {
	h.t.Helper()
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	w := &resp.Writer{Proto: 2}
	if proto3 {
		w.Proto = 3
	}
	cmd, msg := Resolve(bargs)
	if msg != "" {
		w.Error(msg)
	} else {
		eff := &Effects{}
		c := &Ctx{Args: bargs, W: w, KS: h.ks, DB: h.ks.DB(0), Cmd: cmd, Now: h.now, Effects: eff}
		cmd.Handler(c)
		if c.Block != nil {
			if len(w.Buf) != 0 {
				h.t.Fatalf("%q blocked after writing a reply", args)
			}
			w.NullArray() // what the server replies on timeout
		}
		if eff.N > 0 {
			h.log = append(h.log, hlsRecord{args, append([]byte(nil), eff.Buf...), h.now})
		}
	}
	v, err := resp.NewReplyReader(bytes.NewReader(w.Buf)).Read()
	if err != nil {
		h.t.Fatalf("%q: unreadable reply %q: %v", args, w.Buf, err)
	}
	return v
}

// hlsDump renders a keyspace's database 0 canonically as of time now: every live key with its type, TTL
// and content (hash fields and set members sorted, list elements in order). Keys past their TTL are left
// out: expiry logs nothing, and a replica holds such keys until it reads them at a later time.
func hlsDump(ks *Keyspace, now int64) string {
	var keys []string
	ks.DB(0).ForEach(func(k string, o *Object) bool {
		if o.ExpireAt == 0 || o.ExpireAt > now {
			keys = append(keys, k)
		}
		return true
	})
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		o := ks.DB(0).Peek([]byte(k))
		fmt.Fprintf(&b, "%s %s ttl=%d:", k, o.Type, o.ExpireAt)
		switch v := o.Val().(type) {
		case *Hash:
			var fs []string
			for i, f := range v.t.names {
				fs = append(fs, f+"="+v.t.vals[i])
			}
			sort.Strings(fs)
			b.WriteString(strings.Join(fs, ","))
		case *Set:
			ms := append([]string(nil), v.t.names...)
			sort.Strings(ms)
			b.WriteString(strings.Join(ms, ","))
		case *List:
			for i := 0; i < v.Len(); i++ {
				b.WriteString(v.At(i) + ",")
			}
		default:
			b.Write(o.Str())
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// hlsWrite draws a random hash, list or set command, writes mostly, over a few keys of each type and a
// few collisions between types.
func hlsWrite(r *rand.Rand, kind string) []string {
	pick := func(opts ...string) string { return opts[r.IntN(len(opts))] }
	num := func(lo, hi int) string { return strconv.Itoa(lo + r.IntN(hi-lo+1)) }
	switch kind {
	case "hash":
		k := pick("h0", "h1", "h2")
		f := func() string { return "f" + num(0, 9) }
		switch r.IntN(10) {
		case 0, 1, 2:
			return []string{"HSET", k, f(), "v" + num(0, 9), f(), num(-3, 3)}
		case 3:
			return []string{"HSETNX", k, f(), "w" + num(0, 9)}
		case 4:
			return []string{"HDEL", k, f(), f()}
		case 5:
			return []string{"HINCRBY", k, pick("n", f()), num(-5, 5)}
		case 6:
			return []string{"HINCRBYFLOAT", k, pick("x", f()), pick("0.1", "-0.25", "1e3", "3")}
		case 7:
			return []string{"HMSET", k, f(), "m"}
		case 8:
			return []string{pick("EXPIRE", "PEXPIRE", "PERSIST"), k, "100"}[:2+r.IntN(2)]
		}
		return []string{"DEL", k}
	case "list":
		k := pick("l0", "l1", "l2")
		e := func() string { return pick("a", "b", "c", "d") }
		side := func() string { return pick("LEFT", "RIGHT") }
		switch r.IntN(14) {
		case 0, 1, 2:
			return []string{pick("LPUSH", "RPUSH", "LPUSHX", "RPUSHX"), k, e(), e(), e()}
		case 3:
			return []string{pick("LPOP", "RPOP"), k, num(0, 3)}[:2+r.IntN(2)]
		case 4:
			return []string{"LSET", k, num(-4, 4), e()}
		case 5:
			return []string{"LREM", k, num(-2, 2), e()}
		case 6:
			return []string{"LTRIM", k, num(-5, 3), num(-4, 6)}
		case 7:
			return []string{"LINSERT", k, pick("BEFORE", "AFTER"), e(), e()}
		case 8:
			return []string{"LMOVE", k, pick("l0", "l1", "l2"), side(), side()}
		case 9:
			return []string{"RPOPLPUSH", k, pick("l0", "l1", "l2")}
		case 10:
			return []string{"LMPOP", "2", k, pick("l0", "l1", "l2"), side(), "COUNT", num(1, 3)}
		case 11:
			switch r.IntN(4) {
			case 0:
				return []string{pick("BLPOP", "BRPOP"), k, pick("l0", "l1", "l2"), "1"}
			case 1:
				return []string{"BLMOVE", k, pick("l0", "l1", "l2"), side(), side(), "1"}
			case 2:
				return []string{"BRPOPLPUSH", k, pick("l0", "l1", "l2"), "1"}
			}
			return []string{"BLMPOP", "1", "2", k, pick("l0", "l1", "l2"), side(), "COUNT", num(1, 3)}
		case 12:
			return []string{"EXPIRE", k, "100"}
		}
		return []string{"DEL", k}
	}
	k := pick("s0", "s1", "s2")
	m := func() string { return pick("a", "b", "c", "d", "e", "1", "2", "3") }
	switch r.IntN(12) {
	case 0, 1, 2:
		return []string{"SADD", k, m(), m(), m()}
	case 3:
		return []string{"SREM", k, m(), m()}
	case 4, 5:
		return []string{"SPOP", k, num(0, 4)}[:2+r.IntN(2)]
	case 6:
		return []string{"SMOVE", k, pick("s0", "s1", "s2"), m()}
	case 7, 8:
		return []string{pick("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"), pick("s0", "s1", "s2", "d"), k, pick("s0", "s1", "s2")}
	case 9:
		return []string{"EXPIRE", pick("s0", "s1", "s2", "d"), "100"}
	case 10:
		return []string{"SET", pick("s2", "d"), "string"}
	}
	return []string{"DEL", k}
}

// TestHLSEffectsReplay runs thousands of random hash, list and set writes with effects recorded. After
// every command the new effects are applied, at their recorded time, to a second keyspace, which must
// then hold exactly the same data; at the end the whole log is also replayed into a fresh keyspace.
func TestHLSEffectsReplay(t *testing.T) {
	for _, kind := range []string{"hash", "list", "set"} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", kind, seed), func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 99))
				h := newHLSHarness(t)
				replayed := New()
				applied, peak := 0, 0
				for i := 0; i < 3000; i++ {
					h.now += int64(r.IntN(40))
					args := hlsWrite(r, kind)
					h.do(r.IntN(2) == 0, args...)
					for ; applied < len(h.log); applied++ {
						rec := h.log[applied]
						if err := replayed.ApplyEffects(rec.buf, rec.now); err != nil {
							t.Fatalf("op %d %q: replay: %v", i, args, err)
						}
					}
					want, got := hlsDump(h.ks, h.now), hlsDump(replayed, h.now)
					if want != got {
						t.Fatalf("op %d %q: state after replay\n%s\nwant\n%s", i, args, got, want)
					}
					peak = max(peak, strings.Count(want, "\n"))
				}
				fresh := newHLSHarness(t)
				for _, rec := range h.log {
					if err := fresh.ks.ApplyEffects(rec.buf, rec.now); err != nil {
						t.Fatalf("full replay of %q: %v", rec.args, err)
					}
				}
				if want, got := hlsDump(h.ks, h.now), hlsDump(fresh.ks, h.now); want != got {
					t.Fatalf("full replay differs:\n%s\nwant\n%s", got, want)
				}
				if len(h.log) < 1500 || peak < 3 {
					t.Fatalf("weak run: %d effect records, at most %d keys", len(h.log), peak)
				}
			})
		}
	}
}

// TestHLSEffectsForms checks the rewritten effects of the commands that must not be logged as they are.
func TestHLSEffectsForms(t *testing.T) {
	effects := func(h *hlsHarness, n int) []string {
		var out []string
		for _, rec := range h.log[n:] {
			DecodeEffects(rec.buf, func(_ int, args [][]byte) error {
				out = append(out, string(bytes.Join(args, []byte(" "))))
				return nil
			})
		}
		return out
	}
	tests := []struct {
		setup []string
		cmd   string
		want  string // effects joined with "; "; "*" matches any member
	}{
		{nil, "HINCRBYFLOAT h f 0.1", "HSET h f 0.1"},
		{[]string{"HSET h f 0.1"}, "HINCRBYFLOAT h f 0.2", "HSET h f 0.3"},
		{[]string{"SADD s only"}, "SPOP s", "SREM s only"},
		{[]string{"SADD s a b c"}, "SPOP s 3", "DEL s"},
		{[]string{"SADD s a b"}, "SPOP s 9", "DEL s"},
		{[]string{"SADD s a b c"}, "SPOP s 0", ""},
		{nil, "SPOP s", ""},
		{[]string{"SADD a x y", "SADD b y z"}, "SINTERSTORE d a b", "DEL d; SADD d y"},
		{[]string{"SADD d old"}, "SINTERSTORE d a b", "DEL d"},
		{nil, "SINTERSTORE d a b", ""},
		{[]string{"RPUSH l a b"}, "BLPOP l 0", "LPOP l"},
		{[]string{"RPUSH l a b"}, "BRPOP x l 0", "RPOP l"},
		{[]string{"RPUSH l a b"}, "BLMPOP 0 1 l RIGHT COUNT 5", "RPOP l 2"},
		{[]string{"RPUSH l a b"}, "LMPOP 1 l LEFT", "LPOP l 1"},
		{[]string{"RPUSH l a b"}, "BLMOVE l d RIGHT LEFT 0", "LMOVE l d RIGHT LEFT"},
		{[]string{"RPUSH l a b"}, "BRPOPLPUSH l d 0", "LMOVE l d RIGHT LEFT"},
		{[]string{"RPUSH l a b"}, "RPOPLPUSH l d", "LMOVE l d RIGHT LEFT"},
		{nil, "BLPOP l 1", ""},
		{[]string{"RPUSH l a b"}, "LPOP l 5", "LPOP l 2"},
		{[]string{"RPUSH l a b"}, "LREM l 0 zzz", ""},
		{[]string{"HSET h a 1"}, "HDEL h zzz", ""},
		{[]string{"SADD s a"}, "SADD s a", ""},
	}
	for _, tc := range tests {
		h := newHLSHarness(t)
		for _, s := range tc.setup {
			h.do(false, strings.Fields(s)...)
		}
		n := len(h.log)
		h.do(false, strings.Fields(tc.cmd)...)
		if got := strings.Join(effects(h, n), "; "); got != tc.want {
			t.Errorf("%v then %s: effects %q, want %q", tc.setup, tc.cmd, got, tc.want)
		}
	}
}

// TestDenseTable drives a dense table and a map side by side through random puts and removals, checking
// lookups, the index's presence, and that a SCAN interleaved with changes returns every entry that was
// there for the whole iteration.
func TestDenseTable(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var d dense[string]
	model := map[string]string{}
	check := func() {
		t.Helper()
		if d.len() != len(model) || len(d.vals) != len(d.names) {
			t.Fatalf("len %d/%d, model %d", d.len(), len(d.vals), len(model))
		}
		if (d.index != nil) != (d.len() > tableLinearMax/2) && (d.index == nil) == (d.len() > tableLinearMax) {
			t.Fatalf("index present=%v at %d entries", d.index != nil, d.len())
		}
		for k, v := range model {
			if got, ok := d.get([]byte(k)); !ok || got != v {
				t.Fatalf("get %q = %q %v, want %q", k, got, ok, v)
			}
		}
		for i, n := range d.names {
			if d.findString(n) != i {
				t.Fatalf("%q at %d, found at %d", n, i, d.findString(n))
			}
		}
	}
	for round := 0; round < 40; round++ {
		// Grow to a random size, shrink to a random size, scanning along the way.
		target := r.IntN(3000)
		for d.len() < target {
			k := fmt.Sprint("k", r.IntN(5000))
			v := fmt.Sprint(r.IntN(100))
			if added := d.put([]byte(k), v); added == (model[k] != "") {
				t.Fatalf("put %q: added=%v", k, added)
			}
			model[k] = v
		}
		check()
		// A full SCAN while entries come and go: the ones present throughout must all be seen.
		stable := map[string]bool{}
		for k := range model {
			stable[k] = true
		}
		seen := map[string]bool{}
		cursor := uint64(0)
		for {
			cursor = d.scan(cursor, 1+r.IntN(20), func(i int) { seen[d.names[i]] = true })
			for n := r.IntN(8); n > 0 && d.len() > 0; n-- {
				i := d.random(r)
				delete(stable, d.names[i])
				delete(model, d.names[i])
				d.removeAt(i)
			}
			for n := r.IntN(8); n > 0; n-- {
				k := fmt.Sprint("new", r.IntN(1e6))
				if d.put([]byte(k), "n") {
					model[k] = "n"
				}
			}
			if cursor == 0 {
				break
			}
		}
		for k := range stable {
			if !seen[k] {
				t.Fatalf("round %d: SCAN missed %q", round, k)
			}
		}
		shrink := r.IntN(d.len() + 1)
		for d.len() > shrink {
			if r.IntN(2) == 0 {
				i := d.random(r)
				delete(model, d.names[i])
				d.removeAt(i)
			} else {
				k := fmt.Sprint("k", r.IntN(5000))
				if d.remove([]byte(k)) != (model[k] != "") {
					t.Fatalf("remove %q", k)
				}
				delete(model, k)
			}
		}
		check()
	}
}

// TestTypeOpsRoundTrip checks Clone, Marshal/Unmarshal, Len and Encoding of hashes, lists and sets.
func TestTypeOpsRoundTrip(t *testing.T) {
	h := newHLSHarness(t)
	long := strings.Repeat("x", 70)
	for _, cmd := range [][]string{
		{"HSET", "h", "a", "1", "b", "2"}, {"HSET", "hl", "a", long}, {"RPUSH", "l", "x", "y", "z"}, {"LPUSH", "l", "w"},
		{"SADD", "si", "1", "2"}, {"SADD", "sl", "a", "1"}, {"SADD", "sh", long},
	} {
		h.do(false, cmd...)
	}
	wantEnc := map[string]string{"h": "listpack", "hl": "hashtable", "l": "quicklist", "si": "intset", "sl": "listpack", "sh": "hashtable"}
	for key, enc := range wantEnc {
		live := h.ks.DB(0).Peek([]byte(key))
		if live == nil {
			t.Fatalf("%s: missing after setup", key)
		}
		// A dict entry carries its own chain links, so the keyspaces built below get a shallow copy:
		// loading the live object elsewhere would relink h.ks's buckets.
		o := NewValue(live.Type, live.Val())
		ops := Ops(o.Type)
		if got := ops.Encoding(o.Val()); got != enc {
			t.Errorf("%s: encoding %s, want %s", key, got, enc)
		}
		clone := NewValue(o.Type, ops.Clone(o.Val()))
		back, err := UnmarshalValue(MarshalValue(nil, o))
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		for _, other := range []*Object{clone, back} {
			a, b := New(), New()
			a.DB(0).Load(key, o)
			b.DB(0).Load(key, other)
			if hlsDump(a, 0) != hlsDump(b, 0) || ops.Len(other.Val()) != ops.Len(o.Val()) || ops.Size(other.Val()) <= 0 {
				t.Errorf("%s: copy differs: %q vs %q", key, hlsDump(b, 0), hlsDump(a, 0))
			}
		}
		if ops.Encoding(back.Val()) != enc {
			t.Errorf("%s: encoding after Unmarshal %s, want %s", key, ops.Encoding(back.Val()), enc)
		}
		// Mutating the clone leaves the original alone.
		switch v := clone.Val().(type) {
		case *Hash:
			v.set([]byte("a"), "changed")
		case *Set:
			v.add([]byte("new"))
		case *List:
			v.set(0, "changed")
		}
		a, b := New(), New()
		a.DB(0).Load(key, o)
		b.DB(0).Load(key, clone)
		if hlsDump(a, 0) == hlsDump(b, 0) {
			t.Errorf("%s: the clone shares storage with the original", key)
		}
	}
	for _, bad := range [][]byte{{1, byte(TypeHash), 5}, {1, byte(TypeList), 2, 3}, {1, byte(TypeSet), 0}, {1, byte(TypeSet), 2, 1, 'a', 1, 'a'}} {
		if _, err := UnmarshalValue(bad); err == nil {
			t.Errorf("UnmarshalValue(%v) accepted a malformed value", bad)
		}
	}
}
