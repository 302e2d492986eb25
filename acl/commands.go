package acl

import (
	"sort"
	"strings"
	"sync"

	"github.com/kvlab/kvlab/keyspace"
)

// commandTable numbers every command and subcommand of the keyspace command table, so that a selector's
// allowed commands are a bitmap, as in Redis. It is built once, on first use, after every package has
// registered its commands in init.
type commandTable struct {
	ids   map[*keyspace.Command]int
	cmds  []*keyspace.Command
	specs map[*keyspace.Command][]KeySpec
	words int // bitmap length in 64-bit words
}

var commands = sync.OnceValue(func() *commandTable {
	t := &commandTable{ids: map[*keyspace.Command]int{}, specs: map[*keyspace.Command][]KeySpec{}}
	add := func(c *keyspace.Command) {
		t.ids[c] = len(t.cmds)
		t.cmds = append(t.cmds, c)
		if sp, ok := keySpecTable[c.FullName()]; ok {
			t.specs[c] = sp
		}
	}
	for _, c := range keyspace.Commands() {
		add(c)
		for _, s := range sortedSubs(c) {
			add(s)
		}
	}
	t.words = (len(t.cmds) + 63) / 64
	return t
})

func sortedSubs(c *keyspace.Command) []*keyspace.Command {
	subs := make([]*keyspace.Command, 0, len(c.Subcommands))
	for _, s := range c.Subcommands {
		subs = append(subs, s)
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].Name < subs[j].Name })
	return subs
}

// specsOf returns Redis's key specifications for cmd (nil for commands Redis 7.0 does not have).
func specsOf(cmd *keyspace.Command) []KeySpec { return commands().specs[cmd] }

// lookupCommand finds "get" or "client|kill" case-insensitively, as ACLLookupCommand does: one level of
// subcommand at most, and only under a container command.
func lookupCommand(name string) *keyspace.Command {
	base, sub, hasSub := strings.Cut(name, "|")
	c := keyspace.Lookup([]byte(base))
	if c == nil || !hasSub {
		return c
	}
	if c.Subcommands == nil || strings.Contains(sub, "|") {
		return nil
	}
	return c.LookupSub([]byte(sub))
}

// categoryByName returns the category bit for a name without '@' ("hash"), or 0.
func categoryByName(name string) keyspace.Category {
	for i, n := range keyspace.CategoryNames {
		if strings.EqualFold(n, name) {
			return 1 << i
		}
	}
	return 0
}

// CategoryCommands returns the full names of the commands and subcommands in a category (ACL CAT name),
// or ok=false for an unknown category.
func CategoryCommands(name string) (names []string, ok bool) {
	cat := categoryByName(name)
	if cat == 0 {
		return nil, false
	}
	for _, c := range commands().cmds {
		if c.Categories&cat != 0 {
			names = append(names, c.FullName())
		}
	}
	return names, true
}
