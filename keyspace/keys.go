package keyspace

import (
	"math"
	"runtime/debug"
	"strconv"
	"time"
)

func init() {
	const w, r, f, ks = FlagWrite, FlagReadonly, FlagFast, CatKeyspace
	g := "generic"
	key1 := func(c *Command) *Command {
		c.FirstKey, c.LastKey, c.Step = 1, 1, 1
		c.Categories |= ks
		c.Group = g
		return c
	}
	Register(
		&Command{Name: "del", Arity: -2, Flags: w, FirstKey: 1, LastKey: -1, Step: 1, Categories: ks, Group: g, Summary: "Deletes one or more keys.", Since: "1.0.0", Handler: cmdDel},
		&Command{Name: "unlink", Arity: -2, Flags: w | f, FirstKey: 1, LastKey: -1, Step: 1, Categories: ks, Group: g, Summary: "Asynchronously deletes one or more keys.", Since: "4.0.0", Handler: cmdDel},
		&Command{Name: "exists", Arity: -2, Flags: r | f, FirstKey: 1, LastKey: -1, Step: 1, Categories: ks, Group: g, Summary: "Determines whether one or more keys exist.", Since: "1.0.0", Handler: cmdExists},
		&Command{Name: "touch", Arity: -2, Flags: r | f, FirstKey: 1, LastKey: -1, Step: 1, Categories: ks, Group: g, Summary: "Returns the number of existing keys out of those specified after updating the time they were last accessed.", Since: "3.2.1", Handler: cmdTouch},
		key1(&Command{Name: "type", Arity: 2, Flags: r | f, Summary: "Determines the type of value stored at a key.", Since: "1.0.0", Handler: cmdType}),
		&Command{Name: "rename", Arity: 3, Flags: w, FirstKey: 1, LastKey: 2, Step: 1, Categories: ks, Group: g, Summary: "Renames a key and overwrites the destination.", Since: "1.0.0", Handler: cmdRename},
		&Command{Name: "renamenx", Arity: 3, Flags: w | f, FirstKey: 1, LastKey: 2, Step: 1, Categories: ks, Group: g, Summary: "Renames a key only when the target key name doesn't exist.", Since: "1.0.0", Handler: cmdRename},
		&Command{Name: "copy", Arity: -3, Flags: w | FlagDenyOOM, FirstKey: 1, LastKey: 2, Step: 1, Categories: ks, Group: g, Summary: "Copies the value of a key to a new key.", Since: "6.2.0", Handler: cmdCopy},
		&Command{Name: "move", Arity: 3, Flags: w | f, FirstKey: 1, LastKey: 1, Step: 1, Categories: ks, Group: g, Summary: "Moves a key to another database.", Since: "1.0.0", Handler: cmdMove},
		key1(&Command{Name: "expire", Arity: -3, Flags: w | f, Summary: "Sets the expiration time of a key in seconds.", Since: "1.0.0", Handler: cmdExpire}),
		key1(&Command{Name: "pexpire", Arity: -3, Flags: w | f, Summary: "Sets the expiration time of a key in milliseconds.", Since: "2.6.0", Handler: cmdExpire}),
		key1(&Command{Name: "expireat", Arity: -3, Flags: w | f, Summary: "Sets the expiration time of a key to a Unix timestamp.", Since: "1.2.0", Handler: cmdExpire}),
		key1(&Command{Name: "pexpireat", Arity: -3, Flags: w | f, Summary: "Sets the expiration time of a key to a Unix milliseconds timestamp.", Since: "2.6.0", Handler: cmdExpire}),
		key1(&Command{Name: "ttl", Arity: 2, Flags: r | f, Summary: "Returns the expiration time in seconds of a key.", Since: "1.0.0", Handler: cmdTTL}),
		key1(&Command{Name: "pttl", Arity: 2, Flags: r | f, Summary: "Returns the expiration time in milliseconds of a key.", Since: "2.6.0", Handler: cmdTTL}),
		key1(&Command{Name: "expiretime", Arity: 2, Flags: r | f, Summary: "Returns the expiration time of a key as a Unix timestamp.", Since: "7.0.0", Handler: cmdTTL}),
		key1(&Command{Name: "pexpiretime", Arity: 2, Flags: r | f, Summary: "Returns the expiration time of a key as a Unix milliseconds timestamp.", Since: "7.0.0", Handler: cmdTTL}),
		key1(&Command{Name: "persist", Arity: 2, Flags: w | f, Summary: "Removes the expiration time of a key.", Since: "2.2.0", Handler: cmdPersist}),
		&Command{Name: "keys", Arity: 2, Flags: r, Categories: ks | CatDangerous, Group: g, Summary: "Returns all key names that match a pattern.", Since: "1.0.0", Handler: cmdKeys},
		&Command{Name: "scan", Arity: -2, Flags: r, Categories: ks, Group: g, Summary: "Iterates over the key names in the database.", Since: "2.8.0", Handler: cmdScan},
		&Command{Name: "randomkey", Arity: 1, Flags: r, Categories: ks, Group: g, Summary: "Returns a random key name from the database.", Since: "1.0.0", Handler: cmdRandomKey},
		&Command{Name: "dbsize", Arity: 1, Flags: r | f, Categories: ks, Group: "server", Summary: "Returns the number of keys in the database.", Since: "1.0.0", Handler: cmdDBSize},
		&Command{Name: "flushdb", Arity: -1, Flags: w, Categories: ks | CatDangerous, Group: "server", Summary: "Remove all keys from the current database.", Since: "1.0.0", Handler: cmdFlush},
		&Command{Name: "flushall", Arity: -1, Flags: w, Categories: ks | CatDangerous, Group: "server", Summary: "Removes all keys from all databases.", Since: "1.0.0", Handler: cmdFlush},
		&Command{Name: "swapdb", Arity: 3, Flags: w | f, Categories: ks | CatDangerous, Group: "server", Summary: "Swaps two Redis databases.", Since: "4.0.0", Handler: cmdSwapDB},
		&Command{Name: "time", Arity: 1, Flags: FlagLoading | FlagStale | f, Group: "server", Summary: "Returns the server time.", Since: "2.0.0", Handler: cmdTime},
	)
}

