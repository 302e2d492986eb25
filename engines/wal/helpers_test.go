package wal

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kvlab/kvlab/engines"
	"github.com/kvlab/kvlab/internal/record"
	"github.com/kvlab/kvlab/keyspace"
	"github.com/kvlab/kvlab/resp"
)

// openEngine opens a wal engine on dir with the given options (key=value); it is closed at cleanup.
func openEngine(t testing.TB, dir string, opts ...string) *Engine {
	t.Helper()
	e, err := tryOpen(t, dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func tryOpen(t testing.TB, dir string, opts ...string) (*Engine, error) {
	m := map[string]string{"snapshot-every-bytes": "0"}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		m[k] = v
	}
	return OpenEngine(engines.Config{Dir: dir, Options: m, Logf: func(f string, a ...any) { t.Logf(f, a...) }})
}

// execer runs commands against an engine the way the server does: the handler under Keyspace.Mu, the
// effects committed under the lock in execution order, then Wait without it.
type execer struct {
	e   *Engine
	ks  *keyspace.Keyspace
	db  int
	w   resp.Writer
	eff keyspace.Effects
	// history, when set, receives every committed record (for point-in-time checks).
	history *history
}

// history is the log as the test saw it: effects and time by LSN.
type history struct {
	mu   sync.Mutex
	recs map[uint64]histRec
}

type histRec struct {
	eff []byte
	now int64
}

func newExecer(e *Engine) *execer { return &execer{e: e, ks: e.Keyspace()} }

// do runs one command and returns its reply (RESP) after its effects are durable.
func (x *execer) do(t testing.TB, args ...string) string {
	t.Helper()
	reply, err := x.try(args...)
	if err != nil {
		t.Fatal(err)
	}
	return reply
}

// try is do for goroutines other than the test's: it returns the failure instead of ending the test.
func (x *execer) try(args ...string) (string, error) {
	if strings.EqualFold(args[0], "select") { // a connection command: the server's, not the keyspace's
		x.db, _ = strconv.Atoi(args[1])
		return "+OK\r\n", nil
	}
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	x.ks.Mu.Lock()
	x.w.Reset()
	x.eff.Reset()
	cmd, msg := keyspace.Resolve(b)
	if msg != "" {
		x.ks.Mu.Unlock()
		return "", fmt.Errorf("%v: %s", args, msg)
	}
	c := &keyspace.Ctx{Args: b, W: &x.w, KS: x.ks, DB: x.ks.DB(x.db), Cmd: cmd, Now: time.Now().UnixMilli(), Effects: &x.eff}
	cmd.Handler(c)
	need := c.NeedLSN
	if x.eff.N > 0 {
		lsn, err := x.e.Commit(&x.eff, c.Now)
		if err != nil {
			x.ks.Mu.Unlock()
			return "", fmt.Errorf("commit %v: %w", args, err)
		}
		need = max(need, lsn)
		if x.history != nil {
			x.history.mu.Lock()
			x.history.recs[lsn] = histRec{eff: append([]byte(nil), x.eff.Buf...), now: c.Now}
			x.history.mu.Unlock()
		}
	}
	if need >= x.ks.NextLSN {
		need = x.ks.NextLSN - 1
	}
	reply := string(x.w.Buf)
	x.ks.Mu.Unlock()
	if err := x.e.Wait(context.Background(), need); err != nil {
		return "", fmt.Errorf("wait %v: %w", args, err)
	}
	return reply, nil
}

// dump renders the whole data set (every database, TTLs included) as sorted lines, for comparisons. Keys
// expired at cutoff (Unix ms; 0 = keep all) are left out: a read reclaims an expired key without logging
// anything, so the log rebuilds such keys as expired-but-not-reclaimed, which is the same data.
func dump(ks *keyspace.Keyspace, cutoff int64) []string {
	ks.Mu.Lock()
	defer ks.Mu.Unlock()
	return dumpLocked(ks, cutoff)
}

func dumpLocked(ks *keyspace.Keyspace, cutoff int64) []string {
	var out []string
	for i := 0; i < keyspace.NumDBs; i++ {
		ks.DB(i).ForEach(func(key string, o *keyspace.Object) bool {
			if o.ExpireAt != 0 && o.ExpireAt <= cutoff {
				return true
			}
			out = append(out, fmt.Sprintf("%d %q exp=%d %s", i, key, o.ExpireAt, canonical(ks, i, key, o)))
			return true
		})
	}
	sort.Strings(out)
	return out
}

// canonical renders a value so that equal values render equally: hashes and sets serialize in map order,
// so they are rendered as their sorted members (read through their own commands), the rest as serialized.
func canonical(ks *keyspace.Keyspace, db int, key string, o *keyspace.Object) string {
	var cmd string
	switch o.Type {
	case keyspace.TypeHash:
		cmd = "hgetall"
	case keyspace.TypeSet:
		cmd = "smembers"
	default:
		return fmt.Sprintf("%x", keyspace.MarshalValue(nil, o))
	}
	var w resp.Writer
	args := [][]byte{[]byte(cmd), []byte(key)}
	c, _ := keyspace.Resolve(args)
	c.Handler(&keyspace.Ctx{Args: args, W: &w, KS: ks, DB: ks.DB(db), Cmd: c, Now: 0, Replay: true})
	v, err := resp.NewReplyReader(bytes.NewReader(w.Buf)).Read()
	if err != nil {
		return "unreadable: " + err.Error()
	}
	var parts []string
	if o.Type == keyspace.TypeHash {
		for j := 0; j+1 < len(v.Elems); j += 2 {
			parts = append(parts, string(v.Elems[j].Str)+"="+string(v.Elems[j+1].Str))
		}
	} else {
		for _, e := range v.Elems {
			parts = append(parts, string(e.Str))
		}
	}
	sort.Strings(parts)
	return o.Type.String() + "{" + strings.Join(parts, ",") + "}"
}

func sameDump(t testing.TB, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d keys, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: first difference at line %d:\n got %s\nwant %s", what, i, got[i], want[i])
		}
	}
}

