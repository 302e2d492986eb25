package keyspace

import (
	"math"
	"strconv"
)

func init() {
	const w, r, d, f = FlagWrite, FlagReadonly, FlagDenyOOM, FlagFast
	t := CatStream
	g := "stream"
	k1 := func(c *Command) *Command {
		c.FirstKey, c.LastKey, c.Step, c.Categories, c.Group = 1, 1, 1, t, g
		return c
	}
	Register(
		k1(&Command{Name: "xadd", Arity: -5, Flags: w | d | f, Summary: "Appends a new message to a stream. Creates the key if it doesn't exist.", Since: "5.0.0", Handler: cmdXAdd}),
		k1(&Command{Name: "xlen", Arity: 2, Flags: r | f, Summary: "Return the number of messages in a stream.", Since: "5.0.0", Handler: cmdXLen}),
		k1(&Command{Name: "xrange", Arity: -4, Flags: r, Summary: "Returns the messages from a stream within a range of IDs.", Since: "5.0.0", Handler: cmdXRange}),
		k1(&Command{Name: "xrevrange", Arity: -4, Flags: r, Summary: "Returns the messages from a stream within a range of IDs in reverse order.", Since: "5.0.0", Handler: cmdXRange}),
		k1(&Command{Name: "xdel", Arity: -3, Flags: w | f, Summary: "Returns the number of messages after removing them from a stream.", Since: "5.0.0", Handler: cmdXDel}),
		k1(&Command{Name: "xtrim", Arity: -4, Flags: w, Summary: "Deletes messages from the beginning of a stream.", Since: "5.0.0", Handler: cmdXTrim}),
		k1(&Command{Name: "xsetid", Arity: -3, Flags: w | d | f, Summary: "An internal command for replicating stream values.", Since: "5.0.0", Handler: cmdXSetID}),
	)
}

// Stream reply errors (Redis 7 wording).
const (
	errXInvalidID  = "ERR Invalid stream ID specified as stream command argument"
	errXIDTooSmall = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
)

var (
	argXADD   = []byte("XADD")
	argXTRIM  = []byte("XTRIM")
	argMAXLEN = []byte("MAXLEN")
	argMINID  = []byte("MINID")
	argEquals = []byte("=")
)

// streamParseULL parses an unsigned 64-bit number as Redis's string2ull: string2ll when it fits a
// non-negative int64, else strtoull (leading spaces, a sign, decimal digits to the end, no overflow).
func streamParseULL(s string) (uint64, bool) {
	if v, err := ParseInt([]byte(s)); err == nil {
		if v < 0 {
			return 0, false
		}
		return uint64(v), true
	}
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i == len(s) {
		return 0, false
	}
	var v uint64
	for ; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		if v > (math.MaxUint64-uint64(d))/10 {
			return 0, false
		}
		v = v*10 + uint64(d)
	}
	if neg {
		v = -v
	}
	return v, true
}

// streamParseID parses an ID as Redis's streamGenericParseIDOrReply: "<ms>-<seq>", "<ms>" (the sequence is
// missingSeq), "-" and "+" unless strict, and "<ms>-*" when autoSeqOK (autoSeq is then set).
func streamParseID(b []byte, missingSeq uint64, strict, autoSeqOK bool) (id streamID, autoSeq, ok bool) {
	if len(b) > 127 {
		return id, false, false
	}
	if len(b) == 1 && (b[0] == '-' || b[0] == '+') {
		if strict {
			return id, false, false
		}
		if b[0] == '-' {
			return streamID{}, false, true
		}
		return streamMaxID, false, true
	}
	s := string(b)
	dash := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			dash = i
			break
		}
	}
	msPart := s
	if dash >= 0 {
		msPart = s[:dash]
	}
	ms, ok := streamParseULL(msPart)
	if !ok {
		return id, false, false
	}
	seq := missingSeq
	if dash >= 0 {
		rest := s[dash+1:]
		if autoSeqOK && rest == "*" {
			return streamID{ms, 0}, true, true
		}
		if seq, ok = streamParseULL(rest); !ok {
			return id, false, false
		}
	}
	return streamID{ms, seq}, false, true
}

// streamParseIDReply is streamParseID replying the invalid-ID error.
func (c *Ctx) streamParseIDReply(b []byte, missingSeq uint64, strict bool) (streamID, bool) {
	id, _, ok := streamParseID(b, missingSeq, strict, false)
	if !ok {
		c.Error(errXInvalidID)
	}
	return id, ok
}

