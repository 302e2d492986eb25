package keyspace

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// Hash is the value of a hash key: field → value. Field order is not defined (as in Redis, whose order
// changes with the encoding); callers that need an order sort.
type Hash struct {
	m map[string][]byte
}

// hashMaxListpack mirror Redis's defaults for OBJECT ENCODING.
const (
	hashMaxListpackEntries = 128
	hashMaxListpackValue   = 64
)

func init() {
	RegisterType(TypeHash, &TypeOps{
		Clone: func(v any) any {
			h := v.(*Hash)
			n := &Hash{m: make(map[string][]byte, len(h.m))}
			for f, val := range h.m {
				n.m[f] = Owned(val)
			}
			return n
		},
		Marshal: func(dst []byte, v any) []byte {
			h := v.(*Hash)
			dst = binary.AppendUvarint(dst, uint64(len(h.m)))
			for f, val := range h.m {
				dst = AppendBytes(dst, []byte(f))
				dst = AppendBytes(dst, val)
			}
			return dst
		},
		Unmarshal: func(b []byte) (any, error) {
			n, k := binary.Uvarint(b)
			if k <= 0 || n > uint64(len(b)) {
				return nil, fmt.Errorf("bad hash length")
			}
			b = b[k:]
			h := &Hash{m: make(map[string][]byte, n)}
			for i := uint64(0); i < n; i++ {
				f, rest, err := ReadBytes(b)
				if err != nil {
					return nil, err
				}
				val, rest, err := ReadBytes(rest)
				if err != nil {
					return nil, err
				}
				h.m[string(f)] = Owned(val)
				b = rest
			}
			if len(b) != 0 {
				return nil, fmt.Errorf("trailing bytes after hash")
			}
			return h, nil
		},
		Size: func(v any) int {
			h := v.(*Hash)
			n := 48
			for f, val := range h.m {
				n += 16 + 24 + len(f) + cap(val) + 8
			}
			return n
		},
		Len: func(v any) int { return len(v.(*Hash).m) },
		Encoding: func(v any) string {
			h := v.(*Hash)
			if len(h.m) > hashMaxListpackEntries {
				return "hashtable"
			}
			for f, val := range h.m {
				if len(f) > hashMaxListpackValue || len(val) > hashMaxListpackValue {
					return "hashtable"
				}
			}
			return "listpack"
		},
	})
	const w, r, d, f = FlagWrite, FlagReadonly, FlagDenyOOM, FlagFast
	h := CatHash
	key := func(c *Command) *Command {
		c.FirstKey, c.LastKey, c.Step, c.Group = 1, 1, 1, "hash"
		c.Categories |= h
		return c
	}
	Register(
		key(&Command{Name: "hset", Arity: -4, Flags: w | d | f, Summary: "Creates or modifies the value of a field in a hash.", Since: "2.0.0", Handler: cmdHSet}),
		key(&Command{Name: "hmset", Arity: -4, Flags: w | d | f, Summary: "Sets the values of multiple fields.", Since: "2.0.0", Handler: cmdHSet}),
		key(&Command{Name: "hsetnx", Arity: 4, Flags: w | d | f, Summary: "Sets the value of a field in a hash only when the field doesn't exist.", Since: "2.0.0", Handler: cmdHSetNX}),
		key(&Command{Name: "hget", Arity: 3, Flags: r | f, Summary: "Returns the value of a field in a hash.", Since: "2.0.0", Handler: cmdHGet}),
		key(&Command{Name: "hmget", Arity: -3, Flags: r | f, Summary: "Returns the values of all fields in a hash.", Since: "2.0.0", Handler: cmdHMGet}),
		key(&Command{Name: "hgetall", Arity: 2, Flags: r, Summary: "Returns all fields and values in a hash.", Since: "2.0.0", Handler: cmdHGetAll}),
		key(&Command{Name: "hkeys", Arity: 2, Flags: r, Summary: "Returns all fields in a hash.", Since: "2.0.0", Handler: cmdHGetAll}),
		key(&Command{Name: "hvals", Arity: 2, Flags: r, Summary: "Returns all values in a hash.", Since: "2.0.0", Handler: cmdHGetAll}),
		key(&Command{Name: "hdel", Arity: -3, Flags: w | f, Summary: "Deletes one or more fields and their values from a hash.", Since: "2.0.0", Handler: cmdHDel}),
		key(&Command{Name: "hexists", Arity: 3, Flags: r | f, Summary: "Determines whether a field exists in a hash.", Since: "2.0.0", Handler: cmdHExists}),
		key(&Command{Name: "hlen", Arity: 2, Flags: r | f, Summary: "Returns the number of fields in a hash.", Since: "2.0.0", Handler: cmdHLen}),
		key(&Command{Name: "hstrlen", Arity: 3, Flags: r | f, Summary: "Returns the length of the value of a field.", Since: "3.2.0", Handler: cmdHStrlen}),
		key(&Command{Name: "hincrby", Arity: 4, Flags: w | d | f, Summary: "Increments the integer value of a field in a hash by a number.", Since: "2.0.0", Handler: cmdHIncrBy}),
		key(&Command{Name: "hincrbyfloat", Arity: 4, Flags: w | d | f, Summary: "Increments the floating point value of a field by a number.", Since: "2.6.0", Handler: cmdHIncrByFloat}),
		key(&Command{Name: "hrandfield", Arity: -2, Flags: r, Summary: "Returns one or more random fields from a hash.", Since: "6.2.0", Handler: cmdHRandField}),
		key(&Command{Name: "hscan", Arity: -3, Flags: r, Summary: "Iterates over fields and values of a hash.", Since: "2.8.0", Handler: cmdHScan}),
	)
}

