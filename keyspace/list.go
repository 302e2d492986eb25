package keyspace

import (
	"encoding/binary"
	"fmt"
)

// List is the value of a list key: a ring buffer of elements. Pushes and pops at either end are O(1)
// (amortized over the buffer's doubling), LINDEX and LSET are O(1), and inserting or removing in the
// middle moves the elements of the shorter side, as a quicklist walks to the position.
type List struct {
	buf  []string
	head int // position of the first element in buf
	n    int // number of elements
}

// Len returns the number of elements.
func (l *List) Len() int { return l.n }

// At returns element i (0 <= i < Len).
func (l *List) At(i int) string { return l.buf[l.pos(i)] }

// pos maps a list index to its position in buf.
func (l *List) pos(i int) int {
	p := l.head + i
	if p >= len(l.buf) {
		p -= len(l.buf)
	}
	return p
}

func (l *List) set(i int, v string) { l.buf[l.pos(i)] = v }

// resize moves the elements to a new buffer of the given size (>= n), starting at position 0.
func (l *List) resize(size int) {
	nb := make([]string, size)
	if l.n > 0 {
		if l.head+l.n <= len(l.buf) {
			copy(nb, l.buf[l.head:l.head+l.n])
		} else {
			k := copy(nb, l.buf[l.head:])
			copy(nb[k:], l.buf[:l.n-k])
		}
	}
	l.buf, l.head = nb, 0
}

func (l *List) grow() {
	if l.n == len(l.buf) {
		l.resize(max(4, 2*len(l.buf)))
	}
}

// shrink halves the buffer once it is less than a quarter full.
func (l *List) shrink() {
	if len(l.buf) > 16 && l.n < len(l.buf)/4 {
		l.resize(len(l.buf) / 2)
	}
}

// PushFront prepends v.
func (l *List) PushFront(v string) {
	l.grow()
	l.head--
	if l.head < 0 {
		l.head += len(l.buf)
	}
	l.buf[l.head] = v
	l.n++
}

// PushBack appends v.
func (l *List) PushBack(v string) {
	l.grow()
	l.buf[l.pos(l.n)] = v
	l.n++
}

// PopFront removes and returns the first element (the list must not be empty).
func (l *List) PopFront() string {
	v := l.buf[l.head]
	l.buf[l.head] = ""
	l.head = l.pos(1)
	l.n--
	l.shrink()
	return v
}

// PopBack removes and returns the last element (the list must not be empty).
func (l *List) PopBack() string {
	p := l.pos(l.n - 1)
	v := l.buf[p]
	l.buf[p] = ""
	l.n--
	l.shrink()
	return v
}

// trim drops left elements from the front and right from the back (left+right <= Len).
func (l *List) trim(left, right int) {
	for i := 0; i < left; i++ {
		l.buf[l.pos(i)] = ""
	}
	for i := l.n - right; i < l.n; i++ {
		l.buf[l.pos(i)] = ""
	}
	l.head = l.pos(left)
	l.n -= left + right
	if l.n == 0 {
		l.head = 0
	}
	for len(l.buf) > 16 && l.n < len(l.buf)/4 {
		l.resize(max(16, len(l.buf)/2))
	}
}

// insert puts v at index i (0 <= i <= Len), shifting the elements on the shorter side.
func (l *List) insert(i int, v string) {
	l.grow()
	if i < l.n-i {
		l.head--
		if l.head < 0 {
			l.head += len(l.buf)
		}
		for j := 0; j < i; j++ {
			l.set(j, l.At(j+1))
		}
	} else {
		for j := l.n; j > i; j-- {
			l.buf[l.pos(j)] = l.At(j - 1)
		}
	}
	l.n++
	l.set(i, v)
}

// removeMatching deletes up to limit elements equal to v (all of them when limit is 0), scanning from the
// tail when fromTail is set, and returns how many it removed. The kept elements are compacted in place.
func (l *List) removeMatching(v []byte, limit int64, fromTail bool) int64 {
	removed := int64(0)
	if !fromTail {
		w := 0
		for r := 0; r < l.n; r++ {
			e := l.At(r)
			if e == string(v) && (limit == 0 || removed < limit) {
				removed++
				continue
			}
			if w != r {
				l.set(w, e)
			}
			w++
		}
		l.trim(0, l.n-w)
		return removed
	}
	w := l.n - 1
	for r := l.n - 1; r >= 0; r-- {
		e := l.At(r)
		if e == string(v) && (limit == 0 || removed < limit) {
			removed++
			continue
		}
		if w != r {
			l.set(w, e)
		}
		w--
	}
	l.trim(w+1, 0)
	return removed
}

