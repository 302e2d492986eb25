package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kvlab/kvlab/server"
)

// TestACLRulesGoRedis: users with different rules connect with go-redis (RESP2 AUTH and RESP3 HELLO AUTH)
// over real TCP; each rule allows what it should and denies what it should, with Redis 7.2's errors.
func TestACLRulesGoRedis(t *testing.T) {
	srv := secStart(t, nil)
	admin := secClient(t, srv.Addr(), "", "", 2, nil)
	for _, u := range [][]string{
		{"memdb", "on", ">pw", "~*", "&*", "+@all"}, // the MemoryDB access string, as written
		{"cmds", "on", ">pw", "~*", "+get", "+@hash", "-hdel", "+client|id"},
		{"nodanger", "on", ">pw", "~*", "+@all", "-@dangerous"},
		{"keys", "on", ">pw", "+@all", "~app:*", "%R~ro:*", "%W~wo:*"},
		{"chans", "on", ">pw", "~*", "+@all", "resetchannels", "&news.*"},
		{"off", "off", ">pw", "~*", "+@all"},
	} {
		args := []any{"ACL", "SETUSER"}
		for _, a := range u {
			args = append(args, a)
		}
		if err := admin.Do(bg(), args...).Err(); err != nil {
			t.Fatalf("ACL SETUSER %v: %v", u, err)
		}
	}
	admin.Set(bg(), "ro:1", "v", 0)
	admin.Set(bg(), "wo:1", "v", 0)
	const (
		noKey  = "NOPERM No permissions to access a key"
		noChan = "NOPERM No permissions to access a channel"
	)
	noCmd := func(user, cmd string) string {
		return "NOPERM User " + user + " has no permissions to run the '" + cmd + "' command"
	}
	tests := []struct {
		user string
		args []any
		want string
	}{
		{"memdb", []any{"SET", "k", "v"}, "OK"},
		{"cmds", []any{"GET", "missing"}, "redis: nil"},
		{"cmds", []any{"SET", "k", "v"}, noCmd("cmds", "set")},
		{"cmds", []any{"HSET", "h", "f", "v"}, "OK"},
		{"cmds", []any{"HDEL", "h", "f"}, noCmd("cmds", "hdel")},
		{"cmds", []any{"CLIENT", "ID"}, "OK"},
		{"cmds", []any{"CLIENT", "LIST"}, noCmd("cmds", "client|list")},
		{"nodanger", []any{"FLUSHALL"}, noCmd("nodanger", "flushall")},
		{"nodanger", []any{"KEYS", "*"}, noCmd("nodanger", "keys")},
		{"nodanger", []any{"INCR", "n"}, "OK"},
		{"keys", []any{"SET", "app:1", "v"}, "OK"},
		{"keys", []any{"SET", "other", "v"}, noKey},
		{"keys", []any{"GET", "ro:1"}, "OK"},
		{"keys", []any{"SET", "ro:1", "v"}, noKey},
		{"keys", []any{"SET", "wo:1", "v"}, "OK"},
		{"keys", []any{"GET", "wo:1"}, noKey},
		{"keys", []any{"SET", "wo:1", "v", "GET"}, noKey},
		{"keys", []any{"APPEND", "wo:1", "x"}, "OK"},
		{"keys", []any{"INCR", "wo:n"}, noKey},
		{"keys", []any{"COPY", "ro:1", "wo:2"}, "OK"},
		{"keys", []any{"COPY", "wo:1", "ro:2"}, noKey},
		{"keys", []any{"MSET", "app:2", "v", "nope", "v"}, noKey},
		{"chans", []any{"PUBLISH", "news.tech", "hi"}, "OK"},
		{"chans", []any{"PUBLISH", "sport", "hi"}, noChan},
		{"memdb", []any{"FLUSHALL"}, "OK"},
	}
	clients := map[string]map[int]*redis.Client{}
	for _, tc := range tests {
		for _, proto := range []int{2, 3} {
			if clients[tc.user] == nil {
				clients[tc.user] = map[int]*redis.Client{}
			}
			rdb := clients[tc.user][proto]
			if rdb == nil {
				rdb = secClient(t, srv.Addr(), tc.user, "pw", proto, nil)
				clients[tc.user][proto] = rdb
			}
			got := errText(rdb.Do(bg(), tc.args...).Err())
			if got != tc.want {
				t.Errorf("%s RESP%d %v: %s, want %s", tc.user, proto, tc.args, got, tc.want)
			}
		}
	}
	// A disabled user cannot log in, whatever the password.
	if err := secClient(t, srv.Addr(), "off", "pw", 2, nil).Ping(bg()).Err(); err == nil ||
		err.Error() != "WRONGPASS invalid username-password pair or user is disabled." {
		t.Fatalf("disabled user: %v", err)
	}
	// Channel rules hold for subscriptions too: SUBSCRIBE news.* is allowed, sport is not, and a
	// PSUBSCRIBE pattern must be one of the user's patterns literally.
	chans := secClient(t, srv.Addr(), "chans", "pw", 2, nil)
	ps := chans.Subscribe(bg(), "news.tech")
	if _, err := ps.ReceiveTimeout(bg(), 5*time.Second); err != nil {
		t.Fatalf("SUBSCRIBE news.tech: %v", err)
	}
	ps.Close()
	for _, c := range [][]string{{"SUBSCRIBE", "sport"}, {"PSUBSCRIBE", "news.t*"}} {
		conn := chans.Conn()
		err := conn.Do(bg(), c[0], c[1]).Err()
		conn.Close()
		if err == nil || err.Error() != noChan {
			t.Errorf("%v: %v, want %s", c, err, noChan)
		}
	}
	ps = chans.PSubscribe(bg(), "news.*")
	if _, err := ps.ReceiveTimeout(bg(), 5*time.Second); err != nil {
		t.Fatalf("PSUBSCRIBE news.*: %v", err)
	}
	ps.Close()
	// Denials were logged and counted.
	info := admin.Info(bg(), "stats").Val()
	for _, field := range []string{"acl_access_denied_cmd:", "acl_access_denied_key:", "acl_access_denied_channel:", "acl_access_denied_auth:"} {
		if !strings.Contains(info, field) || strings.Contains(info, field+"0\r") {
			t.Errorf("INFO stats lacks a non-zero %s\n%s", field, info)
		}
	}
}

