package keyspace

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
)

// Set is the value of a set key.
type Set struct {
	m map[string]struct{}
}

// ForEachMember calls fn for every member until it returns false (ZUNION & co. read sets through it).
func (s *Set) ForEachMember(fn func(string) bool) {
	for m := range s.m {
		if !fn(m) {
			return
		}
	}
}

// Redis's defaults, for OBJECT ENCODING.
const (
	setMaxIntsetEntries   = 512
	setMaxListpackEntries = 128
	setMaxListpackValue   = 64
)

func init() {
	RegisterType(TypeSet, &TypeOps{
		Clone: func(v any) any {
			s := v.(*Set)
			n := &Set{m: make(map[string]struct{}, len(s.m))}
			for k := range s.m {
				n.m[k] = struct{}{}
			}
			return n
		},
		Marshal: func(dst []byte, v any) []byte {
			s := v.(*Set)
			dst = binary.AppendUvarint(dst, uint64(len(s.m)))
			for k := range s.m {
				dst = AppendBytes(dst, []byte(k))
			}
			return dst
		},
		Unmarshal: func(b []byte) (any, error) {
			n, k := binary.Uvarint(b)
			if k <= 0 || n > uint64(len(b)) {
				return nil, fmt.Errorf("bad set length")
			}
			b = b[k:]
			s := &Set{m: make(map[string]struct{}, n)}
			for i := uint64(0); i < n; i++ {
				m, rest, err := ReadBytes(b)
				if err != nil {
					return nil, err
				}
				s.m[string(m)] = struct{}{}
				b = rest
			}
			if len(b) != 0 {
				return nil, fmt.Errorf("trailing bytes after set")
			}
			return s, nil
		},
		Size: func(v any) int {
			n := 48
			for k := range v.(*Set).m {
				n += 24 + len(k)
			}
			return n
		},
		Len: func(v any) int { return len(v.(*Set).m) },
		Encoding: func(v any) string {
			s := v.(*Set)
			ints := len(s.m) <= setMaxIntsetEntries
			small := len(s.m) <= setMaxListpackEntries
			for k := range s.m {
				if ints {
					if _, err := ParseInt([]byte(k)); err != nil {
						ints = false
					}
				}
				if len(k) > setMaxListpackValue {
					small = false
				}
			}
			switch {
			case ints:
				return "intset"
			case small:
				return "listpack"
			}
			return "hashtable"
		},
	})
	const w, r, d, f = FlagWrite, FlagReadonly, FlagDenyOOM, FlagFast
	g := "set"
	one := func(c *Command) *Command {
		c.FirstKey, c.LastKey, c.Step, c.Group = 1, 1, 1, g
		c.Categories |= CatSet
		return c
	}
	many := func(c *Command, first int) *Command {
		c.FirstKey, c.LastKey, c.Step, c.Group = first, -1, 1, g
		c.Categories |= CatSet
		return c
	}
	Register(
		one(&Command{Name: "sadd", Arity: -3, Flags: w | d | f, Summary: "Adds one or more members to a set. Creates the key if it doesn't exist.", Since: "1.0.0", Handler: cmdSAdd}),
		one(&Command{Name: "srem", Arity: -3, Flags: w | f, Summary: "Removes one or more members from a set. Deletes the set if the last member was removed.", Since: "1.0.0", Handler: cmdSRem}),
		one(&Command{Name: "smembers", Arity: 2, Flags: r, Summary: "Returns all members of a set.", Since: "1.0.0", Handler: cmdSMembers}),
		one(&Command{Name: "sismember", Arity: 3, Flags: r | f, Summary: "Determines whether a member belongs to a set.", Since: "1.0.0", Handler: cmdSIsMember}),
		one(&Command{Name: "smismember", Arity: -3, Flags: r | f, Summary: "Determines whether multiple members belong to a set.", Since: "6.2.0", Handler: cmdSMIsMember}),
		one(&Command{Name: "scard", Arity: 2, Flags: r | f, Summary: "Returns the number of members in a set.", Since: "1.0.0", Handler: cmdSCard}),
		many(&Command{Name: "sinter", Arity: -2, Flags: r, Summary: "Returns the intersect of multiple sets.", Since: "1.0.0", Handler: cmdSetOp}, 1),
		many(&Command{Name: "sunion", Arity: -2, Flags: r, Summary: "Returns the union of multiple sets.", Since: "1.0.0", Handler: cmdSetOp}, 1),
		many(&Command{Name: "sdiff", Arity: -2, Flags: r, Summary: "Returns the difference of multiple sets.", Since: "1.0.0", Handler: cmdSetOp}, 1),
		many(&Command{Name: "sinterstore", Arity: -3, Flags: w | d, Summary: "Stores the intersect of multiple sets in a key.", Since: "1.0.0", Handler: cmdSetOp}, 1),
		many(&Command{Name: "sunionstore", Arity: -3, Flags: w | d, Summary: "Stores the union of multiple sets in a key.", Since: "1.0.0", Handler: cmdSetOp}, 1),
		many(&Command{Name: "sdiffstore", Arity: -3, Flags: w | d, Summary: "Stores the difference of multiple sets in a key.", Since: "1.0.0", Handler: cmdSetOp}, 1),
		&Command{Name: "sintercard", Arity: -3, Flags: r | FlagMovableKeys, Categories: CatSet, Group: g, Summary: "Returns the number of members of the intersect of multiple sets.", Since: "7.0.0", Handler: cmdSInterCard, Keys: numKeysAt(1)},
		one(&Command{Name: "spop", Arity: -2, Flags: w | f, Summary: "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", Since: "1.0.0", Handler: cmdSPop}),
		one(&Command{Name: "srandmember", Arity: -2, Flags: r, Summary: "Get one or multiple random members from a set", Since: "1.0.0", Handler: cmdSRandMember}),
		&Command{Name: "smove", Arity: 4, Flags: w | f, FirstKey: 1, LastKey: 2, Step: 1, Categories: CatSet, Group: g, Summary: "Moves a member from one set to another.", Since: "1.0.0", Handler: cmdSMove},
		one(&Command{Name: "sscan", Arity: -3, Flags: r, Summary: "Iterates over members of a set.", Since: "2.0.0", Handler: cmdSScan}),
	)
}

