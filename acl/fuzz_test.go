package acl_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kvlab/kvlab/acl"
	"github.com/kvlab/kvlab/keyspace"
)

// probes are calls whose decisions must not change when a user is rebuilt from its description: one per
// command and subcommand (which exposes the command bitmap) plus calls touching keys and channels.
var probes = sync0()

func sync0() func() [][][]byte {
	var cached [][][]byte
	return func() [][][]byte {
		if cached != nil {
			return cached
		}
		for _, c := range keyspace.Commands() {
			cached = append(cached, [][]byte{[]byte(c.Name), []byte("k1"), []byte("x"), []byte("y")})
			for _, s := range c.Subcommands {
				cached = append(cached, [][]byte{[]byte(c.Name), []byte(s.Name), []byte("0"), []byte("k2")})
			}
		}
		for _, line := range []string{"GET app:1", "SET app:1 v", "SET w v GET", "GET r", "COPY r w", "INCR w",
			"PUBLISH news.1 m", "SUBSCRIBE news.1 x", "PSUBSCRIBE news.*", "SELECT 0", "SELECT 1", "CLIENT KILL ID 1"} {
			var args [][]byte
			for _, f := range strings.Fields(line) {
				args = append(args, []byte(f))
			}
			cached = append(cached, args)
		}
		return cached
	}
}

type decision struct {
	d   acl.Denial
	idx int
}

func decisions(u *acl.User) []decision {
	var out []decision
	for _, args := range probes() {
		cmd := keyspace.Lookup(args[0])
		if cmd == nil {
			continue
		}
		if cmd.Subcommands != nil && len(args) > 1 {
			if sub := cmd.LookupSub(args[1]); sub != nil {
				cmd = sub
			}
		}
		d, idx := u.Check(cmd, args)
		out = append(out, decision{d, idx})
	}
	return out
}

// fromGetUser rebuilds rules from the fields ACL GETUSER returns.
func fromGetUser(u *acl.User) []string {
	var ops []string
	ops = append(ops, u.Flags()...)
	for _, p := range u.Passwords() {
		ops = append(ops, "#"+p)
	}
	sel := func(s *acl.Selector) []string {
		var o []string
		o = append(o, spaceFields(s.KeysString())...)
		if ch := s.ChannelsString(); ch != "&*" {
			o = append(o, "resetchannels")
		}
		o = append(o, spaceFields(s.ChannelsString())...)
		return append(o, spaceFields(s.CommandRules())...)
	}
	ops = append(ops, sel(u.Root())...)
	for _, s := range u.Selectors() {
		ops = append(ops, "("+strings.Join(sel(s), " ")+")")
	}
	return ops
}

// spaceFields splits a GETUSER field at single spaces, its separator.
func spaceFields(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// checkRoundTrip applies ops and asserts the properties: no panic; an error leaves the user unchanged;
// otherwise the user rebuilt from ACL LIST (and from ACL GETUSER's fields, and from an ACL file line)
// describes itself identically, decides every probe call exactly as the original, and has the same
// passwords and flags.
func checkRoundTrip(t *testing.T, ops []string) {
	us := acl.NewUsers()
	base, err := us.SetUser("u", []string{"on", ">pw", "~k*", "&c", "+get"})
	if err != nil {
		t.Fatal(err)
	}
	before := base.Describe()
	u, err := us.SetUser("u", ops)
	if err != nil {
		if base.Describe() != before {
			t.Fatalf("failed SETUSER %q (%v) changed the user: %q → %q", ops, err, before, base.Describe())
		}
		return
	}
	desc := u.Describe()
	want := decisions(u)
	rebuild := func(rules []string) *acl.User {
		again, err := acl.NewUsers().SetUser("u", rules)
		if err != nil {
			t.Fatalf("rules %q: rebuilding from %q: %v", ops, rules, err)
		}
		return again
	}
	parsed, err := acl.Parse("fuzz.acl", "user u "+desc+"\n")
	if err != nil {
		t.Fatalf("rules %q: ACL file line %q: %v", ops, desc, err)
	}
	for _, again := range []*acl.User{rebuild(strings.Split(desc, " ")), rebuild(fromGetUser(u)), parsed.Get("u")} {
		got := decisions(again)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("rules %q (%q): probe %q decided %v, rebuilt user (%q) decides %v", ops, desc, probes()[i], want[i], again.Describe(), got[i])
			}
		}
		if d := again.Describe(); d != desc {
			t.Fatalf("rules %q: rebuilt user describes as\n%q\nnot\n%q", ops, d, desc)
		}
		if again.CheckPassword([]byte("pw")) != u.CheckPassword([]byte("pw")) || strings.Join(again.Flags(), " ") != strings.Join(u.Flags(), " ") {
			t.Fatalf("rules %q: passwords or flags changed: %q → %q", ops, desc, again.Describe())
		}
	}
}

