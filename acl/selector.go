package acl

import (
	"strings"

	"github.com/kvlab/kvlab/keyspace"
)

// Selector is one set of permissions: the commands that may run, and the keys and Pub/Sub channels they may
// touch. A user has a root selector and any number of further selectors ("(~k* +get)"); a command is
// allowed when one selector allows all of it.
//
// Allowed commands are a bitmap over the command table, like Redis's; rules keeps the command rules in the
// order they were given (as Redis 7.2 does), each rule replacing earlier rules about the same command or
// category, so that the rules describe exactly the bitmap and ACL LIST shows what the operator wrote.
type Selector struct {
	allKeys     bool
	allChannels bool
	allCommands bool // every command bit set and none cleared since: the bitmap check can be skipped
	future      bool // +@all was the base: commands added later are allowed too (Redis's reserved bit)
	bits        []uint64
	firstArgs   map[int][]string // command id → allowed first arguments (+select|0)
	keys        []KeyPattern
	channels    []string
	rules       []string // "+get", "-@hash", "+select|0": lowercase, in order
}

// KeyPattern is a glob of key names and the access it grants (~ both, %R~ read, %W~ write).
type KeyPattern struct {
	Pattern string
	Perm    Perm
}

func newSelector() *Selector {
	return &Selector{bits: make([]uint64, commands().words)}
}

func (s *Selector) clone() *Selector {
	n := *s
	n.bits = append([]uint64(nil), s.bits...)
	if s.firstArgs != nil {
		n.firstArgs = make(map[int][]string, len(s.firstArgs))
		for id, a := range s.firstArgs {
			n.firstArgs[id] = append([]string(nil), a...)
		}
	}
	n.keys = append([]KeyPattern(nil), s.keys...)
	n.channels = append([]string(nil), s.channels...)
	n.rules = append([]string(nil), s.rules...)
	return &n
}

func (s *Selector) bit(id int) bool { return s.bits[id/64]&(1<<(id%64)) != 0 }

func (s *Selector) setBit(id int, v bool) {
	if v {
		s.bits[id/64] |= 1 << (id % 64)
		return
	}
	s.bits[id/64] &^= 1 << (id % 64)
	s.allCommands = false
}

// changePerm allows or blocks a command; a container's subcommands follow it.
func (s *Selector) changePerm(c *keyspace.Command, allow bool) {
	t := commands()
	id := t.ids[c]
	s.setBit(id, allow)
	delete(s.firstArgs, id)
	for _, sub := range c.Subcommands {
		s.setBit(t.ids[sub], allow)
	}
}

func (s *Selector) setCategory(cat keyspace.Category, allow bool) {
	for _, c := range commands().cmds {
		if c.Categories&cat != 0 {
			s.changePerm(c, allow)
		}
	}
}

// updateRules records a command rule, dropping earlier rules about the same command (or its
// subcommands) or category.
func (s *Selector) updateRules(rule string, allow bool) {
	rule = strings.ToLower(rule)
	out := s.rules[:0]
	for _, r := range s.rules {
		name := r[1:]
		if name == rule || strings.HasPrefix(name, rule+"|") {
			continue
		}
		out = append(out, r)
	}
	sign := "-"
	if allow {
		sign = "+"
	}
	s.rules = append(out, sign+rule)
}

func (s *Selector) setAllCommands(allow bool) {
	var fill uint64
	if allow {
		fill = ^uint64(0)
	}
	for i := range s.bits {
		s.bits[i] = fill
	}
	s.allCommands, s.future = allow, allow
	s.rules = s.rules[:0]
	s.firstArgs = nil
}

// hasSpaces reports whether b holds a byte that C's isspace accepts, or NUL.
func hasSpaces(b string) bool {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '\n', '\v', '\f', '\r', 0:
			return true
		}
	}
	return false
}

