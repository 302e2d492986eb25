package keyspace

import (
	"math"
	"strconv"
)

var (
	argLPOP  = []byte("LPOP")
	argRPOP  = []byte("RPOP")
	argLMOVE = []byte("LMOVE")
	argLEFT  = []byte("LEFT")
	argRIGHT = []byte("RIGHT")
)

// cmdPush serves LPUSH, RPUSH, LPUSHX and RPUSHX.
func cmdPush(c *Ctx) {
	name := c.Cmd.Name
	key := c.Args[1]
	l, o, wrong := c.listOf(key, true)
	if wrong {
		return
	}
	if l == nil {
		if name == "lpushx" || name == "rpushx" {
			c.W.Int(0)
			return
		}
		l = &List{}
		o = NewValue(TypeList, l)
		c.Set(key, o, false)
	}
	left := name[0] == 'l'
	for _, v := range c.Args[2:] {
		if left {
			l.PushFront(string(v))
		} else {
			l.PushBack(string(v))
		}
	}
	c.Modified(key, o)
	if left {
		c.Notify('l', "lpush", key)
	} else {
		c.Notify('l', "rpush", key)
	}
	c.Propagate()
	c.W.Int(int64(l.n))
}

// popped notifies and logs the removal of n elements from an end of key's list, and deletes the key
// when the list is empty. The effect is "LPOP key" for a single pop without count, else "LPOP key n".
func (c *Ctx) popped(key []byte, l *List, o *Object, left bool, n int, withCount bool) {
	c.Modified(key, o)
	cmd := argRPOP
	if left {
		c.Notify('l', "lpop", key)
		cmd = argLPOP
	} else {
		c.Notify('l', "rpop", key)
	}
	if l.n == 0 {
		c.Delete(key)
		c.Notify('g', "del", key)
	}
	if withCount {
		c.Emit(cmd, key, strconv.AppendInt(nil, int64(n), 10))
	} else {
		c.Emit(cmd, key)
	}
}

// popRange pops up to count elements from an end of key's list (which is not empty), writing them as an
// array, and returns how many it popped.
func (c *Ctx) popRange(key []byte, l *List, o *Object, left bool, count int64) int {
	n := int(min(count, int64(l.n)))
	c.W.Array(n)
	for i := 0; i < n; i++ {
		if left {
			c.W.BulkString(l.PopFront())
		} else {
			c.W.BulkString(l.PopBack())
		}
	}
	c.popped(key, l, o, left, n, true)
	return n
}

// cmdPop serves LPOP and RPOP, with or without a count.
func cmdPop(c *Ctx) {
	if len(c.Args) > 3 {
		c.ArityError()
		return
	}
	hasCount := len(c.Args) == 3
	var count int64
	if hasCount {
		n, err := ParseInt(c.Args[2])
		if err != nil || n < 0 {
			c.Error(ErrNotIntPositive)
			return
		}
		count = n
	}
	key := c.Args[1]
	l, o, wrong := c.listOf(key, true)
	if wrong {
		return
	}
	if l == nil {
		if hasCount {
			c.W.NullArray()
		} else {
			c.W.Null()
		}
		return
	}
	left := c.Cmd.Name == "lpop"
	switch {
	case !hasCount:
		if left {
			c.W.BulkString(l.PopFront())
		} else {
			c.W.BulkString(l.PopBack())
		}
		c.popped(key, l, o, left, 1, false)
	case count == 0:
		c.W.Array(0)
	default:
		c.popRange(key, l, o, left, count)
	}
}

func cmdLLen(c *Ctx) {
	l, _, wrong := c.listOf(c.Args[1], false)
	if wrong {
		return
	}
	if l == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(l.n))
}