// TestACLCommands drives the ACL command family over TCP and checks replies a client library parses.
func TestACLCommands(t *testing.T) {
	srv := secStart(t, nil)
	rdb := secClient(t, srv.Addr(), "", "", 3, nil)
	ctx := bg()
	if err := rdb.Do(ctx, "ACL", "SETUSER", "alice", "on", ">pw", "~k*", "%R~r*", "&c*", "+@read", "-get", "(~x +set)").Err(); err != nil {
		t.Fatal(err)
	}
	u, err := rdb.Do(ctx, "ACL", "GETUSER", "alice").Result()
	if err != nil {
		t.Fatal(err)
	}
	m := u.(map[any]any)
	if m["commands"] != "-@all +@read -get" || m["keys"] != "~k* %R~r*" || m["channels"] != "&c*" {
		t.Fatalf("GETUSER = %v", m)
	}
	sels := m["selectors"].([]any)
	if len(sels) != 1 || sels[0].(map[any]any)["keys"] != "~x" {
		t.Fatalf("GETUSER selectors = %v", sels)
	}
	if v, err := rdb.Do(ctx, "ACL", "GETUSER", "nobody").Result(); err != redis.Nil {
		t.Fatalf("GETUSER of a missing user = %v, %v", v, err)
	}
	users, _ := rdb.Do(ctx, "ACL", "USERS").StringSlice()
	if strings.Join(users, ",") != "alice,default" {
		t.Fatalf("ACL USERS = %v", users)
	}
	list, _ := rdb.Do(ctx, "ACL", "LIST").StringSlice()
	if len(list) != 2 || !strings.HasPrefix(list[0], "user alice on #") {
		t.Fatalf("ACL LIST = %v", list)
	}
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"ACL", "DRYRUN", "alice", "GET", "k1"}, "User alice has no permissions to run the 'get' command"},
		{[]any{"ACL", "DRYRUN", "alice", "MGET", "k1", "zz"}, "User alice has no permissions to access the 'zz' key"},
		{[]any{"ACL", "DRYRUN", "alice", "SET", "x", "v"}, "OK"},
		{[]any{"ACL", "DRYRUN", "alice", "STRLEN", "r1"}, "OK"},
		{[]any{"ACL", "WHOAMI"}, "default"},
	} {
		got, err := rdb.Do(ctx, tc.args...).Text()
		if err != nil || got != tc.want {
			t.Errorf("%v = %q, %v; want %q", tc.args, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"ACL", "DRYRUN", "bob", "GET", "k"}, "ERR User 'bob' not found"},
		{[]any{"ACL", "DRYRUN", "alice", "NOPE"}, "ERR Command 'NOPE' not found"},
		{[]any{"ACL", "DRYRUN", "alice", "GET"}, "ERR wrong number of arguments for 'get' command"},
		{[]any{"ACL", "SETUSER", "alice", "+nope"}, "ERR Error in ACL SETUSER modifier '+nope': Unknown command or category name in ACL"},
		{[]any{"ACL", "DELUSER", "default"}, "ERR The 'default' user cannot be removed"},
		{[]any{"ACL", "CAT", "nope"}, "ERR Unknown category 'nope'"},
		{[]any{"ACL", "GENPASS", "0"}, "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"},
		{[]any{"ACL", "LOAD"}, "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."},
		{[]any{"AUTH", "pw"}, "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"},
	} {
		if got := errText(rdb.Do(ctx, tc.args...).Err()); got != tc.want {
			t.Errorf("%v: %s\nwant %s", tc.args, got, tc.want)
		}
	}
	if p, _ := rdb.Do(ctx, "ACL", "GENPASS").Text(); len(p) != 64 {
		t.Fatalf("GENPASS = %q", p)
	}
	if cats, _ := rdb.Do(ctx, "ACL", "CAT").StringSlice(); len(cats) != 21 || cats[0] != "keyspace" {
		t.Fatalf("ACL CAT = %v", cats)
	}
	if cmds, _ := rdb.Do(ctx, "ACL", "CAT", "hash").StringSlice(); !contains(cmds, "hset") || contains(cmds, "get") {
		t.Fatalf("ACL CAT hash = %v", cmds)
	}
	// DELUSER disconnects the user's clients.
	alice := secClient(t, srv.Addr(), "alice", "pw", 2, nil)
	if err := alice.Set(ctx, "x", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Do(ctx, "ACL", "DELUSER", "alice", "nobody").Int(); n != 1 {
		t.Fatalf("DELUSER = %d", n)
	}
	if err := alice.Set(ctx, "x", "2", 0).Err(); err == nil {
		t.Fatal("a deleted user's connection still runs commands")
	}
}

