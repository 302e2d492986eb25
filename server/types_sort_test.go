package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/kvlab/kvlab/server"
)

// This file tests SORT, SORT_RO and LCS over real TCP: exact replies compared with Debian's redis-server in
// both protocols (see TestHLSEdgeCases, whose helpers it uses), and go-redis's typed API.

// sortEdgeCases are scripts whose every reply must be byte-for-byte Redis 7.0's. A line starting with "~"
// is an unordered reply (a set read without sorting), compared sorted; ” is the empty string.
var sortEdgeCases = [][]string{
	// Numbers in a list: ascending, descending, ties broken by comparing the elements as strings.
	{"RPUSH l 3 1 2 10 -5 1.5 +4 ' 7' 1e2 01 1.0 0x10 -0 ''", "SORT l", "SORT l DESC", "SORT l ASC", "SORT l desc asc",
		"SORT l asc DESC", "SORT_RO l", "SORT_RO l DESC", "LRANGE l 0 -1"},
	// LIMIT: zero count, negative offset and count, beyond the end, huge values, bad numbers.
	{"RPUSH l 5 3 9 1 7", "SORT l LIMIT 0 3", "SORT l LIMIT 2 2", "SORT l LIMIT 0 0", "SORT l LIMIT -5 2", "SORT l LIMIT 1 -1",
		"SORT l LIMIT 3 100", "SORT l LIMIT 4 1", "SORT l LIMIT 5 1", "SORT l LIMIT 100 2", "SORT l LIMIT -1 -1",
		"SORT l DESC LIMIT 1 2", "SORT l LIMIT 1 2 DESC", "SORT l LIMIT 0 1 LIMIT 2 2", "SORT l LIMIT 9223372036854775807 1",
		"SORT l LIMIT 0 9223372036854775807", "SORT l LIMIT 1 9223372036854775807", "SORT l LIMIT -9223372036854775808 2",
		"SORT l LIMIT 0 -9223372036854775808", "SORT l LIMIT x 1", "SORT l LIMIT 1 x", "SORT l LIMIT 1.5 1",
		"SORT l LIMIT 99999999999999999999 1", "SORT l LIMIT 1", "SORT l LIMIT", "SORT l LIMIT 0 1 2", "SORT l LIMIT x",
		"SORT nokey LIMIT 0 5", "SORT nokey LIMIT 3 -1", "SORT_RO l LIMIT 1 1 DESC"},
	// ALPHA: binary order (C.UTF-8 collation), with and without STORE.
	{"RPUSH l b B a A 10 9 '' ab aB é e", "SORT l ALPHA", "SORT l ALPHA DESC", "SORT l ALPHA LIMIT 2 3", "SORT l alpha STORE d",
		"LRANGE d 0 -1", "SORT l ALPHA DESC STORE d", "LRANGE d 0 -1", "SORT_RO l ALPHA LIMIT 0 1"},
	// Values that are not numbers.
	{"RPUSH l 1 a 2", "SORT l", "SORT l DESC LIMIT 0 1", "SORT l STORE d", "EXISTS d", "SORT l ALPHA", "SORT l BY nosort",
		"RPUSH n 1 nan", "SORT n", "RPUSH i 1 inf -inf", "SORT i", "SORT i DESC",
		"RPUSH ws '1 '", "SORT ws", "RPUSH ws2 ' 1' '\t2'", "SORT ws2", "RPUSH x 1x", "SORT x",
		"RPUSH hx 0x1p3 1", "SORT hx", "RPUSH u 1_0", "SORT u", "RPUSH e 1e", "SORT e"},
	// Sets: sorted numerically or ALPHA; BY nosort reads them unordered, but stores them sorted ALPHA.
	{"SADD s 5 3 9 1 10", "SORT s", "SORT s DESC", "SORT s LIMIT 1 2", "SORT s ALPHA", "~SORT s BY nosort", "SORT s BY nosort STORE d",
		"LRANGE d 0 -1", "SORT s BY nosort DESC STORE d", "LRANGE d 0 -1", "SORT s BY nosort LIMIT 1 2 STORE d", "LRANGE d 0 -1",
		"SADD a b c a x", "SORT a ALPHA", "SORT a ALPHA DESC LIMIT 1 10", "SORT a", "SORT_RO s DESC", "~SORT_RO a BY nosort",
		"SADD big m k j i h g f e d c b a", "SORT big ALPHA LIMIT 3 4", "SORT big BY nosort STORE d",
		"LRANGE d 0 -1"},
	// Sorted sets: BY nosort keeps their order (DESC from the top, LIMIT by rank); otherwise sorted by value.
	{"ZADD z 3 a 1 b 2 c 5 d 4 e", "SORT z BY nosort", "SORT z BY nosort DESC", "SORT z BY nosort LIMIT 1 2",
		"SORT z BY nosort DESC LIMIT 1 2", "SORT z BY nosort LIMIT 4 5", "SORT z BY nosort DESC LIMIT 5 1", "SORT z BY nosort LIMIT -3 2",
		"SORT z BY nosort LIMIT 0 0", "SORT z ALPHA", "SORT z ALPHA DESC LIMIT 0 2", "SORT z", "OBJECT ENCODING z",
		"ZADD n 1 10 2 5 3 7 4 -1", "SORT n", "SORT n DESC", "SORT n BY nosort", "SORT n BY nosort STORE d", "LRANGE d 0 -1",
		"SORT_RO n BY nosort DESC", "ZADD fresh 1 a", "OBJECT ENCODING fresh", "SORT_RO fresh ALPHA", "OBJECT ENCODING fresh",
		"ZADD fresh 2 b", "OBJECT ENCODING fresh"},
	// BY a pattern: string keys and hash fields; missing values weigh 0 (numeric) or sort first (ALPHA).
	{"RPUSH l 1 2 3 4", "MSET w_1 40 w_2 30 w_3 x w_4 10", "SORT l BY w_*", "SET w_3 20", "SORT l BY w_*", "SORT l BY w_* DESC",
		"SORT l BY w_* LIMIT 1 2", "SORT l BY w_* LIMIT 0 1 DESC", "DEL w_4", "SORT l BY w_*", "SORT l BY w_* ALPHA",
		"SORT l BY w_* ALPHA DESC", "SORT l BY w_* ALPHA LIMIT 0 2", "SET w_4 ' 5'", "SORT l BY w_*",
		"SORT l BY w_* ALPHA", "RPUSH w_4 x", "DEL w_4", "RPUSH w_4 list", "SORT l BY w_*",
		"HSET h_1 f 3 g b", "HSET h_2 f 1 g a", "HSET h_3 f 2 g c", "SET h_4 notahash", "SORT l BY h_*->f", "SORT l BY h_*->f DESC",
		"SORT l BY h_*->g ALPHA", "SORT l BY h_*->g ALPHA DESC LIMIT 1 2", "SORT l BY h_*->nofield", "SORT l BY h_*->",
		"SET h_1-> 9", "SORT l BY h_*->", "SORT l BY h_*->f->g", "HSET h_2 f->g 1", "SORT l BY h_*->f->g",
		"SORT l BY *", "SET 3 -1", "SORT l BY *", "SORT l BY w_*_suffix", "SET w_2_suffix -3", "SORT l BY w_*_suffix",
		"SORT l BY w_* BY nosort", "SORT l BY nosort BY w_*", "SORT l BY constant", "SORT l BY nosort DESC",
		"SORT l BY nosort LIMIT 1 2", "SORT l BY nosort DESC LIMIT 1 2", "SORT l BY nosort LIMIT 2 -1", "SORT l BY nosort LIMIT 9 9",
		"SORT_RO l BY w_* DESC", "SORT_RO l BY nosort DESC"},
	// Equal BY values: ties keep the list's order (a stable sort), also through Redis's partial sort
	// (BY with LIMIT).
	{"RPUSH l 9 8 7 6 5 4 3 2 1 0 10 11 12 13", "SORT l BY nokey_* ALPHA", "SORT l BY nokey_* ALPHA DESC",
		"MSET k_1 a k_3 a k_5 b k_7 a k_9 b k_11 a k_0 c", "SORT l BY k_* ALPHA", "SORT l BY k_* ALPHA DESC",
		"SORT l BY k_* ALPHA LIMIT 0 4", "SORT l BY k_* ALPHA LIMIT 3 5", "SORT l BY k_* ALPHA DESC LIMIT 2 6",
		"SORT l BY k_* ALPHA LIMIT 10 10", "SORT l BY nokey_* ALPHA LIMIT 2 3", "SORT l BY k_* LIMIT 2 5",
		"SORT l BY k_* ALPHA STORE d", "LRANGE d 0 -1", "SORT l BY k_* ALPHA LIMIT 1 3 STORE d", "LRANGE d 0 -1"},
	// GET: #, string keys, hash fields; missing values are nulls (stored as empty strings).
	{"RPUSH l 2 1 3", "SET o_1 one", "SET o_2 two", "HSET oh_1 name uno", "HSET oh_3 name tres", "SET oh_2 str",
		"SORT l GET o_*", "SORT l GET # GET o_* GET oh_*->name", "SORT l GET nostar", "SORT l GET #", "SORT l GET ##",
		"SORT l DESC GET # GET o_*", "SORT l LIMIT 0 0 GET #", "SORT l LIMIT 1 1 GET # GET #", "SORT l BY nosort GET o_*",
		"SORT l BY nosort DESC GET oh_*->name", "SORT l GET oh_*->", "SORT l GET a->*", "SET a->1 arrow", "SORT l GET a->*",
		"SORT l GET o_* STORE d", "LRANGE d 0 -1", "SORT l GET # GET oh_*->name STORE d2", "LRANGE d2 0 -1",
		"SORT l GET o_* GET o_* LIMIT 0 2 STORE d3", "LLEN d3", "SORT l BY o_* ALPHA GET #", "SORT l BY oh_*->name ALPHA GET oh_*->name",
		"RPUSH o_3 list", "SORT l GET o_*", "SORT_RO l GET # GET o_*", "SORT nokey GET #", "SORT l GET", "SORT l BY", "SORT l STORE",
		"SORT l GET # FOO"},
	// STORE: the count, a destination of another type (and its TTL) replaced, an empty result deleting it.
	{"RPUSH l 3 1 2", "SET dst str", "EXPIRE dst 100", "SORT l STORE dst", "TYPE dst", "TTL dst", "LRANGE dst 0 -1",
		"OBJECT ENCODING dst", "SORT l LIMIT 0 0 STORE dst", "EXISTS dst", "SET dst x", "SORT nokey STORE dst", "EXISTS dst",
		"SORT nokey STORE dst", "SORT l STORE l", "LRANGE l 0 -1", "SORT l DESC STORE a STORE b", "EXISTS a", "LRANGE b 0 -1",
		"SORT l ALPHA LIMIT 1 1 STORE dst", "LRANGE dst 0 -1", "RPUSH bad x", "SET dst keep", "SORT bad STORE dst", "GET dst",
		"SORT l LIMIT 5 5 STORE dst", "EXISTS dst", "SADD s1 x", "SORT l STORE s1", "TYPE s1", "SORT l store", "SORT_RO l STORE dst",
		"SORT_RO l store", "SORT_RO l LIMIT 0 1 STORE dst", "SORT l STORE dst STORE", "EXISTS dst"},
	// Wrong types, syntax errors (before the type check), missing keys, arity.
	{"SET str v", "SORT str", "SORT_RO str", "SORT str FOO", "SORT str LIMIT x 1", "SORT str LIMIT 1", "HSET h f v", "SORT h",
		"SORT h BY nosort", "XADD st 1-1 f v", "SORT st", "SORT nokey", "SORT nokey DESC ALPHA", "SORT nokey BY nosort",
		"SORT nokey BY w_* GET # GET x_*", "SORT_RO nokey", "SORT str STORE d", "EXISTS d", "SORT", "SORT_RO", "SORT nokey ASC DESC FOO",
		"SORT nokey BY nosort STORE", "SORT nokey GET # BY"},
	// LCS.
	{"SET a ohmytext", "SET b mynewtext", "LCS a b", "LCS a b LEN", "LCS a b IDX", "LCS a b IDX MINMATCHLEN 4",
		"LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN", "LCS a b IDX WITHMATCHLEN", "LCS a b WITHMATCHLEN IDX MINMATCHLEN 2",
		"LCS a b idx minmatchlen 0", "LCS a b IDX MINMATCHLEN -5", "LCS a b IDX MINMATCHLEN 100", "LCS a b LEN IDX",
		"LCS a b idx len", "LCS a b LEN LEN", "LCS a b MINMATCHLEN", "LCS a b MINMATCHLEN x", "LCS a b MINMATCHLEN 1.5",
		"LCS a b MINMATCHLEN -5", "LCS a b FOO", "LCS a b LEN FOO", "LCS a b WITHMATCHLEN", "LCS a b LEN WITHMATCHLEN",
		"LCS a b LEN MINMATCHLEN 2", "LCS a b IDX MINMATCHLEN 9223372036854775807", "LCS a b MINMATCHLEN 99999999999999999999",
		"LCS a nokey", "LCS nokey a LEN", "LCS nokey nokey2", "LCS nokey nokey2 IDX", "LCS nokey nokey2 IDX WITHMATCHLEN",
		"LCS nokey nokey2 LEN", "LCS a a", "LCS a a IDX WITHMATCHLEN", "LCS b a IDX"},
	{"SET a ohmytext", "RPUSH l x", "LCS a l", "LCS l a", "LCS l nokey", "LCS nokey l LEN", "LCS l nokey FOO", "LCS l a LEN IDX",
		"HSET h f v", "LCS h h", "LCS a", "LCS", "SET n 12345", "SET m 0123", "LCS n m", "LCS n m IDX WITHMATCHLEN",
		"SET x ''", "LCS x n", "LCS x n IDX", "SET p abcXYZdefXYZghi", "SET q XYZabcdefghiXYZ", "LCS p q", "LCS p q IDX",
		"LCS p q IDX WITHMATCHLEN MINMATCHLEN 2", "LCS q p IDX WITHMATCHLEN", "LCS q p LEN",
		"SET r aaaa", "SET s aa", "LCS r s IDX WITHMATCHLEN", "LCS s r IDX WITHMATCHLEN",
		"SET u 'a b\tc'", "SET v 'ab c'", "LCS u v IDX WITHMATCHLEN"},
	// Arity.
	{"SORT", "SORT_RO", "LCS a", "LCS"},
}

