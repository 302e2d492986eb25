package server

import (
	"context"
	"errors"
	"strings"

	"github.com/kvlab/kvlab/engines"
	"github.com/kvlab/kvlab/keyspace"
)

func init() {
	const adm, ns, ld, st = keyspace.FlagAdmin, keyspace.FlagNoScript, keyspace.FlagLoading, keyspace.FlagStale
	g := "server"
	keyspace.Register(
		&keyspace.Command{Name: "command", Arity: -1, Flags: ld | st, Categories: keyspace.CatConnection, Group: g, Summary: "Returns detailed information about all commands.", Since: "2.8.13", Handler: cmdCommand,
			Subcommands: map[string]*keyspace.Command{
				"count":   {Name: "count", Arity: 2, Flags: ld | st, Categories: keyspace.CatConnection, Group: g, Summary: "Returns a count of commands.", Since: "2.8.13", Handler: cmdCommandCount},
				"info":    {Name: "info", Arity: -2, Flags: ld | st, Categories: keyspace.CatConnection, Group: g, Summary: "Returns information about one, multiple or all commands.", Since: "2.8.13", Handler: cmdCommandInfo},
				"docs":    {Name: "docs", Arity: -2, Flags: ld | st, Categories: keyspace.CatConnection, Group: g, Summary: "Returns documentary information about one, multiple or all commands.", Since: "7.0.0", Handler: cmdCommandDocs},
				"list":    {Name: "list", Arity: -2, Flags: ld | st, Categories: keyspace.CatConnection, Group: g, Summary: "Returns a list of command names.", Since: "7.0.0", Handler: cmdCommandList},
				"getkeys": {Name: "getkeys", Arity: -3, Flags: ld | st, Categories: keyspace.CatConnection, Group: g, Summary: "Extracts the key names from an arbitrary command.", Since: "2.8.13", Handler: cmdCommandGetKeys},
			}},
		&keyspace.Command{Name: "shutdown", Arity: -1, Flags: adm | ns | ld | st | keyspace.FlagNoMulti | keyspace.FlagAllowBusy, Group: g, Summary: "Synchronously saves the database(s) to disk and shuts down the Redis server.", Since: "1.0.0", Handler: cmdShutdown},
		&keyspace.Command{Name: "save", Arity: 1, Flags: adm | ns | keyspace.FlagNoMulti | keyspace.FlagNoAuth, Group: g, Summary: "Synchronously saves the database(s) to disk.", Since: "1.0.0", Handler: cmdSave},
		&keyspace.Command{Name: "bgsave", Arity: -1, Flags: adm | ns | keyspace.FlagNoAuth, Group: g, Summary: "Asynchronously saves the database(s) to disk.", Since: "1.0.0", Handler: cmdSave},
	)
}

func cmdCommand(x *keyspace.Ctx) {
	cmds := keyspace.Commands()
	x.W.Array(len(cmds))
	for _, c := range cmds {
		writeCommandInfo(x, c)
	}
}

func cmdCommandCount(x *keyspace.Ctx) { x.W.Int(int64(len(keyspace.Commands()))) }

func cmdCommandList(x *keyspace.Ctx) {
	var pattern []byte
	var category keyspace.Category
	if len(x.Args) > 2 {
		if len(x.Args) != 5 || !keyspace.EqualFold(x.Args[2], "filterby") {
			x.Error(keyspace.ErrSyntax)
			return
		}
		switch {
		case keyspace.EqualFold(x.Args[3], "pattern"):
			pattern = x.Args[4]
		case keyspace.EqualFold(x.Args[3], "aclcat"):
			for i, n := range keyspace.CategoryNames {
				if strings.EqualFold(n, string(x.Args[4])) {
					category = 1 << i
				}
			}
			if category == 0 {
				x.W.Array(0)
				return
			}
		default:
			x.Error(keyspace.ErrSyntax)
			return
		}
	}
	var names []string
	for _, c := range keyspace.Commands() {
		if category != 0 && c.Categories&category == 0 {
			continue
		}
		if pattern != nil && !keyspace.Match(pattern, []byte(c.Name), true) {
			continue
		}
		names = append(names, c.Name)
	}
	x.W.Array(len(names))
	for _, n := range names {
		x.W.BulkString(n)
	}
}

func cmdCommandInfo(x *keyspace.Ctx) {
	if len(x.Args) == 2 {
		cmdCommand(x)
		return
	}
	x.W.Array(len(x.Args) - 2)
	for _, name := range x.Args[2:] {
		c := lookupFullName(name)
		if c == nil {
			x.W.NullArray()
			continue
		}
		writeCommandInfo(x, c)
	}
}

// lookupFullName finds "get" or "client|kill".
func lookupFullName(name []byte) *keyspace.Command {
	parts := strings.SplitN(string(name), "|", 2)
	c := keyspace.Lookup([]byte(parts[0]))
	if c == nil || len(parts) == 1 {
		return c
	}
	return c.LookupSub([]byte(parts[1]))
}

