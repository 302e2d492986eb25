package acl

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"github.com/kvlab/kvlab/keyspace"
)

// Denial says why a call was refused. The order is Redis's (ACL_DENIED_*): when no selector allows a call,
// the highest denial is reported.
type Denial int

// Outcomes of a permission check.
const (
	Allowed Denial = iota
	DeniedCommand
	DeniedKey
	DeniedAuth
	DeniedChannel
)

// String is the reason of an ACL LOG entry.
func (d Denial) String() string {
	switch d {
	case DeniedCommand:
		return "command"
	case DeniedKey:
		return "key"
	case DeniedChannel:
		return "channel"
	case DeniedAuth:
		return "auth"
	}
	return "ok"
}

// User is an ACL user. A user is changed only through Users (which validates every rule on a copy first),
// and the server reads it under the keyspace lock; Name never changes.
type User struct {
	Name      string
	enabled   bool
	noPass    bool
	sanitize  int8 // 0 unset, 1 sanitize-payload, 2 skip-sanitize-payload
	token     bool // kvlab: accepts HMAC tokens (see Token)
	passwords []string
	selectors []*Selector // [0] is the root selector
}

func newUser(name string) *User {
	return &User{Name: name, selectors: []*Selector{newSelector()}}
}

// newDefaultUser creates Redis's default user: on nopass ~* &* +@all.
func newDefaultUser() *User {
	u := newUser("default")
	for _, op := range []string{"+@all", "~*", "&*", "on", "nopass"} {
		if err := u.set(op); err != nil {
			panic("acl: default user: " + err.Error())
		}
	}
	return u
}

// Disabled returns a user that is off and may run nothing, for connections whose user was deleted while
// their last commands drain.
func Disabled(name string) *User { return newUser(name) }

func (u *User) clone() *User {
	n := *u
	n.passwords = append([]string(nil), u.passwords...)
	n.selectors = make([]*Selector, len(u.selectors))
	for i, s := range u.selectors {
		n.selectors[i] = s.clone()
	}
	return &n
}

// copyFrom replaces u's rules with v's, keeping u's identity (connections authenticated as u see the
// change at once, as in Redis).
func (u *User) copyFrom(v *User) {
	name := u.Name
	*u = *v.clone()
	u.Name = name
}

// Enabled reports whether the user may authenticate (on).
func (u *User) Enabled() bool { return u.enabled }

// NoPass reports whether any password is accepted (nopass).
func (u *User) NoPass() bool { return u.noPass }

// TokenAuth reports whether the user accepts kvlab's HMAC tokens in AUTH (the "token" rule).
func (u *User) TokenAuth() bool { return u.token }

// Passwords returns the SHA-256 hex digests of the user's passwords.
func (u *User) Passwords() []string { return append([]string(nil), u.passwords...) }

// Root returns the root selector.
func (u *User) Root() *Selector { return u.selectors[0] }

// Selectors returns the selectors after the root one.
func (u *User) Selectors() []*Selector { return u.selectors[1:] }

// Unrestricted reports whether the user may run every command on every key and channel, so that
// permission checks can be skipped.
func (u *User) Unrestricted() bool { return u.selectors[0].unrestricted() }

// Flags returns the flags of ACL GETUSER in Redis's order, then kvlab's token flag.
func (u *User) Flags() []string {
	var f []string
	if u.enabled {
		f = append(f, "on")
	} else {
		f = append(f, "off")
	}
	if u.noPass {
		f = append(f, "nopass")
	}
	switch u.sanitize {
	case 2:
		f = append(f, "skip-sanitize-payload")
	case 1:
		f = append(f, "sanitize-payload")
	}
	if u.token {
		f = append(f, "token")
	}
	return f
}

// HashPassword returns the SHA-256 hex digest under which a password is stored.
func HashPassword(pass []byte) string {
	sum := sha256.Sum256(pass)
	return hex.EncodeToString(sum[:])
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < 'a' || c > 'f') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// CheckPassword reports whether pass is one of the user's passwords (or the user is nopass). Every stored
// digest is compared in constant time.
func (u *User) CheckPassword(pass []byte) bool {
	if u.noPass {
		return true
	}
	h := []byte(HashPassword(pass))
	ok := 0
	for _, p := range u.passwords {
		ok |= subtle.ConstantTimeCompare(h, []byte(p))
	}
	return ok == 1
}