func cmdDel(c *Ctx) {
	var n int64
	for _, k := range c.Args[1:] {
		if c.Delete(k) {
			n++
			c.Notify('g', "del", k)
		}
	}
	if n > 0 {
		c.Propagate()
	}
	c.W.Int(n)
}

func cmdExists(c *Ctx) {
	var n int64
	for _, k := range c.Args[1:] {
		if c.Exists(k) {
			n++
		}
	}
	c.W.Int(n)
}

func cmdTouch(c *Ctx) {
	var n int64
	for _, k := range c.Args[1:] {
		if c.Lookup(k) != nil {
			n++
		}
	}
	c.W.Int(n)
}

func cmdType(c *Ctx) {
	o := c.LookupWrite(c.Args[1]) // TYPE does not count as a keyspace hit or miss
	if o == nil {
		c.W.Simple("none")
		return
	}
	c.W.Simple(o.Type.String())
}

func cmdRename(c *Ctx) {
	nx := c.Cmd.Name == "renamenx"
	src, dst := c.Args[1], c.Args[2]
	o := c.LookupWrite(src)
	if o == nil {
		c.Error(ErrNoSuchKey)
		return
	}
	if string(src) == string(dst) {
		if nx {
			c.W.Int(0)
		} else {
			c.OK()
		}
		return
	}
	if c.LookupWrite(dst) != nil {
		if nx {
			c.W.Int(0)
			return
		}
		c.Delete(dst)
	}
	c.DB.remove(src)
	c.Modified(src, nil)
	c.Set(dst, o, false)
	c.Notify('g', "rename_from", src)
	c.Notify('g', "rename_to", dst)
	c.Propagate()
	if nx {
		c.W.Int(1)
	} else {
		c.OK()
	}
}

func cmdCopy(c *Ctx) {
	src, dst := c.Args[1], c.Args[2]
	dstDB := c.DB
	replace := false
	for i := 3; i < len(c.Args); i++ {
		switch {
		case EqualFold(c.Args[i], "replace"):
			replace = true
		case EqualFold(c.Args[i], "db") && i+1 < len(c.Args):
			n, ok := c.ParseInt(c.Args[i+1])
			if !ok {
				return
			}
			if n < 0 || n >= NumDBs {
				c.Error(ErrDBIndex)
				return
			}
			dstDB = c.KS.dbs[n]
			i++
		default:
			c.Error(ErrSyntax)
			return
		}
	}
	if dstDB == c.DB && string(src) == string(dst) {
		c.Error("ERR source and destination objects are the same")
		return
	}
	o := c.LookupWrite(src)
	if o == nil {
		c.W.Int(0)
		return
	}
	srcDB := c.DB
	c.DB = dstDB
	defer func() { c.DB = srcDB }()
	if c.LookupWrite(dst) != nil {
		if !replace {
			c.W.Int(0)
			return
		}
		c.Delete(dst)
	}
	c.Set(dst, CloneObject(o), false)
	c.Notify('g', "copy_to", dst)
	c.DB = srcDB
	c.Propagate()
	c.W.Int(1)
}

