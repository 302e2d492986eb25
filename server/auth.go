package server

import (
	"time"

	"github.com/kvlab/kvlab/acl"
	"github.com/kvlab/kvlab/internal/token"
	"github.com/kvlab/kvlab/keyspace"
)

func init() {
	keyspace.Register(&keyspace.Command{Name: "auth", Arity: -2,
		Flags: keyspace.FlagNoScript | keyspace.FlagLoading | keyspace.FlagStale | keyspace.FlagFast |
			keyspace.FlagNoAuth | keyspace.FlagAllowBusy,
		Categories: keyspace.CatConnection, Group: "connection", Summary: "Authenticates the connection.",
		Since: "1.0.0", Handler: cmdAuth})
}

// cmdAuth is AUTH [username] password. The password may also be a token (see internal/token) for users
// with the "token" rule.
func cmdAuth(x *keyspace.Ctx) {
	if len(x.Args) > 3 {
		x.Error(keyspace.ErrSyntax)
		return
	}
	c := connOf(x)
	sc := secOf(c)
	user, pass := []byte("default"), x.Args[1]
	if len(x.Args) == 2 {
		if sc.st.users.Default().NoPass() {
			x.Error(errAuthNoPass)
			return
		}
	} else {
		user, pass = x.Args[1], x.Args[2]
	}
	if sc.st.authenticate(c, sc, x.Args[0], user, pass, time.Now()) {
		x.OK()
		return
	}
	x.Error(errWrongPass)
}

// authenticate checks a user name and password (or token) and on success makes the connection that
// user. A failure is logged (ACL LOG, INFO) and delays the connection's next read; attempts made before
// that delay has passed (pipelined behind a failure) fail without being checked, so a client cannot try
// passwords faster than the delays allow by pipelining them. Runs under the keyspace lock; it never
// sleeps.
func (st *security) authenticate(c *conn, sc *secConn, cmdName, user, pass []byte, now time.Time) bool {
	if sc.notBefore.Load() <= now.UnixNano() {
		u := st.users.Get(string(user))
		if u == nil {
			// Hash anyway, so the reply time does not tell whether the user exists.
			acl.HashPassword(pass)
		} else if u.Enabled() && (u.CheckPassword(pass) || st.tokenValid(u, pass, now)) {
			sc.setUser(u)
			return true
		}
	}
	sc.failures++
	n := max(sc.failures, st.fails.add(sc.ip, now)-ipThreshold+freeFailures)
	if d := authDelay(n); d > 0 {
		sc.notBefore.Store(now.Add(d).UnixNano())
	}
	st.record(c, acl.DeniedAuth, keyspace.Lookup(cmdName), [][]byte{cmdName}, 0, string(user), now)
	return false
}

// tokenValid reports whether pass is a current token for u.
func (st *security) tokenValid(u *acl.User, pass []byte, now time.Time) bool {
	return u.TokenAuth() && st.tokenKey != nil && token.Looks(pass) && token.Verify(st.tokenKey, u.Name, pass, now) == nil
}
