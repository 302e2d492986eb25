package acl

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Users is the set of ACL users. It is not safe for concurrent use: the server guards it with the
// keyspace lock, like every command.
type Users struct {
	byName map[string]*User
	def    *User
	// fileDefault is set by Parse when the file defined the default user.
	fileDefault bool
}

// NewUsers returns a set holding only Redis's default user (on nopass ~* &* +@all).
func NewUsers() *Users {
	d := newDefaultUser()
	return &Users{byName: map[string]*User{"default": d}, def: d}
}

// Default returns the default user, the one every new connection starts as.
func (us *Users) Default() *User { return us.def }

// Get returns a user by name, or nil.
func (us *Users) Get(name string) *User { return us.byName[name] }

// Names returns the user names in byte order (ACL USERS).
func (us *Users) Names() []string {
	names := make([]string, 0, len(us.byName))
	for n := range us.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// List returns every user as an ACL file line without newline ("user alice on #... ~k* ...").
func (us *Users) List() []string {
	names := us.Names()
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "user " + n + " " + us.byName[n].Describe()
	}
	return out
}

// ValidName reports whether name may be a user name: no spaces and no NUL bytes.
func ValidName(name string) bool { return !hasSpaces(name) }

// mergeSelectors joins selector definitions spread over several arguments ("(~a" "+get)") as Redis's
// ACLMergeSelectorArguments does; bad is the index of an unmatched "(" (ok=false).
func mergeSelectors(ops []string) (merged []string, bad int, ok bool) {
	open := -1
	var cur string
	for j, op := range ops {
		if open == -1 && len(op) > 0 && op[0] == '(' && op[len(op)-1] != ')' {
			cur, open = op, j
			continue
		}
		if open != -1 {
			cur += " " + op
			if len(op) > 0 && op[len(op)-1] == ')' {
				merged = append(merged, cur)
				open = -1
			}
			continue
		}
		merged = append(merged, op)
	}
	if open != -1 {
		return nil, open, false
	}
	return merged, 0, true
}

// SetUser creates or changes a user (ACL SETUSER). Every rule is applied to a copy first; on error nothing
// changes and the error carries Redis's reply text (without "ERR "). It returns the user.
func (us *Users) SetUser(name string, ops []string) (*User, error) {
	if !ValidName(name) {
		return nil, ErrBadUsername
	}
	merged, bad, ok := mergeSelectors(ops)
	if !ok {
		return nil, fmt.Errorf("Unmatched parenthesis in acl selector starting at '%s'.", ops[bad])
	}
	u := us.byName[name]
	var tmp *User
	if u != nil {
		tmp = u.clone()
	} else {
		tmp = newUser(name)
	}
	for _, op := range merged {
		if err := tmp.set(op); err != nil {
			return nil, &RuleError{Op: op, Err: err}
		}
	}
	if u == nil {
		us.byName[name] = tmp
		return tmp, nil
	}
	u.copyFrom(tmp)
	return u, nil
}

// RuleError is a rule that could not be applied; its text is ACL SETUSER's error reply.
type RuleError struct {
	Op  string
	Err error
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("Error in ACL SETUSER modifier '%s': %s", e.Op, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// Delete removes users by name and returns those that existed (their connections must be closed). The
// default user cannot be removed: ErrDefaultUser, and nothing is deleted.
func (us *Users) Delete(names ...string) ([]*User, error) {
	for _, n := range names {
		if n == "default" {
			return nil, ErrDefaultUser
		}
	}
	var gone []*User
	for _, n := range names {
		if u, ok := us.byName[n]; ok {
			delete(us.byName, n)
			gone = append(gone, u)
		}
	}
	return gone, nil
}

// Replace installs the users of next (from LoadFile) in place of the current ones. The default user keeps
// its identity and takes next's rules; every other current user is returned, for its connections to be
// closed as Redis does on ACL LOAD.
func (us *Users) Replace(next *Users) []*User {
	var gone []*User
	for n, u := range us.byName {
		if n != "default" {
			gone = append(gone, u)
		}
	}
	us.def.copyFrom(next.def)
	us.byName = map[string]*User{"default": us.def}
	for n, u := range next.byName {
		if n != "default" {
			us.byName[n] = u
		}
	}
	return gone
}

// LoadFile reads an ACL file in Redis's format: one "user <name> <rules...>" per line, blank lines
// allowed, no comments. Users missing from the file are gone; a file without a default user gets Redis's
// default one. On any problem it returns an error wrapping ErrLoad whose text lists every problem found
// as Redis's ACL LOAD reply does, naming the file as path.
func LoadFile(path string) (*Users, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: Error loading ACLs, opening file '%s': %s", ErrLoad, path, errnoText(err))
	}
	return Parse(path, string(data))
}

// errnoText returns the strerror-like text of a file error.
func errnoText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		s := pe.Err.Error()
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	return err.Error()
}

