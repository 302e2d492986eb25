package keyspace

import (
	"math"
	"math/big"
	"strconv"
)

// maxStringLen is Redis's proto-max-bulk-len default, the largest string SETRANGE/APPEND may build.
const maxStringLen = 512 << 20

func init() {
	const w, r, d, f = FlagWrite, FlagReadonly, FlagDenyOOM, FlagFast
	s := CatString
	Register(
		&Command{Name: "get", Arity: 2, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Returns the string value of a key.", Since: "1.0.0", Handler: cmdGet},
		&Command{Name: "set", Arity: -3, Flags: w | d, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", Since: "1.0.0", Handler: cmdSet},
		&Command{Name: "setnx", Arity: 3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Set the string value of a key only when the key doesn't exist.", Since: "1.0.0", Handler: cmdSetNX},
		&Command{Name: "setex", Arity: 4, Flags: w | d, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Sets the string value and expiration time of a key.", Since: "2.0.0", Handler: cmdSetEX},
		&Command{Name: "psetex", Arity: 4, Flags: w | d, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Sets both string value and expiration time in milliseconds of a key.", Since: "2.6.0", Handler: cmdSetEX},
		&Command{Name: "getset", Arity: 3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Returns the previous string value of a key after setting it to a new value.", Since: "1.0.0", Handler: cmdGetSet},
		&Command{Name: "mget", Arity: -2, Flags: r | f, FirstKey: 1, LastKey: -1, Step: 1, Categories: s, Group: "string", Summary: "Atomically returns the string values of one or more keys.", Since: "1.0.0", Handler: cmdMGet},
		&Command{Name: "mset", Arity: -3, Flags: w | d, FirstKey: 1, LastKey: -1, Step: 2, Categories: s, Group: "string", Summary: "Atomically creates or modifies the string values of one or more keys.", Since: "1.0.1", Handler: cmdMSet},
		&Command{Name: "msetnx", Arity: -3, Flags: w | d, FirstKey: 1, LastKey: -1, Step: 2, Categories: s, Group: "string", Summary: "Atomically modifies the string values of one or more keys only when all keys don't exist.", Since: "1.0.1", Handler: cmdMSetNX},
		&Command{Name: "incr", Arity: 2, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Increments the integer value of a key by one.", Since: "1.0.0", Handler: cmdIncr},
		&Command{Name: "decr", Arity: 2, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Decrements the integer value of a key by one.", Since: "1.0.0", Handler: cmdIncr},
		&Command{Name: "incrby", Arity: 3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Increments the integer value of a key by a number.", Since: "1.0.0", Handler: cmdIncr},
		&Command{Name: "decrby", Arity: 3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Decrements a number from the integer value of a key.", Since: "1.0.0", Handler: cmdIncr},
		&Command{Name: "incrbyfloat", Arity: 3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Increment the floating point value of a key by a number.", Since: "2.6.0", Handler: cmdIncrByFloat},
		&Command{Name: "append", Arity: 3, Flags: w | d | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.", Since: "2.0.0", Handler: cmdAppend},
		&Command{Name: "strlen", Arity: 2, Flags: r | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Returns the length of a string value.", Since: "2.2.0", Handler: cmdStrlen},
		&Command{Name: "getrange", Arity: 4, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Returns a substring of the string stored at a key.", Since: "2.4.0", Handler: cmdGetRange},
		&Command{Name: "substr", Arity: 4, Flags: r, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Returns a substring from a string value.", Since: "1.0.0", Handler: cmdGetRange},
		&Command{Name: "setrange", Arity: 4, Flags: w | d, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", Since: "2.2.0", Handler: cmdSetRange},
		&Command{Name: "getdel", Arity: 2, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Returns the string value of a key after deleting the key.", Since: "6.2.0", Handler: cmdGetDel},
		&Command{Name: "getex", Arity: -2, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: s, Group: "string", Summary: "Returns the string value of a key after setting its expiration time.", Since: "6.2.0", Handler: cmdGetEx},
	)
}

// stringValue returns the string at key for reading; wrong=true (after replying WRONGTYPE) for another type.
func (c *Ctx) stringValue(key []byte) (v []byte, exists, wrong bool) {
	o := c.Lookup(key)
	if o == nil {
		return nil, false, false
	}
	if o.Type != TypeString {
		c.W.Error(ErrWrongType)
		return nil, true, true
	}
	return o.Str(), true, false
}

func cmdGet(c *Ctx) {
	v, ok, wrong := c.stringValue(c.Args[1])
	if wrong {
		return
	}
	if !ok {
		c.W.Null()
		return
	}
	c.W.Bulk(v)
}

// expireArg parses the time argument of EX/PX/EXAT/PXAT and returns the absolute expiry in ms; on error it
// replies (invalid expire time in '<name>' or not-an-integer) and returns ok=false.
func (c *Ctx) expireArg(b []byte, seconds, absolute bool) (int64, bool) {
	n, ok := c.ParseInt(b)
	if !ok {
		return 0, false
	}
	if n <= 0 || (seconds && n > math.MaxInt64/1000) {
		c.W.Error(ErrInvalidExpire(c.Cmd.Name))
		return 0, false
	}
	if seconds {
		n *= 1000
	}
	if !absolute {
		if n > math.MaxInt64-c.Now {
			c.W.Error(ErrInvalidExpire(c.Cmd.Name))
			return 0, false
		}
		n += c.Now
	}
	return n, true
}

var (
	argSET     = []byte("SET")
	argPXAT    = []byte("PXAT")
	argKEEPTTL = []byte("KEEPTTL")
	argDEL     = []byte("DEL")
)

// propagateSet records SET key val [PXAT at | KEEPTTL].
func (c *Ctx) propagateSet(key, val []byte, at int64, keepTTL bool) {
	if c.Effects == nil || c.Replay {
		return
	}
	switch {
	case at != 0:
		var tmp [20]byte
		c.Emit(argSET, key, val, argPXAT, strconv.AppendInt(tmp[:0], at, 10))
	case keepTTL:
		c.Emit(argSET, key, val, argKEEPTTL)
	default:
		c.Emit(argSET, key, val)
	}
}

func cmdSet(c *Ctx) {
	const (
		optNX = 1 << iota
		optXX
		optGET
		optKEEPTTL
		optExpire
	)
	var opts int
	var at int64
	for i := 3; i < len(c.Args); i++ {
		a := c.Args[i]
		switch {
		case EqualFold(a, "nx") && opts&optXX == 0:
			opts |= optNX
		case EqualFold(a, "xx") && opts&optNX == 0:
			opts |= optXX
		case EqualFold(a, "get"):
			opts |= optGET
		case EqualFold(a, "keepttl") && opts&optExpire == 0:
			opts |= optKEEPTTL
		case (EqualFold(a, "ex") || EqualFold(a, "px") || EqualFold(a, "exat") || EqualFold(a, "pxat")) &&
			opts&(optKEEPTTL|optExpire) == 0 && i+1 < len(c.Args):
			opts |= optExpire
			i++
			// Parsing is deferred until all options are syntax-checked, as Redis does.
		default:
			c.Error(ErrSyntax)
			return
		}
	}
	if opts&optExpire != 0 {
		for i := 3; i < len(c.Args); i++ {
			a := c.Args[i]
			sec, abs := EqualFold(a, "ex") || EqualFold(a, "exat"), EqualFold(a, "exat") || EqualFold(a, "pxat")
			if sec || abs || EqualFold(a, "px") {
				var ok bool
				if at, ok = c.expireArg(c.Args[i+1], sec, abs); !ok {
					return
				}
				break
			}
		}
	}
	key := c.Args[1]
	var old *Object
	if opts&optGET != 0 {
		old = c.LookupWrite(key)
	} else {
		old = c.LookupWriteCold(key) // the old value is replaced unread: a cold one stays on disk until reclaimed
	}
	if opts&optGET != 0 && old != nil && old.Type != TypeString {
		c.Error(ErrWrongType)
		return
	}
	if (opts&optNX != 0 && old != nil) || (opts&optXX != 0 && old == nil) {
		if opts&optGET != 0 && old != nil {
			c.W.Bulk(old.Str())
		} else {
			c.W.Null()
		}
		return
	}
	if opts&optGET != 0 {
		if old == nil {
			c.W.Null()
		} else {
			c.W.Bulk(old.Str())
		}
	}
	if old != nil && old.Type == TypeString && !old.Cold && cap(old.Str()) >= len(c.Args[2]) && cap(old.Str()) <= 2*len(c.Args[2])+16 {
		// Overwrite in place: the common case of a key rewritten with a value of about the same size (device
		// state, sessions) then allocates nothing. LookupWrite already let a snapshot capture the old value.
		old.SetStr(append(old.Str()[:0], c.Args[2]...))
		if opts&optKEEPTTL == 0 && (at != 0 || old.ExpireAt != 0) {
			c.SetExpire(key, old, at)
		}
		old.LRU = c.KS.clock.Load()
		c.Modified(key, old)
	} else {
		c.Set(key, stringObject(Owned(c.Args[2]), at), opts&optKEEPTTL != 0)
	}
	c.Notify('$', "set", key)
	if at != 0 {
		c.Notify('g', "expire", key)
	}
	c.propagateSet(key, c.Args[2], at, opts&optKEEPTTL != 0)
	if opts&optGET == 0 {
		c.OK()
	}
}

func cmdSetNX(c *Ctx) {
	if c.LookupWrite(c.Args[1]) != nil {
		c.W.Int(0)
		return
	}
	c.Set(c.Args[1], NewString(Owned(c.Args[2])), false)
	c.Notify('$', "set", c.Args[1])
	c.propagateSet(c.Args[1], c.Args[2], 0, false)
	c.W.Int(1)
}

func cmdSetEX(c *Ctx) {
	at, ok := c.expireArg(c.Args[2], c.Cmd.Name == "setex", false)
	if !ok {
		return
	}
	c.Set(c.Args[1], stringObject(Owned(c.Args[3]), at), false)
	c.Notify('$', "set", c.Args[1])
	c.Notify('g', "expire", c.Args[1])
	c.propagateSet(c.Args[1], c.Args[3], at, false)
	c.OK()
}

func cmdGetSet(c *Ctx) {
	old := c.LookupWrite(c.Args[1])
	if old != nil && old.Type != TypeString {
		c.Error(ErrWrongType)
		return
	}
	if old == nil {
		c.W.Null()
	} else {
		c.W.Bulk(old.Str())
	}
	c.Set(c.Args[1], NewString(Owned(c.Args[2])), false)
	c.Notify('$', "set", c.Args[1])
	c.propagateSet(c.Args[1], c.Args[2], 0, false)
}

func cmdMGet(c *Ctx) {
	c.W.Array(len(c.Args) - 1)
	for _, k := range c.Args[1:] {
		o := c.Lookup(k)
		if o == nil || o.Type != TypeString {
			c.W.Null()
			continue
		}
		c.W.Bulk(o.Str())
	}
}

func cmdMSet(c *Ctx) {
	if len(c.Args)%2 == 0 {
		c.ArityError()
		return
	}
	for i := 1; i < len(c.Args); i += 2 {
		c.Set(c.Args[i], NewString(Owned(c.Args[i+1])), false)
		c.Notify('$', "set", c.Args[i])
	}
	c.Propagate()
	c.OK()
}

func cmdMSetNX(c *Ctx) {
	if len(c.Args)%2 == 0 {
		c.ArityError()
		return
	}
	for i := 1; i < len(c.Args); i += 2 {
		if c.LookupWrite(c.Args[i]) != nil {
			c.W.Int(0)
			return
		}
	}
	for i := 1; i < len(c.Args); i += 2 {
		c.Set(c.Args[i], NewString(Owned(c.Args[i+1])), false)
		c.Notify('$', "set", c.Args[i])
	}
	c.Propagate()
	c.W.Int(1)
}

func cmdIncr(c *Ctx) {
	var by int64 = 1
	switch c.Cmd.Name {
	case "decr":
		by = -1
	case "incrby", "decrby":
		n, ok := c.ParseInt(c.Args[2])
		if !ok {
			return
		}
		by = n
		if c.Cmd.Name == "decrby" {
			if n == math.MinInt64 {
				c.Error("ERR decrement would overflow")
				return
			}
			by = -n
		}
	}
	key := c.Args[1]
	o := c.LookupWrite(key)
	var cur int64
	if o != nil {
		if o.Type != TypeString {
			c.Error(ErrWrongType)
			return
		}
		n, err := ParseInt(o.Str())
		if err != nil {
			c.Error(ErrNotInt)
			return
		}
		cur = n
	}
	if (by > 0 && cur > math.MaxInt64-by) || (by < 0 && cur < math.MinInt64-by) {
		c.Error(ErrOverflow)
		return
	}
	cur += by
	if o != nil {
		o.SetStr(strconv.AppendInt(o.Str()[:0], cur, 10))
		c.Modified(key, o)
	} else {
		c.Set(key, NewString(strconv.AppendInt(make([]byte, 0, 8), cur, 10)), false)
	}
	c.Notify('$', c.Cmd.Name, key)
	c.Propagate()
	c.W.Int(cur)
}

// cmdIncrByFloat computes in C's long double, as Redis does (hash_longdouble.go), so results print the
// same: 3000 plus 0.1 is "3000.10000000000000009" in both.
func cmdIncrByFloat(c *Ctx) {
	key := c.Args[1]
	o := c.LookupWrite(key)
	if o != nil && o.Type != TypeString {
		c.Error(ErrWrongType)
		return
	}
	cur := new(big.Float).SetPrec(ldPrec)
	if o != nil {
		f, ok := parseLongDouble(o.Str())
		if !ok {
			c.Error(ErrNotFloat)
			return
		}
		cur = f
	}
	by, ok := parseLongDouble(c.Args[2])
	if !ok {
		c.Error(ErrNotFloat)
		return
	}
	sum, ok := ldAdd(cur, by)
	if !ok {
		c.Error(ErrNaNInf)
		return
	}
	s := []byte(sum)
	if o != nil {
		o.SetStr(s)
		c.Modified(key, o)
	} else {
		c.Set(key, NewString(s), false)
	}
	c.Notify('$', "incrbyfloat", key)
	c.propagateSet(key, s, 0, true)
	c.W.Bulk(s)
}

func cmdAppend(c *Ctx) {
	key := c.Args[1]
	o := c.LookupWrite(key)
	if o == nil {
		c.Set(key, NewString(Owned(c.Args[2])), false)
		c.Notify('$', "append", key)
		c.Propagate()
		c.W.Int(int64(len(c.Args[2])))
		return
	}
	if o.Type != TypeString {
		c.Error(ErrWrongType)
		return
	}
	if len(o.Str())+len(c.Args[2]) > maxStringLen {
		c.Error(ErrStringTooLong)
		return
	}
	o.SetStr(append(o.Str(), c.Args[2]...))
	c.Modified(key, o)
	c.Notify('$', "append", key)
	c.Propagate()
	c.W.Int(int64(len(o.Str())))
}

func cmdStrlen(c *Ctx) {
	v, _, wrong := c.stringValue(c.Args[1])
	if wrong {
		return
	}
	c.W.Int(int64(len(v)))
}

func cmdGetRange(c *Ctx) {
	start, ok := c.ParseInt(c.Args[2])
	if !ok {
		return
	}
	end, ok := c.ParseInt(c.Args[3])
	if !ok {
		return
	}
	v, _, wrong := c.stringValue(c.Args[1])
	if wrong {
		return
	}
	n := int64(len(v))
	if start < 0 && end < 0 && start > end {
		c.W.Bulk(nil)
		return
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	if end < 0 {
		end = 0
	}
	if end >= n {
		end = n - 1
	}
	if n == 0 || start > end {
		c.W.Bulk(nil)
		return
	}
	c.W.Bulk(v[start : end+1])
}

func cmdSetRange(c *Ctx) {
	off, ok := c.ParseInt(c.Args[2])
	if !ok {
		return
	}
	if off < 0 {
		c.Error(ErrOffsetRange)
		return
	}
	val := c.Args[3]
	key := c.Args[1]
	o := c.LookupWrite(key)
	if o != nil && o.Type != TypeString {
		c.Error(ErrWrongType)
		return
	}
	cur := 0
	if o != nil {
		cur = len(o.Str())
	}
	if len(val) == 0 {
		c.W.Int(int64(cur))
		return
	}
	if off+int64(len(val)) > maxStringLen {
		c.Error(ErrStringTooLong)
		return
	}
	o, _ = c.padString(key, o, int(off)+len(val))
	copy(o.Str()[off:], val)
	c.Modified(key, o)
	c.Notify('$', "setrange", key)
	c.Propagate()
	c.W.Int(int64(len(o.Str())))
}

func cmdGetDel(c *Ctx) {
	key := c.Args[1]
	o := c.LookupWrite(key)
	if o == nil {
		c.W.Null()
		return
	}
	if o.Type != TypeString {
		c.Error(ErrWrongType)
		return
	}
	c.W.Bulk(o.Str())
	c.Delete(key)
	c.Notify('g', "del", key)
	c.Emit(argDEL, key)
}

func cmdGetEx(c *Ctx) {
	var at int64
	persist := false
	for i := 2; i < len(c.Args); i++ {
		a := c.Args[i]
		sec, abs := EqualFold(a, "ex") || EqualFold(a, "exat"), EqualFold(a, "exat") || EqualFold(a, "pxat")
		switch {
		case (sec || abs || EqualFold(a, "px")) && at == 0 && !persist && i+1 < len(c.Args):
			var ok bool
			if at, ok = c.expireArg(c.Args[i+1], sec, abs); !ok {
				return
			}
			i++
		case EqualFold(a, "persist") && at == 0 && !persist:
			persist = true
		default:
			c.Error(ErrSyntax)
			return
		}
	}
	key := c.Args[1]
	o := c.LookupWrite(key)
	if o == nil {
		c.W.Null()
		return
	}
	if o.Type != TypeString {
		c.Error(ErrWrongType)
		return
	}
	c.W.Bulk(o.Str())
	switch {
	case at != 0 && at <= c.Now:
		c.Delete(key)
		c.Notify('g', "del", key)
		c.Emit(argDEL, key)
	case at != 0:
		c.SetExpire(key, o, at)
		c.Notify('g', "expire", key)
		var tmp [20]byte
		c.Emit([]byte("PEXPIREAT"), key, strconv.AppendInt(tmp[:0], at, 10))
	case persist && o.ExpireAt != 0:
		c.SetExpire(key, o, 0)
		c.Notify('g', "persist", key)
		c.Emit([]byte("PERSIST"), key)
	}
}
