package keyspace

import (
	"math"
	"strconv"
)

func init() {
	const w, r, d, f = FlagWrite, FlagReadonly, FlagDenyOOM, FlagFast
	z := CatSortedSet
	g := "sorted-set"
	k1 := func(c *Command) *Command {
		c.FirstKey, c.LastKey, c.Step, c.Categories, c.Group = 1, 1, 1, z, g
		return c
	}
	Register(
		k1(&Command{Name: "zadd", Arity: -4, Flags: w | d | f, Summary: "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", Since: "1.2.0", Handler: cmdZAdd}),
		k1(&Command{Name: "zincrby", Arity: 4, Flags: w | d | f, Summary: "Increments the score of a member in a sorted set.", Since: "1.2.0", Handler: cmdZAdd}),
		k1(&Command{Name: "zscore", Arity: 3, Flags: r | f, Summary: "Returns the score of a member in a sorted set.", Since: "1.2.0", Handler: cmdZScore}),
		k1(&Command{Name: "zmscore", Arity: -3, Flags: r | f, Summary: "Returns the score of one or more members in a sorted set.", Since: "6.2.0", Handler: cmdZMScore}),
		k1(&Command{Name: "zrank", Arity: -3, Flags: r | f, Summary: "Returns the index of a member in a sorted set ordered by ascending scores.", Since: "2.0.0", Handler: cmdZRank}),
		k1(&Command{Name: "zrevrank", Arity: -3, Flags: r | f, Summary: "Returns the index of a member in a sorted set ordered by descending scores.", Since: "2.2.0", Handler: cmdZRank}),
		k1(&Command{Name: "zcard", Arity: 2, Flags: r | f, Summary: "Returns the number of members in a sorted set.", Since: "1.2.0", Handler: cmdZCard}),
		k1(&Command{Name: "zcount", Arity: 4, Flags: r | f, Summary: "Returns the count of members in a sorted set that have scores within a range.", Since: "2.0.0", Handler: cmdZCount}),
		k1(&Command{Name: "zlexcount", Arity: 4, Flags: r | f, Summary: "Returns the number of members in a sorted set within a lexicographical range.", Since: "2.8.9", Handler: cmdZCount}),
		k1(&Command{Name: "zrem", Arity: -3, Flags: w | f, Summary: "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", Since: "1.2.0", Handler: cmdZRem}),
		k1(&Command{Name: "zremrangebyrank", Arity: 4, Flags: w, Summary: "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", Since: "2.0.0", Handler: cmdZRemRange}),
		k1(&Command{Name: "zremrangebyscore", Arity: 4, Flags: w, Summary: "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", Since: "1.2.0", Handler: cmdZRemRange}),
		k1(&Command{Name: "zremrangebylex", Arity: 4, Flags: w, Summary: "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", Since: "2.8.9", Handler: cmdZRemRange}),
		k1(&Command{Name: "zrange", Arity: -4, Flags: r, Summary: "Returns members in a sorted set within a range of indexes.", Since: "1.2.0", Handler: cmdZRange}),
		k1(&Command{Name: "zrevrange", Arity: -4, Flags: r, Summary: "Returns members in a sorted set within a range of indexes in reverse order.", Since: "1.2.0", Handler: cmdZRange}),
		k1(&Command{Name: "zrangebyscore", Arity: -4, Flags: r, Summary: "Returns members in a sorted set within a range of scores.", Since: "1.0.5", Handler: cmdZRange}),
		k1(&Command{Name: "zrevrangebyscore", Arity: -4, Flags: r, Summary: "Returns members in a sorted set within a range of scores in reverse order.", Since: "2.2.0", Handler: cmdZRange}),
		k1(&Command{Name: "zrangebylex", Arity: -4, Flags: r, Summary: "Returns members in a sorted set within a lexicographical range.", Since: "2.8.9", Handler: cmdZRange}),
		k1(&Command{Name: "zrevrangebylex", Arity: -4, Flags: r, Summary: "Returns members in a sorted set within a lexicographical range in reverse order.", Since: "2.8.9", Handler: cmdZRange}),
		&Command{Name: "zrangestore", Arity: -5, Flags: w | d, FirstKey: 1, LastKey: 2, Step: 1, Categories: z, Group: g, Summary: "Stores a range of members from sorted set in a key.", Since: "6.2.0", Handler: cmdZRange},
		k1(&Command{Name: "zrandmember", Arity: -2, Flags: r, Summary: "Returns one or more random members from a sorted set.", Since: "6.2.0", Handler: cmdZRandMember}),
		k1(&Command{Name: "zscan", Arity: -3, Flags: r, Summary: "Iterates over members and scores of a sorted set.", Since: "2.8.0", Handler: cmdZScan}),
	)
}