// numKeysAt returns the key positions of commands of the form CMD numkeys key... at index i.
func numKeysAt(i int) func(args [][]byte) []int {
	return func(args [][]byte) []int {
		if len(args) <= i {
			return nil
		}
		n, err := ParseInt(args[i])
		if err != nil || n <= 0 || int(n) > len(args)-i-1 {
			return nil
		}
		out := make([]int, n)
		for j := range out {
			out[j] = i + 1 + j
		}
		return out
	}
}

func (c *Ctx) setOf(key []byte, write bool) (s *Set, o *Object, wrong bool) {
	if o, wrong = c.LookupTyped(key, TypeSet, write); o == nil {
		return nil, nil, wrong
	}
	return o.Val.(*Set), o, false
}

func cmdSAdd(c *Ctx) {
	key := c.Args[1]
	s, o, wrong := c.setOf(key, true)
	if wrong {
		return
	}
	if s == nil {
		s = &Set{m: make(map[string]struct{}, len(c.Args)-2)}
		o = &Object{Type: TypeSet, Val: s}
		c.Set(key, o, false)
	}
	added := 0
	for _, m := range c.Args[2:] {
		if _, ok := s.m[string(m)]; !ok {
			s.m[string(m)] = struct{}{}
			added++
		}
	}
	if added > 0 {
		c.Modified(key, o)
		c.Notify('s', "sadd", key)
		c.Propagate()
	}
	c.W.Int(int64(added))
}

func cmdSRem(c *Ctx) {
	key := c.Args[1]
	s, o, wrong := c.setOf(key, true)
	if wrong {
		return
	}
	if s == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(removeNames(c, key, o, s.m, 's', "srem")))
}

func cmdSMembers(c *Ctx) {
	s, _, wrong := c.setOf(c.Args[1], false)
	if wrong {
		return
	}
	if s == nil {
		c.W.Set(0)
		return
	}
	c.W.Set(len(s.m))
	for m := range s.m {
		c.W.BulkString(m)
	}
}

func cmdSIsMember(c *Ctx) {
	s, _, wrong := c.setOf(c.Args[1], false)
	if wrong {
		return
	}
	ok := false
	if s != nil {
		_, ok = s.m[string(c.Args[2])]
	}
	if ok {
		c.W.Int(1)
	} else {
		c.W.Int(0)
	}
}

