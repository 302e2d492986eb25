package wal

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvlab/kvlab/internal/proctest"
	"github.com/kvlab/kvlab/resp"
)

var (
	crashRounds  = flag.Int("crash.rounds", 3, "kill -9 rounds of the crash test (make crash-test runs more)")
	crashMaxLoad = flag.Duration("crash.load", 1200*time.Millisecond, "longest load phase before a kill")
	crashClients = flag.Int("crash.clients", 6, "concurrent clients in the crash test")
)

// TestCrash is the durability test of the wal engine: it builds the real kvlab binary, serves from one
// data directory, runs concurrent clients writing every data type the server has, kill -9s the process at
// a random moment, restarts it on the same directory, and checks that every acknowledged write is there
// and nothing else is: each key holds the state after its last acknowledged write, or after the one
// write that was in flight at the kill. Snapshots (automatic by log size, and BGSAVE) and segment
// rollovers happen during the rounds, so recovery goes through snapshot + log. Reproduce a run with
// KVLAB_CRASH_SEED=<seed>; make crash-test runs many more rounds.
func TestCrash(t *testing.T) {
	runCrash(t, "--engine", "wal")
}

// TestCrashEverysec is the same test under --fsync everysec. A kill -9 loses no acknowledged write there
// either (the log's writes are in the kernel's page cache; only a power failure loses the last second),
// and the segment rollovers of every round close and replace segments while the background fsync may be
// in flight.
func TestCrashEverysec(t *testing.T) {
	runCrash(t, "--engine", "wal", "--fsync", "everysec")
}

// TestCrashTiered is the same test on the tiered engine (which takes its durability from this package),
// with an 8 KB RAM budget and every value of 16 bytes or more eligible for the disk tier, so most of what
// the clients write is cold when the process dies, and snapshots must read cold values back.
func TestCrashTiered(t *testing.T) {
	runCrash(t, "--engine", "tiered", "--maxmemory", "8kb", "--tier-min-value", "16")
}

func runCrash(t *testing.T, engineArgs ...string) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("KVLAB_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (KVLAB_CRASH_SEED=%d reproduces the schedule)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	dir := t.TempDir()
	args := append(slices.Clone(engineArgs), "--dir", dir, "--snapshot-every-bytes", "96kb", "--snapshot-growth-percent", "0", "--wal-segment-size", "64kb")
	srv := proctest.Start(t, args...)
	kinds := crashKinds()
	t.Logf("data types: %v", kinds)
	clients := make([]*crashClient, *crashClients)
	for i := range clients {
		clients[i] = &crashClient{id: i, rng: rand.New(rand.NewPCG(seed, uint64(i)+2)), kinds: kinds, model: map[string]*crashKey{}}
	}
	var acked, unknown int
	for round := 1; round <= *crashRounds; round++ {
		load := time.Duration(100+rng.IntN(int(*crashMaxLoad/time.Millisecond))) * time.Millisecond
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for _, c := range clients {
			c.writes = 0
			wg.Add(1)
			go func() { defer wg.Done(); c.run(srv.Addr, stop) }()
		}
		// An occasional BGSAVE from the side, as an operator would.
		if rng.IntN(2) == 0 {
			go func() {
				time.Sleep(load / 3)
				if cl, err := dialErr(srv.Addr); err == nil {
					cl.try("BGSAVE")
					cl.nc.Close()
				}
			}()
		}
		time.Sleep(load)
		srv.Kill()
		close(stop)
		wg.Wait()
		writes := 0
		for _, c := range clients {
			writes += c.writes
		}
		if writes == 0 {
			t.Fatalf("round %d (seed %d): no write was acknowledged", round, seed)
		}
		before := len(recoveredRe.FindAllString(srv.Output(), -1))
		srv.Restart(t)
		// The recovery line goes to standard error, which may be copied a moment after the ready line.
		for i := 0; i < 100 && len(recoveredRe.FindAllString(srv.Output(), -1)) == before; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("round %d: %d acknowledged writes, killed after %s; %s", round, writes, load, lastMatch(recoveredRe, srv.Output()))
		cl, err := dialErr(srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, c := range clients {
			a, u, n, err := c.verify(cl)
			if err != nil {
				t.Fatalf("round %d (seed %d): client %d: %v", round, seed, c.id, err)
			}
			acked, unknown, total = acked+a, unknown+u, total+n
		}
		// Nothing that was never written: the server holds exactly the keys the models say exist.
		v, err := cl.try("DBSIZE")
		if err != nil || v.Int != int64(total) {
			keys, _ := cl.try("KEYS", "*")
			t.Fatalf("round %d (seed %d): DBSIZE %d (%v), the models hold %d keys; keys: %v", round, seed, v.Int, err, total, formatKeys(keys))
		}
		cl.nc.Close()
	}
	t.Logf("%d rounds: %d key checks, %d writes in flight at a kill (either outcome accepted)", *crashRounds, acked, unknown)
	if acked == 0 {
		t.Fatal("no write was acknowledged")
	}
}

var recoveredRe = regexp.MustCompile(`wal: recovered .*`)

func lastMatch(re *regexp.Regexp, s string) string {
	all := re.FindAllString(s, -1)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1]
}