// listRange normalizes a Redis start/end pair for a list of n elements; ok=false for an empty range.
func listRange(start, end int64, n int) (int, int, bool) {
	if start < 0 {
		start += int64(n)
	}
	if end < 0 {
		end += int64(n)
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= int64(n) {
		return 0, 0, false
	}
	if end >= int64(n) {
		end = int64(n) - 1
	}
	return int(start), int(end), true
}

func cmdLRange(c *Ctx) {
	start, ok := c.ParseInt(c.Args[2])
	if !ok {
		return
	}
	end, ok := c.ParseInt(c.Args[3])
	if !ok {
		return
	}
	l, _, wrong := c.listOf(c.Args[1], false)
	if wrong {
		return
	}
	if l == nil {
		c.W.Array(0)
		return
	}
	s, e, ok := listRange(start, end, l.n)
	if !ok {
		c.W.Array(0)
		return
	}
	c.W.Array(e - s + 1)
	for i := s; i <= e; i++ {
		c.W.BulkString(l.At(i))
	}
}

// listIndex resolves a possibly negative index; ok=false when out of range.
func listIndex(idx int64, n int) (int, bool) {
	if idx < 0 {
		idx += int64(n)
	}
	if idx < 0 || idx >= int64(n) {
		return 0, false
	}
	return int(idx), true
}

func cmdLIndex(c *Ctx) {
	l, _, wrong := c.listOf(c.Args[1], false)
	if wrong {
		return
	}
	if l == nil {
		c.W.Null()
		return
	}
	idx, ok := c.ParseInt(c.Args[2])
	if !ok {
		return
	}
	i, ok := listIndex(idx, l.n)
	if !ok {
		c.W.Null()
		return
	}
	c.W.BulkString(l.At(i))
}

func cmdLSet(c *Ctx) {
	key := c.Args[1]
	l, o, wrong := c.listOf(key, true)
	if wrong {
		return
	}
	if l == nil {
		c.Error(ErrNoSuchKey)
		return
	}
	idx, ok := c.ParseInt(c.Args[2])
	if !ok {
		return
	}
	i, ok := listIndex(idx, l.n)
	if !ok {
		c.Error(ErrIndexRange)
		return
	}
	l.set(i, string(c.Args[3]))
	c.Modified(key, o)
	c.Notify('l', "lset", key)
	c.Propagate()
	c.OK()
}

func cmdLRem(c *Ctx) {
	count, ok := c.ParseInt(c.Args[2])
	if !ok {
		return
	}
	key := c.Args[1]
	l, o, wrong := c.listOf(key, true)
	if wrong {
		return
	}
	if l == nil {
		c.W.Int(0)
		return
	}
	limit := count
	if count < 0 {
		limit = -count // -MinInt64 stays negative: no limit can be reached, as in Redis
		if limit < 0 {
			limit = 0
		}
	}
	removed := l.removeMatching(c.Args[3], limit, count < 0)
	if removed > 0 {
		c.Modified(key, o)
		c.Notify('l', "lrem", key)
		if l.n == 0 {
			c.Delete(key)
			c.Notify('g', "del", key)
		}
		c.Propagate()
	}
	c.W.Int(removed)
}

func cmdLTrim(c *Ctx) {
	start, ok := c.ParseInt(c.Args[2])
	if !ok {
		return
	}
	end, ok := c.ParseInt(c.Args[3])
	if !ok {
		return
	}
	key := c.Args[1]
	l, o, wrong := c.listOf(key, true)
	if wrong {
		return
	}
	if l == nil {
		c.OK()
		return
	}
	if s, e, ok := listRange(start, end, l.n); ok {
		l.trim(s, l.n-1-e)
	} else {
		l.trim(l.n, 0)
	}
	c.Modified(key, o)
	c.Notify('l', "ltrim", key)
	if l.n == 0 {
		c.Delete(key)
		c.Notify('g', "del", key)
	}
	c.Propagate()
	c.OK()
}

func cmdLInsert(c *Ctx) {
	var after bool
	switch {
	case EqualFold(c.Args[2], "after"):
		after = true
	case EqualFold(c.Args[2], "before"):
	default:
		c.Error(ErrSyntax)
		return
	}
	key := c.Args[1]
	l, o, wrong := c.listOf(key, true)
	if wrong {
		return
	}
	if l == nil {
		c.W.Int(0)
		return
	}
	pivot := c.Args[3]
	for i := 0; i < l.n; i++ {
		if l.At(i) != string(pivot) {
			continue
		}
		if after {
			i++
		}
		l.insert(i, string(c.Args[4]))
		c.Modified(key, o)
		c.Notify('l', "linsert", key)
		c.Propagate()
		c.W.Int(int64(l.n))
		return
	}
	c.W.Int(-1)
}

// parsePositive parses a non-negative option value (Redis's getPositiveLongFromObjectOrReply with a
// message: the message answers both a non-integer and a negative value).
func (c *Ctx) parsePositive(b []byte, msg string) (int64, bool) {
	n, err := ParseInt(b)
	if err != nil || n < 0 {
		c.Error(msg)
		return 0, false
	}
	return n, true
}

func cmdLPos(c *Ctx) {
	rank, count, maxlen := int64(1), int64(-1), int64(0)
	for i := 3; i < len(c.Args); i++ {
		more := i+1 < len(c.Args)
		var ok bool
		switch {
		case EqualFold(c.Args[i], "rank") && more:
			i++
			if rank, ok = c.parseRangeCount(c.Args[i]); !ok {
				return
			}
			if rank == 0 {
				c.Error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
				return
			}
		case EqualFold(c.Args[i], "count") && more:
			i++
			if count, ok = c.parsePositive(c.Args[i], "ERR COUNT can't be negative"); !ok {
				return
			}
		case EqualFold(c.Args[i], "maxlen") && more:
			i++
			if maxlen, ok = c.parsePositive(c.Args[i], "ERR MAXLEN can't be negative"); !ok {
				return
			}
		default:
			c.Error(ErrSyntax)
			return
		}
	}
	l, _, wrong := c.listOf(c.Args[1], false)
	if wrong {
		return
	}
	if l == nil {
		if count >= 0 {
			c.W.Array(0)
		} else {
			c.W.Null()
		}
		return
	}
	fromTail := rank < 0
	skip := rank - 1
	if fromTail {
		skip = -rank - 1
	}
	want := count
	if count <= 0 {
		want = math.MaxInt64 // COUNT 0: every match; no COUNT: the first (stopped below)
	}
	var matches []int64
	for k := 0; k < l.n && (maxlen == 0 || int64(k) < maxlen); k++ {
		i := k
		if fromTail {
			i = l.n - 1 - k
		}
		if l.At(i) != string(c.Args[2]) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		matches = append(matches, int64(i))
		if count < 0 || int64(len(matches)) >= want {
			break
		}
	}
	if count < 0 {
		if len(matches) == 0 {
			c.W.Null()
		} else {
			c.W.Int(matches[0])
		}
		return
	}
	c.W.Array(len(matches))
	for _, m := range matches {
		c.W.Int(m)
	}
}

// parseWhere parses LEFT or RIGHT (anything else is a syntax error).
func (c *Ctx) parseWhere(b []byte) (left, ok bool) {
	switch {
	case EqualFold(b, "left"):
		return true, true
	case EqualFold(b, "right"):
		return false, true
	}
	c.Error(ErrSyntax)
	return false, false
}

// cmdLMove serves LMOVE, RPOPLPUSH, BLMOVE and BRPOPLPUSH. All four are logged as LMOVE, which is
// deterministic; the blocking forms block only when the source list is missing.
func cmdLMove(c *Ctx) {
	name := c.Cmd.Name
	srcLeft, dstLeft := false, true
	blocking := name == "blmove" || name == "brpoplpush"
	timeoutArg := 3
	if name == "lmove" || name == "blmove" {
		var ok bool
		if srcLeft, ok = c.parseWhere(c.Args[3]); !ok {
			return
		}
		if dstLeft, ok = c.parseWhere(c.Args[4]); !ok {
			return
		}
		timeoutArg = 5
	}
	var timeout int64
	if blocking {
		var ok bool
		if timeout, ok = c.parseTimeout(c.Args[timeoutArg]); !ok {
			return
		}
	}
	src, dst := c.Args[1], c.Args[2]
	l, o, wrong := c.listOf(src, true)
	if wrong {
		return
	}
	if l == nil {
		if blocking && !c.InMulti {
			c.Block = &BlockRequest{Keys: [][]byte{src}, TimeoutMS: timeout, NullArrayOnTimeout: true}
			return
		}
		c.W.Null()
		return
	}
	dl, do, wrong := c.listOf(dst, true)
	if wrong {
		return
	}
	var v string
	if srcLeft {
		v = l.PopFront()
	} else {
		v = l.PopBack()
	}
	if dl == nil {
		dl = &List{}
		do = NewValue(TypeList, dl)
		c.Set(dst, do, false)
	}
	// Redis's order of events: the push to the destination, then the pop from the source.
	if dstLeft {
		dl.PushFront(v)
		c.Notify('l', "lpush", dst)
	} else {
		dl.PushBack(v)
		c.Notify('l', "rpush", dst)
	}
	c.Modified(dst, do)
	c.Modified(src, o)
	if srcLeft {
		c.Notify('l', "lpop", src)
	} else {
		c.Notify('l', "rpop", src)
	}
	if l.n == 0 {
		c.Delete(src)
		c.Notify('g', "del", src)
	}
	side := func(left bool) []byte {
		if left {
			return argLEFT
		}
		return argRIGHT
	}
	c.Emit(argLMOVE, src, dst, side(srcLeft), side(dstLeft))
	c.W.BulkString(v)
}

// cmdBPop serves BLPOP and BRPOP: the first non-empty list among the keys is popped, logged as LPOP or
// RPOP; when all are empty the client blocks (inside MULTI it gets the timeout reply at once).
func cmdBPop(c *Ctx) {
	timeout, ok := c.parseTimeout(c.Args[len(c.Args)-1])
	if !ok {
		return
	}
	keys := c.Args[1 : len(c.Args)-1]
	left := c.Cmd.Name == "blpop"
	for _, k := range keys {
		l, o, wrong := c.listOf(k, true)
		if wrong {
			return
		}
		if l == nil {
			continue
		}
		c.W.Array(2)
		c.W.Bulk(k)
		if left {
			c.W.BulkString(l.PopFront())
		} else {
			c.W.BulkString(l.PopBack())
		}
		c.popped(k, l, o, left, 1, false)
		return
	}
	if c.InMulti {
		c.W.NullArray()
		return
	}
	c.Block = &BlockRequest{Keys: keys, TimeoutMS: timeout, NullArrayOnTimeout: true}
}

// cmdLMPop serves LMPOP and BLMPOP. Arguments are checked in Redis's order: numkeys, the direction, COUNT,
// then (BLMPOP) the timeout.
func cmdLMPop(c *Ctx) {
	blocking := c.Cmd.Name == "blmpop"
	i := 1
	if blocking {
		i = 2
	}
	n, err := ParseInt(c.Args[i])
	if err != nil || n <= 0 {
		c.Error("ERR numkeys should be greater than 0")
		return
	}
	if n > int64(len(c.Args)-i-2) {
		c.Error(ErrSyntax)
		return
	}
	keys := c.Args[i+1 : i+1+int(n)]
	rest := c.Args[i+1+int(n):]
	left, ok := c.parseWhere(rest[0])
	if !ok {
		return
	}
	count := int64(-1)
	for j := 1; j < len(rest); j++ {
		if count != -1 || !EqualFold(rest[j], "count") || j+1 >= len(rest) {
			c.Error(ErrSyntax)
			return
		}
		j++
		v, err := ParseInt(rest[j])
		if err != nil || v <= 0 {
			c.Error("ERR count should be greater than 0")
			return
		}
		count = v
	}
	if count == -1 {
		count = 1
	}
	var timeout int64
	if blocking {
		if timeout, ok = c.parseTimeout(c.Args[1]); !ok {
			return
		}
	}
	for _, k := range keys {
		l, o, wrong := c.listOf(k, true)
		if wrong {
			return
		}
		if l == nil {
			continue
		}
		c.W.Array(2)
		c.W.Bulk(k)
		c.popRange(k, l, o, left, count)
		return
	}
	if blocking && !c.InMulti {
		c.Block = &BlockRequest{Keys: keys, TimeoutMS: timeout, NullArrayOnTimeout: true}
		return
	}
	c.W.NullArray()
}