// TestSortEdgeCases runs sortEdgeCases against kvlab and redis-server in RESP2 and RESP3 and requires
// identical replies.
func TestSortEdgeCases(t *testing.T) { compareScripts(t, sortEdgeCases) }

func init() {
	// Larger inputs: Redis's partial sort past its insertion-sort and median-of-three thresholds (7 and 40
	// elements), with many equal BY values; a long LCS.
	l := []string{"RPUSH", "big"}
	var ws []string
	for i := 0; i < 150; i++ {
		l = append(l, fmt.Sprint((i*37)%101))
		ws = append(ws, fmt.Sprintf("w_%d %c", (i*37)%101, 'a'+rune(i%4)))
	}
	a, b := strings.Repeat("abcde", 40), strings.Repeat("xbdyae", 30)
	sortEdgeCases = append(sortEdgeCases,
		[]string{strings.Join(l, " "), "MSET " + strings.Join(ws, " "), "SORT big", "SORT big DESC LIMIT 10 20",
			"SORT big BY w_* ALPHA", "SORT big BY w_* ALPHA LIMIT 0 10", "SORT big BY w_* ALPHA LIMIT 37 11",
			"SORT big BY w_* ALPHA DESC LIMIT 100 30", "SORT big BY w_* ALPHA LIMIT 140 100", "SORT big BY w_* LIMIT 20 20",
			"SORT big BY nokey_* ALPHA LIMIT 50 7", "SORT big BY w_* ALPHA GET # GET w_* LIMIT 60 5",
			"SORT big BY w_* ALPHA LIMIT 10 3 STORE d", "LRANGE d 0 -1"},
		[]string{"SET a " + a, "SET b " + b, "LCS a b", "LCS a b LEN", "LCS a b IDX WITHMATCHLEN", "LCS a b IDX MINMATCHLEN 2"},
	)
}

