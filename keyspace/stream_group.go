package keyspace

import (
	"math"
	"strings"
)

func init() {
	const w, r, d, f, ld, st = FlagWrite, FlagReadonly, FlagDenyOOM, FlagFast, FlagLoading, FlagStale
	t := CatStream
	g := "stream"
	sub := func(name string, arity int, flags Flags, summary, since string, h func(*Ctx)) *Command {
		c := &Command{Name: name, Arity: arity, Flags: flags, FirstKey: 2, LastKey: 2, Step: 1, Categories: t, Group: g, Summary: summary, Since: since, Handler: h}
		if name == "help" {
			c.FirstKey, c.LastKey, c.Step = 0, 0, 0
		}
		return c
	}
	Register(
		&Command{Name: "xgroup", Arity: -2, Group: g, Summary: "A container for consumer groups commands.", Since: "5.0.0",
			Subcommands: map[string]*Command{
				"create":         sub("create", -5, w|d, "Creates a consumer group.", "5.0.0", cmdXGroup),
				"setid":          sub("setid", -5, w, "Sets the last-delivered ID of a consumer group.", "5.0.0", cmdXGroup),
				"destroy":        sub("destroy", 4, w, "Destroys a consumer group.", "5.0.0", cmdXGroup),
				"createconsumer": sub("createconsumer", 5, w|d, "Creates a consumer in a consumer group.", "6.2.0", cmdXGroup),
				"delconsumer":    sub("delconsumer", 5, w, "Deletes a consumer from a consumer group.", "5.0.0", cmdXGroup),
				"help":           sub("help", 2, ld|st, "Returns helpful text about the different subcommands.", "5.0.0", cmdXGroupHelp),
			}},
		&Command{Name: "xinfo", Arity: -2, Group: g, Summary: "A container for stream introspection commands.", Since: "5.0.0",
			Subcommands: map[string]*Command{
				"stream":    sub("stream", -3, r, "Returns information about a stream.", "5.0.0", cmdXInfo),
				"groups":    sub("groups", 3, r, "Returns a list of the consumer groups of a stream.", "5.0.0", cmdXInfo),
				"consumers": sub("consumers", 4, r, "Returns a list of the consumers in a consumer group.", "5.0.0", cmdXInfo),
				"help":      sub("help", 2, ld|st, "Returns helpful text about the different subcommands.", "5.0.0", cmdXInfoHelp),
			}},
		&Command{Name: "xack", Arity: -4, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: t, Group: g, Summary: "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.", Since: "5.0.0", Handler: cmdXAck},
		&Command{Name: "xpending", Arity: -3, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Categories: t, Group: g, Summary: "Returns the information and entries from a stream consumer group's pending entries list.", Since: "5.0.0", Handler: cmdXPending},
		&Command{Name: "xclaim", Arity: -6, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: t, Group: g, Summary: "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.", Since: "5.0.0", Handler: cmdXClaim},
		&Command{Name: "xautoclaim", Arity: -6, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: t, Group: g, Summary: "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.", Since: "6.2.0", Handler: cmdXAutoClaim},
	)
}

// streamHelp writes a HELP reply: the header, the lines, then HELP's own two lines, as simple strings.
func (c *Ctx) streamHelp(cmd string, lines []string) {
	c.W.Array(len(lines) + 3)
	c.W.Simple(cmd + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		c.W.Simple(l)
	}
	c.W.Simple("HELP")
	c.W.Simple("    Prints this help.")
}

func cmdXGroupHelp(c *Ctx) {
	c.streamHelp("XGROUP", []string{
		"CREATE <key> <groupname> <id|$> [option]",
		"    Create a new consumer group. Options are:",
		"    * MKSTREAM",
		"      Create the empty stream if it does not exist.",
		"    * ENTRIESREAD entries_read",
		"      Set the group's entries_read counter (internal use).",
		"CREATECONSUMER <key> <groupname> <consumer>",
		"    Create a new consumer in the specified group.",
		"DELCONSUMER <key> <groupname> <consumer>",
		"    Remove the specified consumer.",
		"DESTROY <key> <groupname>",
		"    Remove the specified group.",
		"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
		"    Set the current group ID and entries_read counter.",
	})
}