// streamParseInterval parses a range end: "(" makes it exclusive (and strict), as
// streamParseIntervalIDOrReply.
func (c *Ctx) streamParseInterval(b []byte, missingSeq uint64) (id streamID, ex, ok bool) {
	if len(b) > 1 && b[0] == '(' {
		id, ok = c.streamParseIDReply(b[1:], missingSeq, true)
		return id, true, ok
	}
	id, ok = c.streamParseIDReply(b, missingSeq, false)
	return id, false, ok
}

// streamLookup returns the stream at key for reading: (nil, true) when missing, (nil, false) after WRONGTYPE.
func (c *Ctx) streamLookup(key []byte) (*Stream, bool) {
	o := c.Lookup(key)
	if o == nil {
		return nil, true
	}
	if o.Type != TypeStream {
		c.Error(ErrWrongType)
		return nil, false
	}
	return o.Val().(*Stream), true
}

// streamLookupWrite is streamLookup for a command that may modify the stream.
func (c *Ctx) streamLookupWrite(key []byte) (*Object, *Stream, bool) {
	o := c.LookupWrite(key)
	if o == nil {
		return nil, nil, true
	}
	if o.Type != TypeStream {
		c.Error(ErrWrongType)
		return nil, nil, false
	}
	return o, o.Val().(*Stream), true
}

// streamReplyEntry writes [id, [field, value, ...]].
func (c *Ctx) streamReplyEntry(e *streamEntry) {
	c.W.Array(2)
	var tmp [44]byte
	c.W.Bulk(e.id.appendTo(tmp[:0]))
	c.W.Array(2 * int(e.pairs))
	e.each(func(b []byte) { c.W.Bulk(b) })
}

func (c *Ctx) streamReplyID(id streamID) {
	var tmp [44]byte
	c.W.Bulk(id.appendTo(tmp[:0]))
}

// streamAddArgs are the parsed options of XADD (and, without the ID part, XTRIM).
type streamAddArgs struct {
	trim       streamTrimArgs
	id         streamID
	idGiven    bool
	autoSeq    bool
	noMkStream bool
	idPos      int
}

// streamParseAddTrim parses XADD/XTRIM options as Redis's streamParseAddOrTrimArgsOrReply; on error it
// replies and returns false.
func (c *Ctx) streamParseAddTrim(xadd bool) (a streamAddArgs, ok bool) {
	limitGiven := false
	i := 2
loop:
	for ; i < len(c.Args); i++ {
		more := len(c.Args) - 1 - i
		opt := c.Args[i]
		switch {
		case xadd && len(opt) == 1 && opt[0] == '*':
			break loop
		case (EqualFold(opt, "maxlen") || EqualFold(opt, "minid")) && more > 0:
			if a.trim.strategy != 0 {
				c.Error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
				return a, false
			}
			a.trim.approx = false
			next := c.Args[i+1]
			if more >= 2 && len(next) == 1 && next[0] == '~' {
				a.trim.approx = true
				i++
			} else if more >= 2 && len(next) == 1 && next[0] == '=' {
				i++
			}
			if EqualFold(opt, "maxlen") {
				n, err := ParseInt(c.Args[i+1])
				if err != nil {
					c.Error(ErrNotInt)
					return a, false
				}
				if n < 0 {
					c.Error("ERR The MAXLEN argument must be >= 0.")
					return a, false
				}
				a.trim.maxLen = n
				a.trim.strategy = 1
			} else {
				id, ok := c.streamParseIDReply(c.Args[i+1], 0, true)
				if !ok {
					return a, false
				}
				a.trim.minID = id
				a.trim.strategy = 2
			}
			i++
			a.trim.argIdx = i
		case EqualFold(opt, "limit") && more > 0:
			n, err := ParseInt(c.Args[i+1])
			if err != nil {
				c.Error(ErrNotInt)
				return a, false
			}
			if n < 0 {
				c.Error("ERR The LIMIT argument must be >= 0.")
				return a, false
			}
			a.trim.limit = n
			limitGiven = true
			i++
		case xadd && EqualFold(opt, "nomkstream"):
			a.noMkStream = true
		case xadd:
			id, auto, ok := streamParseID(opt, 0, true, true)
			if !ok {
				c.Error(errXInvalidID)
				return a, false
			}
			a.id, a.autoSeq, a.idGiven = id, auto, true
			break loop
		default:
			c.Error(ErrSyntax)
			return a, false
		}
	}
	a.idPos = i
	if a.trim.limit != 0 && a.trim.strategy == 0 {
		c.Error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
		return a, false
	}
	if !xadd && a.trim.strategy == 0 {
		c.Error("ERR syntax error, XTRIM must be called with a trimming strategy")
		return a, false
	}
	switch {
	case c.Replay:
		a.trim.limit = 0
	case limitGiven && !a.trim.approx:
		c.Error("ERR syntax error, LIMIT cannot be used without the special ~ option")
		return a, false
	case !limitGiven && a.trim.approx:
		a.trim.limit = 100 * streamNodeMaxEntries
	case !limitGiven:
		a.trim.limit = 0
	}
	return a, true
}