// writeCommandInfo writes one COMMAND INFO entry in Redis 7's 10-element form.
func writeCommandInfo(x *keyspace.Ctx, c *keyspace.Command) {
	x.W.Array(10)
	x.W.BulkString(c.FullName())
	x.W.Int(int64(c.Arity))
	flags := c.Flags.Names()
	if c.Keys != nil && !contains(flags, "movablekeys") {
		flags = append(flags, "movablekeys")
	}
	x.W.Set(len(flags))
	for _, f := range flags {
		x.W.Simple(f)
	}
	x.W.Int(int64(c.FirstKey))
	x.W.Int(int64(c.LastKey))
	x.W.Int(int64(c.Step))
	cats := c.Categories.Names()
	x.W.Set(len(cats))
	for _, cat := range cats {
		x.W.Simple(cat)
	}
	x.W.Array(0) // tips
	if c.FirstKey > 0 {
		// One key specification equivalent to first/last/step.
		x.W.Array(1)
		x.W.Map(4)
		x.W.BulkString("flags")
		x.W.Set(0)
		x.W.BulkString("begin_search")
		x.W.Map(2)
		x.W.BulkString("type")
		x.W.BulkString("index")
		x.W.BulkString("spec")
		x.W.Map(1)
		x.W.BulkString("index")
		x.W.Int(int64(c.FirstKey))
		x.W.BulkString("find_keys")
		x.W.Map(2)
		x.W.BulkString("type")
		x.W.BulkString("range")
		x.W.BulkString("spec")
		x.W.Map(3)
		x.W.BulkString("lastkey")
		last := c.LastKey
		if last > 0 {
			last -= c.FirstKey
		}
		x.W.Int(int64(last))
		x.W.BulkString("keystep")
		x.W.Int(int64(c.Step))
		x.W.BulkString("limit")
		x.W.Int(0)
		x.W.BulkString("notes")
		x.W.BulkString("")
	} else {
		x.W.Array(0)
	}
	subs := sortedSubs(c)
	x.W.Array(len(subs))
	for _, s := range subs {
		writeCommandInfo(x, s)
	}
}

func contains(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}

func sortedSubs(c *keyspace.Command) []*keyspace.Command {
	var out []*keyspace.Command
	for _, s := range c.Subcommands {
		out = append(out, s)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Name < out[j-1].Name; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func cmdCommandDocs(x *keyspace.Ctx) {
	var cmds []*keyspace.Command
	if len(x.Args) == 2 {
		cmds = keyspace.Commands()
	} else {
		for _, n := range x.Args[2:] {
			if c := lookupFullName(n); c != nil {
				cmds = append(cmds, c)
			}
		}
	}
	x.W.Map(len(cmds))
	for _, c := range cmds {
		x.W.BulkString(c.FullName())
		writeDocs(x, c)
	}
}

func writeDocs(x *keyspace.Ctx, c *keyspace.Command) {
	subs := sortedSubs(c)
	n := 3
	if len(subs) > 0 {
		n++
	}
	x.W.Map(n)
	x.W.BulkString("summary")
	x.W.BulkString(c.Summary)
	x.W.BulkString("since")
	x.W.BulkString(c.Since)
	x.W.BulkString("group")
	x.W.BulkString(c.Group)
	if len(subs) > 0 {
		x.W.BulkString("subcommands")
		x.W.Map(len(subs))
		for _, s := range subs {
			x.W.BulkString(s.FullName())
			writeDocs(x, s)
		}
	}
}

func cmdCommandGetKeys(x *keyspace.Ctx) {
	args := x.Args[2:]
	c, msg := keyspace.Resolve(args)
	if c == nil {
		x.Error("ERR Invalid command specified")
		return
	}
	if msg != "" {
		x.Error("ERR Invalid number of arguments specified for command")
		return
	}
	idx := c.KeyIndexes(args)
	if len(idx) == 0 {
		x.Error("ERR The command has no key arguments")
		return
	}
	x.W.Array(len(idx))
	for _, i := range idx {
		x.W.Bulk(args[i])
	}
}

func cmdShutdown(x *keyspace.Ctx) {
	c := connOf(x)
	save := true
	for _, a := range x.Args[1:] {
		switch {
		case keyspace.EqualFold(a, "nosave"):
			save = false
		case keyspace.EqualFold(a, "save"), keyspace.EqualFold(a, "now"), keyspace.EqualFold(a, "force"):
		case keyspace.EqualFold(a, "abort"):
			x.Error("ERR No shutdown in progress.")
			return
		default:
			x.Error(keyspace.ErrSyntax)
			return
		}
	}
	s := c.s
	s.Logf("user requested shutdown (client id=%d)", c.id)
	c.closeAfter = true
	go func() {
		if save {
			if err := s.engine.Snapshot(context.Background(), false); err != nil && !errors.Is(err, engines.ErrNotSupported) {
				s.Logf("shutdown: snapshot failed: %v", err)
			}
		}
		s.Close()
	}()
}

func cmdSave(x *keyspace.Ctx) {
	c := connOf(x)
	bg := x.Cmd.Name == "bgsave"
	if len(x.Args) > 1 && !(bg && len(x.Args) == 2 && keyspace.EqualFold(x.Args[1], "schedule")) {
		x.Error(keyspace.ErrSyntax)
		return
	}
	// The snapshot takes the keyspace lock in parts; release it while the engine works.
	x.KS.Mu.Unlock()
	err := c.s.engine.Snapshot(c.s.ctx, bg)
	x.KS.Mu.Lock()
	switch {
	case errors.Is(err, engines.ErrNotSupported):
		x.Error("ERR the " + c.s.engine.Name() + " engine has no persistence; run kvlab serve --engine wal --dir PATH to snapshot")
	case err != nil:
		x.Error("ERR " + err.Error())
	case bg:
		x.W.Simple("Background saving started")
	default:
		x.OK()
	}
}
