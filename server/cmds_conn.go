package server

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kvlab/kvlab/keyspace"
)

func init() {
	defer func() {
		client := keyspace.Lookup([]byte("client"))
		for name, c := range clientCtlSubcommands {
			c.Parent = client
			client.Subcommands[name] = c
		}
	}()
	const f, st, ld = keyspace.FlagFast, keyspace.FlagStale, keyspace.FlagLoading
	conn := keyspace.CatConnection
	g := "connection"
	keyspace.Register(
		&keyspace.Command{Name: "ping", Arity: -1, Flags: f, Categories: conn, Group: g, Summary: "Returns the server's liveliness response.", Since: "1.0.0", Handler: cmdPing},
		&keyspace.Command{Name: "echo", Arity: 2, Flags: f, Categories: conn, Group: g, Summary: "Returns the given string.", Since: "1.0.0", Handler: cmdEcho},
		&keyspace.Command{Name: "quit", Arity: -1, Flags: keyspace.FlagNoAuth | f | st | ld | keyspace.FlagAllowBusy, Categories: conn, Group: g, Summary: "Closes the connection.", Since: "1.0.0", Handler: cmdQuit},
		&keyspace.Command{Name: "reset", Arity: 1, Flags: keyspace.FlagNoAuth | f | st | ld, Categories: conn, Group: g, Summary: "Resets the connection.", Since: "6.2.0", Handler: cmdReset},
		&keyspace.Command{Name: "hello", Arity: -1, Flags: keyspace.FlagNoAuth | f | st | ld, Categories: conn, Group: g, Summary: "Handshakes with the Redis server.", Since: "6.0.0", Handler: cmdHello},
		&keyspace.Command{Name: "select", Arity: 2, Flags: f | st | ld, Categories: conn, Group: g, Summary: "Changes the selected database.", Since: "1.0.0", Handler: cmdSelect},
		&keyspace.Command{Name: "client", Arity: -2, Categories: conn, Group: g, Summary: "A container for client connection commands.", Since: "2.4.0",
			Subcommands: map[string]*keyspace.Command{
				"id":       {Name: "id", Arity: 2, Flags: f | st | ld, Categories: conn, Group: g, Summary: "Returns the unique client ID of the connection.", Since: "5.0.0", Handler: cmdClientID},
				"setname":  {Name: "setname", Arity: 3, Flags: f | st | ld, Categories: conn, Group: g, Summary: "Sets the connection name.", Since: "2.6.9", Handler: cmdClientSetName},
				"getname":  {Name: "getname", Arity: 2, Flags: f | st | ld, Categories: conn, Group: g, Summary: "Returns the name of the connection.", Since: "2.6.9", Handler: cmdClientGetName},
				"setinfo":  {Name: "setinfo", Arity: 4, Flags: f | st | ld, Categories: conn, Group: g, Summary: "Sets information specific to the client or connection.", Since: "7.2.0", Handler: cmdClientSetInfo},
				"list":     {Name: "list", Arity: -2, Flags: keyspace.FlagAdmin | st | ld, Categories: conn, Group: g, Summary: "Lists open connections.", Since: "2.4.0", Handler: cmdClientList},
				"info":     {Name: "info", Arity: 2, Flags: f | st | ld, Categories: conn, Group: g, Summary: "Returns information about the connection.", Since: "6.2.0", Handler: cmdClientInfo},
				"kill":     {Name: "kill", Arity: -3, Flags: keyspace.FlagAdmin | st | ld, Categories: conn, Group: g, Summary: "Terminates open connections.", Since: "2.4.0", Handler: cmdClientKill},
				"no-evict": {Name: "no-evict", Arity: 3, Flags: keyspace.FlagAdmin | st | ld, Categories: conn, Group: g, Summary: "Sets the client eviction mode of the connection.", Since: "7.0.0", Handler: cmdClientNoEvict},
				"help":     {Name: "help", Arity: 2, Flags: st | ld, Categories: conn, Group: g, Summary: "Returns helpful text about the different subcommands.", Since: "5.0.0", Handler: cmdClientHelp},
			}},
	)
}

func connOf(x *keyspace.Ctx) *conn { return x.Conn.(*conn) }

func cmdPing(x *keyspace.Ctx) {
	if len(x.Args) > 2 {
		x.ArityError()
		return
	}
	if pingInSubscribeMode(connOf(x), x) {
		return
	}
	if len(x.Args) == 2 {
		x.W.Bulk(x.Args[1])
		return
	}
	x.W.Simple("PONG")
}

