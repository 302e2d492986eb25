package server

import (
	"time"

	"github.com/kvlab/kvlab/acl"
	"github.com/kvlab/kvlab/keyspace"
)

func init() {
	const adm, ns, ld, st = keyspace.FlagAdmin, keyspace.FlagNoScript, keyspace.FlagLoading, keyspace.FlagStale
	g := "server"
	sub := func(name string, arity int, flags keyspace.Flags, summary, since string, h func(*keyspace.Ctx)) *keyspace.Command {
		return &keyspace.Command{Name: name, Arity: arity, Flags: flags, Group: g, Summary: summary, Since: since, Handler: h}
	}
	keyspace.Register(&keyspace.Command{Name: "acl", Arity: -2, Group: g, Summary: "A container for Access List Control commands.", Since: "6.0.0",
		Subcommands: map[string]*keyspace.Command{
			"cat":     sub("cat", -2, ns|ld|st, "Lists the ACL categories, or the commands inside a category.", "6.0.0", cmdACLCat),
			"deluser": sub("deluser", -3, adm|ns|ld|st, "Deletes ACL users, and terminates their connections.", "6.0.0", cmdACLDelUser),
			"dryrun":  sub("dryrun", -4, adm|ns|ld|st, "Simulates the execution of a command by a user, without executing the command.", "7.0.0", cmdACLDryRun),
			"genpass": sub("genpass", -2, ns|ld|st, "Generates a pseudorandom, secure password that can be used to identify ACL users.", "6.0.0", cmdACLGenPass),
			"getuser": sub("getuser", 3, adm|ns|ld|st, "Lists the ACL rules of a user.", "6.0.0", cmdACLGetUser),
			"help":    sub("help", 2, ld|st, "Returns helpful text about the different subcommands.", "6.0.0", cmdACLHelp),
			"list":    sub("list", 2, adm|ns|ld|st, "Dumps the effective rules in ACL file format.", "6.0.0", cmdACLList),
			"load":    sub("load", 2, adm|ns|ld|st, "Reloads the rules from the configured ACL file.", "6.0.0", cmdACLLoad),
			"log":     sub("log", -2, adm|ns|ld|st, "Lists recent security events generated due to ACL rules.", "6.0.0", cmdACLLog),
			"save":    sub("save", 2, adm|ns|ld|st, "Saves the effective ACL rules in the configured ACL file.", "6.0.0", cmdACLSave),
			"setuser": sub("setuser", -3, adm|ns|ld|st, "Creates and modifies an ACL user and its rules.", "6.0.0", cmdACLSetUser),
			"users":   sub("users", 2, adm|ns|ld|st, "Lists all ACL users.", "6.0.0", cmdACLUsers),
			"whoami":  sub("whoami", 2, ns|ld|st, "Returns the authenticated username of the current connection.", "6.0.0", cmdACLWhoAmI),
		}})
}

func secOfCtx(x *keyspace.Ctx) (*conn, *secConn, *security) {
	c := connOf(x)
	sc := secOf(c)
	return c, sc, sc.st
}

func cmdACLSetUser(x *keyspace.Ctx) {
	_, _, st := secOfCtx(x)
	ops := make([]string, len(x.Args)-3)
	for i, a := range x.Args[3:] {
		ops[i] = string(a)
	}
	u, err := st.users.SetUser(string(x.Args[2]), ops)
	if err != nil {
		x.Error("ERR " + err.Error())
		return
	}
	st.refresh()
	st.killRevokedSubscribers(connOf(x), u)
	x.OK()
}

// killRevokedSubscribers disconnects u's subscribers that are subscribed to a channel or pattern u may
// no longer use, as Redis does after ACL SETUSER.
func (st *security) killRevokedSubscribers(self *conn, u *acl.User) {
	for _, c := range st.s.clientsSorted() {
		if c.sub == nil || secOf(c).user.Load() != u {
			continue
		}
		revoked := false
		for ch := range c.sub.channels {
			revoked = revoked || !u.ChannelAllowed([]byte(ch), false)
		}
		for p := range c.sub.patterns {
			revoked = revoked || !u.ChannelAllowed([]byte(p), true)
		}
		if revoked {
			c.kill(self)
		}
	}
}