var (
	argZADD = []byte("ZADD")
	argZREM = []byte("ZREM")
)

// cmdZAdd implements ZADD and ZINCRBY (which Redis runs through the same code with INCR set, options
// parsing included).
func cmdZAdd(c *Ctx) {
	const (
		nx = 1 << iota
		xx
		gt
		lt
		incr
		ch
	)
	flags := 0
	if c.Cmd.Name == "zincrby" {
		flags = incr
	}
	i := 2
options:
	for ; i < len(c.Args); i++ {
		a := c.Args[i]
		switch {
		case EqualFold(a, "nx"):
			flags |= nx
		case EqualFold(a, "xx"):
			flags |= xx
		case EqualFold(a, "ch"):
			flags |= ch
		case EqualFold(a, "incr"):
			flags |= incr
		case EqualFold(a, "gt"):
			flags |= gt
		case EqualFold(a, "lt"):
			flags |= lt
		default:
			break options
		}
	}
	elements := len(c.Args) - i
	if elements == 0 || elements%2 != 0 {
		c.Error(ErrSyntax)
		return
	}
	elements /= 2
	if flags&nx != 0 && flags&xx != 0 {
		c.Error("ERR XX and NX options at the same time are not compatible")
		return
	}
	if flags&gt != 0 && flags&nx != 0 || flags&lt != 0 && flags&nx != 0 || flags&gt != 0 && flags&lt != 0 {
		c.Error("ERR GT, LT, and/or NX options at the same time are not compatible")
		return
	}
	if flags&incr != 0 && elements > 1 {
		c.Error("ERR INCR option supports a single increment-element pair")
		return
	}
	var scoreBuf [8]float64
	scores := scoreBuf[:0]
	for j := 0; j < elements; j++ {
		s, ok := zsetParseDouble(c.Args[i+2*j])
		if !ok {
			c.Error(ErrNotFloat)
			return
		}
		scores = append(scores, s)
	}
	key := c.Args[1]
	o, z, ok := c.zsetLookupWrite(key)
	if !ok {
		return
	}
	isIncr := flags&incr != 0
	created := false
	if o == nil {
		if flags&xx != 0 {
			if isIncr {
				c.W.Null()
			} else {
				c.W.Int(0)
			}
			return
		}
		z = NewZSet()
		o = NewValue(TypeZSet, z)
		created = true
	}
	added, updated, processed := 0, 0, 0
	var newScore float64
	nanErr := false
	for j := 0; j < elements; j++ {
		member := c.Args[i+1+2*j]
		score := scores[j]
		if n := z.hash.getBytes(member); n != nil {
			if flags&nx != 0 {
				continue
			}
			if isIncr {
				score += n.score
				if math.IsNaN(score) {
					nanErr = true
					break
				}
			}
			if flags&lt != 0 && score >= n.score || flags&gt != 0 && score <= n.score {
				continue
			}
			processed++
			newScore = score
			if score != n.score {
				z.setScore(n, score)
				updated++
			}
		} else if flags&xx == 0 {
			z.insert(string(member), score)
			added++
			processed++
			newScore = score
		}
	}
	if added+updated > 0 {
		if created {
			c.Set(key, o, false)
		} else {
			c.Modified(key, o)
		}
		if isIncr {
			c.Notify('z', "zincr", key)
			c.Emit(argZADD, key, zsetFormatScore(newScore), c.Args[i+1])
		} else {
			c.Notify('z', "zadd", key)
			c.Propagate()
		}
	}
	switch {
	case nanErr:
		c.Error(errZNaN)
	case isIncr && processed > 0:
		c.zsetReplyScore(newScore)
	case isIncr:
		c.W.Null()
	case flags&ch != 0:
		c.W.Int(int64(added + updated))
	default:
		c.W.Int(int64(added))
	}
}

func cmdZScore(c *Ctx) {
	z, ok := c.zsetLookup(c.Args[1])
	if !ok {
		return
	}
	if z != nil {
		if n := z.hash.getBytes(c.Args[2]); n != nil {
			c.zsetReplyScore(n.score)
			return
		}
	}
	c.W.Null()
}

func cmdZMScore(c *Ctx) {
	z, ok := c.zsetLookup(c.Args[1])
	if !ok {
		return
	}
	c.W.Array(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		if z != nil {
			if n := z.hash.getBytes(m); n != nil {
				c.zsetReplyScore(n.score)
				continue
			}
		}
		c.W.Null()
	}
}