func cmdEcho(x *keyspace.Ctx) { x.W.Bulk(x.Args[1]) }

func cmdQuit(x *keyspace.Ctx) {
	x.OK()
	connOf(x).closeAfter = true
}

func cmdReset(x *keyspace.Ctx) {
	c := connOf(x)
	c.db = 0
	c.w.Proto = 2
	c.infoMu.Lock()
	c.name = ""
	c.noEvict = false
	c.infoMu.Unlock()
	for _, h := range resetHooks {
		h(c)
	}
	x.W.Simple("RESET")
}

// resetHooks let other files of the package reset their per-connection state on RESET.
var resetHooks []func(*conn)

func cmdHello(x *keyspace.Ctx) {
	c := connOf(x)
	proto := c.w.Proto
	i := 1
	if len(x.Args) >= 2 {
		v, err := keyspace.ParseInt(x.Args[1])
		if err != nil {
			x.Error("ERR Protocol version is not an integer or out of range")
			return
		}
		if v < 2 || v > 3 {
			x.Error("NOPROTO unsupported protocol version")
			return
		}
		proto = int(v)
		i = 2
	}
	var setName []byte
	haveName := false
	for ; i < len(x.Args); i++ {
		more := len(x.Args) - i - 1
		switch {
		case keyspace.EqualFold(x.Args[i], "auth") && more >= 2:
			if !helloAuth(c, x, x.Args[i+1], x.Args[i+2]) {
				return
			}
			i += 2
		case keyspace.EqualFold(x.Args[i], "setname") && more >= 1:
			setName, haveName = x.Args[i+1], true
			i++
		default:
			x.Error("ERR Syntax error in HELLO option '" + string(x.Args[i]) + "'")
			return
		}
	}
	if haveName {
		if !validClientName(setName) {
			x.Error(errClientName)
			return
		}
		c.infoMu.Lock()
		c.name = string(setName)
		c.infoMu.Unlock()
	}
	c.w.Proto = proto
	x.W.Map(7)
	x.W.BulkString("server")
	x.W.BulkString("redis")
	x.W.BulkString("version")
	x.W.BulkString(Version)
	x.W.BulkString("proto")
	x.W.Int(int64(proto))
	x.W.BulkString("id")
	x.W.Int(c.id)
	x.W.BulkString("mode")
	x.W.BulkString(connOf(x).s.mode())
	x.W.BulkString("role")
	x.W.BulkString("master")
	x.W.BulkString("modules")
	x.W.Array(0)
}

// helloAuth authenticates HELLO ... AUTH user pass. Without access control configured only the default
// user exists and has no password, as in Redis: any password for "default" is rejected only if one is set.
var helloAuth = func(c *conn, x *keyspace.Ctx, user, pass []byte) bool {
	x.Error("WRONGPASS invalid username-password pair or user is disabled.")
	return false
}

func cmdSelect(x *keyspace.Ctx) {
	n, err := keyspace.ParseInt(x.Args[1])
	if err != nil {
		x.Error(keyspace.ErrNotInt)
		return
	}
	if n != 0 && connOf(x).s.cl != nil {
		x.Error("ERR SELECT is not allowed in cluster mode")
		return
	}
	if n < 0 || n >= keyspace.NumDBs {
		x.Error(keyspace.ErrDBIndex)
		return
	}
	c := connOf(x)
	c.db = int(n)
	x.DB = x.KS.DB(c.db)
	x.OK()
}

func cmdClientID(x *keyspace.Ctx) { x.W.Int(connOf(x).id) }

const errClientName = "ERR Client names cannot contain spaces, newlines or special characters."