// hashOf returns the hash at key for reading (nil when missing); wrong=true after replying WRONGTYPE.
func (c *Ctx) hashOf(key []byte, write bool) (h *Hash, o *Object, wrong bool) {
	if o, wrong = c.LookupTyped(key, TypeHash, write); o == nil {
		return nil, nil, wrong
	}
	return o.Val.(*Hash), o, false
}

// hashForWrite returns the hash at key, creating it when missing.
func (c *Ctx) hashForWrite(key []byte) (*Hash, *Object, bool) {
	h, o, wrong := c.hashOf(key, true)
	if wrong {
		return nil, nil, false
	}
	if h == nil {
		h = &Hash{m: map[string][]byte{}}
		o = &Object{Type: TypeHash, Val: h}
		c.Set(key, o, false)
	}
	return h, o, true
}

func cmdHSet(c *Ctx) {
	if len(c.Args)%2 != 0 {
		c.ArityError()
		return
	}
	key := c.Args[1]
	h, o, ok := c.hashForWrite(key)
	if !ok {
		return
	}
	added := 0
	for i := 2; i < len(c.Args); i += 2 {
		f := c.Args[i]
		if _, exists := h.m[string(f)]; !exists {
			added++
		}
		h.m[string(f)] = Owned(c.Args[i+1])
	}
	c.Modified(key, o)
	c.Notify('h', "hset", key)
	c.Propagate()
	if c.Cmd.Name == "hmset" {
		c.OK()
		return
	}
	c.W.Int(int64(added))
}

func cmdHSetNX(c *Ctx) {
	key := c.Args[1]
	h, o, wrong := c.hashOf(key, true)
	if wrong {
		return
	}
	if h != nil {
		if _, exists := h.m[string(c.Args[2])]; exists {
			c.W.Int(0)
			return
		}
	}
	if h == nil {
		h, o, _ = c.hashForWrite(key)
	}
	h.m[string(c.Args[2])] = Owned(c.Args[3])
	c.Modified(key, o)
	c.Notify('h', "hset", key)
	c.Propagate()
	c.W.Int(1)
}

func cmdHGet(c *Ctx) {
	h, _, wrong := c.hashOf(c.Args[1], false)
	if wrong {
		return
	}
	if h == nil {
		c.W.Null()
		return
	}
	v, ok := h.m[string(c.Args[2])]
	if !ok {
		c.W.Null()
		return
	}
	c.W.Bulk(v)
}

