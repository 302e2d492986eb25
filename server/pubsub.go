package server

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/kvlab/kvlab/keyspace"
)

// Pub/Sub: channels, patterns and shard channels (SSUBSCRIBE/SPUBLISH, which behave as plain channels on a
// single node). Subscriptions are guarded by the keyspace lock (every pub/sub command runs under it).
//
// Once a connection subscribes, all its output — replies and messages — goes through an outbox drained by
// the connection's own writer goroutine, so a publisher never blocks on a slow subscriber's socket and
// messages published by other clients are never interleaved inside a reply. The connection hands its
// replies to the outbox while still holding the keyspace lock, so a reply (SUBSCRIBE's confirmation)
// always precedes the messages published after it. A subscriber whose pending output passes the pubsub
// class of client-output-buffer-limit (32 MB hard, or 8 MB for 60 s) is disconnected instead of growing
// memory without bound.

// subState is a connection's pub/sub state.
type subState struct {
	// channels, patterns and shard are guarded by the keyspace lock.
	channels map[string]bool
	patterns map[string]bool
	shard    map[string]bool
	// subscribed mirrors count() > 0 for readers without the keyspace lock (the outbox's limit class).
	subscribed atomic.Bool

	mu        sync.Mutex // guards out, inflight, softSince, closed
	out       []byte
	inflight  int // bytes the writer took and has not finished writing
	softSince int64
	closed    bool
	wake      chan struct{}
	done      chan struct{}
}

// count is the number of channel and pattern subscriptions (what SUBSCRIBE and UNSUBSCRIBE report).
func (s *subState) count() int { return len(s.channels) + len(s.patterns) }

func (s *subState) total() int { return len(s.channels) + len(s.patterns) + len(s.shard) }