func validClientName(b []byte) bool {
	for _, ch := range b {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

func cmdClientSetName(x *keyspace.Ctx) {
	if !validClientName(x.Args[2]) {
		x.Error(errClientName)
		return
	}
	c := connOf(x)
	c.infoMu.Lock()
	c.name = string(x.Args[2])
	c.infoMu.Unlock()
	x.OK()
}

func cmdClientGetName(x *keyspace.Ctx) {
	c := connOf(x)
	c.infoMu.Lock()
	name := c.name
	c.infoMu.Unlock()
	if name == "" {
		x.W.Null()
		return
	}
	x.W.BulkString(name)
}

func cmdClientSetInfo(x *keyspace.Ctx) {
	c := connOf(x)
	attr, val := x.Args[2], x.Args[3]
	for _, ch := range val {
		if ch < '!' || ch > '~' {
			x.Error("ERR " + strings.ToUpper(string(attr)) + " cannot contain spaces, newlines or special characters.")
			return
		}
	}
	c.infoMu.Lock()
	defer c.infoMu.Unlock()
	switch {
	case keyspace.EqualFold(attr, "lib-name"):
		c.libName = string(val)
	case keyspace.EqualFold(attr, "lib-ver"):
		c.libVer = string(val)
	default:
		x.Error("ERR Unrecognized option '" + string(attr) + "'")
		return
	}
	x.OK()
}

func cmdClientNoEvict(x *keyspace.Ctx) {
	c := connOf(x)
	on := keyspace.EqualFold(x.Args[2], "on")
	if !on && !keyspace.EqualFold(x.Args[2], "off") {
		x.Error(keyspace.ErrSyntax)
		return
	}
	c.infoMu.Lock()
	c.noEvict = on
	c.infoMu.Unlock()
	x.OK()
}

// clientLine formats one CLIENT LIST / CLIENT INFO line with Redis 7's fields.
func (c *conn) clientLine(cmdName string) string {
	now := time.Now()
	c.infoMu.Lock()
	name, lib, ver, noEvict := c.name, c.libName, c.libVer, c.noEvict
	c.infoMu.Unlock()
	last := ""
	if lc := c.lastCmd.Load(); lc != nil {
		last = lc.FullName()
	}
	if cmdName != "" {
		last = cmdName
	}
	if last == "" {
		last = "NULL"
	}
	flags := "N"
	if noEvict {
		flags = "e"
	}
	for _, h := range clientFlagHooks {
		if f := h(c); f != "" {
			if flags == "N" {
				flags = ""
			}
			flags += f
		}
	}
	extra := ""
	for _, h := range clientFieldHooks {
		extra += h(c)
	}
	idle := (now.UnixMilli() - c.lastActive.Load()) / 1000
	// db and proto change only in commands, which run under the keyspace lock this runs under too; the read
	// buffer belongs to the connection's goroutine, so its figures are not reported.
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=-1 name=%s age=%d idle=%d flags=%s db=%d%s multi=-1 qbuf=0 "+
		"qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=%s user=%s "+
		"redir=-1 resp=%d lib-name=%s lib-ver=%s",
		c.id, c.nc.RemoteAddr(), c.nc.LocalAddr(), name, int(now.Sub(c.born).Seconds()), idle, flags, c.db, extra,
		last, c.userName(), c.w.Proto, lib, ver)
}

// clientFlagHooks and clientFieldHooks let other files add flags (e.g. "x" in MULTI, "P" pub/sub) and
// fields (e.g. " sub=1 psub=0") to CLIENT LIST lines.
var (
	clientFlagHooks  []func(*conn) string
	clientFieldHooks []func(*conn) string
)

// userName is the authenticated ACL user of the connection.
func (c *conn) userName() string {
	if userNameHook != nil {
		return userNameHook(c)
	}
	return "default"
}

var userNameHook func(*conn) string

func cmdClientInfo(x *keyspace.Ctx) {
	x.W.Verbatim("txt", connOf(x).clientLine("client|info")+"\n")
}

func cmdClientList(x *keyspace.Ctx) {
	self := connOf(x)
	var ids map[int64]bool
	typ := ""
	for i := 2; i < len(x.Args); i++ {
		switch {
		case keyspace.EqualFold(x.Args[i], "type") && i+1 < len(x.Args):
			typ = strings.ToLower(string(x.Args[i+1]))
			if typ != "normal" && typ != "master" && typ != "replica" && typ != "pubsub" && typ != "slave" {
				x.Error("ERR Unknown client type '" + string(x.Args[i+1]) + "'")
				return
			}
			i++
		case keyspace.EqualFold(x.Args[i], "id") && i+1 < len(x.Args):
			ids = map[int64]bool{}
			for i++; i < len(x.Args); i++ {
				n, err := keyspace.ParseInt(x.Args[i])
				if err != nil || n <= 0 {
					x.Error("ERR Invalid client ID")
					return
				}
				ids[n] = true
			}
		default:
			x.Error(keyspace.ErrSyntax)
			return
		}
	}
	var b strings.Builder
	for _, c := range self.s.clientsSorted() {
		if ids != nil && !ids[c.id] {
			continue
		}
		if typ == "master" || typ == "replica" || typ == "slave" {
			continue
		}
		if typ == "pubsub" && !isPubSub(c) {
			continue
		}
		if typ == "normal" && isPubSub(c) {
			continue
		}
		cmdName := ""
		if c == self {
			cmdName = "client|list"
		}
		b.WriteString(c.clientLine(cmdName))
		b.WriteByte('\n')
	}
	x.W.Verbatim("txt", b.String())
}

// isPubSub reports whether c is in subscriber mode (set by the pub/sub file).
var isPubSub = func(*conn) bool { return false }

func (s *Server) clientsSorted() []*conn {
	s.mu.Lock()
	out := make([]*conn, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, c)
	}
	s.mu.Unlock()
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].id < out[j-1].id; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func cmdClientKill(x *keyspace.Ctx) {
	self := connOf(x)
	args := x.Args[2:]
	if len(args) == 1 {
		// Old form: CLIENT KILL addr:port
		for _, c := range self.s.clientsSorted() {
			if c.nc.RemoteAddr().String() == string(args[0]) {
				c.kill(self)
				x.OK()
				return
			}
		}
		x.Error("ERR No such client")
		return
	}
	if len(args)%2 != 0 {
		x.Error(keyspace.ErrSyntax)
		return
	}
	skipMe := true
	var id int64 = -1
	var addr, laddr, user, typ string
	for i := 0; i < len(args); i += 2 {
		v := string(args[i+1])
		switch {
		case keyspace.EqualFold(args[i], "id"):
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				x.Error("ERR client-id should be greater than 0")
				return
			}
			id = n
		case keyspace.EqualFold(args[i], "addr"):
			addr = v
		case keyspace.EqualFold(args[i], "laddr"):
			laddr = v
		case keyspace.EqualFold(args[i], "user"):
			user = v
		case keyspace.EqualFold(args[i], "type"):
			typ = strings.ToLower(v)
			if typ != "normal" && typ != "master" && typ != "replica" && typ != "pubsub" && typ != "slave" {
				x.Error("ERR Unknown client type '" + v + "'")
				return
			}
		case keyspace.EqualFold(args[i], "skipme"):
			switch {
			case keyspace.EqualFold(args[i+1], "yes"):
				skipMe = true
			case keyspace.EqualFold(args[i+1], "no"):
				skipMe = false
			default:
				x.Error(keyspace.ErrSyntax)
				return
			}
		default:
			x.Error(keyspace.ErrSyntax)
			return
		}
	}
	var n int64
	if typ == "master" && id < 0 && addr == "" && laddr == "" && user == "" && self.s.repl.DropLink() {
		n++ // the replication link to the primary (it reconnects and continues)
	}
	for _, c := range self.s.clientsSorted() {
		if (id > 0 && c.id != id) || (addr != "" && c.nc.RemoteAddr().String() != addr) ||
			(laddr != "" && c.nc.LocalAddr().String() != laddr) || (user != "" && c.userName() != user) ||
			(typ == "pubsub" && !isPubSub(c)) || (typ == "normal" && (isPubSub(c) || c.replica.Load())) ||
			((typ == "replica" || typ == "slave") && !c.replica.Load()) || typ == "master" {
			continue
		}
		if c == self && skipMe {
			continue
		}
		c.kill(self)
		n++
	}
	x.W.Int(n)
}

// kill disconnects c; when c is the caller, the connection closes after its reply is written.
func (c *conn) kill(caller *conn) {
	c.killed.Store(true)
	if c == caller {
		c.closeAfter = true
		return
	}
	c.hangup()
}

func cmdClientHelp(x *keyspace.Ctx) {
	lines := []string{
		"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"ID", "    Return the ID of the current connection.",
		"INFO", "    Return information about the current client connection.",
		"GETNAME", "    Return the name of the current connection.",
		"KILL <ip:port>", "    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are: ID, ADDR, LADDR, USER, TYPE, SKIPME.",
		"LIST [options ...]", "    Return information about client connections. Options: TYPE, ID.",
		"NO-EVICT (ON|OFF)", "    Protect the current client connection from eviction in the case of OOM.",
		"SETNAME <name>", "    Assign the name <name> to the current connection.",
		"SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client meta attr.",
		"HELP", "    Print this help.",
	}
	x.W.Array(len(lines))
	for _, l := range lines {
		x.W.Simple(l)
	}
}