// cmdZRank implements ZRANK and ZREVRANK, with Redis 7.2's WITHSCORE.
func cmdZRank(c *Ctx) {
	withScore := false
	if len(c.Args) > 4 {
		c.ArityError()
		return
	}
	if len(c.Args) == 4 {
		if !EqualFold(c.Args[3], "withscore") {
			c.Error(ErrSyntax)
			return
		}
		withScore = true
	}
	z, ok := c.zsetLookup(c.Args[1])
	if !ok {
		return
	}
	var n *zentry
	if z != nil {
		n = z.hash.getBytes(c.Args[2])
	}
	if n == nil {
		if withScore {
			c.W.NullArray()
		} else {
			c.W.Null()
		}
		return
	}
	r, _ := z.tree.rank(&zitem{n.score, n.member})
	rank := int64(r)
	if c.Cmd.Name == "zrevrank" {
		rank = int64(z.Len()) - 1 - rank
	}
	if withScore {
		c.W.Array(2)
		c.W.Int(rank)
		c.zsetReplyScore(n.score)
		return
	}
	c.W.Int(rank)
}

func cmdZCard(c *Ctx) {
	z, ok := c.zsetLookup(c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(z.Len()))
}

// cmdZCount implements ZCOUNT and ZLEXCOUNT from the ranks of the first and last member in range.
func cmdZCount(c *Ctx) {
	var rng zslRange
	if c.Cmd.Name == "zcount" {
		r, ok := zsetParseScoreRange(c.Args[2], c.Args[3])
		if !ok {
			c.Error(errZMinMaxFloat)
			return
		}
		rng = &r
	} else {
		r, ok := zsetParseLexRange(c.Args[2], c.Args[3])
		if !ok {
			c.Error(errZMinMaxLex)
			return
		}
		rng = &r
	}
	z, ok := c.zsetLookup(c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(z.countInRange(rng)))
}

func cmdZRem(c *Ctx) {
	key := c.Args[1]
	o, z, ok := c.zsetLookupWrite(key)
	if !ok {
		return
	}
	if o == nil {
		c.W.Int(0)
		return
	}
	deleted := 0
	for _, m := range c.Args[2:] {
		if n := z.hash.getBytes(m); n != nil {
			z.remove(n.member)
			deleted++
			if z.Len() == 0 {
				break
			}
		}
	}
	if deleted > 0 {
		c.Notify('z', "zrem", key)
		c.zsetAfterRemove(key, o, z)
		c.Propagate()
	}
	c.W.Int(int64(deleted))
}

// cmdZRemRange implements ZREMRANGEBYRANK, ZREMRANGEBYSCORE and ZREMRANGEBYLEX.
func cmdZRemRange(c *Ctx) {
	key := c.Args[1]
	name := c.Cmd.Name
	var start, end int64
	var rng zslRange
	switch name {
	case "zremrangebyrank":
		var ok bool
		if start, ok = c.ParseInt(c.Args[2]); !ok {
			return
		}
		if end, ok = c.ParseInt(c.Args[3]); !ok {
			return
		}
	case "zremrangebyscore":
		r, ok := zsetParseScoreRange(c.Args[2], c.Args[3])
		if !ok {
			c.Error(errZMinMaxFloat)
			return
		}
		rng = &r
	default:
		r, ok := zsetParseLexRange(c.Args[2], c.Args[3])
		if !ok {
			c.Error(errZMinMaxLex)
			return
		}
		rng = &r
	}
	o, z, ok := c.zsetLookupWrite(key)
	if !ok {
		return
	}
	if o == nil {
		c.W.Int(0)
		return
	}
	var deleted int
	if rng == nil {
		llen := int64(z.Len())
		if start < 0 {
			start += llen
		}
		if end < 0 {
			end += llen
		}
		if start < 0 {
			start = 0
		}
		if start > end || start >= llen {
			c.W.Int(0)
			return
		}
		if end >= llen {
			end = llen - 1
		}
		deleted = z.deleteRankRange(int(start), int(end))
	} else {
		deleted = z.deleteInRange(rng)
	}
	if deleted > 0 {
		c.Notify('z', name, key)
		c.zsetAfterRemove(key, o, z)
		c.Propagate()
	}
	c.W.Int(int64(deleted))
}

// zrange kinds and directions (Redis's zrange_type / zrange_direction; "auto" means ZRANGE decides from
// its options).
const (
	zrangeAuto = iota
	zrangeRank
	zrangeScore
	zrangeLex
)