func cmdHMGet(c *Ctx) {
	h, _, wrong := c.hashOf(c.Args[1], false)
	if wrong {
		return
	}
	c.W.Array(len(c.Args) - 2)
	for _, f := range c.Args[2:] {
		if h == nil {
			c.W.Null()
			continue
		}
		if v, ok := h.m[string(f)]; ok {
			c.W.Bulk(v)
		} else {
			c.W.Null()
		}
	}
}

func cmdHGetAll(c *Ctx) {
	h, _, wrong := c.hashOf(c.Args[1], false)
	if wrong {
		return
	}
	n := 0
	if h != nil {
		n = len(h.m)
	}
	switch c.Cmd.Name {
	case "hgetall":
		c.W.Map(n)
	default:
		c.W.Array(n)
	}
	if h == nil {
		return
	}
	for f, v := range h.m {
		switch c.Cmd.Name {
		case "hgetall":
			c.W.BulkString(f)
			c.W.Bulk(v)
		case "hkeys":
			c.W.BulkString(f)
		default:
			c.W.Bulk(v)
		}
	}
}

func cmdHDel(c *Ctx) {
	key := c.Args[1]
	h, o, wrong := c.hashOf(key, true)
	if wrong {
		return
	}
	if h == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(removeNames(c, key, o, h.m, 'h', "hdel")))
}

// removeNames deletes the names in c.Args[2:] from a hash's or set's map and reports how many existed. When
// any did, it marks the key modified, emits the event, deletes the key once the map is empty and logs the
// command as is (HDEL, SREM).
func removeNames[V any](c *Ctx, key []byte, o *Object, m map[string]V, class byte, event string) int {
	n := 0
	for _, name := range c.Args[2:] {
		if _, ok := m[string(name)]; ok {
			delete(m, string(name))
			n++
		}
	}
	if n > 0 {
		c.Modified(key, o)
		c.Notify(class, event, key)
		if len(m) == 0 {
			c.Delete(key)
			c.Notify('g', "del", key)
		}
		c.Propagate()
	}
	return n
}

func cmdHExists(c *Ctx) {
	h, _, wrong := c.hashOf(c.Args[1], false)
	if wrong {
		return
	}
	if h == nil {
		c.W.Int(0)
		return
	}
	_, ok := h.m[string(c.Args[2])]
	if ok {
		c.W.Int(1)
	} else {
		c.W.Int(0)
	}
}

func cmdHLen(c *Ctx) {
	h, _, wrong := c.hashOf(c.Args[1], false)
	if wrong {
		return
	}
	if h == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(len(h.m)))
}

func cmdHStrlen(c *Ctx) {
	h, _, wrong := c.hashOf(c.Args[1], false)
	if wrong {
		return
	}
	if h == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(len(h.m[string(c.Args[2])])))
}

func cmdHIncrBy(c *Ctx) {
	by, ok := c.ParseInt(c.Args[3])
	if !ok {
		return
	}
	key := c.Args[1]
	h, o, wrong := c.hashOf(key, true)
	if wrong {
		return
	}
	var cur int64
	if h != nil {
		if v, exists := h.m[string(c.Args[2])]; exists {
			n, err := ParseInt(v)
			if err != nil {
				c.Error("ERR hash value is not an integer")
				return
			}
			cur = n
		}
	}
	if (by > 0 && cur > math.MaxInt64-by) || (by < 0 && cur < math.MinInt64-by) {
		c.Error(ErrOverflow)
		return
	}
	cur += by
	if h == nil {
		h, o, _ = c.hashForWrite(key)
	}
	h.m[string(c.Args[2])] = strconv.AppendInt(nil, cur, 10)
	c.Modified(key, o)
	c.Notify('h', "hincrby", key)
	c.Propagate()
	c.W.Int(cur)
}

