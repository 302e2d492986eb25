package keyspace

import (
	"math"
	"strconv"
)

func init() {
	const r, w, b, mk = FlagReadonly, FlagWrite, FlagBlocking, FlagMovableKeys
	t := CatStream
	g := "stream"
	Register(
		&Command{Name: "xread", Arity: -4, Flags: r | b | mk, Categories: t, Group: g, Summary: "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.", Since: "5.0.0", Handler: cmdXRead, Keys: streamReadKeys},
		&Command{Name: "xreadgroup", Arity: -7, Flags: w | b | mk, Categories: t, Group: g, Summary: "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.", Since: "5.0.0", Handler: cmdXRead, Keys: streamReadKeys},
	)
}

// streamReadKeys finds the keys of XREAD/XREADGROUP: the first half of the arguments after STREAMS.
func streamReadKeys(args [][]byte) []int {
	for i := 1; i < len(args); i++ {
		if EqualFold(args[i], "streams") {
			n := (len(args) - i - 1) / 2
			out := make([]int, n)
			for j := range out {
				out[j] = i + 1 + j
			}
			return out
		}
	}
	return nil
}

var (
	argXCLAIM         = []byte("XCLAIM")
	argXGROUP         = []byte("XGROUP")
	argSETID          = []byte("SETID")
	argCREATECONSUMER = []byte("CREATECONSUMER")
	argENTRIESREAD    = []byte("ENTRIESREAD")
	argZero           = []byte("0")
	argTIME           = []byte("TIME")
	argRETRYCOUNT     = []byte("RETRYCOUNT")
	argFORCE          = []byte("FORCE")
	argJUSTID         = []byte("JUSTID")
	argLASTID         = []byte("LASTID")
)

// streamEmitClaim records a delivery as Redis propagates it: XCLAIM key group consumer 0 id TIME t
// RETRYCOUNT n FORCE JUSTID LASTID <group last ID>. Replaying it recreates the NACK exactly (or drops it
// when the entry is gone).
func (c *Ctx) streamEmitClaim(key, group []byte, g *streamGroup, n *streamNACK, id streamID) {
	if c.Effects == nil || c.Replay {
		return
	}
	consumer := ""
	if n.consumer != nil {
		consumer = n.consumer.name
	}
	c.Emit(argXCLAIM, key, group, []byte(consumer), argZero, id.appendTo(nil), argTIME,
		strconv.AppendInt(nil, n.deliveryTime, 10), argRETRYCOUNT, strconv.AppendInt(nil, n.deliveryCount, 10),
		argFORCE, argJUSTID, argLASTID, g.lastID.appendTo(nil))
}

// streamEmitSetID records a group's last ID and read counter: XGROUP SETID key group id ENTRIESREAD n.
func (c *Ctx) streamEmitSetID(key, group []byte, g *streamGroup) {
	if c.Effects == nil || c.Replay {
		return
	}
	c.Emit(argXGROUP, argSETID, key, group, g.lastID.appendTo(nil), argENTRIESREAD,
		strconv.AppendInt(nil, g.entriesRead, 10))
}

// streamTouched stamps a stream whose consumer group state a command changed (XREADGROUP, XCLAIM ...)
// for the durable engines, without waking WATCH or blocked clients — Redis does not signal these either.
func (c *Ctx) streamTouched(o *Object) {
	if c.KS.TrackLSN {
		o.LSN = c.KS.NextLSN
	}
	if c.KS.Written != nil {
		c.KS.Written(c.DB, o) // a tiering engine re-measures it
	}
	c.Dirty++
}

// streamConsumerFor returns the consumer name of group g, creating it (with its event and effect) when
// missing; created reports a creation.
func (c *Ctx) streamConsumerFor(key, group []byte, g *streamGroup, name []byte) (cons *streamConsumer, created bool) {
	if cons = g.consumers[string(name)]; cons != nil {
		return cons, false
	}
	cons = &streamConsumer{name: string(name), seenTime: c.Now, activeTime: -1, pel: newPEL()}
	g.consumers[cons.name] = cons
	c.Notify('t', "xgroup-createconsumer", key)
	if c.Effects != nil && !c.Replay {
		c.Emit(argXGROUP, argCREATECONSUMER, key, group, name)
	}
	return cons, true
}

// streamReadResult is what one stream contributes to an XREAD/XREADGROUP reply.
type streamReadResult struct {
	key     []byte
	entries []*streamEntry
	// ids are the IDs of history entries, aligned with entries: a nil entry no longer exists and is replied
	// as [id, nil].
	ids []streamID
}