// streamTrimEffect returns the MAXLEN/MINID part of an effect: the arguments as given for an exact trim,
// "= <resulting length>" or "= <first ID>" for an approximate one (as Redis rewrites them for replicas).
func (c *Ctx) streamTrimEffect(s *Stream, a *streamTrimArgs) [][]byte {
	kw := argMAXLEN
	if a.strategy == 2 {
		kw = argMINID
	}
	val := c.Args[a.argIdx]
	if a.approx {
		if a.strategy == 1 {
			val = strconv.AppendUint(nil, s.length, 10)
		} else {
			val = s.firstIncludingDeleted().appendTo(nil)
		}
	}
	return [][]byte{kw, argEquals, val}
}

func cmdXAdd(c *Ctx) {
	a, ok := c.streamParseAddTrim(true)
	if !ok {
		return
	}
	fieldPos := a.idPos + 1
	if len(c.Args)-fieldPos < 2 || (len(c.Args)-fieldPos)%2 == 1 {
		c.ArityError()
		return
	}
	if a.idGiven && !a.autoSeq && a.id.isZero() {
		c.Error("ERR The ID specified in XADD must be greater than 0-0")
		return
	}
	key := c.Args[1]
	o, s, ok := c.streamLookupWrite(key)
	if !ok {
		return
	}
	if o == nil {
		if a.noMkStream {
			c.W.Null()
			return
		}
		s = NewStream()
	}
	if s.lastID == streamMaxID {
		c.Error("ERR The stream has exhausted the last possible ID, unable to add more items")
		return
	}
	var id streamID
	switch {
	case !a.idGiven:
		if now := uint64(c.Now); now > s.lastID.ms {
			id = streamID{now, 0}
		} else {
			id, _ = s.lastID.incr()
		}
	case a.autoSeq:
		if s.lastID.ms == a.id.ms {
			if s.lastID.seq == math.MaxUint64 {
				c.Error(errXIDTooSmall)
				return
			}
			id = streamID{a.id.ms, s.lastID.seq + 1}
		} else {
			id = a.id
		}
	default:
		id = a.id
	}
	if !s.lastID.less(id) {
		c.Error(errXIDTooSmall)
		return
	}
	fv := c.Args[fieldPos:]
	total := 0
	for _, b := range fv {
		total += len(b)
	}
	if total > streamListpackMax {
		c.Error("ERR Elements are too large to be stored")
		return
	}
	s.appendEntry(id, fv)
	if o == nil {
		o = NewValue(TypeStream, s)
		c.Set(key, o, false)
	} else {
		c.Modified(key, o)
	}
	c.streamReplyID(id)
	c.Notify('t', "xadd", key)
	var trimEff [][]byte
	if a.trim.strategy != 0 {
		if s.trim(&a.trim) > 0 {
			c.Notify('t', "xtrim", key)
		}
		trimEff = c.streamTrimEffect(s, &a.trim)
	}
	if c.Effects != nil && !c.Replay {
		eff := make([][]byte, 0, 6+len(fv))
		eff = append(eff, argXADD, key)
		eff = append(eff, trimEff...)
		eff = append(eff, id.appendTo(nil))
		eff = append(eff, fv...)
		c.Emit(eff...)
	}
}

func cmdXLen(c *Ctx) {
	s, ok := c.streamLookup(c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(s.length))
}

