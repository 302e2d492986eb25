package acl

import (
	"github.com/kvlab/kvlab/keyspace"
)

// KeyFlags are the flags of a Redis 7 key specification (CMD_KEY_* in Redis's server.h). They say how a
// command uses each key, which is what read (%R~) and write (%W~) key patterns are checked against.
type KeyFlags uint16

// Key specification flags, named as COMMAND INFO reports them.
const (
	KeyRO KeyFlags = 1 << iota
	KeyRW
	KeyOW
	KeyRM
	KeyAccess
	KeyUpdate
	KeyInsert
	KeyDelete
	KeyNotKey
	KeyIncomplete
	KeyVariableFlags
)

// Perm is the access a key reference needs: read, write, both or neither.
type Perm uint8

// Key permissions of a key pattern (%R~, %W~, ~ = both) and of a key reference.
const (
	PermRead Perm = 1 << iota
	PermWrite
	PermAll = PermRead | PermWrite
)

// Perm maps key-spec flags to the permission a pattern must grant, as ACLSelectorCheckKey does: the value
// is read (ACCESS) and/or the key is written (INSERT, DELETE, UPDATE). A key that is only looked at
// (EXISTS, TYPE, TTL) needs neither, so any pattern that matches it grants access.
func (f KeyFlags) Perm() Perm {
	var p Perm
	if f&KeyAccess != 0 {
		p |= PermRead
	}
	if f&(KeyInsert|KeyDelete|KeyUpdate) != 0 {
		p |= PermWrite
	}
	return p
}

// KeySpec is one key specification of a command: where the search for keys begins (an argument index, or
// the argument after a keyword) and how keys are found from there (a range, or a count argument).
type KeySpec struct {
	Flags KeyFlags
	// Index > 0 begins the search at that argument; otherwise at the argument after Keyword, searched for
	// from StartFrom (negative: from the end, backwards).
	Index     int
	Keyword   string
	StartFrom int
	// KeyNum selects the keynum form: the number of keys is at KeyNumIdx (relative to the beginning) and
	// the keys start FirstKey after it. Otherwise keys run from the beginning to LastKey (relative; negative
	// counts from the end, or with Limit > 0 covers 1/Limit of the remaining arguments). KeyStep is the
	// distance between keys; 0 marks a spec Redis declares "unknown" (Index 0 and no Keyword likewise).
	KeyNum    bool
	LastKey   int
	KeyStep   int
	Limit     int
	KeyNumIdx int
	FirstKey  int
}

// KeyRef is one key argument of a command and the permission it needs.
type KeyRef struct {
	Pos  int
	Perm Perm
}

// ChannelRef is one Pub/Sub channel argument; Pattern is set for PSUBSCRIBE's patterns, which are
// compared literally with the user's channel patterns.
type ChannelRef struct {
	Pos     int
	Pattern bool
}

type specKey struct {
	pos   int
	flags KeyFlags
}

// evalSpecs finds the keys of args with the specs as Redis's getKeysUsingKeySpecs does (with partial
// results: a spec that does not fit these arguments contributes nothing, and the caller falls back to the
// union of the command's flags for keys no spec located).
func evalSpecs(specs []KeySpec, args [][]byte, out []specKey) []specKey {
	argc := len(args)
	for _, sp := range specs {
		if (sp.Index <= 0 && sp.Keyword == "") || sp.KeyStep <= 0 {
			continue // an "unknown" begin_search or find_keys: only the command's own key finder knows
		}
		first := 0
		if sp.Index > 0 {
			first = sp.Index
		} else {
			start, end := sp.StartFrom, argc-1
			if sp.StartFrom <= 0 {
				start, end = argc+sp.StartFrom, 1
			}
			for i := start; i != end; {
				if i >= argc || i < 1 {
					break
				}
				if keyspace.EqualFold(args[i], sp.Keyword) {
					first = i + 1
					break
				}
				if start <= end {
					i++
				} else {
					i--
				}
			}
			if first == 0 {
				continue // keyword absent: this spec contributes no keys
			}
		}
		var last, step int
		if sp.KeyNum {
			step = sp.KeyStep
			if sp.KeyNumIdx >= argc-first {
				continue
			}
			n, err := keyspace.ParseInt(args[first+sp.KeyNumIdx])
			if err != nil || n < 0 || n > int64(argc) {
				continue
			}
			first += sp.FirstKey
			last = first + int(n) - 1
		} else {
			step = sp.KeyStep
			switch {
			case sp.LastKey >= 0:
				last = first + sp.LastKey
			case sp.Limit == 0:
				last = argc + sp.LastKey
			default:
				last = first + ((argc-first)/sp.Limit + sp.LastKey)
			}
		}
		if last >= argc || last < first || first >= argc {
			continue
		}
		for i := first; i <= last; i += step {
			out = append(out, specKey{i, sp.Flags})
		}
	}
	return out
}