func cmdSMIsMember(c *Ctx) {
	s, _, wrong := c.setOf(c.Args[1], false)
	if wrong {
		return
	}
	c.W.Array(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		ok := false
		if s != nil {
			_, ok = s.m[string(m)]
		}
		if ok {
			c.W.Int(1)
		} else {
			c.W.Int(0)
		}
	}
}

func cmdSCard(c *Ctx) {
	s, _, wrong := c.setOf(c.Args[1], false)
	if wrong {
		return
	}
	if s == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(len(s.m)))
}

// computeSetOp evaluates inter/union/diff over the sets at keys; ok=false after a WRONGTYPE reply.
func (c *Ctx) computeSetOp(op string, keys [][]byte) (map[string]struct{}, bool) {
	sets := make([]*Set, len(keys))
	for i, k := range keys {
		s, _, wrong := c.setOf(k, false)
		if wrong {
			return nil, false
		}
		sets[i] = s
	}
	out := map[string]struct{}{}
	switch op {
	case "inter":
		for _, s := range sets {
			if s == nil {
				return out, true
			}
		}
		sorted := append([]*Set(nil), sets...)
		sort.Slice(sorted, func(i, j int) bool { return len(sorted[i].m) < len(sorted[j].m) })
	outer:
		for m := range sorted[0].m {
			for _, s := range sorted[1:] {
				if _, ok := s.m[m]; !ok {
					continue outer
				}
			}
			out[m] = struct{}{}
		}
	case "union":
		for _, s := range sets {
			if s != nil {
				for m := range s.m {
					out[m] = struct{}{}
				}
			}
		}
	case "diff":
		if sets[0] == nil {
			return out, true
		}
		for m := range sets[0].m {
			in := false
			for _, s := range sets[1:] {
				if s != nil {
					if _, ok := s.m[m]; ok {
						in = true
						break
					}
				}
			}
			if !in {
				out[m] = struct{}{}
			}
		}
	}
	return out, true
}

func cmdSetOp(c *Ctx) {
	name := c.Cmd.Name
	store := len(name) > 5 && name[len(name)-5:] == "store"
	op := name[1:]
	if store {
		op = name[1 : len(name)-5]
	}
	keys := c.Args[1:]
	if store {
		keys = c.Args[2:]
	}
	res, ok := c.computeSetOp(op, keys)
	if !ok {
		return
	}
	if !store {
		c.W.Set(len(res))
		for m := range res {
			c.W.BulkString(m)
		}
		return
	}
	dst := c.Args[1]
	existed := c.LookupWrite(dst) != nil
	if len(res) == 0 {
		if existed {
			c.Delete(dst)
			c.Notify('g', "del", dst)
			c.Emit(argDEL, dst)
		}
		c.W.Int(0)
		return
	}
	c.Set(dst, &Object{Type: TypeSet, Val: &Set{m: res}}, false)
	c.Notify('s', name, dst)
	// The result is logged as its members, so replay does not depend on the source sets.
	args := make([][]byte, 0, len(res)+2)
	args = append(args, []byte("SADD"), dst)
	for m := range res {
		args = append(args, []byte(m))
	}
	c.Emit(argDEL, dst)
	c.Emit(args...)
	c.W.Int(int64(len(res)))
}

func cmdSInterCard(c *Ctx) {
	n, err := ParseInt(c.Args[1])
	if err != nil || n <= 0 {
		c.Error("ERR numkeys should be greater than 0")
		return
	}
	if int(n) > len(c.Args)-2 {
		c.Error("ERR Number of keys can't be greater than number of args")
		return
	}
	limit := int64(0)
	rest := c.Args[2+n:]
	for i := 0; i < len(rest); i += 2 {
		if !EqualFold(rest[i], "limit") || i+1 >= len(rest) {
			c.Error(ErrSyntax)
			return
		}
		l, err := ParseInt(rest[i+1])
		if err != nil || l < 0 {
			c.Error("ERR LIMIT can't be negative")
			return
		}
		limit = l
	}
	res, ok := c.computeSetOp("inter", c.Args[2:2+n])
	if !ok {
		return
	}
	card := int64(len(res))
	if limit > 0 && card > limit {
		card = limit
	}
	c.W.Int(card)
}

