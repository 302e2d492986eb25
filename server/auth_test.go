package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvlab/kvlab/internal/token"
	"github.com/kvlab/kvlab/server"
)

// TestRequirePass: with --requirepass, commands need AUTH first; errors are Redis's, in Redis's order
// (an unknown command is reported as unknown even before AUTH).
func TestRequirePass(t *testing.T) {
	srv := secStart(t, map[string]string{server.ExtraRequirePass: "s3cret"})
	c := secDial(t, srv.Addr())
	for _, s := range []struct{ cmd, want string }{
		{"GET k", "-NOAUTH Authentication required."},
		{"NOSUCH a", "-ERR unknown command 'NOSUCH', with args beginning with: 'a' "},
		{"GET", "-ERR wrong number of arguments for 'get' command"},
		{"HELLO 3", "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"},
		{"HELLO 3 FOO", "-ERR Syntax error in HELLO option 'FOO'"},
		{"AUTH a b c", "-ERR syntax error"},
		{"AUTH wrong", "-WRONGPASS invalid username-password pair or user is disabled."},
		{"AUTH nosuchuser s3cret", "-WRONGPASS invalid username-password pair or user is disabled."},
		{"PING", "-NOAUTH Authentication required."},
		{"AUTH s3cret", "+OK"},
		{"SET k v", "+OK"},
		{"ACL WHOAMI", "$default"},
		{"RESET", "+RESET"},
		{"GET k", "-NOAUTH Authentication required."},
		{"HELLO 2 AUTH default wrong", "-WRONGPASS invalid username-password pair or user is disabled."},
		{"HELLO 2 AUTH default s3cret", "*14"},
		{"GET k", "$v"},
		{"QUIT", "+OK"},
	} {
		if got := c.do(t, s.cmd); got != s.want {
			t.Fatalf("%s: %s\nwant %s", s.cmd, got, s.want)
		}
	}
	// go-redis authenticates with HELLO 3 AUTH (RESP3) or AUTH (RESP2).
	for _, proto := range []int{2, 3} {
		if v, err := secClient(t, srv.Addr(), "", "s3cret", proto, nil).Get(bg(), "k").Result(); err != nil || v != "v" {
			t.Fatalf("go-redis RESP%d with the password: %q, %v", proto, v, err)
		}
		if err := secClient(t, srv.Addr(), "", "bad", proto, nil).Ping(bg()).Err(); err == nil ||
			!strings.Contains(err.Error(), "WRONGPASS") {
			t.Fatalf("go-redis RESP%d with a wrong password: %v", proto, err)
		}
	}
}

// TestAuthFailuresLoggedAndDelayed: wrong passwords are refused, logged in ACL LOG and counted in INFO;
// after a few failures each further attempt on the connection waits out a growing delay (without holding
// the keyspace lock: other clients are not slowed), and attempts pipelined behind a failure are refused
// even with the right password.
func TestAuthFailuresLoggedAndDelayed(t *testing.T) {
	srv := secStart(t, nil)
	admin := secClient(t, srv.Addr(), "", "", 2, nil)
	admin.Do(bg(), "ACL", "SETUSER", "alice", "on", ">right", "~*", "+@all")
	c := secDial(t, srv.Addr())
	for i := 0; i < 3; i++ {
		start := time.Now()
		if got := c.do(t, "AUTH alice wrong"); got != "-WRONGPASS invalid username-password pair or user is disabled." {
			t.Fatalf("attempt %d: %s", i, got)
		}
		if d := time.Since(start); d > 80*time.Millisecond {
			t.Fatalf("attempt %d took %v: the first failures must not be delayed", i, d)
		}
	}
	c.do(t, "AUTH alice wrong") // the 4th failure arms a 100 ms delay before the next read
	start := time.Now()
	// Pipelined behind the delay: the correct password, then a command. The AUTH is refused unchecked.
	c.send(t, "AUTH alice wrong", "AUTH alice right", "ACL WHOAMI")
	got := []string{c.read(t), c.read(t), c.read(t)}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("the read after the 4th failure was not delayed (%v)", d)
	}
	if got[0] != "-WRONGPASS invalid username-password pair or user is disabled." || got[1] != got[0] || got[2] != "$default" {
		t.Fatalf("pipelined attempts behind a failure: %v", got)
	}
	// Other clients are not held up meanwhile.
	c.send(t, "AUTH alice wrong")
	c.read(t) // 7th failure: the next read waits 800 ms
	c.send(t, "PING")
	start = time.Now()
	if err := admin.Ping(bg()).Err(); err != nil || time.Since(start) > 200*time.Millisecond {
		t.Fatalf("another client waited %v (%v) while a connection was being delayed", time.Since(start), err)
	}
	if got := c.read(t); got != "+PONG" || time.Since(start) < 500*time.Millisecond {
		t.Fatalf("delayed PING: %s after %v", got, time.Since(start))
	}
	// Logged: one grouped entry for alice's failures.
	entries, err := admin.Do(bg(), "ACL", "LOG").Slice()
	if err != nil || len(entries) != 1 {
		t.Fatalf("ACL LOG = %v, %v", entries, err)
	}
	kv := entries[0].([]any)
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	if m["reason"] != "auth" || m["username"] != "alice" || m["object"] != "AUTH" || m["count"] != int64(7) {
		t.Fatalf("ACL LOG entry %v", m)
	}
	if !strings.Contains(admin.Info(bg(), "stats").Val(), "acl_access_denied_auth:7\r\n") {
		t.Fatal("INFO acl_access_denied_auth is not 7")
	}
}