func init() {
	RegisterType(TypeList, &TypeOps{
		Clone: func(v any) any {
			l := v.(*List)
			n := &List{}
			n.resize(max(4, l.n))
			for i := 0; i < l.n; i++ {
				n.buf[i] = l.At(i)
			}
			n.n = l.n
			return n
		},
		Marshal: func(dst []byte, v any) []byte {
			l := v.(*List)
			dst = binary.AppendUvarint(dst, uint64(l.n))
			for i := 0; i < l.n; i++ {
				dst = appendString(dst, l.At(i))
			}
			return dst
		},
		Unmarshal: func(b []byte) (any, error) {
			n, k := binary.Uvarint(b)
			if k <= 0 || n > uint64(len(b)) {
				return nil, fmt.Errorf("keyspace: bad list length")
			}
			b = b[k:]
			l := &List{}
			l.resize(max(4, int(n)))
			for i := uint64(0); i < n; i++ {
				e, rest, err := ReadBytes(b)
				if err != nil {
					return nil, err
				}
				l.PushBack(string(e))
				b = rest
			}
			if len(b) != 0 {
				return nil, fmt.Errorf("keyspace: trailing bytes after list")
			}
			return l, nil
		},
		Size: func(v any) int {
			l := v.(*List)
			n := 48 + 16*len(l.buf)
			for i := 0; i < l.n; i++ {
				n += sizeClass(len(l.At(i)))
			}
			return n
		},
		Len: func(v any) int { return v.(*List).n },
		// Redis 7.0 encodes every list as a quicklist (7.2 reports small ones as listpack).
		Encoding: func(v any) string { return "quicklist" },
	})
	const w, r, d, f, b = FlagWrite, FlagReadonly, FlagDenyOOM, FlagFast, FlagBlocking
	g := "list"
	one := func(c *Command) *Command {
		c.FirstKey, c.LastKey, c.Step, c.Group = 1, 1, 1, g
		c.Categories |= CatList
		return c
	}
	two := func(c *Command) *Command {
		c.FirstKey, c.LastKey, c.Step, c.Group = 1, 2, 1, g
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
		two(&Command{Name: "lmove", Arity: 5, Flags: w | d, Summary: "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", Since: "6.2.0", Handler: cmdLMove}),
		two(&Command{Name: "rpoplpush", Arity: 3, Flags: w | d, Summary: "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", Since: "1.2.0", Handler: cmdLMove}),
		&Command{Name: "lmpop", Arity: -4, Flags: w | FlagMovableKeys, Categories: CatList, Group: g, Summary: "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", Since: "7.0.0", Handler: cmdLMPop, Keys: numKeysAt(1)},
		&Command{Name: "blpop", Arity: -3, Flags: w | b, FirstKey: 1, LastKey: -2, Step: 1, Categories: CatList, Group: g, Summary: "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Since: "2.0.0", Handler: cmdBPop},
		&Command{Name: "brpop", Arity: -3, Flags: w | b, FirstKey: 1, LastKey: -2, Step: 1, Categories: CatList, Group: g, Summary: "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Since: "2.0.0", Handler: cmdBPop},
		two(&Command{Name: "blmove", Arity: 6, Flags: w | d | b, Summary: "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", Since: "6.2.0", Handler: cmdLMove}),
		two(&Command{Name: "brpoplpush", Arity: 4, Flags: w | d | b, Summary: "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", Since: "2.2.0", Handler: cmdLMove}),
		&Command{Name: "blmpop", Arity: -5, Flags: w | b | FlagMovableKeys, Categories: CatList, Group: g, Summary: "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Since: "7.0.0", Handler: cmdLMPop, Keys: numKeysAt(2)},
	)
}

// listOf returns the list at key (nil when missing); wrong=true after replying WRONGTYPE.
func (c *Ctx) listOf(key []byte, write bool) (l *List, o *Object, wrong bool) {
	if o, wrong = c.LookupTyped(key, TypeList, write); o == nil {
		return nil, nil, wrong
	}
	return o.Val().(*List), o, false
}