// has reports whether a command is registered (data types land at different times).
func has(name string) bool { return keyspace.Lookup([]byte(name)) != nil }

// randomCommand returns a write (or read) over every data type the keyspace has, on a small key space so
// keys are created, modified, expired and deleted. Keys are prefixed by type to keep WRONGTYPE rare.
func randomCommand(r *rand.Rand) []string {
	k := func(p string) string { return p + strconv.Itoa(r.IntN(40)) }
	v := func() string { return strconv.Itoa(r.IntN(1000)) }
	var choices [][]string
	choices = append(choices,
		[]string{"SET", k("s"), v()},
		[]string{"SET", k("s"), strings.Repeat("x", r.IntN(300)), "PX", strconv.Itoa(10 + r.IntN(5000))},
		[]string{"APPEND", k("s"), v()},
		[]string{"INCRBY", k("n"), v()},
		[]string{"INCRBYFLOAT", k("f"), "1.5"},
		[]string{"DEL", k("s"), k("n")},
		[]string{"EXPIRE", k("s"), strconv.Itoa(1 + r.IntN(100))},
		[]string{"PERSIST", k("s")},
		[]string{"RENAME", k("s"), k("s")},
		[]string{"MSET", k("s"), v(), k("s"), v()},
		[]string{"GETDEL", k("s")},
		[]string{"GET", k("s")},
		[]string{"COPY", k("s"), k("s")},
	)
	if has("zadd") {
		choices = append(choices,
			[]string{"ZADD", k("z"), v(), "m" + v(), v(), "m" + v()},
			[]string{"ZINCRBY", k("z"), "2.5", "m" + v()},
			[]string{"ZREM", k("z"), "m" + v()},
			[]string{"ZPOPMIN", k("z")},
		)
	}
	if has("xadd") {
		choices = append(choices,
			[]string{"XADD", k("x"), "*", "f", v()},
			[]string{"XADD", k("x"), "MAXLEN", "~", "20", "*", "f", v()},
			[]string{"XTRIM", k("x"), "MAXLEN", "5"},
		)
	}
	if has("hset") {
		choices = append(choices,
			[]string{"HSET", k("h"), "f" + v(), v()},
			[]string{"HINCRBY", k("h"), "c", v()},
			[]string{"HDEL", k("h"), "f" + v()},
		)
	}
	if has("lpush") {
		choices = append(choices,
			[]string{"LPUSH", k("l"), v(), v()},
			[]string{"RPUSH", k("l"), v()},
			[]string{"LPOP", k("l")},
			[]string{"LTRIM", k("l"), "0", "10"},
		)
	}
	if has("sadd") {
		choices = append(choices,
			[]string{"SADD", k("t"), v(), v()},
			[]string{"SREM", k("t"), v()},
			[]string{"SPOP", k("t")},
		)
	}
	c := choices[r.IntN(len(choices))]
	if c[0] == "COPY" && r.IntN(2) == 0 {
		c = append(c, "REPLACE")
	}
	return c
}

// segmentFiles returns the log segment paths of dir, oldest first.
func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	segs, err := listSegments(filepath.Join(dir, "wal"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range segs {
		out = append(out, s.path)
	}
	return out
}

// effectsRecords returns the offsets and sizes of the effects records of a segment file.
func effectsRecords(t testing.TB, path string) []record.Record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := record.NewReader(path, data, 0)
	var out []record.Record
	for {
		rec, err := r.Next()
		if err != nil {
			return out
		}
		if rec.Type == record.TypeEffects {
			out = append(out, rec)
		}
	}
}

// copyDir copies a data directory (files and subdirectories) into a new temporary directory.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
