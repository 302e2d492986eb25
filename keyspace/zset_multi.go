package keyspace

import (
	"math"
	"sort"
)

func init() {
	const w, r, d, f, b, ns, mk = FlagWrite, FlagReadonly, FlagDenyOOM, FlagFast, FlagBlocking, FlagNoScript, FlagMovableKeys
	z := CatSortedSet
	g := "sorted-set"
	Register(
		&Command{Name: "zpopmin", Arity: -2, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: z, Group: g, Summary: "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", Since: "5.0.0", Handler: cmdZPop},
		&Command{Name: "zpopmax", Arity: -2, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: z, Group: g, Summary: "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", Since: "5.0.0", Handler: cmdZPop},
		&Command{Name: "bzpopmin", Arity: -3, Flags: w | ns | b | f, FirstKey: 1, LastKey: -2, Step: 1, Categories: z, Group: g, Summary: "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", Since: "5.0.0", Handler: cmdBZPop},
		&Command{Name: "bzpopmax", Arity: -3, Flags: w | ns | b | f, FirstKey: 1, LastKey: -2, Step: 1, Categories: z, Group: g, Summary: "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise. Deletes the sorted set if the last element was popped.", Since: "5.0.0", Handler: cmdBZPop},
		&Command{Name: "zmpop", Arity: -4, Flags: w | mk, Categories: z, Group: g, Summary: "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", Since: "7.0.0", Handler: cmdZMPop, Keys: zsetNumKeysAt(1)},
		&Command{Name: "bzmpop", Arity: -5, Flags: w | b | mk, Categories: z, Group: g, Summary: "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", Since: "7.0.0", Handler: cmdZMPop, Keys: zsetNumKeysAt(2)},
		&Command{Name: "zunionstore", Arity: -4, Flags: w | d | mk, FirstKey: 1, LastKey: 1, Step: 1, Categories: z, Group: g, Summary: "Stores the union of multiple sorted sets in a key.", Since: "2.0.0", Handler: cmdZSetOp, Keys: zsetStoreKeys},
		&Command{Name: "zinterstore", Arity: -4, Flags: w | d | mk, FirstKey: 1, LastKey: 1, Step: 1, Categories: z, Group: g, Summary: "Stores the intersect of multiple sorted sets in a key.", Since: "2.0.0", Handler: cmdZSetOp, Keys: zsetStoreKeys},
		&Command{Name: "zdiffstore", Arity: -4, Flags: w | d | mk, FirstKey: 1, LastKey: 1, Step: 1, Categories: z, Group: g, Summary: "Stores the difference of multiple sorted sets in a key.", Since: "6.2.0", Handler: cmdZSetOp, Keys: zsetStoreKeys},
		&Command{Name: "zunion", Arity: -3, Flags: r | mk, Categories: z, Group: g, Summary: "Returns the union of multiple sorted sets.", Since: "6.2.0", Handler: cmdZSetOp, Keys: zsetNumKeysAt(1)},
		&Command{Name: "zinter", Arity: -3, Flags: r | mk, Categories: z, Group: g, Summary: "Returns the intersect of multiple sorted sets.", Since: "6.2.0", Handler: cmdZSetOp, Keys: zsetNumKeysAt(1)},
		&Command{Name: "zdiff", Arity: -3, Flags: r | mk, Categories: z, Group: g, Summary: "Returns the difference between multiple sorted sets.", Since: "6.2.0", Handler: cmdZSetOp, Keys: zsetNumKeysAt(1)},
		&Command{Name: "zintercard", Arity: -3, Flags: r | mk, Categories: z, Group: g, Summary: "Returns the number of members of the intersect of multiple sorted sets.", Since: "7.0.0", Handler: cmdZSetOp, Keys: zsetNumKeysAt(1)},
	)
}

// zsetNumKeysAt returns a key finder for "numkeys key [key ...]" with numkeys at index i.
func zsetNumKeysAt(i int) func(args [][]byte) []int {
	return func(args [][]byte) []int {
		if i >= len(args) {
			return nil
		}
		n, err := ParseInt(args[i])
		if err != nil || n < 1 || n > int64(len(args)-i-1) {
			return nil
		}
		out := make([]int, n)
		for j := range out {
			out[j] = i + 1 + j
		}
		return out
	}
}

