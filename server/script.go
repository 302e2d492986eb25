package server

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/kvlab/kvlab/acl"
	"github.com/kvlab/kvlab/keyspace"
	"github.com/kvlab/kvlab/resp"
)

// Scripting: EVAL, EVALSHA, their _RO variants and SCRIPT, after Redis 7.0's eval.c, script.c and
// script_lua.c, on gopher-lua (a Lua 5.1 VM). A script runs inside its EVAL's execution, keyspace lock held:
// redis.call runs each command through the command table like EXEC does for a queued command (ACL check,
// handler, accounting), writing into the EVAL's Effects record, so the log and the replicas receive the
// script's effects (its write commands), never the EVAL itself. The server has one Lua VM (guarded by the
// keyspace lock); scripts are cached, compiled, by the SHA1 of their body until SCRIPT FLUSH.

const (
	scriptVersion    = "7.0.15"
	scriptVersionNum = 7<<16 | 0<<8 | 15
)

// scripting is the server's Lua state and script cache (keyspace lock held for every use).
type scripting struct {
	L       *lua.LState
	globals *lua.LTable // the real globals: libraries and the redis table
	envMT   *lua.LTable // metatable of each run's global environment (read-only, no undefined reads)
	cache   map[string]*lua.FunctionProto
	run     *scriptRun // the running script, nil between scripts
	// state is the one scriptRun (scripts do not nest: EVAL is refused inside a script), reused so that
	// its reply buffer for redis.call survives from script to script; onError is the PCall error handler
	// that notes the failing line in it.
	state   scriptRun
	onError *lua.LFunction
}

// scriptRun is the state of one running script.
type scriptRun struct {
	c        *conn
	x        *keyspace.Ctx
	sha      string
	readOnly bool
	resp     int // the protocol of redis.call replies (redis.setresp)
	w        resp.Writer
	errLine  int
}

func init() {
	const ns, st, sm, nmk = keyspace.FlagNoScript, keyspace.FlagStale, keyspace.FlagSkipMonitor, keyspace.FlagNoMandatoryKeys
	sc := keyspace.CatScripting
	g := "scripting"
	sub := func(name string, arity int, flags keyspace.Flags, summary string, h func(*keyspace.Ctx)) *keyspace.Command {
		return &keyspace.Command{Name: name, Arity: arity, Flags: flags, Categories: sc, Group: g, Summary: summary, Since: "2.6.0", Handler: h}
	}
	keyspace.Register(
		&keyspace.Command{Name: "eval", Arity: -3, Flags: ns | sm | keyspace.FlagMayReplicate | nmk | st | keyspace.FlagMovableKeys, Keys: evalKeys, Categories: sc, Group: g, Summary: "Executes a server-side Lua script.", Since: "2.6.0", Handler: cmdEval},
		&keyspace.Command{Name: "evalsha", Arity: -3, Flags: ns | sm | keyspace.FlagMayReplicate | nmk | st | keyspace.FlagMovableKeys, Keys: evalKeys, Categories: sc, Group: g, Summary: "Executes a server-side Lua script by SHA1 digest.", Since: "2.6.0", Handler: cmdEval},
		&keyspace.Command{Name: "eval_ro", Arity: -3, Flags: ns | sm | nmk | st | keyspace.FlagReadonly | keyspace.FlagMovableKeys, Keys: evalKeys, Categories: sc, Group: g, Summary: "Executes a read-only server-side Lua script.", Since: "7.0.0", Handler: cmdEval},
		&keyspace.Command{Name: "evalsha_ro", Arity: -3, Flags: ns | sm | nmk | st | keyspace.FlagReadonly | keyspace.FlagMovableKeys, Keys: evalKeys, Categories: sc, Group: g, Summary: "Executes a read-only server-side Lua script by SHA1 digest.", Since: "7.0.0", Handler: cmdEval},
		&keyspace.Command{Name: "script", Arity: -2, Categories: sc, Group: g, Summary: "A container for Lua scripts management commands.", Since: "2.6.0",
			Subcommands: map[string]*keyspace.Command{
				"load":   sub("load", 3, ns|st, "Loads a server-side Lua script to the script cache.", cmdScriptLoad),
				"exists": sub("exists", -3, ns|st, "Determines whether server-side Lua scripts exist in the script cache.", cmdScriptExists),
				"flush":  sub("flush", -2, ns, "Removes all server-side Lua scripts from the script cache.", cmdScriptFlush),
				"kill":   sub("kill", 2, ns|keyspace.FlagAllowBusy, "Terminates a server-side Lua script during execution.", cmdScriptKill),
				"help":   sub("help", 2, keyspace.FlagLoading|st, "Returns helpful text about the different subcommands.", cmdScriptHelp),
			}},
	)
}

