package keyspace

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
)

// Hash is the value of a hash key: fields and their values in a dense table (see dense). Field order is
// arbitrary, as in Redis.
type Hash struct {
	t dense[string]
	// big is set once Redis would have converted the hash from listpack to hashtable: more than 512
	// fields, or a field or value longer than 64 bytes written. Like Redis's encoding it never reverts; it
	// decides OBJECT ENCODING and whether HSCAN pages.
	big bool
}

// Redis's defaults for the listpack encoding of hashes (hash-max-listpack-entries/-value).
const (
	hashMaxListpackEntries = 512
	hashMaxListpackValue   = 64
)

// Len returns the number of fields.
func (h *Hash) Len() int { return h.t.len() }

// Get returns the value of field.
func (h *Hash) Get(field []byte) (string, bool) { return h.t.get(field) }

// set writes one field, converting the encoding as Redis's hashTypeSet does: a long field or value, or
// one field too many, turns a listpack hash into a hashtable.
func (h *Hash) set(field []byte, v string) bool {
	if len(field) > hashMaxListpackValue || len(v) > hashMaxListpackValue {
		h.big = true
	}
	added := h.t.put(field, v)
	if h.t.len() > hashMaxListpackEntries {
		h.big = true
	}
	return added
}

func init() {
	RegisterType(TypeHash, &TypeOps{
		Clone: func(v any) any {
			h := v.(*Hash)
			return &Hash{t: h.t.clone(func(s string) string { return s }), big: h.big}
		},
		Marshal: func(dst []byte, v any) []byte {
			h := v.(*Hash)
			dst = binary.AppendUvarint(dst, uint64(h.t.len()))
			for i, f := range h.t.names {
				dst = appendString(dst, f)
				dst = appendString(dst, h.t.vals[i])
			}
			return dst
		},
		Unmarshal: func(b []byte) (any, error) {
			n, k := binary.Uvarint(b)
			if k <= 0 || n > uint64(len(b)) {
				return nil, fmt.Errorf("keyspace: bad hash length")
			}
			b = b[k:]
			h := &Hash{}
			for i := uint64(0); i < n; i++ {
				f, rest, err := ReadBytes(b)
				if err != nil {
					return nil, err
				}
				val, rest, err := ReadBytes(rest)
				if err != nil {
					return nil, err
				}
				h.set(f, string(val))
				b = rest
			}
			if len(b) != 0 {
				return nil, fmt.Errorf("keyspace: trailing bytes after hash")
			}
			return h, nil
		},
		Size: func(v any) int {
			h := v.(*Hash)
			n := 64 + 32*cap(h.t.names)
			if h.t.index != nil {
				n += 48 + 28*h.t.indexPeak
			}
			for i, f := range h.t.names {
				n += sizeClass(len(f)) + sizeClass(len(h.t.vals[i]))
			}
			return n
		},
		Len: func(v any) int { return v.(*Hash).t.len() },
		Encoding: func(v any) string {
			if v.(*Hash).big {
				return "hashtable"
			}
			return "listpack"
		},
	})
	const w, r, d, f = FlagWrite, FlagReadonly, FlagDenyOOM, FlagFast
	key := func(c *Command) *Command {
		c.FirstKey, c.LastKey, c.Step, c.Group = 1, 1, 1, "hash"
		c.Categories |= CatHash
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
		key(&Command{Name: "hscan", Arity: -3, Flags: r, Summary: "Iterates over fields and values of a hash.", Since: "2.0.0", Handler: cmdHScan}),
	)
}

// sizeClass estimates the bytes the Go allocator hands out for an n-byte string.
func sizeClass(n int) int {
	switch {
	case n == 0:
		return 0
	case n <= 8:
		return 8
	case n <= 16:
		return 16
	case n <= 32:
		return 32
	}
	return (n + 15) &^ 15
}

// appendString is AppendBytes for a string.
func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// hashOf returns the hash at key (nil when missing); wrong=true after replying WRONGTYPE.
func (c *Ctx) hashOf(key []byte, write bool) (h *Hash, o *Object, wrong bool) {
	if o, wrong = c.LookupTyped(key, TypeHash, write); o == nil {
		return nil, nil, wrong
	}
	return o.Val().(*Hash), o, false
}