func cmdHIncrByFloat(c *Ctx) {
	by, ok := ParseFloat(c.Args[3])
	if !ok {
		c.Error(ErrNotFloat)
		return
	}
	key := c.Args[1]
	h, o, wrong := c.hashOf(key, true)
	if wrong {
		return
	}
	var cur float64
	if h != nil {
		if v, exists := h.m[string(c.Args[2])]; exists {
			f, ok := ParseFloat(v)
			if !ok {
				c.Error("ERR hash value is not a float")
				return
			}
			cur = f
		}
	}
	cur += by
	if math.IsInf(cur, 0) || math.IsNaN(cur) {
		c.Error(ErrNaNInf)
		return
	}
	if h == nil {
		h, o, _ = c.hashForWrite(key)
	}
	s := []byte(FormatFloat(cur))
	h.m[string(c.Args[2])] = s
	c.Modified(key, o)
	c.Notify('h', "hincrbyfloat", key)
	c.Emit([]byte("HSET"), key, c.Args[2], s)
	c.W.Bulk(s)
}

func cmdHRandField(c *Ctx) {
	if len(c.Args) > 4 || (len(c.Args) == 4 && !EqualFold(c.Args[3], "withvalues")) {
		c.Error(ErrSyntax)
		return
	}
	var count int64
	hasCount := len(c.Args) >= 3
	if hasCount {
		n, err := ParseInt(c.Args[2])
		if err != nil {
			c.Error(ErrNotInt)
			return
		}
		count = n
	}
	withValues := len(c.Args) == 4
	if withValues && (count > math.MaxInt64/2 || count < math.MinInt64/2) {
		c.Error("ERR value is out of range")
		return
	}
	h, _, wrong := c.hashOf(c.Args[1], false)
	if wrong {
		return
	}
	if !hasCount {
		if h == nil {
			c.W.Null()
			return
		}
		skip := c.KS.Rand().IntN(len(h.m))
		for f := range h.m {
			if skip == 0 {
				c.W.BulkString(f)
				return
			}
			skip--
		}
		return
	}
	if h == nil || count == 0 {
		c.W.Array(0)
		return
	}
	fields := make([]string, 0, len(h.m))
	for f := range h.m {
		fields = append(fields, f)
	}
	var pick []string
	if count > 0 {
		c.KS.Rand().Shuffle(len(fields), func(i, j int) { fields[i], fields[j] = fields[j], fields[i] })
		pick = fields[:min(int(count), len(fields))]
	} else {
		for i := int64(0); i < -count; i++ {
			pick = append(pick, fields[c.KS.Rand().IntN(len(fields))])
		}
	}
	if withValues && c.W.Proto >= 3 {
		c.W.Array(len(pick))
		for _, f := range pick {
			c.W.Array(2)
			c.W.BulkString(f)
			c.W.Bulk(h.m[f])
		}
		return
	}
	if withValues {
		c.W.Array(2 * len(pick))
	} else {
		c.W.Array(len(pick))
	}
	for _, f := range pick {
		c.W.BulkString(f)
		if withValues {
			c.W.Bulk(h.m[f])
		}
	}
}

// cmdHScan returns every matching field in one reply with cursor 0: SCAN's COUNT is a hint, and a hash's
// fields have no stable order to resume from (Redis does the same for small, listpack-encoded hashes).
func cmdHScan(c *Ctx) {
	if _, err := strconv.ParseUint(string(c.Args[2]), 10, 64); err != nil {
		c.Error("ERR invalid cursor")
		return
	}
	pat, _, ok := c.ScanOptions(3)
	if !ok {
		return
	}
	h, _, wrong := c.hashOf(c.Args[1], false)
	if wrong {
		return
	}
	c.W.Array(2)
	c.W.BulkString("0")
	if h == nil {
		c.W.Array(0)
		return
	}
	var out []string
	for f := range h.m {
		if pat == nil || Match(pat, []byte(f), false) {
			out = append(out, f)
		}
	}
	c.W.Array(2 * len(out))
	for _, f := range out {
		c.W.BulkString(f)
		c.W.Bulk(h.m[f])
	}
}
