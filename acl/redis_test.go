package acl_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kvlab/kvlab/acl"
)

var dryRunDenial = regexp.MustCompile(`^This user has no permissions to (run the '([^']*)' command|access the '([^']*)' (key|channel))$`)

// TestCheckMatchesRedis asks the installed redis-server (ACL SETUSER + ACL DRYRUN) about every case of
// TestCheck and requires the same decision, for the same reason, about the same argument. This is how the
// expected outcomes of TestCheck are known to be Redis's.
func TestCheckMatchesRedis(t *testing.T) {
	addr := acl.StartRedis(t)
	c := acl.DialRaw(t, addr)
	for i, tc := range checkCases {
		cmd, args := resolve(t, tc.call)
		name := "u" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		set := append([]string{"ACL", "SETUSER", name, "reset"}, strings.Fields(tc.rules)...)
		if v := c.Do(t, set...); string(v.Str) != "OK" {
			t.Fatalf("redis: %v: %s", set, v.Str)
		}
		dry := append([]string{"ACL", "DRYRUN", name}, strings.Fields(tc.call)...)
		v := c.Do(t, dry...)
		got, gotIdx := acl.Allowed, 0
		if string(v.Str) != "OK" {
			m := dryRunDenial.FindStringSubmatch(string(v.Str))
			if m == nil {
				t.Fatalf("%s / %s: redis replied %q", tc.rules, tc.call, v.Str)
			}
			switch {
			case m[2] != "":
				got = acl.DeniedCommand
				if m[2] != cmd.FullName() {
					t.Errorf("%s / %s: redis names command %q", tc.rules, tc.call, m[2])
				}
			case m[4] == "key":
				got = acl.DeniedKey
			default:
				got = acl.DeniedChannel
			}
			if got != acl.DeniedCommand {
				for j, a := range args {
					if string(a) == m[3] {
						gotIdx = j
					}
				}
			}
		}
		if got != tc.want || gotIdx != tc.idx {
			t.Errorf("%s / %s: redis says %v at %d, the test expects %v at %d", tc.rules, tc.call, got, gotIdx, tc.want, tc.idx)
		}
	}
}