// cmdZRange implements ZRANGE, ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX and
// ZRANGESTORE (Redis's zrangeGenericCommand).
func cmdZRange(c *Ctx) {
	kind, rev, dirAuto, store := zrangeAuto, false, false, false
	argStart := 1
	switch c.Cmd.Name {
	case "zrange":
		dirAuto = true
	case "zrangestore":
		dirAuto, store, argStart = true, true, 2
	case "zrevrange":
		kind, rev = zrangeRank, true
	case "zrangebyscore":
		kind = zrangeScore
	case "zrevrangebyscore":
		kind, rev = zrangeScore, true
	case "zrangebylex":
		kind = zrangeLex
	case "zrevrangebylex":
		kind, rev = zrangeLex, true
	}
	minIdx, maxIdx := argStart+1, argStart+2
	withScores := false
	var offset, limit int64 = 0, -1
	for j := argStart + 3; j < len(c.Args); j++ {
		a := c.Args[j]
		left := len(c.Args) - j - 1
		switch {
		case !store && EqualFold(a, "withscores"):
			withScores = true
		case EqualFold(a, "limit") && left >= 2:
			var ok bool
			if offset, ok = c.ParseInt(c.Args[j+1]); !ok {
				return
			}
			if limit, ok = c.ParseInt(c.Args[j+2]); !ok {
				return
			}
			j += 2
		case dirAuto && EqualFold(a, "rev"):
			rev, dirAuto = true, false
		case kind == zrangeAuto && EqualFold(a, "bylex"):
			kind = zrangeLex
		case kind == zrangeAuto && EqualFold(a, "byscore"):
			kind = zrangeScore
		default:
			c.Error(ErrSyntax)
			return
		}
	}
	if kind == zrangeAuto {
		kind = zrangeRank
	}
	if limit != -1 && kind == zrangeRank {
		c.Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
		return
	}
	if withScores && kind == zrangeLex {
		c.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
		return
	}
	if rev && kind != zrangeRank {
		minIdx, maxIdx = maxIdx, minIdx
	}
	var start, end int64
	var rng zslRange
	switch kind {
	case zrangeRank:
		var ok bool
		if start, ok = c.ParseInt(c.Args[minIdx]); !ok {
			return
		}
		if end, ok = c.ParseInt(c.Args[maxIdx]); !ok {
			return
		}
	case zrangeScore:
		r, ok := zsetParseScoreRange(c.Args[minIdx], c.Args[maxIdx])
		if !ok {
			c.Error(errZMinMaxFloat)
			return
		}
		rng = &r
	case zrangeLex:
		r, ok := zsetParseLexRange(c.Args[minIdx], c.Args[maxIdx])
		if !ok {
			c.Error(errZMinMaxLex)
			return
		}
		rng = &r
	}
	z, ok := c.zsetLookup(c.Args[argStart])
	if !ok {
		return
	}
	var nodes []zitem
	if z != nil {
		if kind == zrangeRank {
			nodes = z.rankRange(start, end, rev)
		} else {
			nodes = z.intervalRange(rng, offset, limit, rev)
		}
	}
	if store {
		c.zsetStore(c.Args[1], nodes, "zrangestore")
		return
	}
	if z == nil {
		c.W.Array(0)
		return
	}
	c.zsetReplyItems(nodes, withScores)
}

