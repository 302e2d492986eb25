package server_test

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kvlab/kvlab/resp"
)

// This file tests hashes, lists and sets over real TCP: exact replies compared with Debian's redis-server
// (edge cases and a randomized differential run), go-redis's typed API, blocking commands, and keyspace
// events.

// hlsConn is a raw RESP client that keeps replies exact, including the kind of null.
type hlsConn struct {
	nc  net.Conn
	rr  *resp.ReplyReader
	buf []byte
}

func hlsDial(t testing.TB, addr string) *hlsConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &hlsConn{nc: nc, rr: resp.NewReplyReader(bufio.NewReader(nc))}
}

func (c *hlsConn) send(args ...string) error {
	c.buf = resp.AppendCommandStrings(c.buf[:0], args...)
	_, err := c.nc.Write(c.buf)
	return err
}

func (c *hlsConn) read(d time.Duration) (resp.Value, error) {
	c.nc.SetReadDeadline(time.Now().Add(d))
	return c.rr.Read()
}

func (c *hlsConn) do(t testing.TB, args ...string) resp.Value {
	t.Helper()
	if err := c.send(args...); err != nil {
		t.Fatal(err)
	}
	v, err := c.read(10 * time.Second)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return v
}

// hlsStartRedis starts Debian's redis-server without persistence on a free port, skipping the test when
// it is not installed, and returns its address.
func hlsStartRedis(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("redis-server did not start on %s", addr)
	return ""
}

// hlsExact renders a reply keeping every distinction a client can see: the RESP type of every element and
// which kind of null it is. With sorted, the elements of the top-level aggregate (the pairs of a map) are
// sorted, for replies whose order Redis does not define.
func hlsExact(v resp.Value, sorted bool) string {
	switch v.Kind {
	case '$', '*', '~', '%', '>':
		if v.Null {
			return string(v.Kind) + "nil"
		}
	}
	switch v.Kind {
	case '+', '-', '!', '(', ',':
		return string(v.Kind) + string(v.Str)
	case ':':
		return ":" + strconv.FormatInt(v.Int, 10)
	case '$', '=':
		return strconv.Quote(string(v.Str))
	case '_':
		return "_"
	case '#':
		return fmt.Sprintf("#%v", v.Bool)
	case '*', '~', '>':
		parts := make([]string, len(v.Elems))
		for i, e := range v.Elems {
			parts[i] = hlsExact(e, false)
		}
		if sorted {
			sort.Strings(parts)
		}
		return string(v.Kind) + "[" + strings.Join(parts, " ") + "]"
	case '%':
		parts := make([]string, 0, len(v.Elems)/2)
		for i := 0; i+1 < len(v.Elems); i += 2 {
			parts = append(parts, hlsExact(v.Elems[i], false)+":"+hlsExact(v.Elems[i+1], false))
		}
		if sorted {
			sort.Strings(parts)
		}
		return "%{" + strings.Join(parts, " ") + "}"
	}
	return fmt.Sprintf("?%q", v.Kind)
}

