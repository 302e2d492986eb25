package acl_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvlab/kvlab/acl"
)

// TestParseErrors: a bad ACL file is refused as a whole, with every problem listed in Redis's words.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"comment", "# users\nuser a on\n", "f.acl:1 should start with user keyword followed by the username. "},
		{"no name", "user\n", "f.acl:1 should start with user keyword followed by the username. "},
		{"keyword is case-sensitive", "USER a on\n", "f.acl:1 should start with user keyword followed by the username. "},
		{"duplicate", "user a on\nuser a off\n", "WARNING: Duplicate user 'a' found on line 2. "},
		{"unknown command", "user a on +nope +get -nada\n", "f.acl:1: Error in applying operation '+nope': Unknown command or category name in ACL. f.acl:1: Error in applying operation '-nada': Unknown command or category name in ACL. "},
		{"first syntax error only", "user a on bogus worse\n", "f.acl:1: Syntax error. "},
		{"unmatched parenthesis", "user a on (~x +get\n", "f.acl:1: Unmatched parenthesis in selector definition."},
		{"several lines", "user a bogus\n\nfoo\n", "f.acl:1: Syntax error. f.acl:3 should start with user keyword followed by the username. "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := acl.Parse("f.acl", tc.data)
			if !errors.Is(err, acl.ErrLoad) {
				t.Fatalf("err = %v, want ErrLoad", err)
			}
			want := tc.want + "WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
			if got := acl.LoadErrorText(err); got != want {
				t.Fatalf("error text\n got %q\nwant %q", got, want)
			}
		})
	}
}

// TestParse: blank lines, surrounding whitespace, extra spaces and selectors split over arguments are
// accepted; a file without a default user gets Redis's default one.
func TestParse(t *testing.T) {
	us, err := acl.Parse("f.acl", "\n  user alice on >pw  ~app:* (~x +get) +@all \r\n\n\tuser bob off\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"user alice on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~app:* resetchannels +@all (~x resetchannels -@all +get)",
		"user bob off resetchannels -@all",
		"user default on nopass ~* &* +@all",
	}
	if got := us.List(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("users:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if us.DefinesDefault() {
		t.Fatal("DefinesDefault: the file has no default user")
	}
	us, err = acl.Parse("f.acl", "user default on >x ~* +@all\n")
	if err != nil {
		t.Fatal(err)
	}
	if !us.DefinesDefault() || us.Default().NoPass() {
		t.Fatalf("default from the file not used: %s", us.Default().Describe())
	}
}

// TestSaveLoad: ACL SAVE writes a file (mode 0600, atomically) that loads back to the same users.
func TestSaveLoad(t *testing.T) {
	us := acl.NewUsers()
	for name, rules := range map[string]string{
		"alice":   "on >pw %R~r* %W~w* &news.* +@all -@dangerous",
		"bob":     "on nopass token (~a +get) (%RW~* %R~x +set)",
		"default": "resetpass >secret",
	} {
		setUser(t, us, name, rules)
	}
	path := filepath.Join(t.TempDir(), "users.acl")
	if err := us.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("ACL file mode %v, want 0600 (it holds password hashes)", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	back, err := acl.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(back.List(), "\n"), strings.Join(us.List(), "\n"); got != want {
		t.Fatalf("loaded:\n%s\nsaved:\n%s", got, want)
	}
	if _, err := acl.LoadFile(filepath.Join(t.TempDir(), "missing.acl")); err == nil ||
		!strings.Contains(acl.LoadErrorText(err), "Error loading ACLs, opening file") {
		t.Fatalf("missing file: %v", err)
	}
}

// TestReplace: ACL LOAD keeps the default user object (connections stay) and hands back every other
// user for disconnection.
func TestReplace(t *testing.T) {
	us := acl.NewUsers()
	def := us.Default()
	alice := setUser(t, us, "alice", "on >a")
	next, err := acl.Parse("f", "user alice on >b\nuser default on >d +@all ~*\n")
	if err != nil {
		t.Fatal(err)
	}
	gone := us.Replace(next)
	if len(gone) != 1 || gone[0] != alice {
		t.Fatalf("gone = %v, want the old alice", gone)
	}
	if us.Default() != def || def.NoPass() || !def.CheckPassword([]byte("d")) {
		t.Fatalf("default user not updated in place: %s", def.Describe())
	}
	if us.Get("alice") == alice || !us.Get("alice").CheckPassword([]byte("b")) {
		t.Fatal("alice not replaced")
	}
}

// TestDelete: the default user cannot be deleted; missing users are not counted.
func TestDelete(t *testing.T) {
	us := acl.NewUsers()
	setUser(t, us, "a", "on")
	if _, err := us.Delete("a", "default"); !errors.Is(err, acl.ErrDefaultUser) || us.Get("a") == nil {
		t.Fatalf("deleting default: %v (a must survive)", err)
	}
	gone, err := us.Delete("a", "nope")
	if err != nil || len(gone) != 1 || us.Get("a") != nil {
		t.Fatalf("Delete = %v, %v", gone, err)
	}
}

// TestLog: denials within a minute with the same reason, context, object and user are grouped; the log
// keeps the newest entries first and at most Max of them.
func TestLog(t *testing.T) {
	var l acl.Log
	l.Max = 3
	add := func(obj string, at int64) {
		l.Add(acl.LogEntry{Reason: acl.DeniedKey, Context: "toplevel", Object: obj, Username: "u", Updated: at, ClientInfo: obj})
	}
	add("a", 1000)
	add("a", 2000)
	add("b", 3000)
	add("a", 62000) // within 60 s of the last "a": grouped, moved to the front
	e := l.Entries(10)
	if len(e) != 2 || e[0].Object != "a" || e[0].Count != 3 || e[0].Created != 1000 || e[0].Updated != 62000 || e[1].Object != "b" {
		t.Fatalf("entries %+v", e)
	}
	add("a", 200000) // more than a minute later: a new entry
	add("c", 200001)
	add("d", 200002)
	e = l.Entries(10)
	if len(e) != 3 || e[0].Object != "d" || e[2].Object != "a" || e[2].Count != 1 {
		t.Fatalf("entries after trimming %+v", e)
	}
	if e[0].EntryID != 4 {
		t.Fatalf("entry id %d, want 4 (ids count new entries)", e[0].EntryID)
	}
	if len(l.Entries(-1)) != 0 || len(l.Entries(1)) != 1 {
		t.Fatal("Entries count bounds")
	}
	l.Reset()
	if l.Len() != 0 {
		t.Fatal("Reset")
	}
}

// TestGenPass: GENPASS returns (bits+3)/4 hex characters.
func TestGenPass(t *testing.T) {
	for _, bits := range []int{1, 4, 5, 256, 4096} {
		p, err := acl.GenPass(bits)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != (bits+3)/4 || strings.Trim(p, "0123456789abcdef") != "" {
			t.Fatalf("GenPass(%d) = %q", bits, p)
		}
	}
}
