package keyspace

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// List is the value of a list key: a ring buffer, so pushes and pops at both ends are O(1) and LINDEX is
// O(1); inserting or removing in the middle moves elements, as a linked list would walk them.
type List struct {
	buf  [][]byte
	head int
	n    int
}

// Len returns the number of elements.
func (l *List) Len() int { return l.n }

// At returns element i (0 <= i < Len).
func (l *List) At(i int) []byte { return l.buf[(l.head+i)%len(l.buf)] }

func (l *List) setAt(i int, v []byte) { l.buf[(l.head+i)%len(l.buf)] = v }

func (l *List) grow() {
	size := max(8, 2*len(l.buf))
	nb := make([][]byte, size)
	for i := 0; i < l.n; i++ {
		nb[i] = l.At(i)
	}
	l.buf, l.head = nb, 0
}

// PushFront prepends v; PushBack appends v.
func (l *List) PushFront(v []byte) {
	if l.n == len(l.buf) {
		l.grow()
	}
	l.head = (l.head - 1 + len(l.buf)) % len(l.buf)
	l.buf[l.head] = v
	l.n++
}

// PushBack appends v.
func (l *List) PushBack(v []byte) {
	if l.n == len(l.buf) {
		l.grow()
	}
	l.buf[(l.head+l.n)%len(l.buf)] = v
	l.n++
}

// PopFront removes and returns the first element; PopBack the last.
func (l *List) PopFront() []byte {
	v := l.buf[l.head]
	l.buf[l.head] = nil
	l.head = (l.head + 1) % len(l.buf)
	l.n--
	l.shrink()
	return v
}

// PopBack removes and returns the last element.
func (l *List) PopBack() []byte {
	i := (l.head + l.n - 1) % len(l.buf)
	v := l.buf[i]
	l.buf[i] = nil
	l.n--
	l.shrink()
	return v
}

func (l *List) shrink() {
	if len(l.buf) > 64 && l.n < len(l.buf)/4 {
		nb := make([][]byte, len(l.buf)/2)
		for i := 0; i < l.n; i++ {
			nb[i] = l.At(i)
		}
		l.buf, l.head = nb, 0
	}
}

// rebuild replaces the contents with elems.
func (l *List) rebuild(elems [][]byte) {
	l.buf = make([][]byte, max(8, len(elems)))
	copy(l.buf, elems)
	l.head, l.n = 0, len(elems)
}

func (l *List) slice() [][]byte {
	out := make([][]byte, l.n)
	for i := range out {
		out[i] = l.At(i)
	}
	return out
}