// hlsEdgeCases are command sequences whose every reply must be byte-for-byte Redis's (both protocols):
// argument checks in Redis's order, errors, nulls, empty replies, and the deterministic cases of the
// random commands. A line starting with "~" is an unordered reply, compared sorted. Arguments are split on
// spaces; ” is the empty string.
var hlsEdgeCases = [][]string{
	// Hashes.
	{"HSET h a 1 b 2", "HSET h b 3 c 4", "HGET h b", "HGET h x", "HGET nokey a", "HMGET h a x c", "HMGET nokey a b",
		"~HGETALL h", "~HKEYS h", "~HVALS h", "HGETALL nokey", "HKEYS nokey", "HVALS nokey", "HLEN h", "HLEN nokey",
		"HEXISTS h a", "HEXISTS h x", "HEXISTS nokey a", "HSTRLEN h a", "HSTRLEN h x", "HSTRLEN nokey a",
		"HSET h a", "HSET h", "HMSET h x 1 y 2", "HMSET h x", "HSETNX h a 9", "HSETNX h z 9", "HSETNX nh f v", "HGET h a"},
	{"HSET h a 1 b 2", "HDEL h a x", "HDEL h b b", "EXISTS h", "HDEL h a", "HDEL nokey a", "HDEL h"},
	{"SET str v", "HSET str a 1", "HGET str a", "HMGET str a", "HGETALL str", "HKEYS str", "HVALS str", "HLEN str",
		"HEXISTS str a", "HSTRLEN str a", "HDEL str a", "HSETNX str a 1", "HINCRBY str a 1", "HINCRBYFLOAT str a 1",
		"HRANDFIELD str", "HRANDFIELD str 2", "HSCAN str 0", "HINCRBYFLOAT str a inf", "HSCAN str x", "HMSET str a 1"},
	{"HINCRBY c n 5", "HINCRBY c n -7", "HINCRBY c n x", "HINCRBY c n 1.5", "HINCRBY c n ''", "HINCRBY c n 9223372036854775808",
		"HSET c s abc big 9223372036854775807 neg -9223372036854775808 sp ' 1' z 007",
		"HINCRBY c s 1", "HINCRBY c big 1", "HINCRBY c big 0", "HINCRBY c neg -1", "HINCRBY c sp 1", "HINCRBY c z 1",
		"HINCRBY nokey f 1", "HINCRBY c n -9223372036854775808", "HGET c n"},
	{"HINCRBYFLOAT f x 1.5", "HINCRBYFLOAT f x 1.25", "HINCRBYFLOAT f x -2.75", "HINCRBYFLOAT f y 0.1", "HINCRBYFLOAT f y 0.2",
		"HINCRBYFLOAT f y 0.2", "HINCRBYFLOAT f z 1e3", "HINCRBYFLOAT f z 1E-3", "HINCRBYFLOAT f z .5", "HINCRBYFLOAT f z 5.",
		"HINCRBYFLOAT f z +2", "HINCRBYFLOAT f big 1e30", "HINCRBYFLOAT f tiny 1e-30", "HINCRBYFLOAT f neg -0.0",
		"HINCRBYFLOAT f x abc", "HINCRBYFLOAT f x ''", "HINCRBYFLOAT f x ' 1'", "HINCRBYFLOAT f x '1 '", "HINCRBYFLOAT f x nan",
		"HINCRBYFLOAT f x inf", "HINCRBYFLOAT f x -inf", "HINCRBYFLOAT f x 1e5000", "HINCRBYFLOAT f x 1e-5000",
		"HINCRBYFLOAT f x 1p3", "HINCRBYFLOAT f x 0x10", "HINCRBYFLOAT f x 0x1.8p1", "HINCRBYFLOAT f x 1_0", "HINCRBYFLOAT f x 1e",
		"HSET f s abc i 10 e 1e2", "HINCRBYFLOAT f s 1", "HINCRBYFLOAT f i 0.5", "HINCRBYFLOAT f e 1",
		"HINCRBYFLOAT nf x inf", "EXISTS nf", "HINCRBYFLOAT nf x 1e4000", "HINCRBYFLOAT nf x 1e4000", "HINCRBYFLOAT nf x 1e4000", "HINCRBYFLOAT nf x -1e4000", "HINCRBYFLOAT nf x -1e4000", "HINCRBYFLOAT nf x -1e4000", "HINCRBYFLOAT nf x 1", "HGET nf x", "HINCRBYFLOAT f huge 1e4000", "HINCRBYFLOAT f x 3.0000000000000000001",
		"~HGETALL f"},
	{"HSET r only 1", "HRANDFIELD r", "HRANDFIELD r 1", "HRANDFIELD r 5", "HRANDFIELD r -3", "HRANDFIELD r 0",
		"HRANDFIELD r 2 WITHVALUES", "HRANDFIELD r -2 WITHVALUES", "HRANDFIELD r 1 withvalues", "HRANDFIELD r 0 WITHVALUES",
		"HRANDFIELD nokey", "HRANDFIELD nokey 3", "HRANDFIELD nokey -3 WITHVALUES", "HRANDFIELD r 1 FOO", "HRANDFIELD r x",
		"HRANDFIELD r x FOO", "HRANDFIELD r 1 WITHVALUES x", "HRANDFIELD nokey x", "HRANDFIELD r -9223372036854775808",
		"HRANDFIELD r -9223372036854775807 WITHVALUES", "HRANDFIELD r 9223372036854775807 WITHVALUES",
		"HSET r2 a 1 b 2 c 3", "~HRANDFIELD r2 3", "~HRANDFIELD r2 10", "~HRANDFIELD r2 3 WITHVALUES"},
	{"HSET s a 1 b 2 c 3", "~HSCAN s 0", "~HSCAN s 0 COUNT 1", "HSCAN s 0 MATCH a*", "HSCAN s 0 MATCH z*", "HSCAN nokey 0",
		"HSCAN nokey 0 COUNT x", "HSCAN nokey 0 FOO", "HSCAN s x", "HSCAN s -1 MATCH a", "HSCAN s +0 MATCH a", "HSCAN s ' 0'",
		"HSCAN s 18446744073709551615 MATCH a", "HSCAN s 18446744073709551616", "HSCAN s 0 COUNT 0", "HSCAN s 0 COUNT -1",
		"HSCAN s 0 COUNT x", "HSCAN s 0 MATCH", "HSCAN s 0 FOO bar", "HSCAN s 0 TYPE string", "HSCAN s - ", "HSCAN s ''"},
	// Lists.
	{"RPUSH l a b c", "LPUSH l z", "LRANGE l 0 -1", "LPUSHX l y", "RPUSHX l d", "LPUSHX nokey a", "RPUSHX nokey a",
		"EXISTS nokey", "LLEN l", "LLEN nokey", "LRANGE l -100 100", "LRANGE l 2 1", "LRANGE l -1 -2", "LRANGE l 5 10",
		"LRANGE l 0 0", "LRANGE nokey 0 -1", "LRANGE l x 1", "LRANGE l 0 x", "LRANGE nokey x 1",
		"LRANGE l -9223372036854775808 9223372036854775807", "LINDEX l 0", "LINDEX l -1", "LINDEX l 99", "LINDEX l -99",
		"LINDEX l x", "LINDEX nokey x", "LINDEX nokey 0"},
	{"RPUSH l a b c d e", "LPOP l", "RPOP l", "LPOP l 0", "LPOP l 2", "RPOP l 1", "RPOP l 5", "EXISTS l", "LPOP l",
		"LPOP l 1", "RPOP l 0", "LPOP l x", "LPOP l -1", "LPOP l 1 2", "RPUSH l a", "RPOP l x", "RPOP l -1", "RPOP l 9999"},
	{"RPUSH l a b c", "LSET l 0 A", "LSET l -1 C", "LSET l 3 x", "LSET l -4 x", "LSET l x y", "LSET nokey x y",
		"LSET nokey 0 y", "LRANGE l 0 -1"},
	{"RPUSH l a b a c a", "LREM l 2 a", "LRANGE l 0 -1", "RPUSH l a", "LREM l -1 a", "LRANGE l 0 -1", "LREM l 0 a",
		"LREM l 0 zzz", "LRANGE l 0 -1", "LREM l x a", "LREM nokey x a", "LREM nokey 1 a", "LREM l 0 b", "LREM l 0 c",
		"EXISTS l", "RPUSH m a a a", "LREM m -9223372036854775808 a", "EXISTS m"},
	{"RPUSH l a b c d e f", "LTRIM l 1 -2", "LRANGE l 0 -1", "LTRIM l -100 100", "LTRIM l 2 1", "EXISTS l",
		"LTRIM nokey 0 1", "LTRIM l x 1", "LTRIM nokey x 1", "RPUSH m a b c", "LTRIM m 5 10", "EXISTS m",
		"RPUSH n a b c", "LTRIM n -1 -1", "LRANGE n 0 -1"},
	{"RPUSH l a b c", "LINSERT l BEFORE b x", "LINSERT l after c y", "LINSERT l AFTER nope z", "LINSERT l MIDDLE a z",
		"LINSERT nokey BEFORE a z", "LINSERT nokey MIDDLE a z", "LRANGE l 0 -1", "LINSERT l BEFORE a first", "LRANGE l 0 -1"},
	{"RPUSH l a b c a b c a", "LPOS l a", "LPOS l c", "LPOS l z", "LPOS l a RANK 2", "LPOS l a RANK -1", "LPOS l a RANK -2",
		"LPOS l a RANK 4", "LPOS l a COUNT 0", "LPOS l a COUNT 2", "LPOS l a COUNT 2 RANK 2", "LPOS l a COUNT 0 RANK -1",
		"LPOS l a MAXLEN 1", "LPOS l c MAXLEN 2", "LPOS l a COUNT 0 MAXLEN 4", "LPOS l a RANK -1 MAXLEN 2", "LPOS l z COUNT 0",
		"LPOS nokey a", "LPOS nokey a COUNT 1", "LPOS nokey a COUNT 0", "LPOS l a RANK 0", "LPOS l a RANK x",
		"LPOS l a COUNT -1", "LPOS l a COUNT x", "LPOS l a MAXLEN -1", "LPOS l a MAXLEN x", "LPOS l a FOO 1",
		"LPOS l a FOO x", "LPOS l a RANK", "LPOS l a COUNT", "LPOS nokey a RANK 0", "LPOS l a rank 1 count 1 maxlen 0",
		"LPOS l a RANK 1 RANK 2"},
	{"RPUSH src a b c", "LMOVE src dst LEFT RIGHT", "LMOVE src dst RIGHT LEFT", "LRANGE dst 0 -1", "LMOVE src src LEFT RIGHT",
		"LRANGE src 0 -1", "LMOVE src dst left left", "EXISTS src", "LMOVE src dst LEFT RIGHT", "LMOVE src dst UP RIGHT",
		"LMOVE src dst LEFT DOWN", "RPOPLPUSH dst dst", "LRANGE dst 0 -1", "RPOPLPUSH nokey dst", "SET str v",
		"LMOVE str dst LEFT LEFT", "LMOVE dst str LEFT LEFT", "RPOPLPUSH dst str", "RPOPLPUSH str dst", "LMOVE nokey str LEFT LEFT",
		"RPUSH one x", "LMOVE one one LEFT LEFT", "LRANGE one 0 -1"},
	{"RPUSH a 1 2 3", "RPUSH b 4", "LMPOP 2 nokey a LEFT", "LMPOP 2 a b RIGHT COUNT 5", "LMPOP 2 a b LEFT COUNT 5",
		"LMPOP 1 b LEFT", "LMPOP 1 nokey LEFT", "LMPOP 0 a LEFT", "LMPOP -1 a LEFT", "LMPOP x a LEFT", "LMPOP 2 a LEFT",
		"LMPOP 1 a", "LMPOP 1 a UP", "LMPOP 1 a LEFT COUNT 0", "LMPOP 1 a LEFT COUNT -1", "LMPOP 1 a LEFT COUNT x",
		"LMPOP 1 a LEFT COUNT", "LMPOP 1 a LEFT COUNT 1 COUNT 2", "LMPOP 1 a LEFT FOO", "SET str v", "LMPOP 2 nokey str LEFT",
		"RPUSH c x", "LMPOP 2 c str LEFT", "LMPOP 3 nokey2 nokey3 nokey4 RIGHT COUNT 2"},
	{"SET str v", "LPUSH str a", "RPUSH str a", "LPUSHX str a", "RPUSHX str a", "LPOP str", "RPOP str 2", "LLEN str",
		"LRANGE str 0 1", "LINDEX str 0", "LINDEX str x", "LSET str 0 v", "LSET str x v", "LREM str 0 a", "LTRIM str 0 1",
		"LINSERT str BEFORE a b", "LPOS str a", "LPOS str a COUNT 1"},
	// Blocking commands that can be served at once, or that answer at once inside MULTI.
	{"RPUSH q a b", "BLPOP nokey q 0", "BRPOP q 0", "EXISTS q", "RPUSH q x y z", "BLMOVE q d LEFT RIGHT 0",
		"BRPOPLPUSH q d 0", "BLMPOP 0 2 nokey q LEFT COUNT 5", "LRANGE d 0 -1", "SET str v", "BLPOP str 0", "BLPOP nokey str 0",
		"BLMOVE str d LEFT LEFT 0", "BRPOPLPUSH d str 0", "BLMPOP 0 1 str LEFT"},
	{"BLPOP k abc", "BLPOP k -1", "BLPOP k -0.5", "BLPOP k 1e20", "BLPOP k inf", "BLPOP k ''", "BLPOP k 1x",
		"BRPOPLPUSH a b x", "BLMOVE a b LEFT RIGHT x", "BLMOVE a b UP RIGHT x", "BLMOVE a b LEFT UP -1", "BLMPOP x 1 k LEFT",
		"BLMPOP -1 1 k LEFT", "BLMPOP 0 0 k LEFT", "BLMPOP x 0 k LEFT", "BLMPOP x 1 k UP", "BLMPOP x 1 k LEFT COUNT 0",
		"BLMPOP 0 2 k LEFT", "BLMPOP 0 1 k LEFT COUNT", "BLPOP k", "BLMPOP 0 1 k"},
	{"MULTI", "BLPOP nokey 0", "BRPOP nokey 0", "BRPOPLPUSH nokey d 0", "BLMOVE nokey d LEFT LEFT 0", "BLMPOP 0 1 nokey LEFT",
		"BLPOP nokey abc", "EXEC"},
	{"RPUSH q a", "MULTI", "BLPOP q 0", "BLPOP q 0", "RPUSH q b", "BRPOPLPUSH q d 0", "EXEC", "LRANGE d 0 -1"},
	// Sets.
	{"SADD s a b c", "SADD s a d", "SADD s a", "~SMEMBERS s", "SMEMBERS nokey", "SISMEMBER s a", "SISMEMBER s z",
		"SISMEMBER nokey a", "SMISMEMBER s a z b", "SMISMEMBER nokey a b", "SCARD s", "SCARD nokey", "SREM s a z",
		"SREM s b c d", "EXISTS s", "SREM nokey a", "SADD s", "SREM s"},
	{"SET str v", "SADD str a", "SREM str a", "SMEMBERS str", "SISMEMBER str a", "SMISMEMBER str a", "SCARD str",
		"SINTER str", "SUNION nokey str", "SDIFF str", "SINTERSTORE d str", "SINTERCARD 1 str", "SPOP str", "SPOP str 1",
		"SRANDMEMBER str", "SRANDMEMBER str 1", "SMOVE str d a", "SSCAN str 0"},
	{"SADD a 1 2 3 4", "SADD b 3 4 5", "SADD c 4 9", "~SINTER a b", "~SINTER a b c", "SINTER a nokey", "SINTER nokey",
		"~SUNION a b c", "~SUNION a nokey", "SUNION nokey", "~SDIFF a b", "~SDIFF a b c", "~SDIFF a nokey", "SDIFF nokey a",
		"SDIFF a a", "~SINTER a a", "SET str v", "SINTER nokey str", "SINTER a str", "SDIFF nokey str", "SUNION a str"},
	{"SADD a 1 2 3 4", "SADD b 3 4 5", "SINTERSTORE d a b", "~SMEMBERS d", "SUNIONSTORE d a b", "SCARD d", "SDIFFSTORE d a b",
		"~SMEMBERS d", "SINTERSTORE d a nokey", "EXISTS d", "SUNIONSTORE d nokey", "SDIFFSTORE d b a b", "SET str v",
		"EXPIRE a 100", "SUNIONSTORE str a", "TYPE str", "SINTERSTORE a a", "TTL a", "SDIFFSTORE a a a", "EXISTS a",
		"SET str2 v", "SINTERSTORE d2 str2 b", "SUNIONSTORE d2 b str2", "SDIFFSTORE b", "SUNIONSTORE b"},
	{"SADD a 1 2 3 4", "SADD b 3 4 5", "SINTERCARD 2 a b", "SINTERCARD 2 a b LIMIT 1", "SINTERCARD 2 a b LIMIT 0",
		"SINTERCARD 2 a b LIMIT 5", "SINTERCARD 1 a", "SINTERCARD 2 a nokey", "SINTERCARD 0 a", "SINTERCARD -1 a",
		"SINTERCARD x a", "SINTERCARD 3 a b", "SINTERCARD 2 a b LIMIT", "SINTERCARD 2 a b LIMIT -1", "SINTERCARD 2 a b LIMIT x",
		"SINTERCARD 2 a b FOO 1", "SINTERCARD 1 a LIMIT 1 LIMIT 2", "SINTERCARD 1 a limit 3"},
	{"SADD s a b c", "SPOP nokey", "SPOP nokey 2", "SPOP s 0", "SPOP s x", "SPOP s -1", "SPOP s 1 2", "~SPOP s 5",
		"EXISTS s", "SADD s only", "SPOP s", "EXISTS s", "SADD s only", "SPOP s 1", "SADD t x y", "~SPOP t 2"},
	{"SADD s only", "SRANDMEMBER s", "SRANDMEMBER s 1", "SRANDMEMBER s 5", "SRANDMEMBER s -3", "SRANDMEMBER s 0",
		"SRANDMEMBER nokey", "SRANDMEMBER nokey 5", "SRANDMEMBER nokey -5", "SRANDMEMBER s x", "SRANDMEMBER s 1 2",
		"SRANDMEMBER nokey x", "SADD t a b c", "~SRANDMEMBER t 3", "~SRANDMEMBER t 10"},
	{"SADD a x y", "SADD b z", "SMOVE a b x", "~SMEMBERS a", "~SMEMBERS b", "SMOVE a b nope", "SMOVE a a y", "SMOVE a a nope",
		"SMOVE nokey b x", "SMOVE a b y", "EXISTS a", "SMOVE b c z", "SMOVE b c x", "~SMEMBERS c", "SET str v",
		"SMOVE nokey str x", "SMOVE str c x", "SMOVE c str x", "SMOVE c c nope", "SADD d x", "SMOVE c d x", "SMEMBERS d"},
	// (Sets of integers only: Redis 7.0 pages through small sets of strings, 7.2 and kvlab do not.)
	{"SADD s 1 2 3", "~SSCAN s 0", "~SSCAN s 0 COUNT 1", "SSCAN s 0 MATCH 1", "~SSCAN s 0 MATCH [12]*", "SSCAN nokey 0",
		"SSCAN nokey x", "SSCAN nokey 0 COUNT x", "SSCAN s x", "SSCAN s 0 COUNT 0", "SSCAN s 0 MATCH", "SSCAN s 0 COUNT 1 MATCH 3",
		"~SSCAN s 7", "SSCAN s -5 MATCH 2", "SET str v", "SSCAN str 0", "SSCAN str x"},
	// Arity.
	{"HGET h", "HMGET h", "HGETALL", "HDEL h", "HLEN", "HINCRBY h f", "HINCRBYFLOAT h f", "HRANDFIELD", "HSCAN h",
		"HSETNX h f", "HEXISTS h", "HSTRLEN h", "LPUSH l", "LPOP", "LRANGE l 0", "LINDEX l", "LSET l 0", "LREM l 0",
		"LTRIM l 0", "LINSERT l BEFORE a", "LPOS l", "LMOVE a b LEFT", "RPOPLPUSH a", "LMPOP 1 a", "BLPOP k", "BLMOVE a b LEFT RIGHT",
		"BRPOPLPUSH a b", "BLMPOP 0 1", "SADD s", "SREM s", "SMEMBERS", "SISMEMBER s", "SMISMEMBER s", "SCARD", "SINTER",
		"SINTERSTORE d", "SINTERCARD 1", "SPOP", "SRANDMEMBER", "SMOVE a b", "SSCAN s", "LLEN", "RPUSHX l"},
}

