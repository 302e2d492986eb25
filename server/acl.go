package server

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvlab/kvlab/acl"
	"github.com/kvlab/kvlab/internal/token"
	"github.com/kvlab/kvlab/keyspace"
)

// Access control: ACL users and permissions (package acl), AUTH and HELLO AUTH, the ACL command, the ACL
// log and its INFO counters, protected mode, and the limits on unauthenticated clients. It plugs into the
// connection loop through pre-exec filters (10 authentication, 20 permissions) and the hooks of the
// server; the per-connection state lives in secConn, which wraps every accepted connection.
//
// Settings come from Config.Extra (keys below). Users, the ACL log and the ACL file path are guarded by
// the keyspace lock, like everything a command touches; the fields read by the accept loop and the
// connection reads (open, defaultUser, protected) are atomics or fixed at start.

// Config.Extra keys read by the access-control layer.
const (
	// ExtraRequirePass sets a password for the default user (Redis's requirepass). With an ACL file that
	// does not define the default user, it applies on top of the file (also after ACL LOAD).
	ExtraRequirePass = "requirepass"
	// ExtraACLFile is the ACL file loaded at start and used by ACL LOAD and ACL SAVE (Redis's aclfile).
	ExtraACLFile = "aclfile"
	// ExtraProtectedMode is "yes" (default) or "no": with "yes", while the default user needs no password
	// only loopback clients are accepted.
	ExtraProtectedMode = "protected-mode"
	// ExtraTokenKeyFile is the HMAC key file for AUTH <user> <token> (see internal/token); users accept
	// tokens when they carry the "token" ACL rule.
	ExtraTokenKeyFile = "token-key-file"
)

const (
	errNoAuth      = "NOAUTH Authentication required."
	errWrongPass   = "WRONGPASS invalid username-password pair or user is disabled."
	errHelloNoAuth = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
	errAuthNoPass  = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
	errNoACLFile   = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."
)

// security is one server's access-control state.
type security struct {
	s *Server

	// Guarded by the keyspace lock.
	users       *acl.Users
	log         acl.Log
	aclFile     string
	requirePass *string
	tokenKey    []byte

	// Read without the lock.
	protected   bool
	open        atomic.Bool              // the default user is on and needs no password
	defaultUser atomic.Pointer[acl.User] // the user new connections start as
	denied      [acl.DeniedChannel + 1]atomic.Int64
	fails       ipFailures
}

// securities maps each started server to its state (for hooks that only get the *Server).
var securities sync.Map // *Server → *security

func securityOf(s *Server) *security {
	v, _ := securities.Load(s)
	st, _ := v.(*security)
	return st
}

func init() {
	startHooks = append(startHooks, startSecurity)
	closeHooks = append(closeHooks, func(s *Server) { securities.Delete(s) })
	addPreExec(10, authFilter)
	addPreExec(20, permFilter)
	execCheck = execPermCheck
	userNameHook = func(c *conn) string { return secOf(c).user.Load().Name }
	helloAuth = func(c *conn, x *keyspace.Ctx, user, pass []byte) bool {
		sc := secOf(c)
		if sc.st.authenticate(c, sc, x.Args[0], user, pass, time.Now()) {
			return true
		}
		x.Error(errWrongPass)
		return false
	}
	resetHooks = append(resetHooks, func(c *conn) {
		// RESET returns to the default user; the connection stays authenticated only if that needs no
		// password. Failed AUTH attempts are not forgotten.
		sc := secOf(c)
		sc.user.Store(sc.st.users.Default())
		sc.authed.Store(sc.st.open.Load())
	})
	infoHooks["stats"] = append(infoHooks["stats"], func(s *Server) string {
		st := securityOf(s)
		if st == nil {
			return ""
		}
		return fmt.Sprintf("acl_access_denied_auth:%d\r\nacl_access_denied_cmd:%d\r\nacl_access_denied_key:%d\r\nacl_access_denied_channel:%d\r\n",
			st.denied[acl.DeniedAuth].Load(), st.denied[acl.DeniedCommand].Load(), st.denied[acl.DeniedKey].Load(),
			st.denied[acl.DeniedChannel].Load())
	})
}