// TestSortGoRedis exercises SORT, SORT_RO and LCS through go-redis's typed API.
func TestSortGoRedis(t *testing.T) {
	srv := start(t)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			rdb := client(t, srv, proto)
			rdb.FlushAll(ctx)
			eq := func(what string, got, want any) {
				t.Helper()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%s = %v, want %v", what, got, want)
				}
			}
			rdb.RPush(ctx, "ids", 3, 1, 2)
			rdb.MSet(ctx, "weight_1", 30, "weight_2", 10, "weight_3", 20)
			rdb.HSet(ctx, "user_1", "name", "ada")
			rdb.HSet(ctx, "user_2", "name", "bob")
			eq("SORT", rdb.Sort(ctx, "ids", &redis.Sort{}).Val(), []string{"1", "2", "3"})
			eq("SORT BY GET", rdb.Sort(ctx, "ids", &redis.Sort{By: "weight_*", Get: []string{"#", "user_*->name"}}).Val(),
				[]string{"2", "bob", "3", "", "1", "ada"})
			v, err := rdb.SortInterfaces(ctx, "ids", &redis.Sort{By: "weight_*", Get: []string{"user_*->name"}, Order: "DESC"}).Result()
			if err != nil {
				t.Fatal(err)
			}
			eq("SORT GET null", v, []any{"ada", nil, "bob"})
			eq("SORT LIMIT ALPHA", rdb.Sort(ctx, "ids", &redis.Sort{Offset: 1, Count: 1, Alpha: true}).Val(), []string{"2"})
			eq("SORT_RO", rdb.SortRO(ctx, "ids", &redis.Sort{Order: "DESC"}).Val(), []string{"3", "2", "1"})
			eq("SORT STORE", rdb.SortStore(ctx, "ids", "sorted", &redis.Sort{By: "weight_*"}).Val(), 3)
			eq("LRANGE sorted", rdb.LRange(ctx, "sorted", 0, -1).Val(), []string{"2", "3", "1"})
			rdb.RPush(ctx, "words", "b", "a")
			if err := rdb.Sort(ctx, "words", &redis.Sort{}).Err(); err == nil || err.Error() != "ERR One or more scores can't be converted into double" {
				t.Fatalf("SORT of words: %v", err)
			}
			rdb.Set(ctx, "k1", "ohmytext", 0)
			rdb.Set(ctx, "k2", "mynewtext", 0)
			eq("LCS", rdb.LCS(ctx, &redis.LCSQuery{Key1: "k1", Key2: "k2"}).Val().MatchString, "mytext")
			eq("LCS LEN", rdb.LCS(ctx, &redis.LCSQuery{Key1: "k1", Key2: "k2", Len: true}).Val().Len, 6)
			m := rdb.LCS(ctx, &redis.LCSQuery{Key1: "k1", Key2: "k2", Idx: true, MinMatchLen: 4, WithMatchLen: true}).Val()
			eq("LCS IDX", fmt.Sprintf("%d %+v", m.Len, m.Matches), "6 [{Key1:{Start:4 End:7} Key2:{Start:5 End:8} MatchLen:4}]")
			if err := rdb.LCS(ctx, &redis.LCSQuery{Key1: "k1", Key2: "words"}).Err(); err == nil || err.Error() != "ERR The specified keys must contain string values" {
				t.Fatalf("LCS of a list: %v", err)
			}
		})
	}
}