func contains(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}

// TestACLLogAndMulti: denials are logged with their context; a NOPERM while queueing aborts EXEC.
func TestACLLogAndMulti(t *testing.T) {
	srv := secStart(t, nil)
	admin := secClient(t, srv.Addr(), "", "", 2, nil)
	admin.Do(bg(), "ACL", "SETUSER", "u", "on", ">pw", "~a*", "+@all", "-flushall")
	c := secDial(t, srv.Addr())
	steps := []struct{ cmd, want string }{
		{"AUTH u pw", "+OK"},
		{"GET b", "-NOPERM No permissions to access a key"},
		{"GET b", "-NOPERM No permissions to access a key"},
		{"MULTI", "+OK"},
		{"SET a1 v", "+QUEUED"},
		{"FLUSHALL", "-NOPERM User u has no permissions to run the 'flushall' command"},
		{"EXEC", "-EXECABORT Transaction discarded because of previous errors."},
		{"GET a1", "(nil)"},
		{"AUTH u wrong", "-WRONGPASS invalid username-password pair or user is disabled."},
		{"ACL WHOAMI", "$u"},
	}
	for _, s := range steps {
		if got := c.do(t, s.cmd); got != s.want {
			t.Fatalf("%s: %s, want %s", s.cmd, got, s.want)
		}
	}
	entries, err := admin.Do(bg(), "ACL", "LOG").Slice()
	if err != nil || len(entries) != 3 {
		t.Fatalf("ACL LOG = %v, %v", entries, err)
	}
	type entry struct{ reason, context, object, user string }
	var got []entry
	for _, e := range entries {
		m := map[string]any{}
		kv := e.([]any)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		got = append(got, entry{m["reason"].(string), m["context"].(string), m["object"].(string), m["username"].(string)})
		if ci := m["client-info"].(string); !strings.Contains(ci, "user=u") {
			t.Errorf("client-info %q", ci)
		}
		if m["count"].(int64) < 1 {
			t.Errorf("count %v", m["count"])
		}
	}
	want := []entry{{"auth", "toplevel", "AUTH", "u"}, {"command", "multi", "flushall", "u"}, {"key", "toplevel", "b", "u"}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ACL LOG entry %d = %+v, want %+v (all: %+v)", i, got[i], want[i], got)
		}
	}
	if n, _ := admin.Do(bg(), "ACL", "LOG", "1").Slice(); len(n) != 1 {
		t.Fatalf("ACL LOG 1 returned %d entries", len(n))
	}
	if err := admin.Do(bg(), "ACL", "LOG", "RESET").Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := admin.Do(bg(), "ACL", "LOG").Slice(); len(n) != 0 {
		t.Fatalf("ACL LOG after RESET has %d entries", len(n))
	}
}