// startSecurity builds the server's access control from Config.Extra, loads the ACL file, and wraps the
// listeners.
func startSecurity(s *Server) error {
	st := &security{s: s, users: acl.NewUsers(), protected: true}
	ex := s.cfg.Extra
	switch strings.ToLower(ex[ExtraProtectedMode]) {
	case "", "yes":
	case "no":
		st.protected = false
	default:
		return fmt.Errorf("server: %s must be yes or no, not %q", ExtraProtectedMode, ex[ExtraProtectedMode])
	}
	if pw, ok := ex[ExtraRequirePass]; ok && pw != "" {
		st.requirePass = &pw
	}
	if f := ex[ExtraTokenKeyFile]; f != "" {
		k, err := token.LoadKey(f)
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		st.tokenKey = k
	}
	if f := ex[ExtraACLFile]; f != "" {
		st.aclFile = f
		next, err := acl.LoadFile(f)
		if err != nil {
			return fmt.Errorf("server: aborting startup because of ACL errors: %s", acl.LoadErrorText(err))
		}
		st.users = next
	}
	st.applyRequirePass()
	st.refresh()
	if d := st.users.Default(); d.Enabled() && d.NoPass() && st.protected && !isLoopback(s.ln.Addr()) {
		s.Logf("protected mode: the default user has no password, so only loopback clients are accepted (set a password with --requirepass or --aclfile, or run with --protected-mode no)")
	}
	s.ln = &secListener{Listener: s.ln, st: st}
	if s.tlsLn != nil {
		s.tlsLn = &secListener{Listener: s.tlsLn, st: st}
		s.Logf("TLS on %s", s.tlsLn.Addr())
	}
	securities.Store(s, st)
	return nil
}

// applyRequirePass gives the default user the configured password, unless an ACL file defined it.
func (st *security) applyRequirePass() {
	if st.requirePass == nil || st.users.DefinesDefault() {
		return
	}
	if _, err := st.users.SetUser("default", []string{"resetpass", ">" + *st.requirePass}); err != nil {
		panic("server: requirepass: " + err.Error())
	}
}

// refresh republishes what connections read without the lock; call after every change of users.
func (st *security) refresh() {
	d := st.users.Default()
	st.defaultUser.Store(d)
	st.open.Store(d.Enabled() && d.NoPass())
}

// secOf returns the security state of a connection. Every accepted connection is wrapped; one that is not
// (a listener installed without the wrapper) is treated as a connection of nobody, with no permissions.
func secOf(c *conn) *secConn {
	if sc, ok := c.nc.(*secConn); ok {
		if sc.c == nil {
			sc.c = c
		}
		return sc
	}
	return unwrapped(c)
}

var orphans sync.Map // *conn → *secConn, for connections that bypassed the wrapper

func unwrapped(c *conn) *secConn {
	if v, ok := orphans.Load(c); ok {
		return v.(*secConn)
	}
	st := securityOf(c.s)
	if st == nil {
		st = &security{s: c.s, users: acl.NewUsers()}
	}
	sc := &secConn{Conn: c.nc, st: st, closed: make(chan struct{}), c: c, tlsDone: true}
	sc.user.Store(acl.Disabled("nobody"))
	c.s.Logf("client id=%d addr=%s is not under access control; refusing its commands", c.id, c.nc.RemoteAddr())
	orphans.Store(c, sc)
	return sc
}

// reject replies with an error instead of running cmd, counting it as Redis's rejectCommand does; inside
// MULTI the transaction is flagged so EXEC aborts.
func reject(c *conn, cmd *keyspace.Command, msg string) {
	c.w.Error(msg)
	c.s.stats.errorReplies.Add(1)
	c.s.cmdStat(cmd).rejected.Add(1)
	if c.tx.active {
		c.tx.failed = true
	}
}

// authFilter refuses commands of clients that must authenticate first (pre-exec order 10). Unknown
// commands and arity errors pass, so they get Redis's errors; commands flagged no_auth (AUTH, HELLO,
// QUIT, RESET) run.
func authFilter(c *conn, cmd *keyspace.Command, msg string, args [][]byte) (bool, uint64) {
	sc := secOf(c)
	if sc.authed.Load() || sc.st.open.Load() || cmd == nil || msg != "" {
		return false, 0
	}
	if cmd.Flags&keyspace.FlagNoAuth != 0 {
		if cmd.Name == "hello" && helloWithoutAuth(args) {
			reject(c, cmd, errHelloNoAuth)
			return true, 0
		}
		return false, 0
	}
	reject(c, cmd, errNoAuth)
	return true, 0
}