func cmdACLGetUser(x *keyspace.Ctx) {
	_, _, st := secOfCtx(x)
	u := st.users.Get(string(x.Args[2]))
	if u == nil {
		x.W.Null()
		return
	}
	x.W.Map(6)
	x.W.BulkString("flags")
	flags := u.Flags()
	x.W.Set(len(flags))
	for _, f := range flags {
		x.W.BulkString(f)
	}
	x.W.BulkString("passwords")
	pw := u.Passwords()
	x.W.Array(len(pw))
	for _, p := range pw {
		x.W.BulkString(p)
	}
	writeSelector(x, u.Root())
	x.W.BulkString("selectors")
	sels := u.Selectors()
	x.W.Array(len(sels))
	for _, s := range sels {
		x.W.Map(3)
		writeSelector(x, s)
	}
}

func writeSelector(x *keyspace.Ctx, s *acl.Selector) {
	x.W.BulkString("commands")
	x.W.BulkString(s.CommandRules())
	x.W.BulkString("keys")
	x.W.BulkString(s.KeysString())
	x.W.BulkString("channels")
	x.W.BulkString(s.ChannelsString())
}

func cmdACLDelUser(x *keyspace.Ctx) {
	c, _, st := secOfCtx(x)
	names := make([]string, len(x.Args)-2)
	for i, a := range x.Args[2:] {
		names[i] = string(a)
	}
	gone, err := st.users.Delete(names...)
	if err != nil {
		x.Error("ERR " + err.Error())
		return
	}
	st.killUsers(c, gone)
	x.W.Int(int64(len(gone)))
}

func cmdACLList(x *keyspace.Ctx) {
	_, _, st := secOfCtx(x)
	lines := st.users.List()
	x.W.Array(len(lines))
	for _, l := range lines {
		x.W.BulkString(l)
	}
}

func cmdACLUsers(x *keyspace.Ctx) {
	_, _, st := secOfCtx(x)
	names := st.users.Names()
	x.W.Array(len(names))
	for _, n := range names {
		x.W.BulkString(n)
	}
}

func cmdACLWhoAmI(x *keyspace.Ctx) {
	_, sc, _ := secOfCtx(x)
	x.W.BulkString(sc.user.Load().Name)
}

func cmdACLLoad(x *keyspace.Ctx) {
	c, _, st := secOfCtx(x)
	if st.aclFile == "" {
		x.Error(errNoACLFile)
		return
	}
	next, err := acl.LoadFile(st.aclFile)
	if err != nil {
		x.Error("ERR " + acl.LoadErrorText(err))
		return
	}
	gone := st.users.Replace(next)
	st.applyRequirePass()
	st.refresh()
	st.killUsers(c, gone)
	x.OK()
}