// TestSortACL compares with redis-server SORT's refusal of BY and GET patterns to users who may not read
// every key (Redis's "full key access": allkeys, ~* or %R~*, in a selector that allows the call).
func TestSortACL(t *testing.T) {
	redisAddr := hlsStartRedis(t)
	srv := start(t)
	script := []string{"FLUSHALL", "RPUSH l 2 1", "MSET w_1 1 w_2 0 o_1 a",
		"ACL SETUSER r on nopass ~l* ~w_* +@all", "ACL SETUSER rall on nopass %R~* ~l* +@all",
		"ACL SETUSER wall on nopass %W~* ~l* +@all", "ACL SETUSER sel on nopass ~l* +@all '(~* +sort_ro)'",
		"AUTH r x", "SORT l", "SORT l BY w_*", "SORT l GET #", "SORT l BY nosort", "SORT_RO l BY w_*", "SORT l BY nosort GET w_*",
		"SORT l STORE lx", "SORT l BY w_* FOO", "SORT l FOO BY w_*", "SORT l LIMIT x 1 BY w_*", "SORT l GET # BY w_*",
		"AUTH rall x", "SORT l BY w_*", "SORT l GET o_*", "SORT l BY w_* STORE lz", "LRANGE lz 0 -1",
		"AUTH wall x", "SORT l BY w_*", "SORT l GET #", "SORT l BY nosort",
		"AUTH sel x", "SORT_RO l BY w_*", "SORT_RO l GET o_*", "SORT l BY w_*", "SORT l GET #", "SORT l",
		"ACL SETUSER wo on nopass ~l %W~dst +@all", "AUTH wo x", "SORT l STORE dst", "SORT l LIMIT 0 1 STORE dst",
		"AUTH default x", "LRANGE dst 0 -1"}
	for _, proto := range []string{"2", "3"} {
		kv, rd := hlsDial(t, srv.Addr()), hlsDial(t, redisAddr)
		for _, c := range []*hlsConn{kv, rd} {
			c.do(t, "HELLO", proto)
		}
		for _, line := range script {
			args := hlsSplit(line)
			a, b := hlsExact(kv.do(t, args...), false), hlsExact(rd.do(t, args...), false)
			if a != b {
				t.Errorf("RESP%s: %s\n  kvlab:        %s\n  redis-server: %s", proto, line, a, b)
			}
		}
	}
}