// zsetStoreKeys finds "destination numkeys key [key ...]".
func zsetStoreKeys(args [][]byte) []int {
	return append([]int{1}, zsetNumKeysAt(2)(args)...)
}

// zsetPop pops up to count members (from the top when max) and replies as the calling command's shape
// requires; it records the effect as ZREM of the popped members and notifies. emitKey prefixes the reply
// with the key (BZPOP*, *MPOP); nested writes [member, score] pairs.
func (c *Ctx) zsetPop(key []byte, o *Object, z *ZSet, count int64, max, emitKey, nested bool) {
	n := int(min(count, int64(z.Len())))
	switch {
	case !nested && !emitKey:
		c.W.Array(2 * n)
	case nested && !emitKey:
		c.W.Array(n)
	case !nested && emitKey:
		c.W.Array(2*n + 1)
		c.W.Bulk(key)
	default:
		c.W.Array(2)
		c.W.Bulk(key)
		c.W.Array(n)
	}
	var eff [][]byte
	record := c.Effects != nil && !c.Replay
	if record {
		eff = make([][]byte, 0, n+2)
		eff = append(eff, argZREM, key)
	}
	for i := 0; i < n; i++ {
		p := z.tree.firstPos()
		if max {
			p = z.tree.lastPos()
		}
		x := *p.item()
		z.remove(x.member)
		if nested {
			c.W.Array(2)
		}
		c.W.BulkString(x.member)
		c.zsetReplyScore(x.score)
		if record {
			eff = append(eff, []byte(x.member))
		}
	}
	event := "zpopmin"
	if max {
		event = "zpopmax"
	}
	c.Notify('z', event, key)
	c.zsetAfterRemove(key, o, z)
	if record {
		c.Emit(eff...)
	}
}

// cmdZPop implements ZPOPMIN and ZPOPMAX.
func cmdZPop(c *Ctx) {
	if len(c.Args) > 3 {
		c.Error(ErrSyntax)
		return
	}
	count := int64(-1)
	if len(c.Args) == 3 {
		n, err := ParseInt(c.Args[2])
		if err != nil || n < 0 {
			c.Error(ErrNotIntPositive)
			return
		}
		count = n
	}
	key := c.Args[1]
	o, z, ok := c.zsetLookupWrite(key)
	if !ok {
		return
	}
	if o == nil || count == 0 {
		c.W.Array(0)
		return
	}
	nested := c.W.Proto > 2 && count != -1
	if count == -1 {
		count = 1
	}
	c.zsetPop(key, o, z, count, c.Cmd.Name == "zpopmax", false, nested)
}

// cmdBZPop implements BZPOPMIN and BZPOPMAX: pop from the first non-empty key, else block (or, inside
// MULTI, reply as on timeout).
func cmdBZPop(c *Ctx) {
	timeout, ok := c.zsetParseTimeout(c.Args[len(c.Args)-1])
	if !ok {
		return
	}
	keys := c.Args[1 : len(c.Args)-1]
	max := c.Cmd.Name == "bzpopmax"
	if c.zsetPopFirst(keys, -1, max, false) {
		return
	}
	c.zsetBlock(keys, timeout)
}

// zsetPopFirst pops from the first existing key (count -1: one member, flat reply) and reports whether it
// replied (a pop or WRONGTYPE).
func (c *Ctx) zsetPopFirst(keys [][]byte, count int64, max, nested bool) bool {
	for _, key := range keys {
		o, z, ok := c.zsetLookupWrite(key)
		if !ok {
			return true
		}
		if o == nil || z.Len() == 0 {
			continue
		}
		if count == -1 {
			count = 1
		}
		c.zsetPop(key, o, z, count, max, true, nested)
		return true
	}
	return false
}

// zsetBlock asks the server to park the client on keys, or replies as on timeout inside MULTI.
func (c *Ctx) zsetBlock(keys [][]byte, timeout int64) {
	if c.InMulti {
		c.W.NullArray()
		return
	}
	c.Block = &BlockRequest{Keys: keys, TimeoutMS: timeout, NullArrayOnTimeout: true}
}