// cmdXRead implements XREAD and XREADGROUP (Redis's xreadCommand).
func cmdXRead(c *Ctx) {
	isGroup := c.Cmd.Name == "xreadgroup"
	timeout := int64(-1)
	var count int64
	streamsArg := 0
	var groupName, consumerName []byte
	noack := false
parse:
	for i := 1; i < len(c.Args); i++ {
		more := len(c.Args) - i - 1
		o := c.Args[i]
		switch {
		case EqualFold(o, "block") && more > 0:
			i++
			n, err := ParseInt(c.Args[i])
			if err != nil {
				c.Error("ERR timeout is not an integer or out of range")
				return
			}
			if n < 0 {
				c.Error(errZTimeoutNeg)
				return
			}
			if n > 0 && n > math.MaxInt64-c.Now {
				c.Error(errZTimeoutRange)
				return
			}
			timeout = n
		case EqualFold(o, "count") && more > 0:
			i++
			n, err := ParseInt(c.Args[i])
			if err != nil {
				c.Error(ErrNotInt)
				return
			}
			count = max(n, 0)
		case EqualFold(o, "streams") && more > 0:
			streamsArg = i + 1
			if (len(c.Args)-streamsArg)%2 != 0 {
				c.Error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
				return
			}
			break parse
		case EqualFold(o, "group") && more >= 2:
			if !isGroup {
				c.Error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
				return
			}
			groupName, consumerName = c.Args[i+1], c.Args[i+2]
			i += 2
		case EqualFold(o, "noack"):
			if !isGroup {
				c.Error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
				return
			}
			noack = true
		default:
			c.Error(ErrSyntax)
			return
		}
	}
	if streamsArg == 0 {
		c.Error(ErrSyntax)
		return
	}
	if isGroup && groupName == nil {
		c.Error("ERR Missing GROUP option for XREADGROUP")
		return
	}
	n := (len(c.Args) - streamsArg) / 2
	keys := c.Args[streamsArg : streamsArg+n]
	ids := make([]streamID, n)
	groups := make([]*streamGroup, n)
	objs := make([]*Object, n)
	dollar := false
	for i, key := range keys {
		arg := c.Args[streamsArg+n+i]
		var s *Stream
		var o *Object
		if isGroup {
			o = c.LookupWrite(key)
		} else {
			o = c.Lookup(key)
		}
		objs[i] = o
		if o != nil {
			if o.Type != TypeStream {
				c.Error(ErrWrongType)
				return
			}
			s = o.Val().(*Stream)
		}
		if isGroup {
			if s != nil {
				groups[i] = s.groups[string(groupName)]
			}
			if groups[i] == nil {
				c.Error("NOGROUP No such key '" + string(key) + "' or consumer group '" + string(groupName) + "' in XREADGROUP with GROUP option")
				return
			}
		}
		switch string(arg) {
		case "$":
			if isGroup {
				c.Error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
				return
			}
			if s != nil {
				ids[i] = s.lastID
			}
			dollar = true
		case ">":
			if !isGroup {
				c.Error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
				return
			}
			ids[i] = streamMaxID
		default:
			id, ok := c.streamParseIDReply(arg, 0, true)
			if !ok {
				return
			}
			ids[i] = id
		}
	}

	var results []streamReadResult
	for i, key := range keys {
		o := objs[i]
		if o == nil {
			continue
		}
		s := o.Val().(*Stream)
		gt := ids[i]
		serve, history := false, false
		var cons *streamConsumer
		g := groups[i]
		if g != nil {
			if gt != streamMaxID {
				serve, history = true, true
			} else if s.length > 0 {
				if last := s.last(); last != nil && g.lastID.less(last.id) {
					serve = true
					gt = g.lastID
				}
			}
			var created bool
			cons, created = c.streamConsumerFor(key, groupName, g, consumerName)
			if created {
				c.streamTouched(o)
			}
			cons.seenTime = c.Now
		} else if s.length > 0 {
			if last := s.last(); last != nil && gt.less(last.id) {
				serve = true
			}
		}
		if !serve {
			continue
		}
		start, _ := gt.incr()
		res := streamReadResult{key: key}
		switch {
		case history:
			var changed bool
			res.entries, res.ids, changed = c.streamReadHistory(key, groupName, s, g, cons, start, count)
			if changed {
				c.streamTouched(o)
			}
		case g != nil:
			res.entries = c.streamDeliver(key, groupName, s, g, cons, start, count, noack)
			if len(res.entries) > 0 {
				c.streamTouched(o)
			}
		default:
			s.scan(start, streamMaxID, false, func(e *streamEntry) bool {
				res.entries = append(res.entries, e)
				return count == 0 || int64(len(res.entries)) < count
			})
		}
		results = append(results, res)
	}
	if len(results) > 0 {
		if c.W.Proto >= 3 {
			c.W.Map(len(results))
		} else {
			c.W.Array(len(results))
		}
		for _, res := range results {
			if c.W.Proto < 3 {
				c.W.Array(2)
			}
			c.W.Bulk(res.key)
			c.W.Array(len(res.entries))
			for j, e := range res.entries {
				if e != nil {
					c.streamReplyEntry(e)
					continue
				}
				c.W.Array(2)
				c.streamReplyID(res.ids[j])
				c.W.NullArray()
			}
		}
		return
	}
	if timeout == -1 || c.InMulti {
		c.W.NullArray()
		return
	}
	req := &BlockRequest{Keys: keys, TimeoutMS: timeout, NullArrayOnTimeout: true}
	if dollar {
		req.Args = make([][]byte, len(c.Args))
		for i, a := range c.Args {
			if i >= streamsArg+n && string(a) == "$" {
				req.Args[i] = ids[i-streamsArg-n].appendTo(nil)
			} else {
				req.Args[i] = Owned(a)
			}
		}
		req.Keys = req.Args[streamsArg : streamsArg+n]
	}
	c.Block = req
}