// evalKeys returns the key indexes of EVAL-like commands: numkeys keys after the numkeys argument.
func evalKeys(args [][]byte) []int {
	if len(args) < 3 {
		return nil
	}
	n, err := keyspace.ParseInt(args[2])
	if err != nil || n <= 0 || n > int64(len(args)-3) {
		return nil
	}
	out := make([]int, n)
	for i := range out {
		out[i] = 3 + i
	}
	return out
}

func scriptSHA(body []byte) string {
	sum := sha1.Sum(body)
	return hex.EncodeToString(sum[:])
}

func (s *Server) scripts() *scripting {
	if s.lua == nil {
		s.lua = newScripting(s)
	}
	return s.lua
}

func cmdScriptLoad(x *keyspace.Ctx) {
	sc := connOf(x).s.scripts()
	sha, msg := sc.load(x.Args[2])
	if msg != "" {
		x.Error(msg)
		return
	}
	x.W.BulkString(sha)
}

func cmdScriptExists(x *keyspace.Ctx) {
	sc := connOf(x).s.scripts()
	x.W.Array(len(x.Args) - 2)
	for _, a := range x.Args[2:] {
		if _, ok := sc.cache[strings.ToLower(string(a))]; ok {
			x.W.Int(1)
		} else {
			x.W.Int(0)
		}
	}
}

func cmdScriptFlush(x *keyspace.Ctx) {
	if len(x.Args) > 3 || (len(x.Args) == 3 && !keyspace.EqualFold(x.Args[2], "sync") && !keyspace.EqualFold(x.Args[2], "async")) {
		x.Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
		return
	}
	s := connOf(x).s
	if s.lua != nil {
		s.lua.L.Close()
		s.lua = nil
	}
	x.OK()
}

func cmdScriptKill(x *keyspace.Ctx) {
	// Scripts run to completion under the keyspace lock: no other client can observe one running.
	x.Error("NOTBUSY No scripts in execution right now.")
}

func cmdScriptHelp(x *keyspace.Ctx) {
	lines := []string{
		"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"DEBUG (YES|SYNC|NO)",
		"    Set the debug mode for subsequent scripts executed.",
		"EXISTS <sha1> [<sha1> ...]",
		"    Return information about the existence of the scripts in the script cache.",
		"FLUSH [ASYNC|SYNC]",
		"    Flush the Lua scripts cache. Very dangerous on replicas.",
		"    When called without the optional mode argument, the behavior is determined by the",
		"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
		"    * ASYNC: Asynchronously flush the scripts cache.",
		"    * SYNC: Synchronously flush the scripts cache.",
		"KILL",
		"    Kill the currently executing Lua script.",
		"LOAD <script>",
		"    Load a script into the scripts cache without executing it.",
		"HELP",
		"    Prints this help.",
	}
	x.W.Array(len(lines))
	for _, l := range lines {
		x.W.Simple(l)
	}
}