// hlsSplit splits a probe line on spaces; ” stands for the empty string and '...' keeps spaces.
func hlsSplit(line string) []string {
	var out []string
	for len(line) > 0 {
		line = strings.TrimLeft(line, " ")
		if line == "" {
			break
		}
		if line[0] == '\'' {
			end := strings.IndexByte(line[1:], '\'')
			out = append(out, line[1:1+end])
			line = line[2+end:]
			continue
		}
		end := strings.IndexByte(line, ' ')
		if end < 0 {
			end = len(line)
		}
		out = append(out, line[:end])
		line = line[end:]
	}
	return out
}

// TestHLSEdgeCases runs hlsEdgeCases against kvlab and redis-server in RESP2 and RESP3 and requires
// identical replies.
func TestHLSEdgeCases(t *testing.T) {
	redisAddr := hlsStartRedis(t)
	srv := start(t)
	for _, proto := range []string{"2", "3"} {
		kv, rd := hlsDial(t, srv.Addr()), hlsDial(t, redisAddr)
		for _, c := range []*hlsConn{kv, rd} {
			c.do(t, "HELLO", proto)
		}
		for n, script := range hlsEdgeCases {
			kv.do(t, "FLUSHALL")
			rd.do(t, "FLUSHALL")
			for _, line := range script {
				sorted := strings.HasPrefix(line, "~")
				args := hlsSplit(strings.TrimPrefix(line, "~"))
				a, b := hlsExact(kv.do(t, args...), sorted), hlsExact(rd.do(t, args...), sorted)
				if a != b {
					t.Errorf("RESP%s script %d: %s\n  kvlab:        %s\n  redis-server: %s", proto, n, line, a, b)
				}
			}
		}
	}
}