func init() {
	const ps, ld, st, f, ns = keyspace.FlagPubSub, keyspace.FlagLoading, keyspace.FlagStale, keyspace.FlagFast, keyspace.FlagNoScript
	g := "pubsub"
	keyspace.Register(
		&keyspace.Command{Name: "subscribe", Arity: -2, Flags: ps | ns | ld | st, Group: g, Summary: "Listens for messages published to channels.", Since: "2.0.0", Handler: cmdSubscribe},
		&keyspace.Command{Name: "psubscribe", Arity: -2, Flags: ps | ns | ld | st, Group: g, Summary: "Listens for messages published to channels that match one or more patterns.", Since: "2.0.0", Handler: cmdSubscribe},
		&keyspace.Command{Name: "ssubscribe", Arity: -2, Flags: ps | ns | ld | st, FirstKey: 1, LastKey: -1, Step: 1, Group: g, Summary: "Listens for messages published to shard channels.", Since: "7.0.0", Handler: cmdSubscribe},
		&keyspace.Command{Name: "unsubscribe", Arity: -1, Flags: ps | ns | ld | st, Group: g, Summary: "Stops listening to messages posted to channels.", Since: "2.0.0", Handler: cmdUnsubscribe},
		&keyspace.Command{Name: "punsubscribe", Arity: -1, Flags: ps | ns | ld | st, Group: g, Summary: "Stops listening to messages published to channels that match one or more patterns.", Since: "2.0.0", Handler: cmdUnsubscribe},
		&keyspace.Command{Name: "sunsubscribe", Arity: -1, Flags: ps | ns | ld | st, FirstKey: 1, LastKey: -1, Step: 1, Group: g, Summary: "Stops listening to messages posted to shard channels.", Since: "7.0.0", Handler: cmdUnsubscribe},
		&keyspace.Command{Name: "publish", Arity: 3, Flags: ps | ld | st | f | keyspace.FlagMayReplicate, Group: g, Summary: "Posts a message to a channel.", Since: "2.0.0", Handler: cmdPublish},
		&keyspace.Command{Name: "spublish", Arity: 3, Flags: ps | ld | st | f | keyspace.FlagMayReplicate, FirstKey: 1, LastKey: 1, Step: 1, Group: g, Summary: "Post a message to a shard channel", Since: "7.0.0", Handler: cmdPublish},
		&keyspace.Command{Name: "pubsub", Arity: -2, Group: g, Summary: "A container for Pub/Sub commands.", Since: "2.8.0",
			Subcommands: map[string]*keyspace.Command{
				"channels":      {Name: "channels", Arity: -2, Flags: ps | ld | st, Categories: keyspace.CatPubSub | keyspace.CatSlow, Group: g, Summary: "Returns the active channels.", Since: "2.8.0", Handler: cmdPubsubChannels},
				"shardchannels": {Name: "shardchannels", Arity: -2, Flags: ps | ld | st, Categories: keyspace.CatPubSub | keyspace.CatSlow, Group: g, Summary: "Returns the active shard channels.", Since: "7.0.0", Handler: cmdPubsubChannels},
				"numsub":        {Name: "numsub", Arity: -2, Flags: ps | ld | st, Categories: keyspace.CatPubSub | keyspace.CatSlow, Group: g, Summary: "Returns a count of subscribers to channels.", Since: "2.8.0", Handler: cmdPubsubNumsub},
				"shardnumsub":   {Name: "shardnumsub", Arity: -2, Flags: ps | ld | st, Categories: keyspace.CatPubSub | keyspace.CatSlow, Group: g, Summary: "Returns the count of subscribers of shard channels.", Since: "7.0.0", Handler: cmdPubsubNumsub},
				"numpat":        {Name: "numpat", Arity: 2, Flags: ps | ld | st, Categories: keyspace.CatPubSub | keyspace.CatSlow, Group: g, Summary: "Returns a count of unique pattern subscriptions.", Since: "2.8.0", Handler: cmdPubsubNumpat},
				"help":          {Name: "help", Arity: 2, Flags: ld | st, Categories: keyspace.CatSlow, Group: g, Summary: "Returns helpful text about the different subcommands.", Since: "6.2.0", Handler: cmdPubsubHelp},
			}},
	)
	isPubSub = func(c *conn) bool { return c.sub != nil && c.sub.total() > 0 }
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
		return " sub=" + itoa(len(c.sub.channels)) + " psub=" + itoa(len(c.sub.patterns)) + " ssub=" + itoa(len(c.sub.shard))
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
		if cmd.Parent == nil {
			return false, 0
		}
	}
	c.w.Error("ERR Can't execute '" + cmd.FullName() + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
	return true, 0
}

// subscriber returns c's pub/sub state, starting its writer goroutine on first use.
func (c *conn) subscriber() *subState {
	if c.sub == nil {
		c.sub = &subState{channels: map[string]bool{}, patterns: map[string]bool{}, shard: map[string]bool{},
			wake: make(chan struct{}, 1), done: make(chan struct{})}
		go c.sub.writer(c)
	}
	return c.sub
}

// writer drains the outbox to the socket until the subscriber is stopped or the peer is gone.
func (s *subState) writer(c *conn) {
	defer close(s.done)
	var buf []byte
	for {
		<-s.wake
		s.mu.Lock()
		buf, s.out = s.out, buf[:0]
		s.inflight = len(buf)
		closed := s.closed
		s.mu.Unlock()
		if len(buf) > 0 {
			n, err := c.nc.Write(buf)
			c.s.stats.netOutput.Add(int64(n))
			if err != nil {
				s.mu.Lock()
				s.closed, s.out, s.inflight = true, nil, 0
				s.mu.Unlock()
				c.nc.Close()
				return
			}
			if cap(buf) > 1<<20 {
				buf = nil // give back the memory of a burst
			}
		}
		s.mu.Lock()
		s.inflight = 0
		s.mu.Unlock()
		if closed {
			return
		}
	}
}