// load compiles body and caches it; it returns the SHA1 or the compile error reply.
func (sc *scripting) load(body []byte) (string, string) {
	sha := scriptSHA(body)
	if _, ok := sc.cache[sha]; ok {
		return sha, ""
	}
	chunk, err := parse.Parse(strings.NewReader(string(body)), "user_script")
	if err != nil {
		return "", "ERR Error compiling script (new function): " + err.Error()
	}
	proto, err := lua.Compile(chunk, "user_script")
	if err != nil {
		return "", "ERR Error compiling script (new function): " + err.Error()
	}
	sc.cache[sha] = proto
	return sha, ""
}

func cmdEval(x *keyspace.Ctx) {
	c := connOf(x)
	c.s.feedScriptCall(c, x.Args)
	n, err := keyspace.ParseInt(x.Args[2])
	if err != nil {
		x.Error(keyspace.ErrNotInt)
		return
	}
	if n > int64(len(x.Args)-3) {
		x.Error("ERR Number of keys can't be greater than number of args")
		return
	}
	if n < 0 {
		x.Error("ERR Number of keys can't be negative")
		return
	}
	sc := c.s.scripts()
	name := x.Cmd.Name
	var sha string
	if name == "evalsha" || name == "evalsha_ro" {
		sha = strings.ToLower(string(x.Args[1]))
		if _, ok := sc.cache[sha]; !ok {
			x.Error("NOSCRIPT No matching script. Please use EVAL.")
			return
		}
	} else {
		var msg string
		if sha, msg = sc.load(x.Args[1]); msg != "" {
			x.Error(msg)
			return
		}
	}
	sc.exec(c, x, sha, x.Args[3:3+n], x.Args[3+n:], name == "eval_ro" || name == "evalsha_ro")
}

