package acl

import "github.com/kvlab/kvlab/keyspace"

// UnrestrictedReadAccess reports whether one of u's selectors both allows cmd with args and may read every
// key (allkeys, "~*" or "%R~*"): Redis's ACLUserCheckCmdWithUnrestrictedKeyAccess with CMD_KEY_ACCESS,
// which SORT requires before it accepts BY and GET patterns (the keys they name are unknown in advance).
func (u *User) UnrestrictedReadAccess(cmd *keyspace.Command, args [][]byte) bool {
	if u.Unrestricted() {
		return true
	}
	id, known := commands().ids[cmd]
	if !known {
		id = -1
	}
	var kbuf [8]KeyRef
	var cbuf [4]ChannelRef
	keys := CommandKeys(cmd, args, kbuf[:0])
	chans := CommandChannels(cmd, args, cbuf[:0])
	for _, s := range u.selectors {
		if d, _ := s.check(cmd, id, args, keys, chans); d == Allowed && s.readsAllKeys() {
			return true
		}
	}
	return false
}

// readsAllKeys is Redis's ACLSelectorHasUnrestrictedKeyAccess for read access: allkeys, or a pattern that
// is exactly "*" and grants read.
func (s *Selector) readsAllKeys() bool {
	if s.allKeys {
		return true
	}
	for _, p := range s.keys {
		if p.Perm&PermRead != 0 && p.Pattern == "*" {
			return true
		}
	}
	return false
}
