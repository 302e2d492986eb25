package server

import (
	"strconv"
	"time"

	"github.com/kvlab/kvlab/keyspace"
)

// MONITOR, as in Redis 7.0 (monitorCommand in server.c, replicationFeedMonitors in replication.c).
//
// A monitor receives, as a simple string, one line per command executed by any client:
//
//	+<unix seconds>.<microseconds> [<db> <client address>] "cmd" "arg" ...
//
// the arguments quoted as sdscatrepr does. A command is fed once it has run (call() feeds monitors after
// the command's proc), with the database selected at that point, except EVAL/EVALSHA(_RO), which Redis
// flags skip_monitor and feeds explicitly at the start of its handler so that the script's own commands,
// fed as "[<db> lua]", follow it. Commands flagged admin or skip_monitor are never fed; neither is a
// command refused before it runs (unknown, wrong arity, NOAUTH, ACL, MULTI queueing, ...). Passwords are
// redacted as Redis's redactClientCommandArgument does: "(redacted)".
//
// The command path pays one atomic load (Server.monitorN) when nobody monitors. With monitors, each line
// is formatted once and appended to every monitor's outbox (the pub/sub outbox, subState), drained by the
// monitor's own writer goroutine, so a slow monitor never stalls the server: like Redis, whose monitors are
// clients of the normal class, a monitor whose pending output passes the normal class of
// client-output-buffer-limit is disconnected.

func init() {
	keyspace.Register(&keyspace.Command{Name: "monitor", Arity: 1,
		Flags: keyspace.FlagAdmin | keyspace.FlagNoScript | keyspace.FlagLoading | keyspace.FlagStale,
		Group: "server", Summary: "Listens for all requests received by the server in real-time.", Since: "1.0.0",
		Handler: cmdMonitor})
	addPreExec(46, monitorContext)
	resetHooks = append(resetHooks, func(c *conn) { c.s.unmonitor(c) })
	clientFlagHooks = append(clientFlagHooks, func(c *conn) string {
		if c.monitor {
			return "O"
		}
		return ""
	})
}

func cmdMonitor(x *keyspace.Ctx) {
	c := connOf(x)
	if x.InMulti {
		// Redis: MULTI sets CLIENT_DENY_BLOCKING.
		x.Error("ERR MONITOR isn't allowed for DENY BLOCKING client")
		return
	}
	if c.monitor || c.replica.Load() {
		return // Redis ignores MONITOR from a replica or a monitor, without a reply
	}
	c.subscriber() // from now on replies and monitor lines share the outbox
	c.monitor = true
	c.s.monitors = append(c.s.monitors, c)
	c.s.monitorN.Store(int32(len(c.s.monitors)))
	x.OK()
}

// unmonitor ends c's monitor mode (keyspace lock held): RESET, or the connection closing.
func (s *Server) unmonitor(c *conn) {
	if !c.monitor {
		return
	}
	c.monitor = false
	for i, m := range s.monitors {
		if m == c {
			n := len(s.monitors) - 1
			copy(s.monitors[i:], s.monitors[i+1:])
			s.monitors[n] = nil
			s.monitors = s.monitors[:n]
			break
		}
	}
	s.monitorN.Store(int32(len(s.monitors)))
}

// monitorContext refuses, as Redis does for a client flagged CLIENT_SLAVE (which MONITOR sets), every
// command that reads or writes the keyspace or may replicate (pre-exec order 46).
func monitorContext(c *conn, cmd *keyspace.Command, msg string, args [][]byte) (bool, uint64) {
	if !c.monitor || cmd == nil || msg != "" {
		return false, 0
	}
	if cmd.Flags&(keyspace.FlagWrite|keyspace.FlagReadonly|keyspace.FlagMayReplicate) != 0 {
		reject(c, cmd, "ERR Replica can't interact with the keyspace")
		return true, 0
	}
	return false, 0
}

// feedMonitorsAfter feeds a command that has run (from account; keyspace lock held, monitors present).
func (s *Server) feedMonitorsAfter(c *conn, cmd *keyspace.Command, args [][]byte) {
	if cmd.Flags&(keyspace.FlagSkipMonitor|keyspace.FlagAdmin) != 0 {
		return
	}
	s.feedMonitors(c, args, s.lua != nil && s.lua.run != nil)
}