func newScripting(s *Server) *scripting {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}, {lua.CoroutineLibName, lua.OpenCoroutine}} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	for _, name := range []string{"dofile", "loadfile", "print", "_printregs", "require", "module", "_GOPHER_LUA_VERSION", "setfenv", "getfenv", "newproxy"} {
		g.RawSetString(name, lua.LNil)
	}
	sc := &scripting{L: L, globals: g, cache: map[string]*lua.FunctionProto{}}
	sc.onError = L.NewFunction(func(L *lua.LState) int {
		run := &sc.state
		run.errLine = 0
		for lv := 1; ; lv++ {
			dbg, ok := L.GetStack(lv)
			if !ok {
				break
			}
			if _, err := L.GetInfo("Sl", dbg, lua.LNil); err == nil && dbg.What != "G" && dbg.CurrentLine > 0 {
				run.errLine = dbg.CurrentLine
				break
			}
		}
		return 1
	})
	g.RawSetString("pcall", L.NewFunction(scriptPCall))
	g.RawSetString("error", L.NewFunction(scriptErrorFn))
	g.RawSetString("bit", newBitLib(L))

	r := L.NewTable()
	fns := map[string]lua.LGFunction{
		"call":  func(L *lua.LState) int { return sc.call(L, true) },
		"pcall": func(L *lua.LState) int { return sc.call(L, false) },
		"error_reply": func(L *lua.LState) int {
			if L.GetTop() != 1 || L.Get(1).Type() != lua.LTString {
				L.Push(errTable(L, "wrong number or type of arguments")) // returned, not raised
				return 1
			}
			msg := L.ToString(1)
			if !strings.HasPrefix(msg, "-") {
				msg = "-" + msg
			}
			L.Push(errTable(L, msg))
			return 1
		},
		"status_reply": func(L *lua.LState) int {
			if L.GetTop() != 1 || L.Get(1).Type() != lua.LTString {
				L.Push(errTable(L, "wrong number or type of arguments")) // returned, not raised
				return 1
			}
			t := L.NewTable()
			t.RawSetString("ok", L.Get(1))
			L.Push(t)
			return 1
		},
		"sha1hex": func(L *lua.LState) int {
			if L.GetTop() != 1 {
				return scriptRaise(L, "wrong number of arguments")
			}
			L.Push(lua.LString(scriptSHA([]byte(L.ToString(1)))))
			return 1
		},
		"log": func(L *lua.LState) int {
			if L.GetTop() < 2 {
				return scriptRaise(L, "redis.log() requires two arguments or more.")
			}
			lv, ok := L.Get(1).(lua.LNumber)
			if !ok {
				return scriptRaise(L, "First argument must be a number (log level).")
			}
			if lv < 0 || lv > 3 {
				return scriptRaise(L, "Invalid debug level.")
			}
			parts := make([]string, 0, L.GetTop()-1)
			for i := 2; i <= L.GetTop(); i++ {
				parts = append(parts, L.ToString(i))
			}
			s.Logf("script: %s", strings.Join(parts, " "))
			return 0
		},
		"setresp": func(L *lua.LState) int {
			if L.GetTop() != 1 {
				return scriptRaise(L, "redis.setresp() requires one argument.")
			}
			v := L.ToInt(1)
			if v != 2 && v != 3 {
				return scriptRaise(L, "RESP version must be 2 or 3.")
			}
			if sc.run != nil {
				sc.run.resp = v
			}
			return 0
		},
		"replicate_commands": func(L *lua.LState) int { L.Push(lua.LTrue); return 1 },
		"set_repl": func(L *lua.LState) int {
			if L.GetTop() != 1 {
				return scriptRaise(L, "redis.set_repl() requires one argument.")
			}
			if v := L.ToInt(1); v&^3 != 0 {
				return scriptRaise(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
			}
			return 0
		},
		"breakpoint": func(L *lua.LState) int { L.Push(lua.LFalse); return 1 },
		"debug":      func(L *lua.LState) int { return 0 },
	}
	for name, fn := range fns {
		r.RawSetString(name, L.NewFunction(fn))
	}
	for name, v := range map[string]int{"LOG_DEBUG": 0, "LOG_VERBOSE": 1, "LOG_NOTICE": 2, "LOG_WARNING": 3,
		"REPL_NONE": 0, "REPL_AOF": 1, "REPL_SLAVE": 2, "REPL_REPLICA": 2, "REPL_ALL": 3} {
		r.RawSetString(name, lua.LNumber(v))
	}
	r.RawSetString("REDIS_VERSION", lua.LString(scriptVersion))
	r.RawSetString("REDIS_VERSION_NUM", lua.LNumber(scriptVersionNum))
	g.RawSetString("redis", r)

	// Each run gets a fresh, empty global environment whose reads fall through to the real globals (an
	// undefined one is an error) and whose writes are refused, as Redis 7's read-only globals table.
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		k := L.Get(2)
		if k.String() == "_G" {
			L.Push(L.Get(1))
			return 1
		}
		v := g.RawGet(k)
		if v == lua.LNil {
			L.RaiseError("Script attempted to access nonexistent global variable '%s'", k.String())
		}
		L.Push(v)
		return 1
	}))
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Attempt to modify a readonly table")
		return 0
	}))
	mt.RawSetString("__metatable", lua.LFalse)
	sc.envMT = mt
	return sc
}

// scriptRaise raises a redis.call-style error: the table {err="ERR msg"}.
func scriptRaise(L *lua.LState, msg string) int {
	L.Error(errTable(L, msg), 0)
	return 0
}

// errTable builds Redis's error table from msg: "-CODE rest" keeps the code, a plain message gets "ERR".
func errTable(L *lua.LState, msg string) *lua.LTable {
	code, rest := "ERR", msg
	if strings.HasPrefix(msg, "-") {
		if i := strings.IndexByte(msg, ' '); i >= 0 {
			code, rest = msg[1:i], msg[i+1:]
		} else {
			rest = msg[1:]
		}
	}
	rest = strings.Trim(rest, "\r\n")
	t := L.NewTable()
	t.RawSetString("err", lua.LString(code+" "+rest))
	return t
}

