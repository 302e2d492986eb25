package keyspace

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Set is the value of a set key: its members in a dense table (see dense), in arbitrary order.
type Set struct {
	t   dense[struct{}]
	enc setEncoding
}

// setEncoding is what OBJECT ENCODING reports for a set. Like Redis's it only moves towards hashtable
// as members are added (see Set.add), except when SPOP rebuilds a set.
type setEncoding uint8

const (
	setIntset setEncoding = iota
	setListpack
	setHashtable
)

// Redis's defaults: set-max-intset-entries, set-max-listpack-entries, set-max-listpack-value.
const (
	setMaxIntsetEntries   = 512
	setMaxListpackEntries = 128
	setMaxListpackValue   = 64
)

// newSet returns an empty set encoded as Redis's setTypeCreate would encode it for a first member first
// and about hint members.
func newSet(first []byte, hint int) *Set {
	s := &Set{enc: setHashtable}
	switch {
	case isSetInt(first) && hint <= setMaxIntsetEntries:
		s.enc = setIntset
	case hint <= setMaxListpackEntries:
		s.enc = setListpack
	}
	return s
}

// isSetInt reports whether m would be stored in an intset (Redis's string2ll).
func isSetInt(m []byte) bool {
	_, err := ParseInt(m)
	return err == nil
}

// Len returns the number of members.
func (s *Set) Len() int { return s.t.len() }

// Has reports whether m is a member.
func (s *Set) Has(m []byte) bool { return s.t.has(m) }

// ForEachMember calls fn for every member until it returns false (ZUNION & co. read sets through it).
func (s *Set) ForEachMember(fn func(string) bool) {
	for _, m := range s.t.names {
		if !fn(m) {
			return
		}
	}
}

// add inserts m and reports whether it was new, converting the encoding as Redis 7.2's setTypeAdd does.
func (s *Set) add(m []byte) bool {
	if s.t.has(m) {
		return false
	}
	s.noteAdd(m)
	s.t.add(string(m), struct{}{})
	return true
}

// noteAdd updates the encoding for a member about to be added.
func (s *Set) noteAdd(m []byte) { s.enc = s.enc.after(m, s.t.len()) }

// after returns the encoding of a set of n members encoded e once m is added to it.
func (e setEncoding) after(m []byte, n int) setEncoding {
	switch e {
	case setIntset:
		switch {
		case isSetInt(m):
			if n+1 > setMaxIntsetEntries {
				return setHashtable
			}
		case n < setMaxListpackEntries && len(m) <= setMaxListpackValue:
			return setListpack
		default:
			return setHashtable
		}
	case setListpack:
		if n >= setMaxListpackEntries || len(m) > setMaxListpackValue {
			return setHashtable
		}
	}
	return e
}

// maybeConvert is Redis's setTypeMaybeConvert: SADD of many members converts a compact set up front.
func (s *Set) maybeConvert(hint int) {
	if (s.enc == setListpack && hint > setMaxListpackEntries) || (s.enc == setIntset && hint > setMaxIntsetEntries) {
		s.enc = setHashtable
	}
}

// reencode recomputes the encoding as if the set were built again from its members (SPOP of most of a
// set replaces it with a new one holding the members left, as Redis does).
func (s *Set) reencode() {
	if s.t.len() == 0 {
		return
	}
	e := newSet([]byte(s.t.names[0]), s.t.len()).enc
	for i, m := range s.t.names {
		e = e.after([]byte(m), i)
	}
	s.enc = e
}