// hashForWrite returns the hash at key, creating it when missing; ok=false after replying WRONGTYPE.
func (c *Ctx) hashForWrite(key []byte) (*Hash, *Object, bool) {
	h, o, wrong := c.hashOf(key, true)
	if wrong {
		return nil, nil, false
	}
	if h == nil {
		h = &Hash{}
		o = NewValue(TypeHash, h)
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
		if h.set(c.Args[i], string(c.Args[i+1])) {
			added++
		}
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
	h, o, ok := c.hashForWrite(key)
	if !ok {
		return
	}
	if h.t.has(c.Args[2]) {
		c.W.Int(0)
		return
	}
	h.set(c.Args[2], string(c.Args[3]))
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
	if v, ok := h.t.get(c.Args[2]); ok {
		c.W.BulkString(v)
		return
	}
	c.W.Null()
}

func cmdHMGet(c *Ctx) {
	h, _, wrong := c.hashOf(c.Args[1], false)
	if wrong {
		return
	}
	c.W.Array(len(c.Args) - 2)
	for _, f := range c.Args[2:] {
		if h != nil {
			if v, ok := h.t.get(f); ok {
				c.W.BulkString(v)
				continue
			}
		}
		c.W.Null()
	}
}

// cmdHGetAll serves HGETALL (a map in RESP3), HKEYS and HVALS.
func cmdHGetAll(c *Ctx) {
	h, _, wrong := c.hashOf(c.Args[1], false)
	if wrong {
		return
	}
	name := c.Cmd.Name
	n := 0
	if h != nil {
		n = h.t.len()
	}
	if name == "hgetall" {
		c.W.Map(n)
	} else {
		c.W.Array(n)
	}
	if h == nil {
		return
	}
	for i, f := range h.t.names {
		if name != "hvals" {
			c.W.BulkString(f)
		}
		if name != "hkeys" {
			c.W.BulkString(h.t.vals[i])
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
	c.W.Int(int64(removeNames(c, key, o, &h.t, 'h', "hdel")))
}

// removeNames deletes the names in c.Args[2:] from a hash's or set's table and reports how many existed.
// When any did, it marks the key modified, emits the event, deletes the key once the table is empty and
// logs the command as is (HDEL, SREM).
func removeNames[V any](c *Ctx, key []byte, o *Object, t *dense[V], class byte, event string) int {
	n := 0
	for _, name := range c.Args[2:] {
		if t.remove(name) {
			n++
			if t.len() == 0 {
				break
			}
		}
	}
	if n > 0 {
		c.Modified(key, o)
		c.Notify(class, event, key)
		if t.len() == 0 {
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
	if h != nil && h.t.has(c.Args[2]) {
		c.W.Int(1)
		return
	}
	c.W.Int(0)
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
	c.W.Int(int64(h.t.len()))
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
	v, _ := h.t.get(c.Args[2])
	c.W.Int(int64(len(v)))
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
		if v, exists := h.t.get(c.Args[2]); exists {
			n, err := ParseInt([]byte(v))
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
	h.set(c.Args[2], strconv.FormatInt(cur, 10))
	c.Modified(key, o)
	c.Notify('h', "hincrby", key)
	c.Propagate()
	c.W.Int(cur)
}

func cmdHIncrByFloat(c *Ctx) {
	by, ok := parseLongDouble(c.Args[3])
	if !ok {
		c.Error(ErrNotFloat)
		return
	}
	if by.IsInf() {
		c.Error("ERR value is NaN or Infinity")
		return
	}
	key := c.Args[1]
	h, o, wrong := c.hashOf(key, true)
	if wrong {
		return
	}
	cur := new(big.Float).SetPrec(ldPrec)
	if h != nil {
		if v, exists := h.t.get(c.Args[2]); exists {
			f, ok := parseLongDouble([]byte(v))
			if !ok {
				c.Error("ERR hash value is not a float")
				return
			}
			cur = f
		}
	}
	s, ok := ldAdd(cur, by)
	if !ok {
		c.Error(ErrNaNInf)
		return
	}
	if h == nil {
		h, o, _ = c.hashForWrite(key)
	}
	h.set(c.Args[2], s)
	c.Modified(key, o)
	c.Notify('h', "hincrbyfloat", key)
	// The result, not the increment, is logged: replay must not depend on float arithmetic.
	c.Emit([]byte("HSET"), key, c.Args[2], []byte(s))
	c.W.BulkString(s)
}

func cmdHRandField(c *Ctx) {
	if len(c.Args) == 2 {
		h, _, wrong := c.hashOf(c.Args[1], false)
		if wrong {
			return
		}
		if h == nil {
			c.W.Null()
			return
		}
		c.W.BulkString(h.t.names[h.t.random(c.KS.Rand())])
		return
	}
	count, ok := c.parseRangeCount(c.Args[2])
	if !ok {
		return
	}
	if len(c.Args) > 4 || (len(c.Args) == 4 && !EqualFold(c.Args[3], "withvalues")) {
		c.Error(ErrSyntax)
		return
	}
	withValues := len(c.Args) == 4
	if withValues && (count > math.MaxInt64/2 || count < -(math.MaxInt64/2)) {
		c.Error("ERR value is out of range")
		return
	}
	h, _, wrong := c.hashOf(c.Args[1], false)
	if wrong {
		return
	}
	if h == nil || count == 0 {
		c.W.Array(0)
		return
	}
	pairs := withValues && c.W.Proto >= 3
	reply := func(n int) {
		if withValues && !pairs {
			c.W.Array(2 * n)
		} else {
			c.W.Array(n)
		}
	}
	field := func(i int) {
		if pairs {
			c.W.Array(2)
		}
		c.W.BulkString(h.t.names[i])
		if withValues {
			c.W.BulkString(h.t.vals[i])
		}
	}
	if count < 0 {
		n := int(-count)
		reply(n)
		for ; n > 0; n-- {
			field(h.t.random(c.KS.Rand()))
		}
		return
	}
	picks := distinctPositions(c.KS.Rand(), h.t.len(), count)
	reply(len(picks))
	for _, i := range picks {
		field(i)
	}
}

// parseRangeCount parses the count of SRANDMEMBER/HRANDFIELD: an integer in [-LLONG_MAX, LLONG_MAX]
// (Redis's getRangeLongFromObjectOrReply).
func (c *Ctx) parseRangeCount(b []byte) (int64, bool) {
	n, ok := c.ParseInt(b)
	if !ok {
		return 0, false
	}
	if n == math.MinInt64 {
		c.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return 0, false
	}
	return n, true
}

// distinctPositions returns min(count, n) distinct positions out of n, in random order when count < n
// (a partial Fisher-Yates shuffle over the positions) and in table order when count >= n, as Redis
// returns the whole collection then.
func distinctPositions(r interface{ IntN(int) int }, n int, count int64) []int {
	if count >= int64(n) {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	k := int(count)
	if k*4 < n {
		// Few picks from many: draw until k distinct positions, without an n-sized permutation.
		seen := make(map[int]struct{}, k)
		out := make([]int, 0, k)
		for len(out) < k {
			i := r.IntN(n)
			if _, dup := seen[i]; !dup {
				seen[i] = struct{}{}
				out = append(out, i)
			}
		}
		return out
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for i := 0; i < k; i++ {
		j := i + r.IntN(n-i)
		perm[i], perm[j] = perm[j], perm[i]
	}
	return perm[:k]
}

// parseScanCursor parses an HSCAN/SSCAN cursor as Redis's parseScanCursorOrReply does (strtoul on the
// whole argument: an optional sign, a negative value wrapping around, no leading space, at most 2^64-1).
func (c *Ctx) parseScanCursor(b []byte) (uint64, bool) {
	s := b
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
		if len(s) == 0 {
			c.Error("ERR invalid cursor")
			return 0, false
		}
	}
	var v uint64
	for _, ch := range s {
		if ch < '0' || ch > '9' {
			c.Error("ERR invalid cursor")
			return 0, false
		}
		d := uint64(ch - '0')
		if v > (math.MaxUint64-d)/10 {
			c.Error("ERR invalid cursor")
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		v = -v
	}
	return v, true
}

// scanTable writes one HSCAN/SSCAN reply for t: the next cursor and the matching entries, each as its
// name (and value, for hashes, when vals is set). Compact encodings (listpack, intset) answer everything
// in one call with cursor 0, as Redis does for them; hashtable-encoded ones page through positions (see
// table.scan), COUNT at a time.
func scanTable[V any](c *Ctx, t *dense[V], paged bool, cursor uint64, vals func(int) string) {
	pat, count, ok := c.ScanOptions(3)
	if !ok {
		return
	}
	var picked []int
	keep := func(i int) {
		if pat == nil || Match(pat, []byte(t.names[i]), false) {
			picked = append(picked, i)
		}
	}
	next := uint64(0)
	if paged {
		next = t.scan(cursor, count, keep)
	} else {
		for i := range t.names {
			keep(i)
		}
	}
	c.W.Array(2)
	c.W.BulkString(strconv.FormatUint(next, 10))
	if vals == nil {
		c.W.Array(len(picked))
	} else {
		c.W.Array(2 * len(picked))
	}
	for _, i := range picked {
		c.W.BulkString(t.names[i])
		if vals != nil {
			c.W.BulkString(vals(i))
		}
	}
}

// emptyScan is the reply to HSCAN/SSCAN of a missing key.
func (c *Ctx) emptyScan() {
	c.W.Array(2)
	c.W.BulkString("0")
	c.W.Array(0)
}

func cmdHScan(c *Ctx) {
	cursor, ok := c.parseScanCursor(c.Args[2])
	if !ok {
		return
	}
	h, _, wrong := c.hashOf(c.Args[1], false)
	if wrong {
		return
	}
	if h == nil {
		c.emptyScan()
		return
	}
	scanTable(c, &h.t, h.big, cursor, func(i int) string { return h.t.vals[i] })
}