// scriptPCall is pcall as Redis 7 has it: an error table with an err field is caught as its message.
func scriptPCall(L *lua.LState) int {
	L.CheckAny(1)
	v := L.Get(1)
	if v.Type() != lua.LTFunction && L.GetMetaField(v, "__call").Type() != lua.LTFunction {
		L.Push(lua.LFalse)
		L.Push(lua.LString("attempt to call a " + v.Type().String() + " value"))
		return 2
	}
	top := L.GetTop()
	if err := L.PCall(top-1, lua.MultRet, nil); err != nil {
		L.Push(lua.LFalse)
		obj := lua.LValue(lua.LString(err.Error()))
		if aerr, ok := err.(*lua.ApiError); ok {
			obj = aerr.Object
		}
		if t, ok := obj.(*lua.LTable); ok {
			if e, ok := t.RawGetString("err").(lua.LString); ok {
				obj = e
			}
		}
		L.Push(obj)
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

// scriptErrorFn is error() with PUC Lua's position prefix for numbers too.
func scriptErrorFn(L *lua.LState) int {
	obj := L.Get(1)
	level := L.OptInt(2, 1)
	if n, ok := obj.(lua.LNumber); ok {
		obj = lua.LString(luaNumberString(float64(n)))
	}
	L.Error(obj, level)
	return 0
}

func luaNumberString(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}

// exec runs the cached script sha and writes its reply.
func (sc *scripting) exec(c *conn, x *keyspace.Ctx, sha string, keys, argv [][]byte, readOnly bool) {
	L := sc.L
	run := &sc.state
	*run = scriptRun{c: c, x: x, sha: sha, readOnly: readOnly, resp: 2, w: run.w}
	run.w.Reset()
	sc.run = run
	db := c.db
	args, cmd := x.Args, x.Cmd
	wasMulti := x.InMulti
	defer func() {
		sc.run = nil
		c.db = db // SELECT inside a script does not change the caller's database (Redis 7)
		x.DB = x.KS.DB(db)
		x.Args, x.Cmd, x.InMulti = args, cmd, wasMulti
		L.SetTop(0)
	}()
	env := L.NewTable()
	env.Metatable = sc.envMT
	env.RawSetString("KEYS", bytesTable(L, keys))
	env.RawSetString("ARGV", bytesTable(L, argv))
	fn := L.NewFunctionFromProto(sc.cache[sha])
	fn.Env = env
	L.Push(fn)
	// Redis answers BUSY to other clients once a script has run for busy-reply-threshold and lets SCRIPT
	// KILL stop it; here the script holds the keyspace lock, so no client could send SCRIPT KILL and an
	// endless script would stall the server for good. kvlab stops it at that point instead, as if it had
	// raised an error there: its writes so far stay, and are logged, as with any failing script.
	limit := time.Duration(c.s.set.scriptLimitMS.Load()) * time.Millisecond
	if limit > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		L.SetContext(ctx)
		defer L.RemoveContext()
	}
	err := L.PCall(0, 1, sc.onError)
	if err != nil && limit > 0 && L.Context() != nil && L.Context().Err() != nil {
		x.W.Error(fmt.Sprintf("ERR script stopped after running for busy-reply-threshold (%d ms): kvlab serves no "+
			"other client while a script runs, so it cannot wait for SCRIPT KILL; its writes so far are kept "+
			"(raise the limit with CONFIG SET busy-reply-threshold, 0 for none) script: %s", limit.Milliseconds(), sha))
		return
	}
	if err != nil {
		var obj lua.LValue = lua.LString(err.Error())
		if aerr, ok := err.(*lua.ApiError); ok {
			obj = aerr.Object
		}
		msg := ""
		if t, ok := obj.(*lua.LTable); ok && t.RawGetString("err").Type() == lua.LTString {
			msg = t.RawGetString("err").String()
		} else {
			msg = "ERR " + obj.String()
		}
		if run.errLine > 0 {
			msg += " script: " + sha + ", on @user_script:" + strconv.Itoa(run.errLine) + "."
		}
		x.W.Error(msg)
		return
	}
	luaToReply(x.W, L.Get(-1), run.resp, 0)
}

func bytesTable(L *lua.LState, vals [][]byte) *lua.LTable {
	t := L.CreateTable(len(vals), 0)
	for i, v := range vals {
		t.RawSetInt(i+1, lua.LString(v))
	}
	return t
}

// luaToReply converts a script's return value to a reply as luaReplyToRedisReply does.
func luaToReply(w *resp.Writer, v lua.LValue, scriptResp, depth int) {
	switch v := v.(type) {
	case lua.LString:
		w.BulkString(string(v))
	case lua.LBool:
		if scriptResp == 2 {
			if v {
				w.Int(1)
			} else {
				w.Null()
			}
		} else {
			w.Bool(bool(v))
		}
	case lua.LNumber:
		w.Int(luaToInt(float64(v)))
	case *lua.LTable:
		if depth > 1000 {
			w.Error("ERR reached lua stack limit")
			return
		}
		if e, ok := v.RawGetString("err").(lua.LString); ok {
			w.Error(string(e)) // as is: Redis keeps a message's own leading '-' ("--CODE ...")
			return
		}
		if ok, isStr := v.RawGetString("ok").(lua.LString); isStr {
			w.Simple(strings.NewReplacer("\r", " ", "\n", " ").Replace(string(ok)))
			return
		}
		if d, ok := v.RawGetString("double").(lua.LNumber); ok {
			w.Double(float64(d))
			return
		}
		if b, ok := v.RawGetString("big_number").(lua.LString); ok {
			w.BigNumber(strings.NewReplacer("\r", " ", "\n", " ").Replace(string(b)))
			return
		}
		if m, ok := v.RawGetString("map").(*lua.LTable); ok {
			var keys, vals []lua.LValue
			m.ForEach(func(k, val lua.LValue) { keys, vals = append(keys, k), append(vals, val) })
			w.Map(len(keys))
			for i := range keys {
				luaToReply(w, keys[i], scriptResp, depth+1)
				luaToReply(w, vals[i], scriptResp, depth+1)
			}
			return
		}
		if set, ok := v.RawGetString("set").(*lua.LTable); ok {
			var keys []lua.LValue
			set.ForEach(func(k, _ lua.LValue) { keys = append(keys, k) })
			w.Set(len(keys))
			for _, k := range keys {
				luaToReply(w, k, scriptResp, depth+1)
			}
			return
		}
		n := 0
		for v.RawGetInt(n+1) != lua.LNil {
			n++
		}
		w.Array(n)
		for i := 1; i <= n; i++ {
			luaToReply(w, v.RawGetInt(i), scriptResp, depth+1)
		}
	default:
		w.Null()
	}
}

// luaToInt truncates as C's (long long) cast does on x86-64: out of range and NaN give the minimum.
func luaToInt(f float64) int64 {
	if f != f || f >= 9223372036854775808.0 || f < -9223372036854775808.0 {
		return math.MinInt64
	}
	return int64(f)
}

// call is redis.call (raise) and redis.pcall: it runs one command inside the script's execution.
func (sc *scripting) call(L *lua.LState, raise bool) int {
	run := sc.run
	fail := func(msg string) int {
		t := errTable(L, msg)
		if raise {
			L.Error(t, 0)
			return 0
		}
		L.Push(t)
		return 1
	}
	argc := L.GetTop()
	if argc == 0 {
		return fail("Please specify at least one argument for this redis lib call")
	}
	args := make([][]byte, argc)
	for i := 1; i <= argc; i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			args[i-1] = []byte(v)
		case lua.LNumber:
			args[i-1] = strconv.AppendFloat(nil, float64(v), 'g', 17, 64)
		default:
			return fail("Lua redis lib command arguments must be strings or integers")
		}
	}
	if run == nil {
		return fail("redis.call/pcall can only be called inside a script invocation")
	}
	c, x, s := run.c, run.x, run.c.s
	cmd, msg := keyspace.Resolve(args)
	switch {
	case cmd == nil:
		return fail("Unknown Redis command called from script")
	case msg != "":
		return fail("Wrong number of args calling Redis command from script")
	case cmd.Flags&keyspace.FlagNoScript != 0:
		return fail("This Redis command is not allowed from script")
	}
	if sec := secOf(c); sec.st != nil {
		if u := sec.user.Load(); !u.Unrestricted() {
			if d, idx := u.Check(cmd, args); d != acl.Allowed {
				sec.st.record(c, d, cmd, args, idx, u.Name, time.Now())
				switch d {
				case acl.DeniedCommand:
					return fail("The user executing the script can't run this command or subcommand")
				case acl.DeniedKey:
					return fail("The user executing the script can't access at least one of the keys mentioned in the command")
				case acl.DeniedChannel:
					return fail("The user executing the script can't publish to the channel mentioned in the command")
				default:
					return fail("The user executing the script is lacking the permissions for the command")
				}
			}
		}
	}
	if cmd.Flags&keyspace.FlagWrite != 0 {
		if run.readOnly {
			return fail("Write commands are not allowed from read-only scripts.")
		}
		if s.repl.IsReplica() {
			return fail("-" + errReadonly)
		}
	}
	w := &run.w
	w.Reset()
	w.Proto = run.resp
	savedW := x.W
	x.W = w
	x.InMulti = true // blocking commands answer at once, as inside a transaction
	start := time.Now()
	runInBatch(c, x, cmd, args)
	x.W = savedW
	s.account(c, cmd, args, time.Since(start), w.Buf)
	v, _, isErr := replyToLua(L, w.Buf)
	if isErr && raise {
		L.Error(v, 0)
		return 0
	}
	L.Push(v)
	return 1
}