func cmdMove(c *Ctx) {
	n, ok := c.ParseInt(c.Args[2])
	if !ok {
		return
	}
	if n < 0 || n >= NumDBs {
		c.Error(ErrDBIndex)
		return
	}
	if int(n) == c.DB.Index {
		c.Error("ERR source and destination objects are the same")
		return
	}
	key := c.Args[1]
	o := c.LookupWrite(key)
	if o == nil {
		c.W.Int(0)
		return
	}
	srcDB := c.DB
	c.DB = c.KS.dbs[n]
	if c.LookupWrite(key) != nil {
		c.DB = srcDB
		c.W.Int(0)
		return
	}
	// Remove from the source first: a snapshot in progress must capture the key there before it moves.
	srcDB.remove(key)
	c.Set(key, o, false)
	c.Notify('g', "move_to", key)
	c.DB = srcDB
	c.Modified(key, nil)
	c.Notify('g', "move_from", key)
	c.Propagate()
	c.W.Int(1)
}

var (
	argPEXPIREAT = []byte("PEXPIREAT")
	argPERSIST   = []byte("PERSIST")
)

func cmdExpire(c *Ctx) {
	const (
		nx = 1 << iota
		xx
		gt
		lt
	)
	flags := 0
	for _, a := range c.Args[3:] {
		switch {
		case EqualFold(a, "nx"):
			flags |= nx
		case EqualFold(a, "xx"):
			flags |= xx
		case EqualFold(a, "gt"):
			flags |= gt
		case EqualFold(a, "lt"):
			flags |= lt
		default:
			c.Error("ERR Unsupported option " + string(a))
			return
		}
	}
	if flags&nx != 0 && flags&(xx|gt|lt) != 0 {
		c.Error("ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	}
	if flags&gt != 0 && flags&lt != 0 {
		c.Error("ERR GT and LT options at the same time are not compatible")
		return
	}
	when, ok := c.ParseInt(c.Args[2])
	if !ok {
		return
	}
	name := c.Cmd.Name
	seconds := name == "expire" || name == "expireat"
	relative := name == "expire" || name == "pexpire"
	if seconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			c.Error(ErrInvalidExpire(name))
			return
		}
		when *= 1000
	}
	if relative {
		if when > math.MaxInt64-c.Now {
			c.Error(ErrInvalidExpire(name))
			return
		}
		when += c.Now
	}
	key := c.Args[1]
	o := c.LookupWrite(key)
	if o == nil {
		c.W.Int(0)
		return
	}
	cur := o.ExpireAt
	switch {
	case flags&nx != 0 && cur != 0,
		flags&xx != 0 && cur == 0,
		flags&gt != 0 && (cur == 0 || when <= cur),
		flags&lt != 0 && cur != 0 && when >= cur:
		c.W.Int(0)
		return
	}
	if when <= c.Now && !c.Replay {
		c.Delete(key)
		c.Notify('g', "del", key)
		c.Emit(argDEL, key)
		c.W.Int(1)
		return
	}
	c.SetExpire(key, o, when)
	c.Notify('g', "expire", key)
	var tmp [20]byte
	c.Emit(argPEXPIREAT, key, strconv.AppendInt(tmp[:0], when, 10))
	c.W.Int(1)
}

func cmdTTL(c *Ctx) {
	o := c.LookupWrite(c.Args[1])
	if o == nil {
		c.W.Int(-2)
		return
	}
	if o.ExpireAt == 0 {
		c.W.Int(-1)
		return
	}
	switch c.Cmd.Name {
	case "ttl":
		ttl := o.ExpireAt - c.Now
		if ttl < 0 {
			ttl = 0
		}
		c.W.Int((ttl + 500) / 1000)
	case "pttl":
		ttl := o.ExpireAt - c.Now
		if ttl < 0 {
			ttl = 0
		}
		c.W.Int(ttl)
	case "expiretime":
		c.W.Int(o.ExpireAt / 1000)
	default:
		c.W.Int(o.ExpireAt)
	}
}

func cmdPersist(c *Ctx) {
	key := c.Args[1]
	o := c.LookupWrite(key)
	if o == nil || o.ExpireAt == 0 {
		c.W.Int(0)
		return
	}
	c.SetExpire(key, o, 0)
	c.Notify('g', "persist", key)
	c.Propagate()
	c.W.Int(1)
}

func cmdKeys(c *Ctx) {
	pat := c.Args[1]
	all := len(pat) == 1 && pat[0] == '*'
	var keys []string
	c.DB.ForEach(func(k string, o *Object) bool {
		if o.ExpireAt != 0 && o.ExpireAt <= c.Now {
			return true
		}
		if all || Match(pat, []byte(k), false) {
			keys = append(keys, k)
		}
		return true
	})
	c.W.Array(len(keys))
	for _, k := range keys {
		c.W.BulkString(k)
	}
}