// FuzzSetUser feeds arbitrary rule lists (one rule per line of the input) to ACL SETUSER.
func FuzzSetUser(f *testing.F) {
	for _, seed := range []string{
		"on\n~*\n&*\n+@all",
		"+@all\n-@dangerous\n+flushdb\n%R~r*\n%W~w*",
		"(~a +get)\n(&c +publish)\nclearselectors",
		"+client\n-client|kill\n+select|0\n-select\n+select|1",
		"nopass\n>x\n<x\n#abcdef\nresetpass\nreset",
		"~*\n~x",
		"(~a\n+get)",
		"+@hash\n-hget\n+@all\n-@read\n+@read\n-get",
		"%RW~x\n%WR~y\n%R\n~",
		"token\nnotoken\non\noff",
		"(\n)\n()\n( ~a )",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkRoundTrip(t, strings.Split(in, "\n"))
	})
}

// TestRandomRules runs the round-trip property on rule lists drawn from the rule grammar (valid and
// invalid), seeded so a failure reproduces.
func TestRandomRules(t *testing.T) {
	var names []string
	for _, c := range keyspace.Commands() {
		names = append(names, c.Name)
		for _, s := range c.Subcommands {
			names = append(names, c.Name+"|"+s.Name)
		}
	}
	cats := append([]string{"all", "nosuch"}, keyspace.CategoryNames...)
	atoms := []func(r *rand.Rand) string{
		func(r *rand.Rand) string {
			return []string{"on", "off", "nopass", "resetpass", "reset", "allkeys", "resetkeys", "allchannels", "resetchannels", "allcommands", "nocommands", "clearselectors", "sanitize-payload", "skip-sanitize-payload", "token", "notoken", ""}[r.IntN(17)]
		},
		func(r *rand.Rand) string { return ">" + []string{"a", "b", "pw", ""}[r.IntN(4)] },
		func(r *rand.Rand) string { return "<" + []string{"a", "b", "pw"}[r.IntN(3)] },
		func(r *rand.Rand) string { return "#" + acl.HashPassword([]byte{byte('a' + r.IntN(3))}) },
		func(r *rand.Rand) string {
			return []string{"~", "%R~", "%W~", "%RW~", "%"}[r.IntN(5)] + []string{"*", "a*", "k?", "[ab]", ""}[r.IntN(5)]
		},
		func(r *rand.Rand) string { return "&" + []string{"*", "news.*", "c", ""}[r.IntN(4)] },
		func(r *rand.Rand) string { return []string{"+", "-"}[r.IntN(2)] + names[r.IntN(len(names))] },
		func(r *rand.Rand) string { return []string{"+", "-"}[r.IntN(2)] + "@" + cats[r.IntN(len(cats))] },
		func(r *rand.Rand) string { return "+select|" + []string{"0", "1", "x"}[r.IntN(3)] },
		func(r *rand.Rand) string { return "+client|id|x" },
	}
	var gen func(r *rand.Rand, depth int) string
	gen = func(r *rand.Rand, depth int) string {
		if depth == 0 && r.IntN(12) == 0 {
			var parts []string
			for range r.IntN(4) {
				parts = append(parts, gen(r, 1))
			}
			return "(" + strings.Join(parts, " ") + ")"
		}
		return atoms[r.IntN(len(atoms))](r)
	}
	r := rand.New(rand.NewPCG(9, 9))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for range n {
		ops := make([]string, r.IntN(8))
		for j := range ops {
			ops[j] = gen(r, 0)
		}
		checkRoundTrip(t, ops)
	}
}