func init() {
	// Encodings Redis 7.0 and 7.2 agree on: hash listpack/hashtable thresholds (entries and lengths, sticky
	// once converted), intsets up to 512 members, lists as quicklists.
	long := strings.Repeat("x", 65)
	fields := []string{"HSET", "big"}
	ints := []string{"SADD", "ints"}
	for i := 0; i < 513; i++ {
		fields = append(fields, fmt.Sprint("f", i), "v")
	}
	for i := 0; i < 513; i++ {
		ints = append(ints, fmt.Sprint(i))
	}
	hlsEdgeCases = append(hlsEdgeCases,
		[]string{"HSET h f v", "OBJECT ENCODING h", "HSET h f " + long, "OBJECT ENCODING h", "HDEL h f", "EXISTS h",
			"HSET h f v", "OBJECT ENCODING h", "HSET h " + long + " v", "OBJECT ENCODING h", "HDEL h " + long, "OBJECT ENCODING h",
			"HSETNX n f " + long, "OBJECT ENCODING n", "HINCRBYFLOAT i f 1e70", "OBJECT ENCODING i", "HSETNX i g " + long,
			"OBJECT ENCODING i", strings.Join(fields, " "), "OBJECT ENCODING big", "HDEL big f1 f2 f3", "OBJECT ENCODING big",
			"HLEN big"},
		[]string{strings.Join(ints[:514], " "), "OBJECT ENCODING ints", "SREM ints 512", "OBJECT ENCODING ints",
			"SADD small 1 2 3", "OBJECT ENCODING small", "SADD small -9223372036854775808 9223372036854775807", "OBJECT ENCODING small",
			"SINTERSTORE d small", "OBJECT ENCODING d", "SMOVE small e 2", "OBJECT ENCODING e", "SMOVE small e 01",
			"SADD z 01 1", "SCARD z", "RPUSH l a", "OBJECT ENCODING l", "LPUSH l " + long, "OBJECT ENCODING l"},
	)
}