// rankRange returns the members of ranks start..end (Redis's index rules: negative from the end, clamped).
func (z *ZSet) rankRange(start, end int64, rev bool) []zitem {
	llen := int64(z.Len())
	if start < 0 {
		start += llen
	}
	if end < 0 {
		end += llen
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= llen {
		return nil
	}
	if end >= llen {
		end = llen - 1
	}
	if rev {
		return z.collect(z.tree.at(int(llen-1-start)), true, end-start+1, nil)
	}
	return z.collect(z.tree.at(int(start)), false, end-start+1, nil)
}

// intervalRange returns the members in a score or lex interval, skipping offset and returning at most limit
// (negative = all), as Redis's genericZrangebyscoreCommand: a negative offset skips everything.
func (z *ZSet) intervalRange(rng zslRange, offset, limit int64, rev bool) []zitem {
	if offset < 0 || (offset > 0 && offset >= int64(z.Len())) {
		return nil
	}
	if rev {
		p, rank := z.lastInRange(rng)
		if p.ok() && offset > 0 {
			p = z.tree.at(rank - int(offset))
		}
		return z.collect(p, true, limit, rng.gteMin)
	}
	p, rank := z.firstInRange(rng)
	if p.ok() && offset > 0 {
		p = z.tree.at(rank + int(offset))
	}
	return z.collect(p, false, limit, rng.lteMax)
}

// zsetStore replaces dst with a sorted set of nodes (deleting dst when there are none), replying with the
// resulting cardinality as the *STORE commands do.
func (c *Ctx) zsetStore(dst []byte, nodes []zitem, event string) {
	if len(nodes) == 0 {
		if c.Delete(dst) {
			c.Notify('g', "del", dst)
			c.Propagate()
		}
		c.W.Int(0)
		return
	}
	z := NewZSet()
	z.skiplist = true // built whole, then encoded by its final size
	for _, n := range nodes {
		z.insert(n.member, n.score)
	}
	z.setStoreEncoding()
	c.Set(dst, NewValue(TypeZSet, z), false)
	c.Notify('z', event, dst)
	c.Propagate()
	c.W.Int(int64(z.Len()))
}

func cmdZScan(c *Ctx) {
	cursor, err := strconv.ParseUint(string(c.Args[2]), 10, 64)
	if err != nil {
		c.Error("ERR invalid cursor")
		return
	}
	pat, count, ok := c.ScanOptions(3)
	if !ok {
		return
	}
	z, ok := c.zsetLookup(c.Args[1])
	if !ok {
		return
	}
	var nodes []zitem
	if z != nil {
		if !z.skiplist {
			// A small set is returned whole in one call, as Redis does for listpack encodings.
			z.each(func(it *zitem) bool { nodes = append(nodes, *it); return true })
			cursor = 0
		} else {
			maxIter := count * 10
			for {
				cursor = z.hash.scan(cursor, func(e *zentry) { nodes = append(nodes, zitem{e.score, e.member}) })
				maxIter--
				if cursor == 0 || maxIter <= 0 || len(nodes) >= count {
					break
				}
			}
		}
	} else {
		cursor = 0
	}
	out := nodes[:0]
	for _, n := range nodes {
		if pat == nil || Match(pat, []byte(n.member), false) {
			out = append(out, n)
		}
	}
	c.W.Array(2)
	c.W.BulkString(strconv.FormatUint(cursor, 10))
	c.W.Array(2 * len(out))
	for _, n := range out {
		c.W.BulkString(n.member)
		c.W.Bulk(zsetAppendScore(nil, n.score))
	}
}

func cmdZRandMember(c *Ctx) {
	if len(c.Args) == 2 {
		z, ok := c.zsetLookup(c.Args[1])
		if !ok {
			return
		}
		if z == nil {
			c.W.Null()
			return
		}
		c.W.BulkString(z.tree.at(c.KS.Rand().IntN(z.Len())).item().member)
		return
	}
	l, err := ParseInt(c.Args[2])
	if err != nil {
		c.Error(ErrNotInt)
		return
	}
	if l == math.MinInt64 {
		c.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return
	}
	withScores := false
	if len(c.Args) > 4 || len(c.Args) == 4 && !EqualFold(c.Args[3], "withscores") {
		c.Error(ErrSyntax)
		return
	}
	if len(c.Args) == 4 {
		withScores = true
		if l < -math.MaxInt64/2 || l > math.MaxInt64/2 {
			c.Error("ERR value is out of range")
			return
		}
	}
	z, ok := c.zsetLookup(c.Args[1])
	if !ok {
		return
	}
	if z == nil || l == 0 {
		c.W.Array(0)
		return
	}
	size := int64(z.Len())
	rnd := c.KS.Rand()
	var nodes []zitem
	switch {
	case l < 0 || l == 1:
		// A negative count: that many picks, repetitions allowed (and a count of 1 is one pick).
		cnt := max(l, -l)
		nodes = make([]zitem, 0, min(cnt, 1<<16))
		for i := int64(0); i < cnt; i++ {
			nodes = append(nodes, *z.tree.at(rnd.IntN(int(size))).item())
		}
	case l >= size:
		// The whole set, from the highest score down, as Redis's CASE 2 (its set iterator runs backwards).
		nodes = z.collect(z.tree.lastPos(), true, -1, nil)
	default:
		// Distinct members: a partial Fisher-Yates shuffle of ranks.
		picked := make(map[int]int, l)
		nodes = make([]zitem, 0, l)
		for i := 0; i < int(l); i++ {
			j := i + rnd.IntN(int(size)-i)
			vj, okj := picked[j]
			if !okj {
				vj = j
			}
			vi, oki := picked[i]
			if !oki {
				vi = i
			}
			picked[j] = vi
			nodes = append(nodes, *z.tree.at(vj).item())
		}
	}
	c.zsetReplyItems(nodes, withScores)
}