// set applies one selector rule (Redis's ACLSetSelector).
func (s *Selector) set(op string) error {
	switch {
	case op == "":
		return ErrSyntax
	case strings.EqualFold(op, "allkeys") || op == "~*":
		s.allKeys = true
		s.keys = nil
	case strings.EqualFold(op, "resetkeys"):
		s.allKeys = false
		s.keys = nil
	case strings.EqualFold(op, "allchannels") || op == "&*":
		s.allChannels = true
		s.channels = nil
	case strings.EqualFold(op, "resetchannels"):
		s.allChannels = false
		s.channels = nil
	case strings.EqualFold(op, "allcommands") || strings.EqualFold(op, "+@all"):
		s.setAllCommands(true)
	case strings.EqualFold(op, "nocommands") || strings.EqualFold(op, "-@all"):
		s.setAllCommands(false)
	case op[0] == '~' || op[0] == '%':
		return s.addKeyPattern(op)
	case op[0] == '&':
		if s.allChannels {
			return ErrChannelAfterAll
		}
		pat := op[1:]
		if hasSpaces(pat) {
			return ErrSyntax
		}
		for _, c := range s.channels {
			if c == pat {
				return nil
			}
		}
		s.channels = append(s.channels, pat)
	case (op[0] == '+' || op[0] == '-') && len(op) > 1 && op[1] == '@':
		cat := categoryByName(op[2:])
		if cat == 0 {
			return ErrUnknownCommand
		}
		s.updateRules(op[1:], op[0] == '+')
		s.setCategory(cat, op[0] == '+')
	case op[0] == '+':
		return s.allowCommand(op[1:])
	case op[0] == '-':
		cmd := lookupCommand(op[1:])
		if cmd == nil {
			return ErrUnknownCommand
		}
		s.changePerm(cmd, false)
		s.updateRules(cmd.FullName(), false)
	default:
		return ErrSyntax
	}
	return nil
}

func (s *Selector) addKeyPattern(op string) error {
	if s.allKeys {
		return ErrKeyAfterAll
	}
	var perm Perm
	off := 1
	if op[0] == '%' {
		for ; off < len(op); off++ {
			ch := op[off]
			if (ch == 'R' || ch == 'r') && perm&PermRead == 0 {
				perm |= PermRead
				continue
			}
			if (ch == 'W' || ch == 'w') && perm&PermWrite == 0 {
				perm |= PermWrite
				continue
			}
			if ch == '~' && perm != 0 {
				off++
				break
			}
			return ErrSyntax
		}
		if perm == 0 {
			return ErrSyntax // a bare "%" (Redis rejects it too)
		}
	} else {
		perm = PermAll
	}
	pat := op[off:]
	if hasSpaces(pat) {
		return ErrSyntax
	}
	for i := range s.keys {
		if s.keys[i].Pattern == pat {
			s.keys[i].Perm |= perm
			return nil
		}
	}
	s.keys = append(s.keys, KeyPattern{pat, perm})
	return nil
}

// allowCommand applies +name, +container|sub or +command|first-arg.
func (s *Selector) allowCommand(name string) error {
	i := strings.LastIndexByte(name, '|')
	if i < 0 {
		cmd := lookupCommand(name)
		if cmd == nil {
			return ErrUnknownCommand
		}
		s.changePerm(cmd, true)
		s.updateRules(cmd.FullName(), true)
		return nil
	}
	base, arg := name[:i], name[i+1:]
	cmd := lookupCommand(base)
	switch {
	case cmd == nil:
		return ErrUnknownCommand
	case cmd.Parent != nil:
		return ErrFirstArgOfSubcommand
	case arg == "":
		return ErrSyntax
	}
	if cmd.Subcommands != nil {
		sub := lookupCommand(name)
		if sub == nil {
			return ErrUnknownCommand
		}
		s.changePerm(sub, true)
	} else {
		// A first argument of an otherwise blocked command (+select|0). Redis accepts spaces here and then
		// cannot read its own ACL LIST back; kvlab refuses them like spaces in patterns.
		if hasSpaces(arg) {
			return ErrSyntax
		}
		id := commands().ids[cmd]
		for _, a := range s.firstArgs[id] {
			if strings.EqualFold(a, arg) {
				s.updateRules(name, true)
				return nil
			}
		}
		if s.firstArgs == nil {
			s.firstArgs = map[int][]string{}
		}
		s.firstArgs[id] = append(s.firstArgs[id], arg)
	}
	s.updateRules(name, true)
	return nil
}

// CommandRules describes the allowed commands as rules: "+@all" or "-@all" followed by the rules in order.
func (s *Selector) CommandRules() string {
	var b strings.Builder
	if s.future {
		b.WriteString("+@all")
	} else {
		b.WriteString("-@all")
	}
	for _, r := range s.rules {
		b.WriteByte(' ')
		b.WriteString(r)
	}
	return b.String()
}