func cmdScan(c *Ctx) {
	cursor, err := strconv.ParseUint(string(c.Args[1]), 10, 64)
	if err != nil {
		c.Error("ERR invalid cursor")
		return
	}
	pat, count, typ, ok := c.scanOptions(2)
	if !ok {
		return
	}
	var keys []string
	maxIter := count * 10
	for {
		cursor = c.DB.Scan(cursor, func(k string, o *Object) { keys = append(keys, k) })
		maxIter--
		if cursor == 0 || maxIter <= 0 || len(keys) >= count {
			break
		}
	}
	out := keys[:0]
	for _, k := range keys {
		o := c.DB.d.getStr(k)
		if o == nil {
			continue
		}
		if o.ExpireAt != 0 && o.ExpireAt <= c.Now {
			c.DB.deleteExpired([]byte(k))
			continue
		}
		if pat != nil && !Match(pat, []byte(k), false) {
			continue
		}
		if typ != TypeNone && o.Type != typ {
			continue
		}
		out = append(out, k)
	}
	c.W.Array(2)
	c.W.BulkString(strconv.FormatUint(cursor, 10))
	c.W.Array(len(out))
	for _, k := range out {
		c.W.BulkString(k)
	}
}

// scanOptions parses MATCH/COUNT/TYPE from position i on (SCAN, HSCAN, SSCAN, ZSCAN share it; TYPE only
// for SCAN). A pattern of "*" is returned as nil.
func (c *Ctx) scanOptions(i int) (pat []byte, count int, typ Type, ok bool) {
	count = 10
	for ; i < len(c.Args); i += 2 {
		if i+1 >= len(c.Args) {
			c.Error(ErrSyntax)
			return nil, 0, 0, false
		}
		a, v := c.Args[i], c.Args[i+1]
		switch {
		case EqualFold(a, "match"):
			pat = v
			if len(pat) == 1 && pat[0] == '*' {
				pat = nil
			}
		case EqualFold(a, "count"):
			n, ok := c.ParseInt(v)
			if !ok {
				return nil, 0, 0, false
			}
			if n < 1 {
				c.Error(ErrSyntax)
				return nil, 0, 0, false
			}
			count = int(min(n, math.MaxInt32))
		case EqualFold(a, "type") && c.Cmd.Name == "scan":
			t, found := ParseType(string(v))
			if !found {
				// Redis 7.0 accepts unknown types and returns nothing for them.
				t = Type(255)
			}
			typ = t
		default:
			c.Error(ErrSyntax)
			return nil, 0, 0, false
		}
	}
	return pat, count, typ, true
}

// ScanOptions exposes scanOptions to the other data types' SCAN commands.
func (c *Ctx) ScanOptions(i int) (pat []byte, count int, ok bool) {
	pat, count, _, ok = c.scanOptions(i)
	return
}

func cmdRandomKey(c *Ctx) {
	for tries := 0; tries < 100; tries++ {
		k, o := c.DB.RandomKey()
		if o == nil {
			break
		}
		if o.ExpireAt != 0 && o.ExpireAt <= c.Now {
			c.DB.deleteExpired([]byte(k))
			continue
		}
		c.W.BulkString(k)
		return
	}
	c.W.Null()
}

func cmdDBSize(c *Ctx) { c.W.Int(int64(c.DB.Len())) }

func cmdFlush(c *Ctx) {
	if len(c.Args) > 2 || (len(c.Args) == 2 && !EqualFold(c.Args[1], "async") && !EqualFold(c.Args[1], "sync")) {
		c.Error(ErrSyntax)
		return
	}
	db := c.DB.Index
	if c.Cmd.Name == "flushall" {
		db = -1
	}
	c.KS.Flush(db)
	c.DB = c.KS.dbs[c.DB.Index]
	if !c.Replay {
		// Hand the freed memory back to the OS now, as Redis does when it frees a database, instead of
		// waiting for the background scavenger (the GC runs concurrently; the lock is not held).
		go debug.FreeOSMemory()
	}
	c.Dirty++
	c.Propagate()
	c.OK()
}

func cmdSwapDB(c *Ctx) {
	a, err1 := ParseInt(c.Args[1])
	b, err2 := ParseInt(c.Args[2])
	if err1 != nil {
		c.Error("ERR invalid first DB index")
		return
	}
	if err2 != nil {
		c.Error("ERR invalid second DB index")
		return
	}
	if a < 0 || a >= NumDBs || b < 0 || b >= NumDBs {
		c.Error(ErrDBIndex)
		return
	}
	c.KS.Swap(int(a), int(b))
	c.DB = c.KS.dbs[c.DB.Index]
	if c.KS.OnFlush != nil {
		c.KS.OnFlush(int(a))
		c.KS.OnFlush(int(b))
	}
	c.Dirty++
	c.Propagate()
	c.OK()
}

func cmdTime(c *Ctx) {
	now := time.Now()
	c.W.Array(2)
	c.W.BulkString(strconv.FormatInt(now.Unix(), 10))
	c.W.BulkString(strconv.FormatInt(int64(now.Nanosecond()/1000), 10))
}
