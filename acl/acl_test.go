package acl_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kvlab/kvlab/acl"
	"github.com/kvlab/kvlab/keyspace"
	_ "github.com/kvlab/kvlab/server" // registers the connection, server, ACL and Pub/Sub commands
)

func setUser(t *testing.T, us *acl.Users, name string, rules string) *acl.User {
	t.Helper()
	u, err := us.SetUser(name, strings.Fields(rules))
	if err != nil {
		t.Fatalf("SETUSER %s %s: %v", name, rules, err)
	}
	return u
}

// TestSetUserDescribe: rules are applied as Redis 7.2 applies them, and ACL LIST shows the user the way
// Redis 7.2 does (command rules in the order given, a later rule replacing earlier ones about the same
// command or category).
func TestSetUserDescribe(t *testing.T) {
	tests := []struct {
		name, rules, want string
	}{
		{"new user", "", "off resetchannels -@all"},
		{"memorydb access string", "on ~* &* +@all", "on ~* &* +@all"},
		{"password hashed", "on >pw", "on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 resetchannels -@all"},
		{"hash kept", "#30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 >pw", "off #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 resetchannels -@all"},
		{"remove password", ">a >b <a", "off #3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d resetchannels -@all"},
		{"nopass clears passwords", ">a nopass", "off nopass resetchannels -@all"},
		{"password clears nopass", "nopass >a", "off #ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb resetchannels -@all"},
		{"resetpass", ">a nopass resetpass", "off resetchannels -@all"},
		{"key patterns", "~k* %R~r* %W~w* %RW~b ~k*", "off ~k* %R~r* %W~w* ~b resetchannels -@all"},
		{"key flags merge", "%R~x %W~x", "off ~x resetchannels -@all"},
		{"allkeys replaces patterns", "~a ~b allkeys", "off ~* resetchannels -@all"},
		{"resetkeys", "allkeys resetkeys ~c", "off ~c resetchannels -@all"},
		{"channels", "&a &b* &a", "off resetchannels &a &b* -@all"},
		{"allchannels", "&a allchannels", "off &* -@all"},
		{"command order kept", "+get +@hash -hset +client|id", "off resetchannels -@all +get +@hash -hset +client|id"},
		{"later rule replaces", "+@all -get +get -@hash +hget +@hash -hget", "off resetchannels +@all +get +@hash -hget"},
		{"container rule drops subcommand rules", "+client -client|kill +select|0 +select|1 +client|kill +ACL|WHOAMI +GET -client",
			"off resetchannels -@all +select|0 +select|1 +acl|whoami +get -client"},
		{"nocommands resets rules", "+get nocommands +set", "off resetchannels -@all +set"},
		{"allcommands resets rules", "+get allcommands -set", "off resetchannels +@all -set"},
		{"flags", "on skip-sanitize-payload", "on skip-sanitize-payload resetchannels -@all"},
		{"token flag", "on token", "on token resetchannels -@all"},
		{"reset", "on >a ~x &y +get skip-sanitize-payload token reset", "off sanitize-payload resetchannels -@all"},
		{"selectors", "~a +get (~b +set) (%R~c &d +@read)", "off ~a resetchannels -@all +get (~b resetchannels -@all +set) (%R~c resetchannels &d -@all +@read)"},
		{"empty selector", "()", "off resetchannels -@all (resetchannels -@all)"},
		{"clearselectors", "(~b +set) clearselectors", "off resetchannels -@all"},
		{"case-insensitive keywords", "ON ALLKEYS ALLCHANNELS ALLCOMMANDS", "on ~* &* +@all"},
		{"empty pattern", "%R", "off %R~ resetchannels -@all"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			us := acl.NewUsers()
			u := setUser(t, us, "u", tc.rules)
			if got := u.Describe(); got != tc.want {
				t.Fatalf("describe:\n got %q\nwant %q", got, tc.want)
			}
			// Applying the description to a fresh user gives the same description (ACL LOAD of ACL SAVE).
			again := setUser(t, acl.NewUsers(), "u", tc.want)
			if got := again.Describe(); got != tc.want {
				t.Fatalf("re-applied describe:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestSetUserErrors: invalid rules fail with Redis's messages and leave the user unchanged.
func TestSetUserErrors(t *testing.T) {
	tests := []struct {
		rules []string
		want  string
	}{
		{[]string{"bogus"}, "Error in ACL SETUSER modifier 'bogus': Syntax error"},
		{[]string{"+nope"}, "Error in ACL SETUSER modifier '+nope': Unknown command or category name in ACL"},
		{[]string{"+"}, "Error in ACL SETUSER modifier '+': Unknown command or category name in ACL"},
		{[]string{"+@"}, "Error in ACL SETUSER modifier '+@': Unknown command or category name in ACL"},
		{[]string{"-@nope"}, "Error in ACL SETUSER modifier '-@nope': Unknown command or category name in ACL"},
		{[]string{"-get|x"}, "Error in ACL SETUSER modifier '-get|x': Unknown command or category name in ACL"},
		{[]string{"+client|nosuch"}, "Error in ACL SETUSER modifier '+client|nosuch': Unknown command or category name in ACL"},
		{[]string{"+client|id|x"}, "Error in ACL SETUSER modifier '+client|id|x': Allowing first-arg of a subcommand is not supported"},
		{[]string{"+select|"}, "Error in ACL SETUSER modifier '+select|': Syntax error"},
		{[]string{"+select|a b"}, "Error in ACL SETUSER modifier '+select|a b': Syntax error"},
		{[]string{"~*", "~x"}, "Error in ACL SETUSER modifier '~x': " + acl.ErrKeyAfterAll.Error()},
		{[]string{"&*", "&x"}, "Error in ACL SETUSER modifier '&x': " + acl.ErrChannelAfterAll.Error()},
		{[]string{"~a b"}, "Error in ACL SETUSER modifier '~a b': Syntax error"},
		{[]string{"%X~x"}, "Error in ACL SETUSER modifier '%X~x': Syntax error"},
		{[]string{"%~x"}, "Error in ACL SETUSER modifier '%~x': Syntax error"},
		{[]string{"%RR~x"}, "Error in ACL SETUSER modifier '%RR~x': Syntax error"},
		{[]string{"%"}, "Error in ACL SETUSER modifier '%': Syntax error"},
		{[]string{"#abc"}, "Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"},
		{[]string{"!ABC"}, "Error in ACL SETUSER modifier '!ABC': The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"},
		{[]string{"<nope"}, "Error in ACL SETUSER modifier '<nope': The password you are trying to remove from the user does not exist"},
		{[]string{"(~x", "+get"}, "Unmatched parenthesis in acl selector starting at '(~x'."},
		{[]string{"(~x bogus)"}, "Error in ACL SETUSER modifier '(~x bogus)': Syntax error"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.rules, " "), func(t *testing.T) {
			us := acl.NewUsers()
			u := setUser(t, us, "u", "on >pw ~k +get")
			before := u.Describe()
			_, err := us.SetUser("u", tc.rules)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v\nwant %s", err, tc.want)
			}
			if u.Describe() != before {
				t.Fatalf("a failed SETUSER changed the user: %q → %q", before, u.Describe())
			}
		})
	}
	if _, err := acl.NewUsers().SetUser("a b", nil); !errors.Is(err, acl.ErrBadUsername) {
		t.Fatalf("user name with a space: %v", err)
	}
}

func splitRules(s string) []string { return strings.Fields(s) }

func resolve(t testing.TB, line string) (*keyspace.Command, [][]byte) {
	t.Helper()
	var args [][]byte
	for _, f := range strings.Fields(line) {
		args = append(args, []byte(f))
	}
	cmd, msg := keyspace.Resolve(args)
	if cmd == nil || msg != "" {
		t.Fatalf("%s: %s", line, msg)
	}
	return cmd, args
}

// TestCheck: each kind of rule allows what it should and denies what it should, with the argument Redis
// reports.
func TestCheck(t *testing.T) {
	for _, tc := range checkCases {
		t.Run(tc.rules+" / "+tc.call, func(t *testing.T) {
			u := setUser(t, acl.NewUsers(), "u", tc.rules)
			cmd, args := resolve(t, tc.call)
			d, idx := u.Check(cmd, args)
			if d != tc.want || idx != tc.idx {
				t.Fatalf("Check = %v at %d, want %v at %d", d, idx, tc.want, tc.idx)
			}
		})
	}
}

// checkCases are calls and the decision Redis makes for a user with the rules (TestCheckMatchesRedis
// proves it against redis-server).
var checkCases = []struct {
	rules string
	call  string
	want  acl.Denial
	idx   int
}{
	// Commands and categories.
	{"on +get ~*", "GET k", acl.Allowed, 0},
	{"on +get ~*", "SET k v", acl.DeniedCommand, 0},
	{"on +@string ~*", "APPEND k v", acl.Allowed, 0},
	{"on +@string ~*", "HSET k f v", acl.DeniedCommand, 0},
	{"on +@all -@dangerous ~*", "FLUSHALL", acl.DeniedCommand, 0},
	{"on +@all -@dangerous ~*", "GET k", acl.Allowed, 0},
	{"on +@all -flushall ~*", "FLUSHDB", acl.Allowed, 0},
	{"on allcommands allkeys", "FLUSHALL", acl.Allowed, 0},
	{"on nocommands", "PING", acl.DeniedCommand, 0},
	{"on nocommands", "AUTH x y", acl.Allowed, 0}, // no_auth commands are always allowed
	{"on +client ~*", "CLIENT ID", acl.Allowed, 0},
	{"on +client -client|kill", "CLIENT KILL ID 5", acl.DeniedCommand, 0},
	{"on +client|id", "CLIENT ID", acl.Allowed, 0},
	{"on +client|id", "CLIENT LIST", acl.DeniedCommand, 0},
	{"on -select +select|0", "SELECT 0", acl.Allowed, 0},
	{"on -select +select|0", "SELECT 1", acl.DeniedCommand, 0},
	// Keys: ~ grants both, %R~ reads, %W~ writes; what a command needs comes from its key specs.
	{"on +@all ~app:*", "GET app:1", acl.Allowed, 0},
	{"on +@all ~app:*", "GET other", acl.DeniedKey, 1},
	{"on +@all ~app:*", "MGET app:1 other app:2", acl.DeniedKey, 2},
	{"on +@all %R~r*", "GET r1", acl.Allowed, 0},
	{"on +@all %R~r*", "SET r1 v", acl.DeniedKey, 1},
	{"on +@all %W~w*", "SET w1 v", acl.Allowed, 0},
	{"on +@all %W~w*", "SET w1 v GET", acl.DeniedKey, 1}, // SET ... GET also reads
	{"on +@all %W~w*", "GET w1", acl.DeniedKey, 1},
	{"on +@all %W~w*", "INCR w1", acl.DeniedKey, 1}, // INCR returns the value: read and write
	{"on +@all %W~w*", "APPEND w1 x", acl.Allowed, 0},
	{"on +@all %W~w*", "DEL w1", acl.Allowed, 0},
	{"on +@all %W~w*", "EXISTS w1", acl.Allowed, 0}, // only looks at the key: any pattern will do
	{"on +@all %R~src %W~dst", "COPY src dst", acl.Allowed, 0},
	{"on +@all %R~src %W~dst", "COPY dst src", acl.DeniedKey, 1},
	{"on +@all %R~src %W~dst", "ZUNIONSTORE dst 1 src", acl.Allowed, 0},
	{"on +@all %R~src %W~dst", "ZUNIONSTORE src 1 dst", acl.DeniedKey, 1},
	{"on +@all %R~src %W~dst ~src2", "ZUNIONSTORE dst 2 src2 dst", acl.DeniedKey, 4},
	{"on +@all %R~s*", "XREAD STREAMS s1 s2 0 0", acl.Allowed, 0},
	{"on +@all %R~s1", "XREAD STREAMS s1 s2 0 0", acl.DeniedKey, 3},
	{"on +@all", "GET k", acl.DeniedKey, 1},
	{"on +@all", "PING", acl.Allowed, 0},
	// Channels: patterns match PUBLISH/SUBSCRIBE channels; PSUBSCRIBE patterns must match literally.
	{"on +@all &news.*", "PUBLISH news.1 hi", acl.Allowed, 0},
	{"on +@all &news.*", "PUBLISH sport hi", acl.DeniedChannel, 1},
	{"on +@all &news.*", "SUBSCRIBE news.a sport", acl.DeniedChannel, 2},
	{"on +@all &news.*", "PSUBSCRIBE news.*", acl.Allowed, 0},
	{"on +@all &news.*", "PSUBSCRIBE news.a", acl.DeniedChannel, 1},
	{"on +@all &news.*", "UNSUBSCRIBE sport", acl.Allowed, 0},
	{"on +@all resetchannels", "PUBLISH c m", acl.DeniedChannel, 1},
	{"on +@all allchannels", "PUBLISH c m", acl.Allowed, 0},
	// Selectors: one selector must allow the whole call.
	{"on +get ~a (+set ~b)", "SET b v", acl.Allowed, 0},
	{"on +get ~a (+set ~b)", "SET a v", acl.DeniedKey, 1},
	{"on +get ~a (+set ~b)", "GET b", acl.DeniedKey, 1},
	{"on +get ~a (+set ~b)", "DEL a", acl.DeniedCommand, 0},
}

// TestPasswords: passwords are stored as SHA-256 and checked; nopass accepts anything.
func TestPasswords(t *testing.T) {
	us := acl.NewUsers()
	u := setUser(t, us, "u", "on >one >two")
	for _, tc := range []struct {
		pass string
		ok   bool
	}{{"one", true}, {"two", true}, {"three", false}, {"", false}, {"one ", false}} {
		if got := u.CheckPassword([]byte(tc.pass)); got != tc.ok {
			t.Errorf("CheckPassword(%q) = %v", tc.pass, got)
		}
	}
	for _, h := range u.Passwords() {
		if strings.Contains(u.Describe(), "one") || len(h) != 64 {
			t.Fatalf("password not stored as a SHA-256 digest: %q", u.Describe())
		}
	}
	if !us.Default().CheckPassword([]byte("anything")) {
		t.Fatal("the default user is nopass: every password must be accepted")
	}
}