// String is the pattern as a rule. A read-write "*" pattern is written %RW~* rather than Redis's ~*:
// "~*" reads back as allkeys, which refuses any later pattern, so Redis's ACL LIST of such a user (e.g.
// "%RW~* %R~x") cannot be loaded again; kvlab's can.
func (p KeyPattern) String() string {
	if p.Perm == PermAll && p.Pattern == "*" {
		return "%RW~*"
	}
	switch p.Perm {
	case PermRead:
		return "%R~" + p.Pattern
	case PermWrite:
		return "%W~" + p.Pattern
	}
	return "~" + p.Pattern
}

// KeysString is the keys field of ACL GETUSER: "~*", or the patterns separated by spaces.
func (s *Selector) KeysString() string {
	if s.allKeys {
		return "~*"
	}
	parts := make([]string, len(s.keys))
	for i, k := range s.keys {
		parts[i] = k.String()
	}
	return strings.Join(parts, " ")
}

// ChannelsString is the channels field of ACL GETUSER: "&*", or the patterns separated by spaces.
func (s *Selector) ChannelsString() string {
	if s.allChannels {
		return "&*"
	}
	parts := make([]string, len(s.channels))
	for i, c := range s.channels {
		parts[i] = "&" + c
	}
	return strings.Join(parts, " ")
}

// describe writes the selector in ACL LIST form (Redis's ACLDescribeSelector).
func (s *Selector) describe(b *strings.Builder) {
	if s.allKeys {
		b.WriteString("~* ")
	} else {
		for _, k := range s.keys {
			b.WriteString(k.String())
			b.WriteByte(' ')
		}
	}
	if s.allChannels {
		b.WriteString("&* ")
	} else {
		b.WriteString("resetchannels ")
		for _, c := range s.channels {
			b.WriteString("&" + c + " ")
		}
	}
	b.WriteString(s.CommandRules())
}

// unrestricted reports whether the selector allows everything (the check can be skipped).
func (s *Selector) unrestricted() bool { return s.allCommands && s.allKeys && s.allChannels }

// checkKey reports whether a pattern grants perm on key.
func (s *Selector) checkKey(key []byte, perm Perm) bool {
	if s.allKeys {
		return true
	}
	for _, p := range s.keys {
		if p.Perm&perm != perm {
			continue
		}
		if keyspace.Match([]byte(p.Pattern), key, false) {
			return true
		}
	}
	return false
}

// checkChannel reports whether the selector may use channel; a PSUBSCRIBE pattern must equal one of the
// user's patterns literally.
func (s *Selector) checkChannel(ch []byte, pattern bool) bool {
	if s.allChannels {
		return true
	}
	for _, p := range s.channels {
		if pattern {
			if p == string(ch) {
				return true
			}
		} else if keyspace.Match([]byte(p), ch, false) {
			return true
		}
	}
	return false
}

// check decides one call against this selector (Redis's ACLSelectorCheckCmd); on denial it returns the
// reason and the argument index of the offending key or channel. id is the command's bit (-1 for a
// command unknown to the table); keys and channels are the call's references.
func (s *Selector) check(cmd *keyspace.Command, id int, args [][]byte, keys []KeyRef, chans []ChannelRef) (Denial, int) {
	if id < 0 {
		if !s.future && cmd.Flags&keyspace.FlagNoAuth == 0 {
			return DeniedCommand, 0
		}
	} else if !s.allCommands && cmd.Flags&keyspace.FlagNoAuth == 0 && !s.bit(id) {
		fa := s.firstArgs[id]
		idx := 1
		if cmd.Parent != nil {
			idx = 2
		}
		if fa == nil || idx >= len(args) {
			return DeniedCommand, 0
		}
		ok := false
		for _, a := range fa {
			if keyspace.EqualFold(args[idx], a) {
				ok = true
				break
			}
		}
		if !ok {
			return DeniedCommand, 0
		}
	}
	if !s.allKeys {
		for _, k := range keys {
			if !s.checkKey(args[k.Pos], k.Perm) {
				return DeniedKey, k.Pos
			}
		}
	}
	if !s.allChannels {
		for _, c := range chans {
			if !s.checkChannel(args[c.Pos], c.Pattern) {
				return DeniedChannel, c.Pos
			}
		}
	}
	return Allowed, 0
}