// replyToLua converts one RESP reply to a Lua value as redisProtocolToLuaType does; isErr reports an error
// reply (converted to {err=...}).
func replyToLua(L *lua.LState, b []byte) (v lua.LValue, rest []byte, isErr bool) {
	if len(b) < 3 {
		return lua.LNil, nil, false
	}
	end := strings.Index(string(b), "\r\n")
	if end < 0 {
		return lua.LNil, nil, false
	}
	kind, line, rest := b[0], string(b[1:end]), b[end+2:]
	switch kind {
	case ':':
		n, _ := strconv.ParseInt(line, 10, 64)
		return lua.LNumber(n), rest, false
	case '+':
		t := L.NewTable()
		t.RawSetString("ok", lua.LString(line))
		return t, rest, false
	case '-':
		t := L.NewTable()
		t.RawSetString("err", lua.LString(line))
		return t, rest, true
	case '$', '=':
		n, _ := strconv.Atoi(line)
		if n < 0 {
			return lua.LFalse, rest, false
		}
		s := string(rest[:n])
		rest = rest[n+2:]
		if kind == '=' {
			t, vt := L.NewTable(), L.NewTable()
			vt.RawSetString("format", lua.LString(s[:3]))
			vt.RawSetString("string", lua.LString(s[4:]))
			t.RawSetString("verbatim_string", vt)
			return t, rest, false
		}
		return lua.LString(s), rest, false
	case '*', '~', '%', '>':
		n, _ := strconv.Atoi(line)
		if n < 0 {
			return lua.LFalse, rest, false
		}
		inner := L.CreateTable(n, 0)
		var e lua.LValue
		switch kind {
		case '%':
			for i := 0; i < n; i++ {
				var k lua.LValue
				k, rest, _ = replyToLua(L, rest)
				e, rest, _ = replyToLua(L, rest)
				inner.RawSet(k, e)
			}
		case '~':
			for i := 0; i < n; i++ {
				e, rest, _ = replyToLua(L, rest)
				inner.RawSet(e, lua.LTrue)
			}
		default:
			for i := 0; i < n; i++ {
				e, rest, _ = replyToLua(L, rest)
				inner.RawSetInt(i+1, e)
			}
			return inner, rest, false
		}
		t := L.NewTable()
		if kind == '%' {
			t.RawSetString("map", inner)
		} else {
			t.RawSetString("set", inner)
		}
		return t, rest, false
	case '_':
		return lua.LNil, rest, false
	case '#':
		return lua.LBool(line == "t"), rest, false
	case ',':
		f, _ := strconv.ParseFloat(line, 64)
		if line == "inf" {
			f = math.Inf(1)
		} else if line == "-inf" {
			f = math.Inf(-1)
		}
		t := L.NewTable()
		t.RawSetString("double", lua.LNumber(f))
		return t, rest, false
	case '(':
		t := L.NewTable()
		t.RawSetString("big_number", lua.LString(line))
		return t, rest, false
	}
	return lua.LNil, rest, false
}