// streamDeliver serves new entries (after start) to a consumer, updating the group's last ID and read
// counter and, unless noack, the PELs — Redis's streamReplyWithRange with a group.
func (c *Ctx) streamDeliver(key, groupName []byte, s *Stream, g *streamGroup, cons *streamConsumer, start streamID, count int64, noack bool) []*streamEntry {
	var out []*streamEntry
	moved := false
	s.scan(start, streamMaxID, false, func(e *streamEntry) bool {
		if g.lastID.less(e.id) {
			if g.entriesRead != streamInvalidRead && !s.rangeHasTombstones(e.id) {
				g.entriesRead++
			} else if s.entriesAdded != 0 {
				g.entriesRead = s.estimateDistance(e.id)
			}
			g.lastID = e.id
			moved = true
		}
		out = append(out, e)
		if !noack {
			nk := g.nack(e.id)
			if nk == nil {
				nk = &streamNACK{id: e.id, consumer: cons, deliveryTime: c.Now, deliveryCount: 1}
				g.pel.Set(streamPELItem{e.id, nk})
				cons.pel.Set(streamPELItem{e.id, nk})
			} else {
				if nk.consumer != nil {
					nk.consumer.pel.Delete(streamPELItem{id: e.id})
				}
				nk.consumer, nk.deliveryTime, nk.deliveryCount = cons, c.Now, 1
				cons.pel.Set(streamPELItem{e.id, nk})
			}
			cons.activeTime = c.Now
			c.streamEmitClaim(key, groupName, g, nk, e.id)
		}
		return count == 0 || int64(len(out)) < count
	})
	if moved {
		c.streamEmitSetID(key, groupName, g)
	}
	return out
}

// streamReadHistory serves a consumer's own pending entries from start on (entries deleted since delivery
// come back as nil), counting a new delivery for each, as Redis's streamReplyWithRangeFromConsumerPEL. It
// returns the entries, their IDs, and whether a delivery was counted. Redis does not propagate these
// deliveries; kvlab records them as XCLAIM effects so that a replay keeps the delivery counters.
func (c *Ctx) streamReadHistory(key, groupName []byte, s *Stream, g *streamGroup, cons *streamConsumer, start streamID, count int64) ([]*streamEntry, []streamID, bool) {
	var entries []*streamEntry
	var ids []streamID
	var redelivered []*streamNACK
	cons.pel.Ascend(streamPELItem{id: start}, func(it streamPELItem) bool {
		if count > 0 && int64(len(entries)) >= count {
			return false
		}
		_, e := s.lookup(it.id)
		entries = append(entries, e)
		ids = append(ids, it.id)
		if e != nil {
			it.nack.deliveryTime = c.Now
			it.nack.deliveryCount++
			redelivered = append(redelivered, it.nack)
		}
		return true
	})
	for _, nk := range redelivered {
		c.streamEmitClaim(key, groupName, g, nk, nk.id)
	}
	return entries, ids, len(redelivered) > 0
}