func cmdACLSave(x *keyspace.Ctx) {
	c, _, st := secOfCtx(x)
	if st.aclFile == "" {
		x.Error(errNoACLFile)
		return
	}
	if err := st.users.Save(st.aclFile); err != nil {
		c.s.Logf("ACL SAVE: %v", err)
		x.Error("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
		return
	}
	x.OK()
}

func cmdACLCat(x *keyspace.Ctx) {
	if len(x.Args) > 3 {
		subcommandSyntax(x)
		return
	}
	if len(x.Args) == 2 {
		x.W.Array(len(keyspace.CategoryNames))
		for _, n := range keyspace.CategoryNames {
			x.W.BulkString(n)
		}
		return
	}
	names, ok := acl.CategoryCommands(string(x.Args[2]))
	if !ok {
		x.Error("ERR Unknown category '" + clip128(string(x.Args[2])) + "'")
		return
	}
	x.W.Array(len(names))
	for _, n := range names {
		x.W.BulkString(n)
	}
}

func clip128(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
}

func cmdACLGenPass(x *keyspace.Ctx) {
	if len(x.Args) > 3 {
		subcommandSyntax(x)
		return
	}
	bits := int64(256)
	if len(x.Args) == 3 {
		var ok bool
		if bits, ok = x.ParseInt(x.Args[2]); !ok {
			return
		}
	}
	if bits <= 0 || bits > 4096 {
		x.Error("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")
		return
	}
	p, err := acl.GenPass(int(bits))
	if err != nil {
		x.Error("ERR " + err.Error())
		return
	}
	x.W.BulkString(p)
}

func cmdACLLog(x *keyspace.Ctx) {
	if len(x.Args) > 3 {
		subcommandSyntax(x)
		return
	}
	_, _, st := secOfCtx(x)
	count := int64(10)
	if len(x.Args) == 3 {
		if keyspace.EqualFold(x.Args[2], "reset") {
			st.log.Reset()
			x.OK()
			return
		}
		var ok bool
		if count, ok = x.ParseInt(x.Args[2]); !ok {
			return
		}
	}
	entries := st.log.Entries(int(min(max(count, 0), int64(st.log.Len()))))
	now := time.Now().UnixMilli()
	x.W.Array(len(entries))
	for _, e := range entries {
		x.W.Map(10)
		x.W.BulkString("count")
		x.W.Int(e.Count)
		x.W.BulkString("reason")
		x.W.BulkString(e.Reason.String())
		x.W.BulkString("context")
		x.W.BulkString(e.Context)
		x.W.BulkString("object")
		x.W.BulkString(e.Object)
		x.W.BulkString("username")
		x.W.BulkString(e.Username)
		x.W.BulkString("age-seconds")
		x.W.Double(float64(now-e.Updated) / 1000)
		x.W.BulkString("client-info")
		x.W.BulkString(e.ClientInfo)
		x.W.BulkString("entry-id")
		x.W.Int(e.EntryID)
		x.W.BulkString("timestamp-created")
		x.W.Int(e.Created)
		x.W.BulkString("timestamp-last-updated")
		x.W.Int(e.Updated)
	}
}

func cmdACLDryRun(x *keyspace.Ctx) {
	_, _, st := secOfCtx(x)
	u := st.users.Get(string(x.Args[2]))
	if u == nil {
		x.Error("ERR User '" + string(x.Args[2]) + "' not found")
		return
	}
	args := x.Args[3:]
	cmd, msg := keyspace.Resolve(args)
	if cmd == nil {
		x.Error("ERR Command '" + string(args[0]) + "' not found")
		return
	}
	if msg != "" {
		x.Error(keyspace.ErrArity(cmd.FullName()))
		return
	}
	if d, idx := u.Check(cmd, args); d != acl.Allowed {
		x.W.BulkString(denialMessage(d, u.Name, cmd, args[idx], true))
		return
	}
	x.OK()
}

func cmdACLHelp(x *keyspace.Ctx) {
	lines := []string{
		"ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CAT [<category>]",
		"    List all commands that belong to <category>, or all command categories",
		"    when no category is specified.",
		"DELUSER <username> [<username> ...]",
		"    Delete a list of users.",
		"DRYRUN <username> <command> [<arg> ...]",
		"    Returns whether the user can execute the given command without executing the command.",
		"GETUSER <username>",
		"    Get the user's details.",
		"GENPASS [<bits>]",
		"    Generate a secure 256-bit user password. The optional `bits` argument can",
		"    be used to specify a different size.",
		"LIST",
		"    Show users details in config file format.",
		"LOAD",
		"    Reload users from the ACL file.",
		"LOG [<count> | RESET]",
		"    Show the ACL log entries.",
		"SAVE",
		"    Save the current config to the ACL file.",
		"SETUSER <username> <attribute> [<attribute> ...]",
		"    Create or modify a user with the specified attributes.",
		"USERS",
		"    List all the registered usernames.",
		"WHOAMI",
		"    Return the current connection username.",
		"HELP",
		"    Print this help.",
	}
	x.W.Array(len(lines))
	for _, l := range lines {
		x.W.Simple(l)
	}
}

// subcommandSyntax is Redis's reply to an ACL subcommand with too many arguments.
func subcommandSyntax(x *keyspace.Ctx) {
	x.Error("ERR unknown subcommand or wrong number of arguments for '" + string(x.Args[1]) + "'. Try ACL HELP.")
}