// newBitLib is the LuaBitOp library Redis bundles (bit.band, bit.bor, ...), on 32-bit integers.
func newBitLib(L *lua.LState) *lua.LTable {
	tobit := func(L *lua.LState, i int) int32 {
		f := math.RoundToEven(float64(L.CheckNumber(i)))
		// LuaBitOp's normalisation: add 2^52+2^51 and take the low 32 bits.
		return int32(uint32(uint64(int64(math.Mod(f, 4294967296)))))
	}
	fold := func(op func(a, b int32) int32) lua.LGFunction {
		return func(L *lua.LState) int {
			r := tobit(L, 1)
			for i := 2; i <= L.GetTop(); i++ {
				r = op(r, tobit(L, i))
			}
			L.Push(lua.LNumber(r))
			return 1
		}
	}
	shift := func(op func(a int32, n uint) int32) lua.LGFunction {
		return func(L *lua.LState) int {
			L.Push(lua.LNumber(op(tobit(L, 1), uint(tobit(L, 2))&31)))
			return 1
		}
	}
	t := L.NewTable()
	for name, fn := range map[string]lua.LGFunction{
		"tobit":   func(L *lua.LState) int { L.Push(lua.LNumber(tobit(L, 1))); return 1 },
		"bnot":    func(L *lua.LState) int { L.Push(lua.LNumber(^tobit(L, 1))); return 1 },
		"band":    fold(func(a, b int32) int32 { return a & b }),
		"bor":     fold(func(a, b int32) int32 { return a | b }),
		"bxor":    fold(func(a, b int32) int32 { return a ^ b }),
		"lshift":  shift(func(a int32, n uint) int32 { return int32(uint32(a) << n) }),
		"rshift":  shift(func(a int32, n uint) int32 { return int32(uint32(a) >> n) }),
		"arshift": shift(func(a int32, n uint) int32 { return a >> n }),
		"rol":     shift(func(a int32, n uint) int32 { u := uint32(a); return int32(u<<n | u>>((32-n)&31)) }),
		"ror":     shift(func(a int32, n uint) int32 { u := uint32(a); return int32(u>>n | u<<((32-n)&31)) }),
		"bswap": func(L *lua.LState) int {
			u := uint32(tobit(L, 1))
			L.Push(lua.LNumber(int32(u>>24 | (u>>8)&0xff00 | (u<<8)&0xff0000 | u<<24)))
			return 1
		},
		"tohex": func(L *lua.LState) int {
			u := uint32(tobit(L, 1))
			n := 8
			if L.GetTop() >= 2 {
				n = int(tobit(L, 2))
			}
			digits := "0123456789abcdef"
			if n < 0 {
				n, digits = -n, "0123456789ABCDEF"
			}
			if n > 8 {
				n = 8
			}
			buf := make([]byte, n)
			for i := n - 1; i >= 0; i-- {
				buf[i] = digits[u&15]
				u >>= 4
			}
			L.Push(lua.LString(buf))
			return 1
		},
	} {
		t.RawSetString(name, L.NewFunction(fn))
	}
	return t
}