// TestACLFile: users come from --aclfile at start; ACL SAVE and ACL LOAD use it; ACL LOAD disconnects
// the clients of replaced users; requirepass applies when the file has no default user.
func TestACLFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.acl")
	os.WriteFile(path, []byte("user app on >apppw ~app:* +@all\n"), 0o600)
	srv := secStart(t, map[string]string{server.ExtraACLFile: path, server.ExtraRequirePass: "adminpw"})
	if err := secClient(t, srv.Addr(), "", "", 2, nil).Ping(bg()).Err(); err == nil || err.Error() != "NOAUTH Authentication required." {
		t.Fatalf("requirepass with an ACL file lacking the default user: %v", err)
	}
	admin := secClient(t, srv.Addr(), "default", "adminpw", 2, nil)
	app := secDial(t, srv.Addr())
	if got := app.do(t, "AUTH app apppw"); got != "+OK" {
		t.Fatalf("AUTH app: %s", got)
	}
	if err := admin.Do(bg(), "ACL", "SETUSER", "ops", "on", ">opspw", "+@all", "~*").Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(bg(), "ACL", "SAVE").Err(); err != nil {
		t.Fatal(err)
	}
	saved, _ := os.ReadFile(path)
	if !strings.Contains(string(saved), "user ops on #") || !strings.Contains(string(saved), "user app on #") {
		t.Fatalf("saved file:\n%s", saved)
	}
	// A broken file is refused and nothing changes.
	os.WriteFile(path, []byte("user app on +nope\n"), 0o600)
	err := admin.Do(bg(), "ACL", "LOAD").Err()
	want := "ERR " + path + ":1: Error in applying operation '+nope': Unknown command or category name in ACL. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
	if err == nil || err.Error() != want {
		t.Fatalf("ACL LOAD of a broken file: %v\nwant %s", err, want)
	}
	if got := app.do(t, "PING"); got != "+PONG" {
		t.Fatalf("a refused ACL LOAD disconnected a client: %s", got)
	}
	os.WriteFile(path, saved, 0o600)
	if err := admin.Do(bg(), "ACL", "LOAD").Err(); err != nil {
		t.Fatal(err)
	}
	app.send(t, "PING")
	app.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if v, err := app.rr.Read(); err == nil {
		t.Fatalf("ACL LOAD must disconnect the clients of the users it replaced; got %v", v)
	}
	if err := admin.Ping(bg()).Err(); err != nil {
		t.Fatalf("the default user's connection must survive ACL LOAD: %v", err)
	}
	if err := secClient(t, srv.Addr(), "ops", "opspw", 2, nil).Ping(bg()).Err(); err != nil {
		t.Fatalf("user from the reloaded file: %v", err)
	}
}