func cmdXInfoHelp(c *Ctx) {
	c.streamHelp("XINFO", []string{
		"CONSUMERS <key> <groupname>",
		"    Show consumers of <groupname>.",
		"GROUPS <key>",
		"    Show the stream consumer groups.",
		"STREAM <key> [FULL [COUNT <count>]",
		"    Show information about the stream.",
	})
}

// streamSubSyntaxError is Redis's addReplySubcommandSyntaxError.
func (c *Ctx) streamSubSyntaxError() {
	name := string(c.Args[1])
	if len(name) > 128 {
		name = name[:128]
	}
	c.Error("ERR unknown subcommand or wrong number of arguments for '" + name + "'. Try " + strings.ToUpper(string(c.Args[0])) + " HELP.")
}

func errNoGroupForKey(group, key []byte) string {
	return "NOGROUP No such consumer group '" + string(group) + "' for key name '" + string(key) + "'"
}

func errNoKeyOrGroup(key, group []byte) string {
	return "NOGROUP No such key '" + string(key) + "' or consumer group '" + string(group) + "'"
}

// cmdXGroup implements the XGROUP subcommands (Redis's xgroupCommand).
func cmdXGroup(c *Ctx) {
	sub := c.Cmd.Name
	mkstream := false
	entriesRead := int64(streamInvalidRead)
	for i := 5; i < len(c.Args); {
		switch {
		case sub == "create" && EqualFold(c.Args[i], "mkstream"):
			mkstream = true
			i++
		case (sub == "create" || sub == "setid") && EqualFold(c.Args[i], "entriesread") && i+1 < len(c.Args):
			n, err := ParseInt(c.Args[i+1])
			if err != nil {
				c.Error(ErrNotInt)
				return
			}
			if n < 0 && n != streamInvalidRead {
				c.Error("ERR value for ENTRIESREAD must be positive or -1")
				return
			}
			entriesRead = n
			i += 2
		default:
			c.streamSubSyntaxError()
			return
		}
	}
	key, groupName := c.Args[2], c.Args[3]
	o, s, ok := c.streamLookupWrite(key)
	if !ok {
		return
	}
	var g *streamGroup
	if !mkstream {
		if s == nil {
			c.Error("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
			return
		}
		if g = s.groups[string(groupName)]; g == nil && sub != "create" && sub != "destroy" {
			c.Error(errNoGroupForKey(groupName, key))
			return
		}
	}
	switch sub {
	case "create":
		if len(c.Args) > 8 {
			c.streamSubSyntaxError()
			return
		}
		var id streamID
		if string(c.Args[4]) == "$" {
			if s != nil {
				id = s.lastID
			}
		} else {
			if id, ok = c.streamParseIDReply(c.Args[4], 0, true); !ok {
				return
			}
		}
		if s == nil {
			s = NewStream()
			o = NewValue(TypeStream, s)
			c.Set(key, o, false)
		}
		if s.newGroup(string(groupName), id, entriesRead) == nil {
			c.Error("BUSYGROUP Consumer Group name already exists")
			return
		}
		c.Modified(key, o)
		c.Notify('t', "xgroup-create", key)
		c.streamEmitResolved(4, id)
		c.OK()
	case "setid":
		if len(c.Args) != 5 && len(c.Args) != 7 {
			c.streamSubSyntaxError()
			return
		}
		var id streamID
		if string(c.Args[4]) == "$" {
			id = s.lastID
		} else if id, ok = c.streamParseIDReply(c.Args[4], 0, false); !ok {
			return
		}
		g.lastID, g.entriesRead = id, entriesRead
		c.Modified(key, o)
		c.Notify('t', "xgroup-setid", key)
		c.streamEmitResolved(4, id)
		c.OK()
	case "destroy":
		if g == nil {
			c.W.Int(0)
			return
		}
		delete(s.groups, g.name)
		c.Modified(key, o)
		c.Notify('t', "xgroup-destroy", key)
		c.Propagate()
		c.W.Int(1)
	case "createconsumer":
		if g.consumers[string(c.Args[4])] != nil {
			c.W.Int(0)
			return
		}
		g.consumers[string(c.Args[4])] = &streamConsumer{name: string(c.Args[4]), seenTime: c.Now, activeTime: -1, pel: newPEL()}
		c.Modified(key, o)
		c.Notify('t', "xgroup-createconsumer", key)
		c.Propagate()
		c.W.Int(1)
	case "delconsumer":
		cons := g.consumers[string(c.Args[4])]
		if cons == nil {
			c.W.Int(0)
			return
		}
		pending := cons.pel.Len()
		cons.pel.Scan(func(it streamPELItem) bool {
			g.pel.Delete(it)
			return true
		})
		delete(g.consumers, cons.name)
		c.Modified(key, o)
		c.Notify('t', "xgroup-delconsumer", key)
		c.Propagate()
		c.W.Int(int64(pending))
	}
}

// streamEmitResolved records the command with argument i replaced by id ("$" made explicit).
func (c *Ctx) streamEmitResolved(i int, id streamID) {
	if c.Effects == nil || c.Replay {
		return
	}
	args := append([][]byte(nil), c.Args...)
	args[i] = id.appendTo(nil)
	c.Emit(args...)
}

func cmdXAck(c *Ctx) {
	key := c.Args[1]
	o, s, ok := c.streamLookupWrite(key)
	if !ok {
		return
	}
	var g *streamGroup
	if s != nil {
		g = s.groups[string(c.Args[2])]
	}
	if g == nil {
		c.W.Int(0)
		return
	}
	ids := make([]streamID, 0, len(c.Args)-3)
	for _, b := range c.Args[3:] {
		id, ok := c.streamParseIDReply(b, 0, true)
		if !ok {
			return
		}
		ids = append(ids, id)
	}
	acked := 0
	for _, id := range ids {
		if nk := g.nack(id); nk != nil {
			g.dropNACK(nk)
			acked++
		}
	}
	if acked > 0 {
		c.streamTouched(o)
		c.Propagate()
	}
	c.W.Int(int64(acked))
}

func cmdXPending(c *Ctx) {
	key, groupName := c.Args[1], c.Args[2]
	justInfo := len(c.Args) == 3
	if len(c.Args) != 3 && (len(c.Args) < 6 || len(c.Args) > 9) {
		c.Error(ErrSyntax)
		return
	}
	var start, end streamID
	var count, minIdle int64
	var consumerName []byte
	if len(c.Args) >= 6 {
		startIdx := 3
		if EqualFold(c.Args[3], "idle") {
			n, err := ParseInt(c.Args[4])
			if err != nil {
				c.Error(ErrNotInt)
				return
			}
			minIdle = n
			if len(c.Args) < 8 {
				c.Error(ErrSyntax)
				return
			}
			startIdx += 2
		}
		n, err := ParseInt(c.Args[startIdx+2])
		if err != nil {
			c.Error(ErrNotInt)
			return
		}
		count = max(n, 0)
		var ex, ok bool
		if start, ex, ok = c.streamParseInterval(c.Args[startIdx], 0); !ok {
			return
		}
		if ex {
			if start, ok = start.incr(); !ok {
				c.Error("ERR invalid start ID for the interval")
				return
			}
		}
		if end, ex, ok = c.streamParseInterval(c.Args[startIdx+1], math.MaxUint64); !ok {
			return
		}
		if ex {
			if end, ok = end.decr(); !ok {
				c.Error("ERR invalid end ID for the interval")
				return
			}
		}
		if startIdx+3 < len(c.Args) {
			consumerName = c.Args[startIdx+3]
		}
	}
	s, ok := c.streamLookup(key)
	if !ok {
		return
	}
	var g *streamGroup
	if s != nil {
		g = s.groups[string(groupName)]
	}
	if g == nil {
		c.Error(errNoKeyOrGroup(key, groupName))
		return
	}
	if justInfo {
		c.W.Array(4)
		c.W.Int(int64(g.pel.Len()))
		if g.pel.Len() == 0 {
			c.W.Null()
			c.W.Null()
			c.W.NullArray()
			return
		}
		first, _ := g.pel.Min()
		last, _ := g.pel.Max()
		c.streamReplyID(first.id)
		c.streamReplyID(last.id)
		var names []string
		for _, n := range g.consumerNames() {
			if g.consumers[n].pel.Len() > 0 {
				names = append(names, n)
			}
		}
		c.W.Array(len(names))
		for _, n := range names {
			c.W.Array(2)
			c.W.BulkString(n)
			c.W.BulkString(itoa(int64(g.consumers[n].pel.Len())))
		}
		return
	}
	pel := g.pel
	if consumerName != nil {
		cons := g.consumers[string(consumerName)]
		if cons == nil {
			c.W.Array(0)
			return
		}
		pel = cons.pel
	}
	var out []*streamNACK
	pel.Ascend(streamPELItem{id: start}, func(it streamPELItem) bool {
		if count == 0 || end.less(it.id) {
			return false
		}
		if minIdle != 0 && c.Now-it.nack.deliveryTime < minIdle {
			return true
		}
		out = append(out, it.nack)
		count--
		return true
	})
	c.W.Array(len(out))
	for _, nk := range out {
		c.W.Array(4)
		c.streamReplyID(nk.id)
		c.W.BulkString(nk.consumer.name)
		c.W.Int(max(c.Now-nk.deliveryTime, 0))
		c.W.Int(nk.deliveryCount)
	}
}

func itoa(n int64) string { return string(AppendInt(nil, n)) }

// streamClaimConsumer returns the claiming consumer of XCLAIM/XAUTOCLAIM, creating it (with its event and
// effect), and refreshes its seen time.
func (c *Ctx) streamClaimConsumer(key, groupName []byte, g *streamGroup, name []byte) (*streamConsumer, bool) {
	cons, created := c.streamConsumerFor(key, groupName, g, name)
	cons.seenTime = c.Now
	return cons, created
}

// streamTransfer gives nk to cons (Redis's claim bookkeeping shared by XCLAIM and XAUTOCLAIM).
func streamTransfer(g *streamGroup, nk *streamNACK, cons *streamConsumer) {
	if nk.consumer != cons {
		if nk.consumer != nil {
			nk.consumer.pel.Delete(streamPELItem{id: nk.id})
		}
		cons.pel.Set(streamPELItem{nk.id, nk})
		nk.consumer = cons
	}
}

// cmdXClaim implements XCLAIM (Redis's xclaimCommand).
func cmdXClaim(c *Ctx) {
	key, groupName := c.Args[1], c.Args[2]
	o, s, ok := c.streamLookupWrite(key)
	if !ok {
		return
	}
	var g *streamGroup
	if s != nil {
		g = s.groups[string(groupName)]
	}
	if g == nil {
		c.Error(errNoKeyOrGroup(key, groupName))
		return
	}
	minIdle, err := ParseInt(c.Args[4])
	if err != nil {
		c.Error("ERR Invalid min-idle-time argument for XCLAIM")
		return
	}
	minIdle = max(minIdle, 0)
	var ids []streamID
	j := 5
	for ; j < len(c.Args); j++ {
		id, _, ok := streamParseID(c.Args[j], 0, true, false)
		if !ok {
			break
		}
		ids = append(ids, id)
	}
	now := c.Now
	deliveryTime, retryCount := int64(-1), int64(-1)
	force, justID := false, false
	var lastID streamID
	for ; j < len(c.Args); j++ {
		more := len(c.Args) - 1 - j
		opt := c.Args[j]
		switch {
		case EqualFold(opt, "force"):
			force = true
		case EqualFold(opt, "justid"):
			justID = true
		case EqualFold(opt, "idle") && more > 0:
			j++
			n, err := ParseInt(c.Args[j])
			if err != nil {
				c.Error("ERR Invalid IDLE option argument for XCLAIM")
				return
			}
			deliveryTime = now - n
		case EqualFold(opt, "time") && more > 0:
			j++
			n, err := ParseInt(c.Args[j])
			if err != nil {
				c.Error("ERR Invalid TIME option argument for XCLAIM")
				return
			}
			deliveryTime = n
		case EqualFold(opt, "retrycount") && more > 0:
			j++
			n, err := ParseInt(c.Args[j])
			if err != nil {
				c.Error("ERR Invalid RETRYCOUNT option argument for XCLAIM")
				return
			}
			retryCount = n
		case EqualFold(opt, "lastid") && more > 0:
			j++
			if lastID, ok = c.streamParseIDReply(c.Args[j], 0, true); !ok {
				return
			}
		default:
			c.Error("ERR Unrecognized XCLAIM option '" + string(opt) + "'")
			return
		}
	}
	propagateLastID := false
	if g.lastID.less(lastID) {
		g.lastID = lastID
		propagateLastID = true
	}
	if deliveryTime == -1 || deliveryTime < 0 || deliveryTime > now {
		deliveryTime = now
	}
	cons, changed := c.streamClaimConsumer(key, groupName, g, c.Args[3])
	var claimed []streamID
	var entries []*streamEntry
	for _, id := range ids {
		nk := g.nack(id)
		_, e := s.lookup(id)
		if e == nil {
			if nk != nil {
				c.streamEmitClaim(key, groupName, g, nk, id)
				propagateLastID = false
				g.dropNACK(nk)
				changed = true
			}
			continue
		}
		if force && nk == nil {
			nk = &streamNACK{id: id, deliveryTime: now, deliveryCount: 1}
			g.pel.Set(streamPELItem{id, nk})
		}
		if nk == nil {
			continue
		}
		if nk.consumer != nil && minIdle != 0 && now-nk.deliveryTime < minIdle {
			continue
		}
		if nk.consumer != cons {
			if nk.consumer != nil {
				nk.consumer.pel.Delete(streamPELItem{id: id})
			}
		}
		nk.deliveryTime = deliveryTime
		if retryCount >= 0 {
			nk.deliveryCount = retryCount
		} else if !justID {
			nk.deliveryCount++
		}
		if nk.consumer != cons {
			cons.pel.Set(streamPELItem{id, nk})
			nk.consumer = cons
		}
		claimed = append(claimed, id)
		entries = append(entries, e)
		cons.activeTime = now
		c.streamEmitClaim(key, groupName, g, nk, id)
		propagateLastID = false
		changed = true
	}
	if propagateLastID {
		c.streamEmitSetID(key, groupName, g)
		changed = true
	}
	if changed {
		c.streamTouched(o)
	}
	c.W.Array(len(claimed))
	for i, id := range claimed {
		if justID {
			c.streamReplyID(id)
		} else {
			c.streamReplyEntry(entries[i])
		}
	}
}

// cmdXAutoClaim implements XAUTOCLAIM (Redis's xautoclaimCommand).
func cmdXAutoClaim(c *Ctx) {
	key, groupName := c.Args[1], c.Args[2]
	minIdle, err := ParseInt(c.Args[4])
	if err != nil {
		c.Error("ERR Invalid min-idle-time argument for XAUTOCLAIM")
		return
	}
	minIdle = max(minIdle, 0)
	start, ex, ok := c.streamParseInterval(c.Args[5], 0)
	if !ok {
		return
	}
	if ex {
		if start, ok = start.incr(); !ok {
			c.Error("ERR invalid start ID for the interval")
			return
		}
	}
	count := int64(100)
	justID := false
	for j := 6; j < len(c.Args); j++ {
		more := len(c.Args) - 1 - j
		switch opt := c.Args[j]; {
		case EqualFold(opt, "count") && more > 0:
			n, err := ParseInt(c.Args[j+1])
			if err != nil || n < 1 || n > math.MaxInt64/16 {
				c.Error("ERR COUNT must be > 0")
				return
			}
			count = n
			j++
		case EqualFold(opt, "justid"):
			justID = true
		default:
			c.Error(ErrSyntax)
			return
		}
	}
	o, s, ok := c.streamLookupWrite(key)
	if !ok {
		return
	}
	var g *streamGroup
	if s != nil {
		g = s.groups[string(groupName)]
	}
	if g == nil {
		c.Error(errNoKeyOrGroup(key, groupName))
		return
	}
	cons, changed := c.streamClaimConsumer(key, groupName, g, c.Args[3])
	now := c.Now
	attempts := count * 10
	var claimed, deleted []streamID
	var entries []*streamEntry
	next := streamID{}
	cursor := start
	for {
		it, found := streamPELFirstFrom(g, cursor)
		if !found {
			break
		}
		if attempts == 0 || count == 0 {
			next = it.id
			break
		}
		attempts--
		nk := it.nack
		cursor, _ = it.id.incr()
		_, e := s.lookup(it.id)
		if e == nil {
			c.streamEmitClaim(key, groupName, g, nk, it.id)
			g.dropNACK(nk)
			deleted = append(deleted, it.id)
			count--
			continue
		}
		if minIdle != 0 && now-nk.deliveryTime < minIdle {
			continue
		}
		streamTransfer(g, nk, cons)
		nk.deliveryTime = now
		if !justID {
			nk.deliveryCount++
		}
		claimed = append(claimed, it.id)
		entries = append(entries, e)
		count--
		cons.activeTime = now
		c.streamEmitClaim(key, groupName, g, nk, it.id)
		if it.id == streamMaxID {
			break
		}
	}
	if changed || len(claimed) > 0 || len(deleted) > 0 {
		c.streamTouched(o)
	}
	c.W.Array(3)
	c.streamReplyID(next)
	c.W.Array(len(claimed))
	for i, id := range claimed {
		if justID {
			c.streamReplyID(id)
		} else {
			c.streamReplyEntry(entries[i])
		}
	}
	c.W.Array(len(deleted))
	for _, id := range deleted {
		c.streamReplyID(id)
	}
}

// streamPELFirstFrom returns the first PEL entry with ID >= from.
func streamPELFirstFrom(g *streamGroup, from streamID) (streamPELItem, bool) {
	var out streamPELItem
	found := false
	g.pel.Ascend(streamPELItem{id: from}, func(it streamPELItem) bool {
		out, found = it, true
		return false
	})
	return out, found
}

// cmdXInfo implements XINFO STREAM, GROUPS and CONSUMERS in Redis 7.2's form.
func cmdXInfo(c *Ctx) {
	key := c.Args[2]
	s, ok := c.streamLookup(key)
	if !ok {
		return
	}
	if s == nil {
		c.Error(ErrNoSuchKey)
		return
	}
	switch c.Cmd.Name {
	case "consumers":
		g := s.groups[string(c.Args[3])]
		if g == nil {
			c.Error(errNoGroupForKey(c.Args[3], key))
			return
		}
		names := g.consumerNames()
		c.W.Array(len(names))
		for _, n := range names {
			cons := g.consumers[n]
			inactive := int64(-1)
			if cons.activeTime != -1 {
				inactive = c.Now - cons.activeTime
			}
			c.W.Map(4)
			c.W.BulkString("name")
			c.W.BulkString(cons.name)
			c.W.BulkString("pending")
			c.W.Int(int64(cons.pel.Len()))
			c.W.BulkString("idle")
			c.W.Int(max(c.Now-cons.seenTime, 0))
			c.W.BulkString("inactive")
			c.W.Int(inactive)
		}
	case "groups":
		names := s.groupNames()
		c.W.Array(len(names))
		for _, n := range names {
			g := s.groups[n]
			c.W.Map(6)
			c.W.BulkString("name")
			c.W.BulkString(g.name)
			c.W.BulkString("consumers")
			c.W.Int(int64(len(g.consumers)))
			c.W.BulkString("pending")
			c.W.Int(int64(g.pel.Len()))
			c.W.BulkString("last-delivered-id")
			c.streamReplyID(g.lastID)
			c.W.BulkString("entries-read")
			c.streamReplyEntriesRead(g)
			c.W.BulkString("lag")
			c.streamReplyLag(s, g)
		}
	default:
		c.streamInfoStream(s)
	}
}

func (c *Ctx) streamReplyEntriesRead(g *streamGroup) {
	if g.entriesRead != streamInvalidRead {
		c.W.Int(g.entriesRead)
	} else {
		c.W.Null()
	}
}

func (c *Ctx) streamReplyLag(s *Stream, g *streamGroup) {
	if lag, ok := s.lag(g); ok {
		c.W.Int(lag)
	} else {
		c.W.Null()
	}
}

// streamInfoStream is XINFO STREAM key [FULL [COUNT n]].
func (c *Ctx) streamInfoStream(s *Stream) {
	full := false
	count := int64(10)
	opts := c.Args[3:]
	if len(opts) > 0 {
		if len(opts) != 1 && len(opts) != 3 || !EqualFold(opts[0], "full") {
			c.streamSubSyntaxError()
			return
		}
		full = true
		if len(opts) == 3 {
			if !EqualFold(opts[1], "count") {
				c.streamSubSyntaxError()
				return
			}
			n, err := ParseInt(opts[2])
			if err != nil {
				c.Error(ErrNotInt)
				return
			}
			if n < 0 {
				n = 10
			}
			count = n
		}
	}
	if full {
		c.W.Map(9)
	} else {
		c.W.Map(10)
	}
	c.W.BulkString("length")
	c.W.Int(int64(s.length))
	c.W.BulkString("radix-tree-keys")
	c.W.Int(int64(s.nodes.Len()))
	c.W.BulkString("radix-tree-nodes")
	c.W.Int(int64(s.radixTreeNodes()))
	c.W.BulkString("last-generated-id")
	c.streamReplyID(s.lastID)
	c.W.BulkString("max-deleted-entry-id")
	c.streamReplyID(s.maxDeletedID)
	c.W.BulkString("entries-added")
	c.W.Int(int64(s.entriesAdded))
	c.W.BulkString("recorded-first-entry-id")
	c.streamReplyID(s.firstID)
	if !full {
		c.W.BulkString("groups")
		c.W.Int(int64(len(s.groups)))
		c.W.BulkString("first-entry")
		if e := s.first(); e != nil {
			c.streamReplyEntry(e)
		} else {
			c.W.Null()
		}
		c.W.BulkString("last-entry")
		if e := s.last(); e != nil {
			c.streamReplyEntry(e)
		} else {
			c.W.Null()
		}
		return
	}
	c.W.BulkString("entries")
	var entries []*streamEntry
	s.scan(streamID{}, streamMaxID, false, func(e *streamEntry) bool {
		entries = append(entries, e)
		return count == 0 || int64(len(entries)) < count
	})
	c.W.Array(len(entries))
	for _, e := range entries {
		c.streamReplyEntry(e)
	}
	c.W.BulkString("groups")
	names := s.groupNames()
	c.W.Array(len(names))
	for _, n := range names {
		g := s.groups[n]
		c.W.Map(7)
		c.W.BulkString("name")
		c.W.BulkString(g.name)
		c.W.BulkString("last-delivered-id")
		c.streamReplyID(g.lastID)
		c.W.BulkString("entries-read")
		c.streamReplyEntriesRead(g)
		c.W.BulkString("lag")
		c.streamReplyLag(s, g)
		c.W.BulkString("pel-count")
		c.W.Int(int64(g.pel.Len()))
		c.W.BulkString("pending")
		var pel []*streamNACK
		g.pel.Scan(func(it streamPELItem) bool {
			pel = append(pel, it.nack)
			return count == 0 || int64(len(pel)) < count
		})
		c.W.Array(len(pel))
		for _, nk := range pel {
			c.W.Array(4)
			c.streamReplyID(nk.id)
			c.W.BulkString(nk.consumer.name)
			c.W.Int(nk.deliveryTime)
			c.W.Int(nk.deliveryCount)
		}
		c.W.BulkString("consumers")
		cnames := g.consumerNames()
		c.W.Array(len(cnames))
		for _, cn := range cnames {
			cons := g.consumers[cn]
			c.W.Map(5)
			c.W.BulkString("name")
			c.W.BulkString(cons.name)
			c.W.BulkString("seen-time")
			c.W.Int(cons.seenTime)
			c.W.BulkString("active-time")
			c.W.Int(cons.activeTime)
			c.W.BulkString("pel-count")
			c.W.Int(int64(cons.pel.Len()))
			c.W.BulkString("pending")
			var cpel []*streamNACK
			cons.pel.Scan(func(it streamPELItem) bool {
				cpel = append(cpel, it.nack)
				return count == 0 || int64(len(cpel)) < count
			})
			c.W.Array(len(cpel))
			for _, nk := range cpel {
				c.W.Array(3)
				c.streamReplyID(nk.id)
				c.W.Int(nk.deliveryTime)
				c.W.Int(nk.deliveryCount)
			}
		}
	}
}