// cmdZMPop implements ZMPOP and BZMPOP.
func cmdZMPop(c *Ctx) {
	blocking := c.Cmd.Name == "bzmpop"
	numIdx := 1
	if blocking {
		numIdx = 2
	}
	const numErr = "ERR numkeys should be greater than 0"
	numkeys, err := ParseInt(c.Args[numIdx])
	if err != nil || numkeys < 1 {
		c.Error(numErr)
		return
	}
	whereIdx := int64(numIdx) + numkeys + 1
	if whereIdx >= int64(len(c.Args)) {
		c.Error(ErrSyntax)
		return
	}
	var max bool
	switch w := c.Args[whereIdx]; {
	case EqualFold(w, "min"):
	case EqualFold(w, "max"):
		max = true
	default:
		c.Error(ErrSyntax)
		return
	}
	count := int64(-1)
	for j := int(whereIdx) + 1; j < len(c.Args); j++ {
		if count == -1 && EqualFold(c.Args[j], "count") && j+1 < len(c.Args) {
			j++
			n, err := ParseInt(c.Args[j])
			if err != nil || n < 1 {
				c.Error("ERR count should be greater than 0")
				return
			}
			count = n
			continue
		}
		c.Error(ErrSyntax)
		return
	}
	if count == -1 {
		count = 1
	}
	keys := c.Args[numIdx+1 : whereIdx]
	var timeout int64
	if blocking {
		var ok bool
		if timeout, ok = c.zsetParseTimeout(c.Args[1]); !ok {
			return
		}
	}
	if c.zsetPopFirst(keys, count, max, true) {
		return
	}
	if blocking {
		c.zsetBlock(keys, timeout)
		return
	}
	c.W.NullArray()
}

// zsetSrc is one input of ZUNION/ZINTER/ZDIFF: a sorted set, a plain set (every score 1) or a missing key.
type zsetSrc struct {
	obj    *Object
	z      *ZSet
	set    *zsetPlainSet
	weight float64
}

func (s *zsetSrc) card() int {
	switch {
	case s.z != nil:
		return s.z.Len()
	case s.set != nil:
		return s.set.card()
	}
	return 0
}

func (s *zsetSrc) find(member string) (float64, bool) {
	switch {
	case s.z != nil:
		return s.z.Score(member)
	case s.set != nil:
		return 1, s.set.has(member)
	}
	return 0, false
}

func (s *zsetSrc) each(fn func(member string, score float64)) {
	switch {
	case s.z != nil:
		s.z.each(func(it *zitem) bool { fn(it.member, it.score); return true })
	case s.set != nil:
		s.set.each(func(m string) { fn(m, 1) })
	}
}

// zsetAggregate folds val into *target as Redis's zunionInterAggregate (a NaN sum counts as 0).
func zsetAggregate(target *float64, val float64, agg int) {
	switch agg {
	case 0:
		*target += val
		if math.IsNaN(*target) {
			*target = 0
		}
	case 1:
		if val < *target {
			*target = val
		}
	default:
		if val > *target {
			*target = val
		}
	}
}