func init() {
	RegisterType(TypeList, &TypeOps{
		Clone: func(v any) any {
			l := v.(*List)
			n := &List{}
			for i := 0; i < l.n; i++ {
				n.PushBack(Owned(l.At(i)))
			}
			return n
		},
		Marshal: func(dst []byte, v any) []byte {
			l := v.(*List)
			dst = binary.AppendUvarint(dst, uint64(l.n))
			for i := 0; i < l.n; i++ {
				dst = AppendBytes(dst, l.At(i))
			}
			return dst
		},
		Unmarshal: func(b []byte) (any, error) {
			n, k := binary.Uvarint(b)
			if k <= 0 || n > uint64(len(b)) {
				return nil, fmt.Errorf("bad list length")
			}
			b = b[k:]
			l := &List{}
			for i := uint64(0); i < n; i++ {
				e, rest, err := ReadBytes(b)
				if err != nil {
					return nil, err
				}
				l.PushBack(Owned(e))
				b = rest
			}
			if len(b) != 0 {
				return nil, fmt.Errorf("trailing bytes after list")
			}
			return l, nil
		},
		Size: func(v any) int {
			l := v.(*List)
			n := 48 + 24*len(l.buf)
			for i := 0; i < l.n; i++ {
				n += cap(l.At(i))
			}
			return n
		},
		Len:      func(v any) int { return v.(*List).n },
		Encoding: func(v any) string { return "quicklist" },
	})
	const w, r, d, f, b = FlagWrite, FlagReadonly, FlagDenyOOM, FlagFast, FlagBlocking
	g := "list"
	one := func(c *Command) *Command {
		c.FirstKey, c.LastKey, c.Step, c.Group = 1, 1, 1, g
		c.Categories |= CatList
		return c
	}
	Register(
		one(&Command{Name: "lpush", Arity: -3, Flags: w | d | f, Summary: "Prepends one or more elements to a list. Creates the key if it doesn't exist.", Since: "1.0.0", Handler: cmdPush}),
		one(&Command{Name: "rpush", Arity: -3, Flags: w | d | f, Summary: "Appends one or more elements to a list. Creates the key if it doesn't exist.", Since: "1.0.0", Handler: cmdPush}),
		one(&Command{Name: "lpushx", Arity: -3, Flags: w | d | f, Summary: "Prepends one or more elements to a list only when the list exists.", Since: "2.2.0", Handler: cmdPush}),
		one(&Command{Name: "rpushx", Arity: -3, Flags: w | d | f, Summary: "Appends an element to a list only when the list exists.", Since: "2.2.0", Handler: cmdPush}),
		one(&Command{Name: "lpop", Arity: -2, Flags: w | f, Summary: "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", Since: "1.0.0", Handler: cmdPop}),
		one(&Command{Name: "rpop", Arity: -2, Flags: w | f, Summary: "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", Since: "1.0.0", Handler: cmdPop}),
		one(&Command{Name: "llen", Arity: 2, Flags: r | f, Summary: "Returns the length of a list.", Since: "1.0.0", Handler: cmdLLen}),
		one(&Command{Name: "lrange", Arity: 4, Flags: r, Summary: "Returns a range of elements from a list.", Since: "1.0.0", Handler: cmdLRange}),
		one(&Command{Name: "lindex", Arity: 3, Flags: r, Summary: "Returns an element from a list by its index.", Since: "1.0.0", Handler: cmdLIndex}),
		one(&Command{Name: "lset", Arity: 4, Flags: w | d, Summary: "Sets the value of an element in a list by its index.", Since: "1.0.0", Handler: cmdLSet}),
		one(&Command{Name: "lrem", Arity: 4, Flags: w, Summary: "Removes elements from a list. Deletes the list if the last element was removed.", Since: "1.0.0", Handler: cmdLRem}),
		one(&Command{Name: "ltrim", Arity: 4, Flags: w, Summary: "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", Since: "1.0.0", Handler: cmdLTrim}),
		one(&Command{Name: "linsert", Arity: 5, Flags: w | d, Summary: "Inserts an element before or after another element in a list.", Since: "2.2.0", Handler: cmdLInsert}),
		one(&Command{Name: "lpos", Arity: -3, Flags: r, Summary: "Returns the index of matching elements in a list.", Since: "6.0.6", Handler: cmdLPos}),
		&Command{Name: "lmove", Arity: 5, Flags: w | d, FirstKey: 1, LastKey: 2, Step: 1, Categories: CatList, Group: g, Summary: "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", Since: "6.2.0", Handler: cmdLMove},
		&Command{Name: "rpoplpush", Arity: 3, Flags: w | d, FirstKey: 1, LastKey: 2, Step: 1, Categories: CatList, Group: g, Summary: "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", Since: "1.2.0", Handler: cmdLMove},
		&Command{Name: "lmpop", Arity: -4, Flags: w | FlagMovableKeys, Categories: CatList, Group: g, Summary: "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", Since: "7.0.0", Handler: cmdLMPop, Keys: numKeysAt(1)},
		&Command{Name: "blpop", Arity: -3, Flags: w | b, FirstKey: 1, LastKey: -2, Step: 1, Categories: CatList, Group: g, Summary: "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Since: "2.0.0", Handler: cmdBPop},
		&Command{Name: "brpop", Arity: -3, Flags: w | b, FirstKey: 1, LastKey: -2, Step: 1, Categories: CatList, Group: g, Summary: "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Since: "2.0.0", Handler: cmdBPop},
		&Command{Name: "blmove", Arity: 6, Flags: w | d | b, FirstKey: 1, LastKey: 2, Step: 1, Categories: CatList, Group: g, Summary: "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", Since: "6.2.0", Handler: cmdLMove},
		&Command{Name: "brpoplpush", Arity: 4, Flags: w | d | b, FirstKey: 1, LastKey: 2, Step: 1, Categories: CatList, Group: g, Summary: "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", Since: "2.2.0", Handler: cmdLMove},
		&Command{Name: "blmpop", Arity: -5, Flags: w | b | FlagMovableKeys, Categories: CatList, Group: g, Summary: "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Since: "7.0.0", Handler: cmdLMPop, Keys: numKeysAt(2)},
	)
}

func (c *Ctx) listOf(key []byte, write bool) (l *List, o *Object, wrong bool) {
	if o, wrong = c.LookupTyped(key, TypeList, write); o == nil {
		return nil, nil, wrong
	}
	return o.Val.(*List), o, false
}

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
		o = &Object{Type: TypeList, Val: l}
		c.Set(key, o, false)
	}
	left := name[0] == 'l'
	for _, v := range c.Args[2:] {
		if left {
			l.PushFront(Owned(v))
		} else {
			l.PushBack(Owned(v))
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

// popN pops up to n elements from key's list (which exists), deleting the key when emptied, and records
// the effect "LPOP|RPOP key n".
func (c *Ctx) popN(key []byte, l *List, o *Object, left bool, n int) [][]byte {
	out := make([][]byte, 0, min(n, l.n))
	for len(out) < n && l.n > 0 {
		if left {
			out = append(out, l.PopFront())
		} else {
			out = append(out, l.PopBack())
		}
	}
	c.Modified(key, o)
	ev := "rpop"
	if left {
		ev = "lpop"
	}
	c.Notify('l', ev, key)
	if l.n == 0 {
		c.Delete(key)
		c.Notify('g', "del", key)
	}
	cmd := []byte("RPOP")
	if left {
		cmd = []byte("LPOP")
	}
	c.Emit(cmd, key, strconv.AppendInt(nil, int64(len(out)), 10))
	return out
}

func cmdPop(c *Ctx) {
	if len(c.Args) > 3 {
		c.ArityError()
		return
	}
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
	if hasCount && count == 0 {
		c.W.Array(0)
		return
	}
	out := c.popN(key, l, o, c.Cmd.Name == "lpop", int(count))
	if !hasCount {
		c.W.Bulk(out[0])
		return
	}
	c.W.Array(len(out))
	for _, v := range out {
		c.W.Bulk(v)
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

// listRange normalises a Redis start/end pair for a list of n elements; empty when start > end.
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
	if start >= int64(n) || start > end || end < 0 {
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
		c.W.Bulk(l.At(i))
	}
}

func cmdLIndex(c *Ctx) {
	idx, ok := c.ParseInt(c.Args[2])
	if !ok {
		return
	}
	l, _, wrong := c.listOf(c.Args[1], false)
	if wrong {
		return
	}
	if l == nil {
		c.W.Null()
		return
	}
	if idx < 0 {
		idx += int64(l.n)
	}
	if idx < 0 || idx >= int64(l.n) {
		c.W.Null()
		return
	}
	c.W.Bulk(l.At(int(idx)))
}

func cmdLSet(c *Ctx) {
	idx, ok := c.ParseInt(c.Args[2])
	if !ok {
		return
	}
	key := c.Args[1]
	l, o, wrong := c.listOf(key, true)
	if wrong {
		return
	}
	if l == nil {
		c.Error(ErrNoSuchKey)
		return
	}
	if idx < 0 {
		idx += int64(l.n)
	}
	if idx < 0 || idx >= int64(l.n) {
		c.Error(ErrIndexRange)
		return
	}
	l.setAt(int(idx), Owned(c.Args[3]))
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
	elems := l.slice()
	target := string(c.Args[3])
	removed := 0
	keep := make([]bool, len(elems))
	for i := range keep {
		keep[i] = true
	}
	if count >= 0 {
		for i, e := range elems {
			if string(e) == target && (count == 0 || int64(removed) < count) {
				keep[i] = false
				removed++
			}
		}
	} else {
		for i := len(elems) - 1; i >= 0; i-- {
			if string(elems[i]) == target && int64(removed) < -count {
				keep[i] = false
				removed++
			}
		}
	}
	if removed > 0 {
		out := elems[:0]
		for i, e := range elems {
			if keep[i] {
				out = append(out, e)
			}
		}
		l.rebuild(out)
		c.Modified(key, o)
		c.Notify('l', "lrem", key)
		if l.n == 0 {
			c.Delete(key)
			c.Notify('g', "del", key)
		}
		c.Propagate()
	}
	c.W.Int(int64(removed))
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
	s, e, ok := listRange(start, end, l.n)
	if ok {
		l.rebuild(l.slice()[s : e+1])
	} else {
		l.rebuild(nil)
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
	elems := l.slice()
	for i, e := range elems {
		if string(e) == string(c.Args[3]) {
			pos := i
			if after {
				pos++
			}
			elems = append(elems[:pos], append([][]byte{Owned(c.Args[4])}, elems[pos:]...)...)
			l.rebuild(elems)
			c.Modified(key, o)
			c.Notify('l', "linsert", key)
			c.Propagate()
			c.W.Int(int64(l.n))
			return
		}
	}
	c.W.Int(-1)
}

func cmdLPos(c *Ctx) {
	rank, count, maxlen := int64(1), int64(-1), int64(0)
	for i := 3; i < len(c.Args); i += 2 {
		if i+1 >= len(c.Args) {
			c.Error(ErrSyntax)
			return
		}
		v, ok := c.ParseInt(c.Args[i+1])
		if !ok {
			return
		}
		switch {
		case EqualFold(c.Args[i], "rank"):
			if v == 0 || v == math.MinInt64 {
				c.Error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
				return
			}
			rank = v
		case EqualFold(c.Args[i], "count"):
			if v < 0 {
				c.Error("ERR COUNT can't be negative")
				return
			}
			count = v
		case EqualFold(c.Args[i], "maxlen"):
			if v < 0 {
				c.Error("ERR MAXLEN can't be negative")
				return
			}
			maxlen = v
		default:
			c.Error(ErrSyntax)
			return
		}
	}
	l, _, wrong := c.listOf(c.Args[1], false)
	if wrong {
		return
	}
	var matches []int64
	if l != nil {
		want := count
		if want == 0 {
			want = math.MaxInt64
		} else if want < 0 {
			want = 1
		}
		skip := rank
		if skip < 0 {
			skip = -skip
		}
		skip--
		for k := 0; k < l.n && int64(len(matches)) < want; k++ {
			if maxlen > 0 && int64(k) >= maxlen {
				break
			}
			i := k
			if rank < 0 {
				i = l.n - 1 - k
			}
			if string(l.At(i)) == string(c.Args[2]) {
				if skip > 0 {
					skip--
					continue
				}
				matches = append(matches, int64(i))
			}
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

// parseTimeout parses a blocking command's timeout in seconds (a float) into milliseconds.
func (c *Ctx) parseTimeout(b []byte) (int64, bool) {
	f, ok := ParseFloat(b)
	if !ok || math.IsInf(f, 0) || f*1000 > math.MaxInt64/2 {
		c.Error("ERR timeout is not a float or out of range")
		return 0, false
	}
	if f < 0 {
		c.Error("ERR timeout is negative")
		return 0, false
	}
	return int64(math.Ceil(f * 1000)), true
}

func cmdLMove(c *Ctx) {
	name := c.Cmd.Name
	var srcLeft, dstLeft bool
	timeoutArg := -1
	switch name {
	case "rpoplpush", "brpoplpush":
		srcLeft, dstLeft = false, true
		if name == "brpoplpush" {
			timeoutArg = 3
		}
	default:
		for i, a := range c.Args[3:5] {
			var left bool
			switch {
			case EqualFold(a, "left"):
				left = true
			case EqualFold(a, "right"):
			default:
				c.Error(ErrSyntax)
				return
			}
			if i == 0 {
				srcLeft = left
			} else {
				dstLeft = left
			}
		}
		if name == "blmove" {
			timeoutArg = 5
		}
	}
	var timeout int64
	if timeoutArg > 0 {
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
		if timeoutArg > 0 && !c.InMulti {
			c.Block = &BlockRequest{Keys: [][]byte{src}, TimeoutMS: timeout}
			return
		}
		c.W.Null()
		return
	}
	dl, do, wrong := c.listOf(dst, true)
	if wrong {
		return
	}
	var v []byte
	if srcLeft {
		v = l.PopFront()
	} else {
		v = l.PopBack()
	}
	c.Modified(src, o)
	if srcLeft {
		c.Notify('l', "lpop", src)
	} else {
		c.Notify('l', "rpop", src)
	}
	if l.n == 0 && string(src) != string(dst) {
		c.Delete(src)
		c.Notify('g', "del", src)
	}
	if string(src) == string(dst) {
		dl, do = l, o
	}
	if dl == nil {
		dl = &List{}
		do = &Object{Type: TypeList, Val: dl}
		c.Set(dst, do, false)
	}
	if dstLeft {
		dl.PushFront(v)
		c.Notify('l', "lpush", dst)
	} else {
		dl.PushBack(v)
		c.Notify('l', "rpush", dst)
	}
	c.Modified(dst, do)
	side := func(left bool) []byte {
		if left {
			return []byte("LEFT")
		}
		return []byte("RIGHT")
	}
	c.Emit([]byte("LMOVE"), src, dst, side(srcLeft), side(dstLeft))
	c.W.Bulk(v)
}

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
		if l != nil {
			v := c.popN(k, l, o, left, 1)
			c.W.Array(2)
			c.W.Bulk(k)
			c.W.Bulk(v[0])
			return
		}
	}
	if c.InMulti {
		c.W.NullArray()
		return
	}
	c.Block = &BlockRequest{Keys: keys, TimeoutMS: timeout, NullArrayOnTimeout: true}
}

func cmdLMPop(c *Ctx) {
	blocking := c.Cmd.Name == "blmpop"
	i := 1
	var timeout int64
	if blocking {
		var ok bool
		if timeout, ok = c.parseTimeout(c.Args[1]); !ok {
			return
		}
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
	var left bool
	switch {
	case EqualFold(rest[0], "left"):
		left = true
	case EqualFold(rest[0], "right"):
	default:
		c.Error(ErrSyntax)
		return
	}
	count := int64(1)
	switch {
	case len(rest) == 1:
	case len(rest) == 3 && EqualFold(rest[1], "count"):
		v, err := ParseInt(rest[2])
		if err != nil || v <= 0 {
			c.Error("ERR count should be greater than 0")
			return
		}
		count = v
	default:
		c.Error(ErrSyntax)
		return
	}
	for _, k := range keys {
		l, o, wrong := c.listOf(k, true)
		if wrong {
			return
		}
		if l != nil {
			out := c.popN(k, l, o, left, int(count))
			c.W.Array(2)
			c.W.Bulk(k)
			c.W.Array(len(out))
			for _, v := range out {
				c.W.Bulk(v)
			}
			return
		}
	}
	if blocking && !c.InMulti {
		c.Block = &BlockRequest{Keys: keys, TimeoutMS: timeout, NullArrayOnTimeout: true}
		return
	}
	c.W.NullArray()
}
