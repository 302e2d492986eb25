package acl_test

import (
	"testing"

	"github.com/kvlab/kvlab/acl"
)

var hotCalls = []string{"GET app:1", "SET app:1 v", "MGET app:1 r:2 app:3", "SET w v GET", "CLIENT ID", "PING", "PUBLISH news.1 m"}

// TestCheckAllocs guards the per-command permission check: it allocates nothing, for restricted users too.
func TestCheckAllocs(t *testing.T) {
	u := setUser(t, acl.NewUsers(), "u", "on +@all -@dangerous ~app:* %R~r:* &news.* (~tmp:* +get)")
	for _, line := range hotCalls {
		cmd, args := resolve(t, line)
		if n := testing.AllocsPerRun(200, func() { u.Check(cmd, args) }); n != 0 {
			t.Errorf("Check(%s) allocates %v times", line, n)
		}
	}
}

// BenchmarkCheck measures the permission check of common calls for an unrestricted user (the default
// user: a flag test) and a restricted one (bitmap, key specs, patterns).
func BenchmarkCheck(b *testing.B) {
	users := map[string]string{
		"unrestricted": "on ~* &* +@all",
		"restricted":   "on +@all -@dangerous ~app:* %R~r:* &news.* (~tmp:* +get)",
	}
	for _, name := range []string{"unrestricted", "restricted"} {
		u, err := acl.NewUsers().SetUser("u", splitRules(users[name]))
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range []string{"GET app:1", "MGET app:1 r:2 app:3"} {
			cmd, args := resolve(b, line)
			b.Run(name+"/"+line, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					u.Check(cmd, args)
				}
			})
		}
	}
}