func init() {
	RegisterType(TypeSet, &TypeOps{
		Clone: func(v any) any {
			s := v.(*Set)
			return &Set{t: s.t.clone(func(struct{}) struct{} { return struct{}{} }), enc: s.enc}
		},
		Marshal: func(dst []byte, v any) []byte {
			s := v.(*Set)
			dst = binary.AppendUvarint(dst, uint64(s.t.len()))
			for _, m := range s.t.names {
				dst = appendString(dst, m)
			}
			return dst
		},
		Unmarshal: func(b []byte) (any, error) {
			n, k := binary.Uvarint(b)
			if k <= 0 || n > uint64(len(b)) {
				return nil, fmt.Errorf("keyspace: bad set length")
			}
			b = b[k:]
			var s *Set
			for i := uint64(0); i < n; i++ {
				m, rest, err := ReadBytes(b)
				if err != nil {
					return nil, err
				}
				if s == nil {
					s = newSet(m, int(n))
				}
				if !s.add(m) {
					return nil, fmt.Errorf("keyspace: duplicate set member")
				}
				b = rest
			}
			if len(b) != 0 {
				return nil, fmt.Errorf("keyspace: trailing bytes after set")
			}
			if s == nil {
				return nil, fmt.Errorf("keyspace: empty set")
			}
			return s, nil
		},
		Size: func(v any) int {
			s := v.(*Set)
			n := 64 + 16*cap(s.t.names)
			if s.t.index != nil {
				n += 48 + 28*s.t.indexPeak
			}
			for _, m := range s.t.names {
				n += sizeClass(len(m))
			}
			return n
		},
		Len: func(v any) int { return v.(*Set).t.len() },
		Encoding: func(v any) string {
			switch v.(*Set).enc {
			case setIntset:
				return "intset"
			case setListpack:
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
		if err != nil || n <= 0 || n > int64(len(args)-i-1) {
			return nil
		}
		out := make([]int, n)
		for j := range out {
			out[j] = i + 1 + j
		}
		return out
	}
}

// setOf returns the set at key (nil when missing); wrong=true after replying WRONGTYPE.
func (c *Ctx) setOf(key []byte, write bool) (s *Set, o *Object, wrong bool) {
	if o, wrong = c.LookupTyped(key, TypeSet, write); o == nil {
		return nil, nil, wrong
	}
	return o.Val().(*Set), o, false
}

func cmdSAdd(c *Ctx) {
	key := c.Args[1]
	s, o, wrong := c.setOf(key, true)
	if wrong {
		return
	}
	members := c.Args[2:]
	if s == nil {
		s = newSet(members[0], len(members))
		o = NewValue(TypeSet, s)
		c.Set(key, o, false)
	} else {
		s.maybeConvert(len(members))
	}
	added := 0
	for _, m := range members {
		if s.add(m) {
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
	c.W.Int(int64(removeNames(c, key, o, &s.t, 's', "srem")))
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
	c.W.Set(s.t.len())
	for _, m := range s.t.names {
		c.W.BulkString(m)
	}
}

func cmdSIsMember(c *Ctx) {
	s, _, wrong := c.setOf(c.Args[1], false)
	if wrong {
		return
	}
	if s != nil && s.t.has(c.Args[2]) {
		c.W.Int(1)
		return
	}
	c.W.Int(0)
}

func cmdSMIsMember(c *Ctx) {
	s, _, wrong := c.setOf(c.Args[1], false)
	if wrong {
		return
	}
	c.W.Array(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		if s != nil && s.t.has(m) {
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
	c.W.Int(int64(s.t.len()))
}

// setsAt looks up the sets at keys, type-checking every key before anything else as Redis does; a
// missing key is a nil set. ok=false after a WRONGTYPE reply.
func (c *Ctx) setsAt(keys [][]byte) ([]*Set, bool) {
	sets := make([]*Set, len(keys))
	for i, k := range keys {
		s, _, wrong := c.setOf(k, false)
		if wrong {
			return nil, false
		}
		sets[i] = s
	}
	return sets, true
}

// interEach calls fn for each member of the intersection of sets until fn returns false. It walks the
// smallest set and probes the others.
func interEach(sets []*Set, fn func(m string) bool) {
	smallest := 0
	for i, s := range sets {
		if s == nil {
			return
		}
		if s.t.len() < sets[smallest].t.len() {
			smallest = i
		}
	}
next:
	for _, m := range sets[smallest].t.names {
		for i, s := range sets {
			if i != smallest && s != sets[smallest] && s.t.findString(m) < 0 {
				continue next
			}
		}
		if !fn(m) {
			return
		}
	}
}

// setOpResult evaluates SINTER/SUNION/SDIFF over sets into a new set, built (and so encoded) as Redis
// builds a *STORE destination: an intset to which the members are added one by one.
func setOpResult(op string, sets []*Set) *Set {
	out := &Set{enc: setIntset}
	add := func(m string) bool {
		if out.t.findString(m) < 0 {
			out.noteAdd([]byte(m))
			out.t.add(m, struct{}{})
		}
		return true
	}
	switch op {
	case "inter":
		interEach(sets, add)
	case "union":
		for _, s := range sets {
			if s != nil {
				for _, m := range s.t.names {
					add(m)
				}
			}
		}
	case "diff":
		if sets[0] == nil {
			break
		}
	member:
		for _, m := range sets[0].t.names {
			for _, s := range sets[1:] {
				if s != nil && (s == sets[0] || s.t.findString(m) >= 0) {
					continue member
				}
			}
			add(m)
		}
	}
	return out
}

// cmdSetOp serves SINTER, SUNION, SDIFF and their *STORE forms.
func cmdSetOp(c *Ctx) {
	name := c.Cmd.Name
	store := len(name) > 5 && name[len(name)-5:] == "store"
	op, keys := name[1:], c.Args[1:]
	if store {
		op, keys = name[1:len(name)-5], c.Args[2:]
	}
	sets, ok := c.setsAt(keys)
	if !ok {
		return
	}
	res := setOpResult(op, sets)
	if !store {
		c.W.Set(res.t.len())
		for _, m := range res.t.names {
			c.W.BulkString(m)
		}
		return
	}
	dst := c.Args[1]
	if res.t.len() == 0 {
		if c.Delete(dst) {
			c.Notify('g', "del", dst)
			c.Emit(argDEL, dst)
		}
		c.W.Int(0)
		return
	}
	c.Set(dst, NewValue(TypeSet, res), false)
	c.Notify('s', name, dst)
	// The result is logged as its members, so that replaying it depends on no other key.
	args := make([][]byte, 0, res.t.len()+2)
	args = append(args, []byte("SADD"), dst)
	for _, m := range res.t.names {
		args = append(args, []byte(m))
	}
	c.Emit(argDEL, dst)
	c.Emit(args...)
	c.W.Int(int64(res.t.len()))
}

func cmdSInterCard(c *Ctx) {
	n, err := ParseInt(c.Args[1])
	if err != nil || n <= 0 {
		c.Error("ERR numkeys should be greater than 0")
		return
	}
	if n > int64(len(c.Args)-2) {
		c.Error("ERR Number of keys can't be greater than number of args")
		return
	}
	limit := int64(0)
	for i := 2 + int(n); i < len(c.Args); i++ {
		if !EqualFold(c.Args[i], "limit") || i+1 >= len(c.Args) {
			c.Error(ErrSyntax)
			return
		}
		i++
		l, err := ParseInt(c.Args[i])
		if err != nil || l < 0 {
			c.Error("ERR LIMIT can't be negative")
			return
		}
		limit = l
	}
	sets, ok := c.setsAt(c.Args[2 : 2+n])
	if !ok {
		return
	}
	card := int64(0)
	interEach(sets, func(string) bool {
		card++
		return limit == 0 || card < limit
	})
	c.W.Int(card)
}

func cmdSPop(c *Ctx) {
	if len(c.Args) > 3 {
		c.Error(ErrSyntax)
		return
	}
	key := c.Args[1]
	hasCount := len(c.Args) == 3
	count := int64(1)
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
	c.Notify('s', "spop", key)
	if hasCount && count >= int64(s.t.len()) {
		// The whole set: reply with it, delete the key and log a DEL.
		c.W.Set(s.t.len())
		for _, m := range s.t.names {
			c.W.BulkString(m)
		}
		c.Delete(key)
		c.Notify('g', "del", key)
		c.Emit(argDEL, key)
		return
	}
	// SPOP is random: it is logged as the SREM of what it popped.
	effect := make([][]byte, 2, 2+count)
	effect[0], effect[1] = []byte("SREM"), key
	if hasCount {
		c.W.Set(int(count))
	}
	size := s.t.len()
	for i := int64(0); i < count; i++ {
		p := s.t.random(c.KS.Rand())
		m := s.t.names[p]
		s.t.removeAt(p)
		c.W.BulkString(m)
		effect = append(effect, []byte(m))
	}
	if s.enc != setListpack && (int64(size)-count)*5 <= count {
		s.reencode()
	}
	c.Modified(key, o)
	c.Emit(effect...)
	if s.t.len() == 0 {
		c.Delete(key)
		c.Notify('g', "del", key)
	}
}

func cmdSRandMember(c *Ctx) {
	if len(c.Args) > 3 {
		c.Error(ErrSyntax)
		return
	}
	if len(c.Args) == 2 {
		s, _, wrong := c.setOf(c.Args[1], false)
		if wrong {
			return
		}
		if s == nil {
			c.W.Null()
			return
		}
		c.W.BulkString(s.t.names[s.t.random(c.KS.Rand())])
		return
	}
	count, ok := c.parseRangeCount(c.Args[2])
	if !ok {
		return
	}
	s, _, wrong := c.setOf(c.Args[1], false)
	if wrong {
		return
	}
	if s == nil || count == 0 {
		c.W.Array(0)
		return
	}
	if count < 0 {
		n := int(min(-count, math.MaxInt32))
		c.W.Array(n)
		for ; n > 0; n-- {
			c.W.BulkString(s.t.names[s.t.random(c.KS.Rand())])
		}
		return
	}
	picks := distinctPositions(c.KS.Rand(), s.t.len(), count)
	c.W.Array(len(picks))
	for _, i := range picks {
		c.W.BulkString(s.t.names[i])
	}
}

func cmdSMove(c *Ctx) {
	src, dst, m := c.Args[1], c.Args[2], c.Args[3]
	so := c.LookupWrite(src)
	do := c.LookupWrite(dst)
	if so == nil {
		c.W.Int(0)
		return
	}
	if so.Type != TypeSet || (do != nil && do.Type != TypeSet) {
		c.Error(ErrWrongType)
		return
	}
	ss := so.Val().(*Set)
	if so == do {
		if ss.t.has(m) {
			c.W.Int(1)
		} else {
			c.W.Int(0)
		}
		return
	}
	if !ss.t.remove(m) {
		c.W.Int(0)
		return
	}
	c.Notify('s', "srem", src)
	c.Modified(src, so)
	if ss.t.len() == 0 {
		c.Delete(src)
		c.Notify('g', "del", src)
	}
	var ds *Set
	if do == nil {
		ds = newSet(m, 1)
		do = NewValue(TypeSet, ds)
		c.Set(dst, do, false)
	} else {
		ds = do.Val().(*Set)
	}
	if ds.add(m) {
		c.Modified(dst, do)
		c.Notify('s', "sadd", dst)
	}
	c.Propagate()
	c.W.Int(1)
}

func cmdSScan(c *Ctx) {
	cursor, ok := c.parseScanCursor(c.Args[2])
	if !ok {
		return
	}
	s, _, wrong := c.setOf(c.Args[1], false)
	if wrong {
		return
	}
	if s == nil {
		c.emptyScan()
		return
	}
	scanTable(c, &s.t, s.enc == setHashtable, cursor, nil)
}