// cmdZSetOp implements ZUNION, ZINTER, ZDIFF, their *STORE forms and ZINTERCARD (Redis's
// zunionInterDiffGenericCommand, including its input ordering, so float sums add up in the same order).
func cmdZSetOp(c *Ctx) {
	name := c.Cmd.Name
	var op int // 0 union, 1 inter, 2 diff
	switch name {
	case "zinter", "zinterstore", "zintercard":
		op = 1
	case "zdiff", "zdiffstore":
		op = 2
	}
	store := name == "zunionstore" || name == "zinterstore" || name == "zdiffstore"
	cardOnly := name == "zintercard"
	numIdx := 1
	if store {
		numIdx = 2
	}
	setnum, ok := c.ParseInt(c.Args[numIdx])
	if !ok {
		return
	}
	if setnum < 1 {
		c.Error("ERR at least 1 input key is needed for '" + name + "' command")
		return
	}
	if setnum > int64(len(c.Args)-numIdx-1) {
		c.Error(ErrSyntax)
		return
	}
	src := make([]zsetSrc, setnum)
	j := numIdx + 1
	for i := range src {
		src[i].weight = 1
		o := c.Lookup(c.Args[j])
		j++
		if o == nil {
			continue
		}
		switch o.Type {
		case TypeZSet:
			src[i].z = o.Val().(*ZSet)
		case TypeSet:
			src[i].set = zsetPlainSetOf(o)
		default:
			c.Error(ErrWrongType)
			return
		}
		src[i].obj = o
	}
	agg := 0
	withScores := false
	var limit int64
	for j < len(c.Args) {
		remaining := len(c.Args) - j
		a := c.Args[j]
		switch {
		case op != 2 && !cardOnly && remaining >= int(setnum)+1 && EqualFold(a, "weights"):
			j++
			for i := range src {
				w, ok := zsetParseDouble(c.Args[j])
				if !ok {
					c.Error("ERR weight value is not a float")
					return
				}
				src[i].weight = w
				j++
			}
		case op != 2 && !cardOnly && remaining >= 2 && EqualFold(a, "aggregate"):
			switch v := c.Args[j+1]; {
			case EqualFold(v, "sum"):
				agg = 0
			case EqualFold(v, "min"):
				agg = 1
			case EqualFold(v, "max"):
				agg = 2
			default:
				c.Error(ErrSyntax)
				return
			}
			j += 2
		case !store && !cardOnly && EqualFold(a, "withscores"):
			withScores = true
			j++
		case cardOnly && remaining >= 2 && EqualFold(a, "limit"):
			n, err := ParseInt(c.Args[j+1])
			if err != nil || n < 0 {
				c.Error("ERR LIMIT can't be negative")
				return
			}
			limit = n
			j += 2
		default:
			c.Error(ErrSyntax)
			return
		}
	}
	if op != 2 {
		sort.SliceStable(src, func(a, b int) bool { return src[a].card() < src[b].card() })
	}
	dst := NewZSet()
	dst.skiplist = true // like Redis's temporary result set, keeps exact scores (negative zeros included)
	var cardinality int64
	switch op {
	case 1:
		if src[0].card() > 0 {
			stop := false
			src[0].each(func(member string, score float64) {
				if stop {
					return
				}
				acc := src[0].weight * score
				if math.IsNaN(acc) {
					acc = 0
				}
				k := 1
				for ; k < len(src); k++ {
					if src[k].obj == src[0].obj {
						zsetAggregate(&acc, score*src[k].weight, agg)
					} else if v, found := src[k].find(member); found {
						zsetAggregate(&acc, v*src[k].weight, agg)
					} else {
						break
					}
				}
				if k < len(src) {
					return
				}
				if cardOnly {
					cardinality++
					if limit > 0 && cardinality >= limit {
						stop = true
					}
					return
				}
				dst.insert(member, acc)
			})
		}
	case 0:
		for i := range src {
			if src[i].card() == 0 {
				continue
			}
			wt := src[i].weight
			src[i].each(func(member string, score float64) {
				v := wt * score
				if math.IsNaN(v) {
					v = 0
				}
				if n := dst.hash.get(member); n != nil {
					acc := n.score
					zsetAggregate(&acc, v, agg)
					if acc == n.score {
						dst.resetEqualScore(n, acc) // keeps the sign of a zero sum, as Redis does
					} else {
						dst.setScore(n, acc)
					}
					return
				}
				dst.insert(member, v)
			})
		}
	case 2:
		if src[0].card() > 0 {
			rest := src[1:]
			sort.SliceStable(rest, func(a, b int) bool { return rest[a].card() > rest[b].card() })
			src[0].each(func(member string, score float64) {
				for k := 1; k < len(src); k++ {
					if src[k].obj == src[0].obj {
						return
					}
					if _, found := src[k].find(member); found {
						return
					}
				}
				dst.insert(member, score)
			})
		}
	}
	switch {
	case store:
		c.zsetStore(c.Args[1], dst.collect(dst.tree.firstPos(), false, -1, nil), name)
	case cardOnly:
		c.W.Int(cardinality)
	default:
		c.zsetReplyItems(dst.collect(dst.tree.firstPos(), false, -1, nil), withScores)
	}
}

// zsetPlainSet reads a plain set value as a ZUNION/ZINTER/ZDIFF input.
type zsetPlainSet struct {
	members map[string]struct{}
}

func (s *zsetPlainSet) card() int { return len(s.members) }

func (s *zsetPlainSet) has(m string) bool {
	_, ok := s.members[m]
	return ok
}

func (s *zsetPlainSet) each(fn func(string)) {
	for m := range s.members {
		fn(m)
	}
}

// zsetPlainSetOf snapshots the members of a set object.
func zsetPlainSetOf(o *Object) *zsetPlainSet {
	s := &zsetPlainSet{members: map[string]struct{}{}}
	zsetSetMembers(o, func(m string) { s.members[m] = struct{}{} })
	return s
}