// Parse reads ACL file content (see LoadFile); name labels the messages.
func Parse(name, data string) (*Users, error) {
	us := &Users{byName: map[string]*User{}}
	var errs strings.Builder
	for i, line := range strings.Split(data, "\n") {
		lineno := i + 1
		line = strings.Trim(line, " \t\r\n")
		if line == "" {
			continue
		}
		argv := strings.Split(line, " ")
		if argv[0] != "user" || len(argv) < 2 {
			fmt.Fprintf(&errs, "%s:%d should start with user keyword followed by the username. ", name, lineno)
			continue
		}
		uname := argv[1]
		if hasSpaces(uname) {
			fmt.Fprintf(&errs, "'%s:%d: username '%s' contains invalid characters. ", name, lineno, uname)
			continue
		}
		if us.byName[uname] != nil {
			fmt.Fprintf(&errs, "WARNING: Duplicate user '%s' found on line %d. ", uname, lineno)
			continue
		}
		u := newUser(uname)
		us.byName[uname] = u
		merged, _, ok := mergeSelectors(argv[2:])
		if !ok {
			fmt.Fprintf(&errs, "%s:%d: Unmatched parenthesis in selector definition.", name, lineno)
		}
		syntaxErr := false
		for _, op := range merged {
			op = strings.Trim(op, "\t\r\n")
			if err := u.set(op); err != nil {
				if err == ErrUnknownCommand {
					fmt.Fprintf(&errs, "%s:%d: Error in applying operation '%s': %s. ", name, lineno, op, err)
				} else if !syntaxErr {
					fmt.Fprintf(&errs, "%s:%d: %s. ", name, lineno, err)
					syntaxErr = true
				}
			}
		}
	}
	if errs.Len() > 0 {
		errs.WriteString("WARNING: ACL errors detected, no change to the previously active ACL rules was performed")
		return nil, fmt.Errorf("%w: %s", ErrLoad, errs.String())
	}
	if d := us.byName["default"]; d != nil {
		us.def = d
		us.fileDefault = true
	} else {
		us.def = newDefaultUser()
		us.byName["default"] = us.def
	}
	return us, nil
}

// DefinesDefault reports whether the parsed file defined the default user itself (a server applies its
// requirepass setting only when it did not).
func (us *Users) DefinesDefault() bool { return us.fileDefault }

// LoadErrorText returns the part of a LoadFile error that Redis replies with.
func LoadErrorText(err error) string {
	return strings.TrimPrefix(err.Error(), ErrLoad.Error()+": ")
}

// Save writes the users to path in ACL file form, atomically: a temporary file in the same directory is
// written, synced and renamed over path, and the directory is synced.
func (us *Users) Save(path string) (err error) {
	var b strings.Builder
	for _, l := range us.List() {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("acl: save: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("acl: save: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("acl: save: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("acl: save: close %s: %w", tmp, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("acl: save: chmod %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("acl: save: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("acl: save: open directory: %w", err)
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("acl: save: sync directory %s: %w", dir, err)
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("acl: save: close directory %s: %w", dir, err)
	}
	return nil
}

// GenPass returns a random password of bits bits as lowercase hex ((bits+3)/4 characters), as ACL GENPASS.
func GenPass(bits int) (string, error) {
	chars := (bits + 3) / 4
	buf := make([]byte, (chars+1)/2)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("acl: genpass: %w", err)
	}
	return hex.EncodeToString(buf)[:chars], nil
}