// TestAuthDelayPerIP: reconnecting does not escape the delay: once an address has failed many times,
// its new connections wait before their first command is read.
func TestAuthDelayPerIP(t *testing.T) {
	srv := secStart(t, map[string]string{server.ExtraRequirePass: "pw"})
	for i := 0; i < 22; i++ {
		c := secDial(t, srv.Addr())
		c.do(t, "AUTH wrong")
		c.nc.Close()
	}
	c := secDial(t, srv.Addr())
	start := time.Now()
	if got := c.do(t, "AUTH pw"); got != "+OK" {
		t.Fatalf("correct password from a penalised address: %s", got)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("a new connection after 22 failures from the same address was not delayed (%v)", d)
	}
}

// TestUnauthenticatedQueryLimit: before AUTH a client may not send a large request; after AUTH (even
// pipelined in the same write) it may.
func TestUnauthenticatedQueryLimit(t *testing.T) {
	srv := secStart(t, map[string]string{server.ExtraRequirePass: "pw"})
	big := strings.Repeat("x", 200<<10)
	c := secDial(t, srv.Addr())
	c.send(t, "GET "+big)
	if got := c.read(t); got != "-ERR Protocol error: unauthenticated query buffer limit exceeded" {
		t.Fatalf("large unauthenticated request: %s", got)
	}
	c = secDial(t, srv.Addr())
	c.send(t, "AUTH pw", "SET k "+big, "STRLEN k")
	if got := []string{c.read(t), c.read(t), c.read(t)}; got[0] != "+OK" || got[1] != "+OK" || got[2] != ":204800" {
		t.Fatalf("AUTH pipelined with a large SET: %v", got)
	}
	// Without a password configured, nobody is limited.
	open := secStart(t, nil)
	c = secDial(t, open.Addr())
	c.send(t, "SET k "+big)
	if got := c.read(t); got != "+OK" {
		t.Fatalf("large request without requirepass: %s", got)
	}
}

// TestTokens: users with the "token" rule accept tokens minted with the server's key until they expire;
// expired, forged and other users' tokens are refused and logged.
func TestTokens(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "token.key")
	if err := token.NewKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	aclFile := filepath.Join(dir, "users.acl")
	os.WriteFile(aclFile, []byte("user default on >adminpw ~* &* +@all\nuser app on token ~app:* +@all\nuser human on >pw ~* +@all\n"), 0o600)
	srv := secStart(t, map[string]string{server.ExtraACLFile: aclFile, server.ExtraTokenKeyFile: keyFile})
	key, err := token.LoadKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	valid := token.Mint(key, "app", now.Add(15*time.Minute))
	for _, tc := range []struct {
		name, user, pass, want string
	}{
		{"valid token", "app", valid, "OK"},
		{"expired token", "app", token.Mint(key, "app", now.Add(-time.Second)), "WRONGPASS invalid username-password pair or user is disabled."},
		{"token of another user", "app", token.Mint(key, "human", now.Add(time.Minute)), "WRONGPASS invalid username-password pair or user is disabled."},
		{"token from another key", "app", token.Mint([]byte("another-key-0123456789"), "app", now.Add(time.Minute)), "WRONGPASS invalid username-password pair or user is disabled."},
		{"user without the token rule", "human", token.Mint(key, "human", now.Add(time.Minute)), "WRONGPASS invalid username-password pair or user is disabled."},
		{"password still works", "human", "pw", "OK"},
	} {
		for _, proto := range []int{2, 3} {
			got := errText(secClient(t, srv.Addr(), tc.user, tc.pass, proto, nil).Ping(bg()).Err())
			if got != tc.want {
				t.Errorf("%s RESP%d: %s, want %s", tc.name, proto, got, tc.want)
			}
		}
	}
	app := secClient(t, srv.Addr(), "app", valid, 2, nil)
	if err := app.Set(bg(), "app:1", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := app.Set(bg(), "other", "v", 0).Err(); err == nil {
		t.Fatal("a token user's ACL rules were not applied")
	}
	admin := secClient(t, srv.Addr(), "default", "adminpw", 2, nil)
	if v := admin.Info(bg(), "stats").Val(); !strings.Contains(v, "acl_access_denied_auth:") || strings.Contains(v, "acl_access_denied_auth:0\r") {
		t.Fatalf("refused tokens not counted:\n%s", v)
	}
}