// TestSortClusterMode checks Redis 7.0's refusal, in cluster mode, of BY patterns that name other keys and
// of GET (the error strings are redis-server 7.0.15's).
func TestSortClusterMode(t *testing.T) {
	srv := startConfig(t, server.Config{Addr: "127.0.0.1:0", Engine: "memory", Log: logWriter{t}, Dir: t.TempDir(),
		Extra: map[string]string{server.ExtraClusterEnabled: "yes"}})
	c := hlsDial(t, srv.Addr())
	for _, tc := range []struct{ cmd, want string }{
		{"RPUSH l 2 1 3", ":3"},
		{"SORT l", `*["1" "2" "3"]`},
		{"SORT l BY nosort DESC", `*["3" "1" "2"]`},
		{"SORT l BY w_*", "-ERR BY option of SORT denied in Cluster mode."},
		{"SORT_RO l BY w_*->f", "-ERR BY option of SORT denied in Cluster mode."},
		{"SORT l GET #", "-ERR GET option of SORT denied in Cluster mode."},
		{"SORT l BY nosort GET x", "-ERR GET option of SORT denied in Cluster mode."},
		{"SORT l FOO GET #", "-ERR syntax error"},
		{"SORT l GET # FOO", "-ERR GET option of SORT denied in Cluster mode."},
		{"SORT l STORE {l}d", ":3"},
		{"SET {k}a ohmytext", "+OK"},
		{"SET {k}b mynewtext", "+OK"},
		{"LCS {k}a {k}b LEN", ":6"},
	} {
		if got := hlsExact(c.do(t, hlsSplit(tc.cmd)...), false); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.cmd, got, tc.want)
		}
	}
}