// variableFlags computes the flags of commands whose key access depends on their arguments (Redis's
// getkeys procedures for specs marked VARIABLE_FLAGS).
func variableFlags(name string, args [][]byte, spec KeyFlags) KeyFlags {
	switch name {
	case "set":
		for _, a := range args[min(3, len(args)):] {
			if keyspace.EqualFold(a, "get") {
				return KeyRW | KeyAccess | KeyUpdate
			}
		}
		return KeyOW | KeyUpdate
	case "bitfield":
		// Only GET (and OVERFLOW) operations read; SET, INCRBY or anything malformed counts as a write.
		for i := 2; i < len(args); i++ {
			rem := len(args) - i - 1
			switch {
			case keyspace.EqualFold(args[i], "get") && rem >= 2:
				i += 2
			case keyspace.EqualFold(args[i], "overflow") && rem >= 1:
				i++
			default:
				return KeyRW | KeyAccess | KeyUpdate
			}
		}
		return KeyRO | KeyAccess
	}
	return spec &^ KeyVariableFlags
}

// CommandKeys appends to buf the key arguments of a call of cmd with args and the permission each needs.
// Key positions are the command table's (cmd.KeyIndexes); their access flags come from Redis's key
// specifications of the command, and for commands Redis 7.0 lacks from the command's flags (a read needs
// read access, a write both).
func CommandKeys(cmd *keyspace.Command, args [][]byte, buf []KeyRef) []KeyRef {
	var ibuf [16]int
	idx := cmd.AppendKeyIndexes(ibuf[:0], args)
	if len(idx) == 0 {
		return buf
	}
	specs := specsOf(cmd)
	if specs == nil {
		p := PermRead
		if cmd.Flags&keyspace.FlagWrite != 0 {
			p = PermAll
		}
		for _, i := range idx {
			buf = append(buf, KeyRef{i, p})
		}
		return buf
	}
	var union KeyFlags
	for _, sp := range specs {
		if sp.Flags&KeyNotKey == 0 {
			union |= sp.Flags
		}
	}
	var tmp [16]specKey
	found := evalSpecs(specs, args, tmp[:0])
	for _, i := range idx {
		flags, hit := union, false
		for _, f := range found {
			if f.pos == i {
				if hit {
					flags |= f.flags
				} else {
					flags, hit = f.flags, true
				}
			}
		}
		if hit && flags&KeyNotKey != 0 {
			continue // a channel or other name that only routes like a key (SPUBLISH)
		}
		if !hit && cmd.Name == "sort" && i > 1 {
			// SORT's STORE key has no begin_search in its specs ("unknown": the keyword may be anywhere);
			// Redis's sortGetKeys marks it OW|UPDATE, so writing it needs write access only.
			flags = KeyOW | KeyUpdate
		}
		if flags&KeyVariableFlags != 0 {
			flags = variableFlags(cmd.Name, args, flags)
		}
		buf = append(buf, KeyRef{i, flags.Perm()})
	}
	return buf
}

// CommandChannels appends the Pub/Sub channel arguments that ACLs check: the channel of PUBLISH and
// SPUBLISH and every channel (or pattern) of SUBSCRIBE, SSUBSCRIBE and PSUBSCRIBE. Unsubscribing is
// never restricted, as in Redis.
func CommandChannels(cmd *keyspace.Command, args [][]byte, buf []ChannelRef) []ChannelRef {
	if cmd.Parent != nil {
		return buf
	}
	switch cmd.Name {
	case "publish", "spublish":
		if len(args) > 1 {
			buf = append(buf, ChannelRef{Pos: 1})
		}
	case "subscribe", "ssubscribe", "psubscribe":
		for i := 1; i < len(args); i++ {
			buf = append(buf, ChannelRef{Pos: i, Pattern: cmd.Name == "psubscribe"})
		}
	}
	return buf
}