// set applies one rule (Redis's ACLSetUser, plus kvlab's token and notoken).
func (u *User) set(op string) error {
	switch {
	case op == "":
		return nil
	case strings.EqualFold(op, "on"):
		u.enabled = true
	case strings.EqualFold(op, "off"):
		u.enabled = false
	case strings.EqualFold(op, "skip-sanitize-payload"):
		u.sanitize = 2
	case strings.EqualFold(op, "sanitize-payload"):
		u.sanitize = 1
	case strings.EqualFold(op, "nopass"):
		u.noPass = true
		u.passwords = nil
	case strings.EqualFold(op, "resetpass"):
		u.noPass = false
		u.passwords = nil
	case strings.EqualFold(op, "token"):
		u.token = true
	case strings.EqualFold(op, "notoken"):
		u.token = false
	case op[0] == '>' || op[0] == '#':
		var h string
		if op[0] == '>' {
			h = HashPassword([]byte(op[1:]))
		} else {
			h = op[1:]
			if !validHash(h) {
				return ErrBadHash
			}
		}
		found := false
		for _, p := range u.passwords {
			if p == h {
				found = true
			}
		}
		if !found {
			u.passwords = append(u.passwords, h)
		}
		u.noPass = false
	case op[0] == '<' || op[0] == '!':
		var h string
		if op[0] == '<' {
			h = HashPassword([]byte(op[1:]))
		} else {
			h = op[1:]
			if !validHash(h) {
				return ErrBadHash
			}
		}
		for i, p := range u.passwords {
			if p == h {
				u.passwords = append(u.passwords[:i], u.passwords[i+1:]...)
				return nil
			}
		}
		return ErrNoSuchPassword
	case op[0] == '(' && op[len(op)-1] == ')':
		s := newSelector()
		for _, sop := range asciiFields(op[1 : len(op)-1]) {
			if strings.HasSuffix(sop, ")") {
				// "&x)" would end the selector early when its description is read back (Redis accepts it
				// and then cannot load its own ACL LIST).
				return ErrSyntax
			}
			if err := s.set(sop); err != nil {
				return err
			}
		}
		u.selectors = append(u.selectors, s)
	case strings.EqualFold(op, "clearselectors"):
		u.selectors = u.selectors[:1]
	case strings.EqualFold(op, "reset"):
		for _, r := range []string{"resetpass", "resetkeys", "resetchannels", "off", "sanitize-payload", "notoken", "clearselectors", "-@all"} {
			if err := u.set(r); err != nil {
				panic("acl: reset: " + err.Error())
			}
		}
	default:
		return u.selectors[0].set(op)
	}
	return nil
}

// Describe returns the user's rules in ACL LIST / ACL file form, without "user <name> ".
func (u *User) Describe() string {
	var b strings.Builder
	for _, f := range u.Flags() {
		b.WriteString(f)
		b.WriteByte(' ')
	}
	for _, p := range u.passwords {
		b.WriteString("#" + p + " ")
	}
	u.selectors[0].describe(&b)
	for _, s := range u.selectors[1:] {
		b.WriteString(" (")
		s.describe(&b)
		b.WriteByte(')')
	}
	return b.String()
}

// ChannelAllowed reports whether some selector of the user allows the channel (pattern: a PSUBSCRIBE
// pattern, compared literally), as Redis's ACLUserCheckChannelPerm.
func (u *User) ChannelAllowed(ch []byte, pattern bool) bool {
	for _, s := range u.selectors {
		if s.checkChannel(ch, pattern) {
			return true
		}
	}
	return false
}

// Check decides whether the user may run cmd with args (Redis's ACLCheckAllUserCommandPerm). On denial it
// returns the reason and, for a key or channel, the index in args of the argument refused.
func (u *User) Check(cmd *keyspace.Command, args [][]byte) (Denial, int) {
	if u.Unrestricted() {
		return Allowed, 0
	}
	id, known := commands().ids[cmd]
	if !known {
		id = -1 // registered after the table was built: only selectors based on +@all allow it
	}
	// Key and channel references are computed once, and only if some selector restricts them.
	var kbuf [8]KeyRef
	var cbuf [4]ChannelRef
	var keys []KeyRef
	var chans []ChannelRef
	needKeys, needChans := false, false
	for _, s := range u.selectors {
		needKeys = needKeys || !s.allKeys
		needChans = needChans || !s.allChannels
	}
	if needKeys {
		keys = CommandKeys(cmd, args, kbuf[:0])
	}
	if needChans {
		chans = CommandChannels(cmd, args, cbuf[:0])
	}
	relevant, lastIdx := DeniedCommand, 0
	for _, s := range u.selectors {
		d, idx := s.check(cmd, id, args, keys, chans)
		if d == Allowed {
			return Allowed, 0
		}
		if d > relevant || (d == relevant && idx > lastIdx) {
			relevant, lastIdx = d, idx
		}
	}
	return relevant, lastIdx
}

// asciiFields splits s at runs of the bytes C's isspace accepts (not at Unicode spaces, which patterns
// may contain).
func asciiFields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			return true
		}
		return false
	})
}