// helloWithoutAuth reports whether a HELLO call is well formed and has no AUTH option: Redis refuses it
// from an unauthenticated client (a malformed one gets HELLO's own error).
func helloWithoutAuth(args [][]byte) bool {
	i := 1
	if len(args) >= 2 {
		v, err := keyspace.ParseInt(args[1])
		if err != nil || v < 2 || v > 3 {
			return false
		}
		i = 2
	}
	for ; i < len(args); i++ {
		more := len(args) - i - 1
		switch {
		case keyspace.EqualFold(args[i], "auth") && more >= 2:
			return false
		case keyspace.EqualFold(args[i], "setname") && more >= 1:
			i++
		default:
			return false
		}
	}
	return true
}

// permFilter enforces the user's ACL permissions (pre-exec order 20): commands, keys (read vs write, from
// Redis's key specifications) and Pub/Sub channels.
func permFilter(c *conn, cmd *keyspace.Command, msg string, args [][]byte) (bool, uint64) {
	if cmd == nil || msg != "" {
		return false, 0
	}
	sc := secOf(c)
	u := sc.user.Load()
	if u.Unrestricted() {
		return false, 0
	}
	d, idx := u.Check(cmd, args)
	if d == acl.Allowed {
		return false, 0
	}
	sc.st.record(c, d, cmd, args, idx, u.Name, time.Now())
	reject(c, cmd, "NOPERM "+denialMessage(d, u.Name, cmd, args[idx], false))
	return true, 0
}

// execPermCheck checks a queued command again at EXEC, as Redis does, since the user's rules may have
// changed after it was queued; the denial is logged in the "multi" context.
func execPermCheck(c *conn, cmd *keyspace.Command, args [][]byte) string {
	sc := secOf(c)
	u := sc.user.Load()
	if u.Unrestricted() {
		return ""
	}
	d, idx := u.Check(cmd, args)
	if d == acl.Allowed {
		return ""
	}
	sc.st.record(c, d, cmd, args, idx, u.Name, time.Now())
	reason := "no permission"
	switch d {
	case acl.DeniedCommand:
		reason = "no permission to execute the command or subcommand"
	case acl.DeniedKey:
		reason = "no permission to touch the specified keys"
	case acl.DeniedChannel:
		reason = "no permission to access one of the channels used as arguments"
	}
	return "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: " + reason
}

// record adds a denial to the ACL log and the INFO counters.
func (st *security) record(c *conn, d acl.Denial, cmd *keyspace.Command, args [][]byte, idx int, user string, now time.Time) {
	st.denied[d].Add(1)
	obj := ""
	switch d {
	case acl.DeniedCommand:
		obj = cmd.FullName()
	case acl.DeniedAuth:
		obj = string(args[0])
	default:
		obj = string(args[idx])
	}
	ctx := "toplevel"
	if c.tx.active {
		ctx = "multi"
	}
	st.log.Add(acl.LogEntry{Reason: d, Context: ctx, Object: obj, Username: user, Updated: now.UnixMilli(),
		ClientInfo: c.clientLine(cmd.FullName())})
}

// denialMessage is Redis 7.2's text for a denial (getAclErrorMessage); verbose names the key or channel
// (ACL DRYRUN), otherwise it is the NOPERM reply's text.
func denialMessage(d acl.Denial, user string, cmd *keyspace.Command, arg []byte, verbose bool) string {
	switch d {
	case acl.DeniedKey:
		if verbose {
			return "User " + user + " has no permissions to access the '" + string(arg) + "' key"
		}
		return "No permissions to access a key"
	case acl.DeniedChannel:
		if verbose {
			return "User " + user + " has no permissions to access the '" + string(arg) + "' channel"
		}
		return "No permissions to access a channel"
	}
	return "User " + user + " has no permissions to run the '" + cmd.FullName() + "' command"
}

// setUser makes sc authenticated as u.
func (sc *secConn) setUser(u *acl.User) {
	sc.user.Store(u)
	sc.authed.Store(true)
}

// killUsers closes the connections authenticated as any of users (after ACL DELUSER or ACL LOAD); the
// caller's own connection closes after its reply. Their remaining commands run as nobody.
func (st *security) killUsers(self *conn, users []*acl.User) {
	if len(users) == 0 {
		return
	}
	gone := map[*acl.User]bool{}
	for _, u := range users {
		gone[u] = true
	}
	for _, c := range st.s.clientsSorted() {
		sc := secOf(c)
		if u := sc.user.Load(); gone[u] {
			sc.user.Store(acl.Disabled(u.Name))
			sc.authed.Store(false)
			c.kill(self)
		}
	}
}