// feedScriptCall feeds EVAL and EVALSHA before they run, as Redis's evalCommand does (keyspace lock held).
func (s *Server) feedScriptCall(c *conn, args [][]byte) {
	if s.monitorN.Load() != 0 {
		s.feedMonitors(c, args, false)
	}
}

// feedMonitors formats the line once and hands it to every monitor; a monitor's own commands go into its
// reply buffer, after the reply, as in Redis where both go to the same client buffer.
func (s *Server) feedMonitors(c *conn, args [][]byte, lua bool) {
	line := appendMonitorLine(make([]byte, 0, 64), time.Now(), c.db, c, lua, args)
	for _, m := range s.monitors {
		if m == c {
			c.w.Buf = append(c.w.Buf, line...)
			continue
		}
		m.sub.enqueue(m, line) // false: m broke its output limit and is being disconnected
	}
}

// appendMonitorLine appends replicationFeedMonitors's line.
func appendMonitorLine(b []byte, now time.Time, db int, c *conn, lua bool, args [][]byte) []byte {
	b = append(b, '+')
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, '.')
	us := now.Nanosecond() / 1000
	for d := 100000; d > 1 && us < d; d /= 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, int64(us), 10)
	b = append(b, " ["...)
	b = strconv.AppendInt(b, int64(db), 10)
	b = append(b, ' ')
	switch {
	case lua:
		b = append(b, "lua"...)
	case c.nc.RemoteAddr().Network() == "unix":
		b = append(b, "unix:"...)
		b = append(b, c.nc.LocalAddr().String()...) // Redis: the server's unixsocket path
	default:
		b = append(b, c.nc.RemoteAddr().String()...)
	}
	b = append(b, "] "...)
	red := redactions(args)
	for i, a := range args {
		if i > 0 {
			b = append(b, ' ')
		}
		if red != 0 && i < 64 && red&(1<<i) != 0 {
			b = append(b, `"(redacted)"`...)
			continue
		}
		b = appendRepr(b, a)
	}
	return append(b, '\r', '\n')
}

// appendRepr quotes a as Redis's sdscatrepr does.
func appendRepr(b, a []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, ch := range a {
		switch ch {
		case '\\', '"':
			b = append(b, '\\', ch)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if ch >= 0x20 && ch <= 0x7e {
				b = append(b, ch)
			} else {
				b = append(b, '\\', 'x', hex[ch>>4], hex[ch&15])
			}
		}
	}
	return append(b, '"')
}

// redactions returns the bit set of the arguments Redis redacts (redactClientCommandArgument): AUTH's
// password, HELLO's AUTH username and password, MIGRATE's AUTH password and AUTH2 username and password.
// Unlike Redis, which redacts only while the handler parses (HELLO with a bad protocol version shows
// them), these are redacted wherever they stand, so a password never reaches a monitor.
func redactions(args [][]byte) uint64 {
	var red uint64
	bit := func(i int) {
		if i < 64 {
			red |= 1 << i
		}
	}
	switch {
	case keyspace.EqualFold(args[0], "auth"):
		for j := 1; j < len(args); j++ {
			bit(j) // Redis redacts the username too; with too many arguments it redacts nothing
		}
	case keyspace.EqualFold(args[0], "hello"):
		for j := 2; j < len(args); j++ {
			more := len(args) - 1 - j
			switch {
			case keyspace.EqualFold(args[j], "auth") && more >= 2:
				bit(j + 1)
				bit(j + 2)
				j += 2
			case keyspace.EqualFold(args[j], "setname") && more >= 1:
				j++
			default:
				return red
			}
		}
	case keyspace.EqualFold(args[0], "migrate"):
		for j := 6; j < len(args); j++ {
			more := len(args) - 1 - j
			switch {
			case keyspace.EqualFold(args[j], "copy"), keyspace.EqualFold(args[j], "replace"):
			case keyspace.EqualFold(args[j], "auth") && more >= 1:
				j++
				bit(j)
			case keyspace.EqualFold(args[j], "auth2") && more >= 2:
				bit(j + 1)
				bit(j + 2)
				j += 2
			default:
				return red // KEYS (the rest are keys) or a syntax error
			}
		}
	}
	return red
}
