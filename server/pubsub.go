package server

import (
	"sync"

	"github.com/kvlab/kvlab/keyspace"
	"github.com/kvlab/kvlab/resp"
)

// Pub/Sub. Subscriptions are guarded by the keyspace lock (every pub/sub command runs under it). A
// subscribed connection's output goes through an outbox drained by its own writer goroutine, so a
// publisher never blocks on a slow subscriber's socket; a subscriber whose outbox passes the pubsub
// output-buffer limit (client-output-buffer-limit pubsub: 32 MB hard) is disconnected instead of growing
// memory without bound.

// pubsubHardLimit is Redis's default hard output-buffer limit for pub/sub clients.
const pubsubHardLimit = 32 << 20

type subState struct {
	channels map[string]bool
	patterns map[string]bool

	mu     sync.Mutex // guards out, closed
	out    []byte
	closed bool
	wake   chan struct{}
	done   chan struct{}
}

func (s *subState) count() int { return len(s.channels) + len(s.patterns) }

func init() {
	const ps, ld, st, f = keyspace.FlagPubSub, keyspace.FlagLoading, keyspace.FlagStale, keyspace.FlagFast
	g := "pubsub"
	keyspace.Register(
		&keyspace.Command{Name: "subscribe", Arity: -2, Flags: ps | keyspace.FlagNoScript | ld | st, Group: g, Summary: "Listens for messages published to channels.", Since: "2.0.0", Handler: cmdSubscribe},
		&keyspace.Command{Name: "psubscribe", Arity: -2, Flags: ps | keyspace.FlagNoScript | ld | st, Group: g, Summary: "Listens for messages published to channels that match one or more patterns.", Since: "2.0.0", Handler: cmdSubscribe},
		&keyspace.Command{Name: "unsubscribe", Arity: -1, Flags: ps | keyspace.FlagNoScript | ld | st, Group: g, Summary: "Stops listening to messages posted to channels.", Since: "2.0.0", Handler: cmdUnsubscribe},
		&keyspace.Command{Name: "punsubscribe", Arity: -1, Flags: ps | keyspace.FlagNoScript | ld | st, Group: g, Summary: "Stops listening to messages published to channels that match one or more patterns.", Since: "2.0.0", Handler: cmdUnsubscribe},
		&keyspace.Command{Name: "publish", Arity: 3, Flags: ps | ld | st | f | keyspace.FlagMayReplicate, Group: g, Summary: "Posts a message to a channel.", Since: "2.0.0", Handler: cmdPublish},
		&keyspace.Command{Name: "pubsub", Arity: -2, Group: g, Summary: "A container for Pub/Sub commands.", Since: "2.8.0",
			Subcommands: map[string]*keyspace.Command{
				"channels": {Name: "channels", Arity: -2, Flags: ps | ld | st, Categories: keyspace.CatPubSub | keyspace.CatSlow, Group: g, Summary: "Returns the active channels.", Since: "2.8.0", Handler: cmdPubsubChannels},
				"numsub":   {Name: "numsub", Arity: -2, Flags: ps | ld | st, Categories: keyspace.CatPubSub | keyspace.CatSlow, Group: g, Summary: "Returns a count of subscribers to channels.", Since: "2.8.0", Handler: cmdPubsubNumsub},
				"numpat":   {Name: "numpat", Arity: 2, Flags: ps | ld | st, Categories: keyspace.CatPubSub | keyspace.CatSlow, Group: g, Summary: "Returns a count of unique pattern subscriptions.", Since: "2.8.0", Handler: cmdPubsubNumpat},
			}},
	)
	isPubSub = func(c *conn) bool { return c.sub != nil && c.sub.count() > 0 }
	addPreExec(40, pubsubContext)
	resetHooks = append(resetHooks, func(c *conn) { c.s.unsubscribeAll(c) })
	clientFlagHooks = append(clientFlagHooks, func(c *conn) string {
		if isPubSub(c) {
			return "P"
		}
		return ""
	})
	clientFieldHooks = append(clientFieldHooks, func(c *conn) string {
		if c.sub == nil {
			return " sub=0 psub=0 ssub=0"
		}
		return " sub=" + itoa(len(c.sub.channels)) + " psub=" + itoa(len(c.sub.patterns)) + " ssub=0"
	})
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// pubsubContext restricts a RESP2 client in subscriber mode to the commands Redis allows there.
func pubsubContext(c *conn, cmd *keyspace.Command, msg string, args [][]byte) (bool, uint64) {
	if c.w.Proto >= 3 || !isPubSub(c) || cmd == nil || msg != "" {
		return false, 0
	}
	switch cmd.Name {
	case "subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ssubscribe", "sunsubscribe", "ping", "quit", "reset":
		return false, 0
	}
	c.w.Error("ERR Can't execute '" + cmd.FullName() + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
	return true, 0
}

// subscriber returns c's pub/sub state, starting its writer goroutine on first use.
func (c *conn) subscriber() *subState {
	if c.sub == nil {
		c.sub = &subState{channels: map[string]bool{}, patterns: map[string]bool{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
		go c.sub.writer(c)
	}
	return c.sub
}

// writer drains the outbox to the socket.
func (s *subState) writer(c *conn) {
	defer close(s.done)
	var buf []byte
	for {
		<-s.wake
		s.mu.Lock()
		buf, s.out = s.out, buf[:0]
		closed := s.closed
		s.mu.Unlock()
		if len(buf) > 0 {
			if _, err := c.nc.Write(buf); err != nil {
				c.nc.Close()
				return
			}
			c.s.stats.netOutput.Add(int64(len(buf)))
		}
		if closed {
			return
		}
	}
}

// enqueue adds bytes to the outbox; it reports false (and disconnects the client) past the hard limit.
func (s *subState) enqueue(c *conn, p []byte) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	if len(s.out)+len(p) > pubsubHardLimit {
		s.closed = true
		s.mu.Unlock()
		c.s.Logf("client id=%d addr=%s closed for overcoming of output buffer limits (pubsub)", c.id, c.nc.RemoteAddr())
		c.nc.Close()
		return false
	}
	s.out = append(s.out, p...)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

func (s *subState) stop() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	<-s.done
}

func cmdSubscribe(x *keyspace.Ctx) {
	c := connOf(x)
	if x.InMulti {
		x.Error("ERR Command not allowed inside a transaction")
		return
	}
	sub := c.subscriber()
	pattern := x.Cmd.Name == "psubscribe"
	s := c.s
	for _, a := range x.Args[1:] {
		name := string(a)
		if pattern {
			if !sub.patterns[name] {
				sub.patterns[name] = true
				s.addSub(&s.patterns, name, c)
			}
		} else if !sub.channels[name] {
			sub.channels[name] = true
			s.addSub(&s.channels, name, c)
		}
		x.W.Push(3)
		x.W.BulkString(x.Cmd.Name)
		x.W.Bulk(a)
		x.W.Int(int64(sub.count()))
	}
}

func (s *Server) addSub(m *map[string]map[*conn]bool, name string, c *conn) {
	if *m == nil {
		*m = map[string]map[*conn]bool{}
	}
	if (*m)[name] == nil {
		(*m)[name] = map[*conn]bool{}
	}
	(*m)[name][c] = true
}

func (s *Server) delSub(m map[string]map[*conn]bool, name string, c *conn) {
	if set := m[name]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(m, name)
		}
	}
}

func cmdUnsubscribe(x *keyspace.Ctx) {
	c := connOf(x)
	pattern := x.Cmd.Name == "punsubscribe"
	sub := c.sub
	var names []string
	if len(x.Args) > 1 {
		for _, a := range x.Args[1:] {
			names = append(names, string(a))
		}
	} else if sub != nil {
		set := sub.channels
		if pattern {
			set = sub.patterns
		}
		for n := range set {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		x.W.Push(3)
		x.W.BulkString(x.Cmd.Name)
		x.W.Null()
		count := 0
		if sub != nil {
			count = sub.count()
		}
		x.W.Int(int64(count))
		return
	}
	for _, n := range names {
		if sub != nil {
			if pattern {
				if sub.patterns[n] {
					delete(sub.patterns, n)
					c.s.delSub(c.s.patterns, n, c)
				}
			} else if sub.channels[n] {
				delete(sub.channels, n)
				c.s.delSub(c.s.channels, n, c)
			}
		}
		x.W.Push(3)
		x.W.BulkString(x.Cmd.Name)
		x.W.BulkString(n)
		count := 0
		if sub != nil {
			count = sub.count()
		}
		x.W.Int(int64(count))
	}
}

// unsubscribeAll drops every subscription of c (keyspace lock held).
func (s *Server) unsubscribeAll(c *conn) {
	if c.sub == nil {
		return
	}
	for n := range c.sub.channels {
		s.delSub(s.channels, n, c)
	}
	for n := range c.sub.patterns {
		s.delSub(s.patterns, n, c)
	}
	c.sub.channels = map[string]bool{}
	c.sub.patterns = map[string]bool{}
}

func cmdPublish(x *keyspace.Ctx) {
	x.W.Int(int64(connOf(x).s.publish(x.Args[1], x.Args[2])))
}

// publish delivers a message to subscribers of channel and of matching patterns; it returns how many
// received it. Called with the keyspace lock held.
func (s *Server) publish(channel, msg []byte) int {
	n := 0
	var w resp.Writer
	for c := range s.channels[string(channel)] {
		w.Buf, w.Proto = w.Buf[:0], c.w.Proto
		w.Push(3)
		w.BulkString("message")
		w.Bulk(channel)
		w.Bulk(msg)
		if c.sub.enqueue(c, w.Buf) {
			n++
		}
	}
	for pat, set := range s.patterns {
		if !keyspace.Match([]byte(pat), channel, false) {
			continue
		}
		for c := range set {
			w.Buf, w.Proto = w.Buf[:0], c.w.Proto
			w.Push(4)
			w.BulkString("pmessage")
			w.BulkString(pat)
			w.Bulk(channel)
			w.Bulk(msg)
			if c.sub.enqueue(c, w.Buf) {
				n++
			}
		}
	}
	return n
}

func cmdPubsubChannels(x *keyspace.Ctx) {
	s := connOf(x).s
	var pat []byte
	if len(x.Args) > 3 {
		x.ArityError()
		return
	}
	if len(x.Args) == 3 {
		pat = x.Args[2]
	}
	var out []string
	for ch := range s.channels {
		if pat == nil || keyspace.Match(pat, []byte(ch), false) {
			out = append(out, ch)
		}
	}
	x.W.Array(len(out))
	for _, ch := range out {
		x.W.BulkString(ch)
	}
}

func cmdPubsubNumsub(x *keyspace.Ctx) {
	s := connOf(x).s
	x.W.Map(len(x.Args) - 2)
	for _, ch := range x.Args[2:] {
		x.W.Bulk(ch)
		x.W.Int(int64(len(s.channels[string(ch)])))
	}
}

func cmdPubsubNumpat(x *keyspace.Ctx) { x.W.Int(int64(len(connOf(x).s.patterns))) }

// pingInSubscribeMode answers PING as Redis does for a RESP2 subscriber: ["pong", msg].
func pingInSubscribeMode(c *conn, x *keyspace.Ctx) bool {
	if c.w.Proto >= 3 || !isPubSub(c) {
		return false
	}
	x.W.Array(2)
	x.W.BulkString("pong")
	if len(x.Args) == 2 {
		x.W.Bulk(x.Args[1])
	} else {
		x.W.BulkString("")
	}
	return true
}