func cmdSPop(c *Ctx) {
	key := c.Args[1]
	hasCount := len(c.Args) == 3
	if len(c.Args) > 3 {
		c.Error(ErrSyntax)
		return
	}
	var count int64 = 1
	if hasCount {
		n, err := ParseInt(c.Args[2])
		if err != nil || n < 0 {
			c.Error(ErrNotIntPositive)
			return
		}
		count = n
	}
	s, o, wrong := c.setOf(key, true)
	if wrong {
		return
	}
	if s == nil || (hasCount && count == 0) {
		if hasCount {
			c.W.Set(0)
		} else {
			c.W.Null()
		}
		return
	}
	var popped []string
	for m := range s.m { // map iteration order is random
		if int64(len(popped)) == count {
			break
		}
		popped = append(popped, m)
	}
	for _, m := range popped {
		delete(s.m, m)
	}
	c.Modified(key, o)
	c.Notify('s', "spop", key)
	// SPOP is random: log it as the SREM of what was popped.
	args := make([][]byte, 0, len(popped)+2)
	args = append(args, []byte("SREM"), key)
	for _, m := range popped {
		args = append(args, []byte(m))
	}
	c.Emit(args...)
	if len(s.m) == 0 {
		c.Delete(key)
		c.Notify('g', "del", key)
	}
	if !hasCount {
		c.W.BulkString(popped[0])
		return
	}
	c.W.Set(len(popped))
	for _, m := range popped {
		c.W.BulkString(m)
	}
}

func cmdSRandMember(c *Ctx) {
	if len(c.Args) > 3 {
		c.Error(ErrSyntax)
		return
	}
	hasCount := len(c.Args) == 3
	var count int64
	if hasCount {
		n, ok := c.ParseInt(c.Args[2])
		if !ok {
			return
		}
		count = n
	}
	s, _, wrong := c.setOf(c.Args[1], false)
	if wrong {
		return
	}
	if !hasCount {
		if s == nil {
			c.W.Null()
			return
		}
		skip := c.KS.Rand().IntN(len(s.m))
		for m := range s.m {
			if skip == 0 {
				c.W.BulkString(m)
				return
			}
			skip--
		}
		return
	}
	if s == nil || count == 0 {
		c.W.Array(0)
		return
	}
	members := make([]string, 0, len(s.m))
	for m := range s.m {
		members = append(members, m)
	}
	if count > 0 {
		c.KS.Rand().Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
		members = members[:min(int(count), len(members))]
		c.W.Array(len(members))
		for _, m := range members {
			c.W.BulkString(m)
		}
		return
	}
	c.W.Array(int(-count))
	for i := int64(0); i < -count; i++ {
		c.W.BulkString(members[c.KS.Rand().IntN(len(members))])
	}
}

func cmdSMove(c *Ctx) {
	src, dst, m := c.Args[1], c.Args[2], c.Args[3]
	ss, so, wrong := c.setOf(src, true)
	if wrong {
		return
	}
	ds, do, wrong := c.setOf(dst, true)
	if wrong {
		return
	}
	if ss == nil {
		c.W.Int(0)
		return
	}
	if _, ok := ss.m[string(m)]; !ok {
		c.W.Int(0)
		return
	}
	if string(src) == string(dst) {
		c.W.Int(1)
		return
	}
	delete(ss.m, string(m))
	c.Modified(src, so)
	c.Notify('s', "srem", src)
	if len(ss.m) == 0 {
		c.Delete(src)
		c.Notify('g', "del", src)
	}
	if ds == nil {
		ds = &Set{m: map[string]struct{}{}}
		do = &Object{Type: TypeSet, Val: ds}
		c.Set(dst, do, false)
	}
	ds.m[string(m)] = struct{}{}
	c.Modified(dst, do)
	c.Notify('s', "sadd", dst)
	c.Propagate()
	c.W.Int(1)
}

// cmdSSCan returns every matching member in one reply with cursor 0 (COUNT is a hint; Redis does the same
// for small sets).
func cmdSScan(c *Ctx) {
	if _, err := strconv.ParseUint(string(c.Args[2]), 10, 64); err != nil {
		c.Error("ERR invalid cursor")
		return
	}
	pat, _, ok := c.ScanOptions(3)
	if !ok {
		return
	}
	s, _, wrong := c.setOf(c.Args[1], false)
	if wrong {
		return
	}
	c.W.Array(2)
	c.W.BulkString("0")
	var out []string
	if s != nil {
		for m := range s.m {
			if pat == nil || Match(pat, []byte(m), false) {
				out = append(out, m)
			}
		}
	}
	c.W.Array(len(out))
	for _, m := range out {
		c.W.BulkString(m)
	}
}