func formatKeys(v resp.Value) string {
	var ks []string
	for _, e := range v.Elems {
		ks = append(ks, string(e.Str))
	}
	sort.Strings(ks)
	if len(ks) > 20 {
		ks = append(ks[:20], "...")
	}
	return strings.Join(ks, " ")
}

func dialErr(addr string) (*client, error) {
	c := &client{}
	var err error
	for i := 0; i < 50; i++ {
		var cl *client
		cl, err = tryDial(addr)
		if err == nil {
			return cl, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c, err
}

// crashKinds lists the data types the server offers (they land at different times).
func crashKinds() []string {
	kinds := []string{"string", "counter"}
	for _, k := range []struct{ kind, cmd string }{
		{"hash", "hset"}, {"list", "rpush"}, {"set", "sadd"}, {"zset", "zadd"}, {"stream", "xadd"}, {"multi", "multi"},
		{"script", "eval"},
	} {
		if has(k.cmd) {
			kinds = append(kinds, k.kind)
		}
	}
	return kinds
}

// crashKey is the model of one key: its state after the last acknowledged write, and the state it would
// have if the write in flight at the kill (if any) was applied.
type crashKey struct {
	kind     string
	state    string // canonical rendering; "" = the key does not exist
	inflight *string
}

// crashClient owns its keys (c<id>:...), so the model of each key is exact.
type crashClient struct {
	id    int
	rng   *rand.Rand
	kinds []string
	model map[string]*crashKey
	seq   int
	noTx  bool // the server has no MULTI/EXEC
	// writes counts acknowledged writes in the current round.
	writes int
}

// run writes until the connection fails (the kill) or stop closes.
func (c *crashClient) run(addr string, stop chan struct{}) {
	cl, err := tryDial(addr)
	if err != nil {
		return
	}
	defer cl.nc.Close()
	for {
		select {
		case <-stop:
			return
		default:
		}
		if !c.step(cl) {
			return
		}
		c.writes++
	}
}

// step performs one write and updates the model; false means the connection failed (the write's
// outcome is unknown and recorded as in flight).
func (c *crashClient) step(cl *client) bool {
	kind := c.kinds[c.rng.IntN(len(c.kinds))]
	if kind == "multi" && c.noTx {
		kind = "string"
	}
	c.seq++
	n := c.rng.IntN(8)
	key := fmt.Sprintf("c%d:%s:%d", c.id, kind, n)
	k := c.model[key]
	if k == nil {
		k = &crashKey{kind: kind}
		c.model[key] = k
	}
	val := "v" + strconv.Itoa(c.seq)
	var cmd []string
	var next string
	switch kind {
	case "string":
		if c.rng.IntN(5) == 0 {
			cmd, next = []string{"DEL", key}, ""
		} else {
			cmd, next = []string{"SET", key, val}, val
		}
	case "counter":
		cur, _ := strconv.Atoi(k.state)
		by := 1 + c.rng.IntN(9)
		cmd, next = []string{"INCRBY", key, strconv.Itoa(by)}, strconv.Itoa(cur+by)
	case "hash":
		m := parseList(k.state)
		f := "f" + strconv.Itoa(c.rng.IntN(4))
		if c.rng.IntN(4) == 0 {
			cmd = []string{"HDEL", key, f}
			m = removePair(m, f)
		} else {
			cmd = []string{"HSET", key, f, val}
			m = setPair(removePair(m, f), f, val)
		}
		next = renderPairs(m)
	case "list":
		l := parseList(k.state)
		if c.rng.IntN(4) == 0 {
			cmd = []string{"LPOP", key}
			if len(l) > 0 {
				l = l[1:]
			}
		} else {
			cmd = []string{"RPUSH", key, val}
			l = append(l, val)
		}
		next = strings.Join(l, ",")
	case "set":
		s := parseList(k.state)
		if c.rng.IntN(4) == 0 && len(s) > 0 {
			m := s[c.rng.IntN(len(s))]
			cmd = []string{"SREM", key, m}
			s = slices.DeleteFunc(s, func(x string) bool { return x == m })
		} else {
			cmd = []string{"SADD", key, val}
			s = append(s, val)
		}
		sort.Strings(s)
		next = strings.Join(s, ",")
	case "zset":
		m := parseList(k.state)
		member := "m" + strconv.Itoa(c.rng.IntN(5))
		if c.rng.IntN(4) == 0 {
			cmd = []string{"ZREM", key, member}
			m = removePair(m, member)
		} else {
			score := strconv.Itoa(c.rng.IntN(100))
			cmd = []string{"ZADD", key, score, member}
			m = setPair(removePair(m, member), member, score)
		}
		next = renderPairs(m)
	case "stream":
		cmd = []string{"XADD", key, "*", "f", val}
		next = "" // the ID is only known from the reply
	case "multi":
		// A transaction writes two keys; both or neither must survive.
		cmd = []string{"MULTI"}
		next = val
	case "script":
		// A Lua script writes two keys; its writes are logged as the commands it ran.
	}
	if kind == "multi" {
		return c.txn(cl, key, k, val)
	}
	if kind == "script" {
		return c.script(cl, key, k, val)
	}
	if kind == "stream" {
		v, err := cl.try(cmd...)
		if err != nil {
			k.inflight = &val // the entry's value; its ID is unknown
			return false
		}
		if v.Kind == '-' {
			panic(fmt.Sprintf("%v: %s", cmd, v.Str))
		}
		k.state = strings.TrimPrefix(k.state+","+string(v.Str)+"="+val, ",")
		return true
	}
	v, err := cl.try(cmd...)
	if err != nil {
		k.inflight = &next
		return false
	}
	if v.Kind == '-' {
		panic(fmt.Sprintf("%v: %s", cmd, v.Str))
	}
	k.state = next
	return true
}

// script runs EVAL of a script that sets key and key+":twin" to val.
func (c *crashClient) script(cl *client, key string, k *crashKey, val string) bool {
	twin := key + ":twin"
	tk := c.model[twin]
	if tk == nil {
		tk = &crashKey{kind: "string"}
		c.model[twin] = tk
	}
	k.kind, tk.kind = "string", "string"
	v, err := cl.try("EVAL", `redis.call("SET", KEYS[1], ARGV[1]); redis.call("SET", KEYS[2], ARGV[1]); return 1`, "2", key, twin, val)
	if err != nil {
		in := val
		k.inflight, tk.inflight = &in, &in
		return false
	}
	if v.Kind == '-' {
		panic(fmt.Sprintf("EVAL: %s", v.Str))
	}
	k.state, tk.state = val, val
	return true
}

// txn runs MULTI; SET key val; SET key+":twin" val; EXEC.
func (c *crashClient) txn(cl *client, key string, k *crashKey, val string) bool {
	twin := key + ":twin"
	tk := c.model[twin]
	if tk == nil {
		tk = &crashKey{kind: "string"}
		c.model[twin] = tk
	}
	k.kind, tk.kind = "string", "string"
	var buf []byte
	buf = resp.AppendCommandStrings(buf, "MULTI")
	buf = resp.AppendCommandStrings(buf, "SET", key, val)
	buf = resp.AppendCommandStrings(buf, "SET", twin, val)
	buf = resp.AppendCommandStrings(buf, "EXEC")
	cl.nc.SetDeadline(time.Now().Add(20 * time.Second))
	fail := func() bool {
		v := val
		k.inflight, tk.inflight = &v, &v
		return false
	}
	if _, err := cl.nc.Write(buf); err != nil {
		return fail()
	}
	var replies []resp.Value
	for i := 0; i < 4; i++ {
		v, err := cl.rr.Read()
		if err != nil {
			return fail()
		}
		replies = append(replies, v)
	}
	if replies[0].Kind == '-' {
		// No MULTI on this server yet: the two SETs ran on their own, EXEC failed. Stop using it.
		c.noTx = true
		k.state, tk.state = val, val
		return true
	}
	if replies[3].Kind != '*' {
		panic(fmt.Sprintf("EXEC: %+v", replies[3]))
	}
	k.state, tk.state = val, val
	return true
}

// verify reads every key of the client's model from the recovered server and checks it holds the
// acknowledged state or the in-flight one; it then adopts what it found. It returns the number of keys
// checked, of in-flight writes resolved, and of keys that exist.
func (c *crashClient) verify(cl *client) (acked, unknown, exist int, err error) {
	names := make([]string, 0, len(c.model))
	for n := range c.model {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		k := c.model[name]
		got, err := readKey(cl, name, k.kind)
		if err != nil {
			return 0, 0, 0, err
		}
		ok := got == k.state
		if !ok && k.inflight != nil {
			want := *k.inflight
			if k.kind == "stream" {
				// The in-flight XADD's ID is unknown: the acknowledged entries plus one entry with its value.
				prefix := k.state
				if prefix != "" {
					prefix += ","
				}
				rest, found := strings.CutPrefix(got, prefix)
				ok = found && !strings.Contains(rest, ",") && strings.HasSuffix(rest, "="+want)
			} else {
				ok = got == want
			}
		}
		if !ok {
			in := "none"
			if k.inflight != nil {
				in = *k.inflight
			}
			return 0, 0, 0, fmt.Errorf("key %s (%s): recovered %q; acknowledged state %q, in-flight state %s", name, k.kind, got, k.state, in)
		}
		if k.inflight != nil {
			unknown++
		}
		k.state, k.inflight = got, nil
		acked++
		if got != "" {
			exist++
		}
	}
	return acked, unknown, exist, nil
}

// readKey renders a key's value the way the model does ("" when it does not exist).
func readKey(cl *client, key, kind string) (string, error) {
	var cmd []string
	switch kind {
	case "string", "counter":
		cmd = []string{"GET", key}
	case "hash":
		cmd = []string{"HGETALL", key}
	case "list":
		cmd = []string{"LRANGE", key, "0", "-1"}
	case "set":
		cmd = []string{"SMEMBERS", key}
	case "zset":
		cmd = []string{"ZRANGE", key, "0", "-1", "WITHSCORES"}
	case "stream":
		cmd = []string{"XRANGE", key, "-", "+"}
	}
	v, err := cl.try(cmd...)
	if err != nil {
		return "", err
	}
	if v.Kind == '-' {
		return "", errors.New(string(v.Str))
	}
	switch kind {
	case "string", "counter":
		return string(v.Str), nil
	case "hash", "zset":
		var m []string
		for i := 0; i+1 < len(v.Elems); i += 2 {
			m = setPair(m, string(v.Elems[i].Str), string(v.Elems[i+1].Str))
		}
		return renderPairs(m), nil
	case "list", "set":
		var l []string
		for _, e := range v.Elems {
			l = append(l, string(e.Str))
		}
		if kind == "set" {
			sort.Strings(l)
		}
		return strings.Join(l, ","), nil
	default: // stream: id=value,...
		var l []string
		for _, e := range v.Elems {
			if len(e.Elems) == 2 && len(e.Elems[1].Elems) == 2 {
				l = append(l, string(e.Elems[0].Str)+"="+string(e.Elems[1].Elems[1].Str))
			}
		}
		return strings.Join(l, ","), nil
	}
}

// Models of hashes and sorted sets are sorted "name=value" lists.
func parseList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func removePair(m []string, name string) []string {
	return slices.DeleteFunc(slices.Clone(m), func(p string) bool { return strings.HasPrefix(p, name+"=") })
}

func setPair(m []string, name, value string) []string {
	return append(removePair(m, name), name+"="+value)
}

func renderPairs(m []string) string {
	m = slices.Clone(m)
	sort.Strings(m)
	return strings.Join(m, ",")
}