// TestACLFileErrorsAbortStart: a server does not start with a broken ACL file.
func TestACLFileErrorsAbortStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.acl")
	os.WriteFile(path, []byte("user app on bogus\n"), 0o600)
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", Engine: "memory", Log: logWriter{t},
		Extra: map[string]string{server.ExtraACLFile: path}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Start(); err == nil || !strings.Contains(err.Error(), "bad.acl:1: Syntax error") {
		t.Fatalf("Start = %v", err)
	}
}

// TestACLRevokedSubscribers: after ACL SETUSER takes a channel away from a user, its clients subscribed
// to that channel are disconnected; subscribers to channels still allowed stay.
func TestACLRevokedSubscribers(t *testing.T) {
	srv := secStart(t, nil)
	admin := secClient(t, srv.Addr(), "", "", 2, nil)
	admin.Do(bg(), "ACL", "SETUSER", "sub", "on", ">pw", "+@all", "resetchannels", "&news.*", "&sport")
	news, sport := secDial(t, srv.Addr()), secDial(t, srv.Addr())
	for c, ch := range map[*secRaw]string{news: "news.1", sport: "sport"} {
		c.do(t, "AUTH sub pw")
		if got := c.do(t, "SUBSCRIBE "+ch); got != "*3" {
			t.Fatalf("SUBSCRIBE %s: %s", ch, got)
		}
	}
	if err := admin.Do(bg(), "ACL", "SETUSER", "sub", "resetchannels", "&sport").Err(); err != nil {
		t.Fatal(err)
	}
	news.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if v, err := news.rr.Read(); err == nil {
		t.Fatalf("the news subscriber is still connected (read %v)", v)
	}
	if n, _ := admin.Publish(bg(), "sport", "goal").Result(); n != 1 {
		t.Fatalf("PUBLISH sport reached %d subscribers, want the one still allowed", n)
	}
}

// TestACLCheckedAgainAtExec: a command queued while allowed is refused at EXEC if the rules changed in
// between (Redis's wording), and the other queued commands still run.
func TestACLCheckedAgainAtExec(t *testing.T) {
	srv := secStart(t, nil)
	admin := secClient(t, srv.Addr(), "", "", 2, nil)
	admin.Do(bg(), "ACL", "SETUSER", "u", "on", ">pw", "~*", "+@all")
	c := secDial(t, srv.Addr())
	for _, s := range []struct{ cmd, want string }{{"AUTH u pw", "+OK"}, {"MULTI", "+OK"}, {"SET a 1", "+QUEUED"}, {"DEL b", "+QUEUED"}} {
		if got := c.do(t, s.cmd); got != s.want {
			t.Fatalf("%s: %s", s.cmd, got)
		}
	}
	admin.Do(bg(), "ACL", "SETUSER", "u", "-del")
	c.send(t, "EXEC")
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	v, err := c.rr.Read()
	if err != nil || len(v.Elems) != 2 {
		t.Fatalf("EXEC = %v, %v", v, err)
	}
	if got := secFormat(v.Elems[0]); got != "+OK" {
		t.Fatalf("SET in EXEC: %s", got)
	}
	want := "-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand"
	if got := secFormat(v.Elems[1]); got != want {
		t.Fatalf("DEL in EXEC: %s", got)
	}
}