// cmdXRange implements XRANGE and XREVRANGE.
func cmdXRange(c *Ctx) {
	rev := c.Cmd.Name == "xrevrange"
	startArg, endArg := c.Args[2], c.Args[3]
	if rev {
		startArg, endArg = endArg, startArg
	}
	start, ex, ok := c.streamParseInterval(startArg, 0)
	if !ok {
		return
	}
	if ex {
		if start, ok = start.incr(); !ok {
			c.Error("ERR invalid start ID for the interval")
			return
		}
	}
	end, ex, ok := c.streamParseInterval(endArg, math.MaxUint64)
	if !ok {
		return
	}
	if ex {
		if end, ok = end.decr(); !ok {
			c.Error("ERR invalid end ID for the interval")
			return
		}
	}
	count := int64(-1)
	for j := 4; j < len(c.Args); j++ {
		if EqualFold(c.Args[j], "count") && j+1 < len(c.Args) {
			n, err := ParseInt(c.Args[j+1])
			if err != nil {
				c.Error(ErrNotInt)
				return
			}
			count = max(n, 0)
			j++
			continue
		}
		c.Error(ErrSyntax)
		return
	}
	s, ok := c.streamLookup(c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		c.W.Array(0)
		return
	}
	if count == 0 {
		c.W.NullArray()
		return
	}
	var entries []*streamEntry
	s.scan(start, end, rev, func(e *streamEntry) bool {
		entries = append(entries, e)
		return count < 0 || int64(len(entries)) < count
	})
	c.W.Array(len(entries))
	for _, e := range entries {
		c.streamReplyEntry(e)
	}
}

func cmdXDel(c *Ctx) {
	key := c.Args[1]
	o, s, ok := c.streamLookupWrite(key)
	if !ok {
		return
	}
	if o == nil {
		c.W.Int(0)
		return
	}
	ids := make([]streamID, 0, len(c.Args)-2)
	for _, b := range c.Args[2:] {
		id, ok := c.streamParseIDReply(b, 0, true)
		if !ok {
			return
		}
		ids = append(ids, id)
	}
	deleted := 0
	firstEntry := false
	for _, id := range ids {
		if s.deleteEntry(id) {
			if id == s.firstID {
				firstEntry = true
			}
			if s.maxDeletedID.less(id) {
				s.maxDeletedID = id
			}
			deleted++
		}
	}
	if deleted > 0 {
		if s.length == 0 {
			s.firstID = streamID{}
		} else if firstEntry {
			s.firstID = s.first().id
		}
		c.Modified(key, o)
		c.Notify('t', "xdel", key)
		c.Propagate()
	}
	c.W.Int(int64(deleted))
}

func cmdXTrim(c *Ctx) {
	a, ok := c.streamParseAddTrim(false)
	if !ok {
		return
	}
	key := c.Args[1]
	o, s, ok := c.streamLookupWrite(key)
	if !ok {
		return
	}
	if o == nil {
		c.W.Int(0)
		return
	}
	deleted := s.trim(&a.trim)
	if deleted > 0 {
		c.Modified(key, o)
		c.Notify('t', "xtrim", key)
		if c.Effects != nil && !c.Replay {
			c.Emit(append([][]byte{argXTRIM, key}, c.streamTrimEffect(s, &a.trim)...)...)
		}
	}
	c.W.Int(deleted)
}

func cmdXSetID(c *Ctx) {
	id, ok := c.streamParseIDReply(c.Args[2], 0, true)
	if !ok {
		return
	}
	entriesAdded := int64(-1)
	var maxDel streamID
	for i := 3; i < len(c.Args); i += 2 {
		more := len(c.Args) - 1 - i
		switch opt := c.Args[i]; {
		case EqualFold(opt, "entriesadded") && more > 0:
			n, err := ParseInt(c.Args[i+1])
			if err != nil {
				c.Error(ErrNotInt)
				return
			}
			if n < 0 {
				c.Error("ERR entries_added must be positive")
				return
			}
			entriesAdded = n
		case EqualFold(opt, "maxdeletedid") && more > 0:
			if maxDel, ok = c.streamParseIDReply(c.Args[i+1], 0, true); !ok {
				return
			}
			if id.less(maxDel) {
				c.Error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
				return
			}
		default:
			c.Error(ErrSyntax)
			return
		}
	}
	key := c.Args[1]
	o, s, ok := c.streamLookupWrite(key)
	if !ok {
		return
	}
	if o == nil {
		c.Error(ErrNoSuchKey)
		return
	}
	if s.length > 0 {
		if id.less(s.last().id) {
			c.Error("ERR The ID specified in XSETID is smaller than the target stream top item")
			return
		}
		if entriesAdded != -1 && int64(s.length) > entriesAdded {
			c.Error("ERR The entries_added specified in XSETID is smaller than the target stream length")
			return
		}
	}
	s.lastID = id
	if entriesAdded != -1 {
		s.entriesAdded = uint64(entriesAdded)
	}
	if !maxDel.isZero() {
		s.maxDeletedID = maxDel
	}
	c.Modified(key, o)
	c.Notify('t', "xsetid", key)
	c.Propagate()
	c.OK()
}