// enqueue adds bytes to the outbox; it reports false (and disconnects the client) when the client is gone or
// its pending output breaks the output buffer limit of its class.
func (s *subState) enqueue(c *conn, p []byte) bool {
	class, name := c.s.outbufLimits().normal, "normal"
	if s.subscribed.Load() {
		class, name = c.s.outbufLimits().pubsub, "pubsub"
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	pending := int64(len(s.out) + s.inflight + len(p))
	if class.overLimit(pending, &s.softSince) {
		s.closed, s.out = true, nil
		s.mu.Unlock()
		c.closeForOutbuf(name, pending)
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

// stop ends the writer once it has written what is queued (or failed to).
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

// subKind selects one of the three subscription spaces.
type subKind uint8

const (
	subChannel subKind = iota
	subPattern
	subShard
)

func kindOf(name string) subKind {
	switch name {
	case "psubscribe", "punsubscribe":
		return subPattern
	case "ssubscribe", "sunsubscribe", "spublish", "shardchannels", "shardnumsub":
		return subShard
	}
	return subChannel
}

// mine returns c's subscriptions of kind k.
func (st *subState) mine(k subKind) map[string]bool {
	switch k {
	case subPattern:
		return st.patterns
	case subShard:
		return st.shard
	}
	return st.channels
}

// registry returns the server's subscribers of kind k (keyspace lock held).
func (s *Server) registry(k subKind) *map[string]map[*conn]bool {
	switch k {
	case subPattern:
		return &s.patterns
	case subShard:
		return &s.shardChannels
	}
	return &s.channels
}

// replyCount is the count a (un)subscribe confirmation reports: shard subscriptions are counted apart.
func (st *subState) replyCount(k subKind) int {
	if st == nil {
		return 0
	}
	if k == subShard {
		return len(st.shard)
	}
	return st.count()
}

func cmdSubscribe(x *keyspace.Ctx) {
	c := connOf(x)
	if x.InMulti {
		x.Error("ERR Command not allowed inside a transaction")
		return
	}
	k := kindOf(x.Cmd.Name)
	sub := c.subscriber()
	mine := sub.mine(k)
	reg := c.s.registry(k)
	for _, a := range x.Args[1:] {
		name := string(a)
		if !mine[name] {
			mine[name] = true
			if *reg == nil {
				*reg = map[string]map[*conn]bool{}
			}
			if (*reg)[name] == nil {
				(*reg)[name] = map[*conn]bool{}
			}
			(*reg)[name][c] = true
		}
		x.W.Push(3)
		x.W.BulkString(x.Cmd.Name)
		x.W.Bulk(a)
		x.W.Int(int64(sub.replyCount(k)))
	}
	sub.subscribed.Store(sub.total() > 0)
}

func cmdUnsubscribe(x *keyspace.Ctx) {
	c := connOf(x)
	k := kindOf(x.Cmd.Name)
	sub := c.sub
	var names []string
	if len(x.Args) > 1 {
		for _, a := range x.Args[1:] {
			names = append(names, string(a))
		}
	} else if sub != nil {
		for n := range sub.mine(k) {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	if len(names) == 0 {
		x.W.Push(3)
		x.W.BulkString(x.Cmd.Name)
		x.W.Null()
		x.W.Int(int64(sub.replyCount(k)))
		return
	}
	for _, n := range names {
		if sub != nil && sub.mine(k)[n] {
			delete(sub.mine(k), n)
			c.s.dropSubscriber(k, n, c)
		}
		x.W.Push(3)
		x.W.BulkString(x.Cmd.Name)
		x.W.BulkString(n)
		x.W.Int(int64(sub.replyCount(k)))
	}
	if sub != nil {
		sub.subscribed.Store(sub.total() > 0)
	}
}

func (s *Server) dropSubscriber(k subKind, name string, c *conn) {
	m := *s.registry(k)
	if set := m[name]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(m, name)
		}
	}
}

// unsubscribeAll drops every subscription of c (keyspace lock held).
func (s *Server) unsubscribeAll(c *conn) {
	if c.sub == nil {
		return
	}
	for _, k := range []subKind{subChannel, subPattern, subShard} {
		for n := range c.sub.mine(k) {
			s.dropSubscriber(k, n, c)
		}
	}
	c.sub.channels, c.sub.patterns, c.sub.shard = map[string]bool{}, map[string]bool{}, map[string]bool{}
	c.sub.subscribed.Store(false)
}

func cmdPublish(x *keyspace.Ctx) {
	s := connOf(x).s
	if x.Cmd.Name == "spublish" {
		x.W.Int(int64(s.publish(s.shardChannels, x.Args[1], x.Args[2], false)))
		return
	}
	x.W.Int(int64(s.publish(s.channels, x.Args[1], x.Args[2], true)))
	if s.cl != nil {
		s.forwardPublish(x.Args[1], x.Args[2]) // Redis's cluster bus broadcasts it to every node
	}
}

// publish delivers a message to the subscribers of channel in reg (and, with patterns, to the subscribers
// of matching patterns); it returns how many received it. Called with the keyspace lock held.
func (s *Server) publish(reg map[string]map[*conn]bool, channel, msg []byte, patterns bool) int {
	n := 0
	kind := "message"
	if !patterns {
		kind = "smessage"
	}
	w := &s.pubW
	for c := range reg[string(channel)] {
		w.Buf, w.Proto = w.Buf[:0], c.w.Proto
		w.Push(3)
		w.BulkString(kind)
		w.Bulk(channel)
		w.Bulk(msg)
		if c.sub.enqueue(c, w.Buf) {
			n++
		}
	}
	if !patterns {
		return n
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
	if len(x.Args) > 3 {
		x.Error("ERR unknown subcommand or wrong number of arguments for '" + x.Cmd.Name + "'. Try PUBSUB HELP.")
		return
	}
	var pat []byte
	if len(x.Args) == 3 {
		pat = x.Args[2]
	}
	var out []string
	for ch := range *s.registry(kindOf(x.Cmd.Name)) {
		if pat == nil || keyspace.Match(pat, []byte(ch), false) {
			out = append(out, ch)
		}
	}
	sort.Strings(out)
	x.W.Array(len(out))
	for _, ch := range out {
		x.W.BulkString(ch)
	}
}

func cmdPubsubNumsub(x *keyspace.Ctx) {
	reg := *connOf(x).s.registry(kindOf(x.Cmd.Name))
	x.W.Array(2 * (len(x.Args) - 2))
	for _, ch := range x.Args[2:] {
		x.W.Bulk(ch)
		x.W.Int(int64(len(reg[string(ch)])))
	}
}

func cmdPubsubNumpat(x *keyspace.Ctx) { x.W.Int(int64(len(connOf(x).s.patterns))) }

func cmdPubsubHelp(x *keyspace.Ctx) {
	writeHelp(x, "PUBSUB",
		"CHANNELS [<pattern>]",
		"    Return the currently active channels matching a <pattern> (default: '*').",
		"NUMPAT",
		"    Return number of subscriptions to patterns.",
		"NUMSUB [<channel> ...]",
		"    Return the number of subscribers for the specified channels, excluding",
		"    pattern subscriptions(default: no channels).",
		"SHARDCHANNELS [<pattern>]",
		"    Return the currently active shard level channels matching a <pattern> (default: '*').",
		"SHARDNUMSUB [<shardchannel> ...]",
		"    Return the number of subscribers for the specified shard level channel(s)")
}

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

// pubsubCounts returns the numbers of channels, patterns and shard channels with subscribers (keyspace
// lock held).
func (s *Server) pubsubCounts() (channels, patterns, shard int) {
	return len(s.channels), len(s.patterns), len(s.shardChannels)
}
