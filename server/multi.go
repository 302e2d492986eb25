package server

import (
	"time"

	"github.com/kvlab/kvlab/keyspace"
)

// Transactions: MULTI queues commands (copying their arguments, which alias the read buffer), EXEC runs
// them under the one keyspace lock acquisition of its own execution, and their effects accumulate in the
// EXEC's single Effects record, so a durable engine logs the transaction as one atomic record. WATCH marks
// keys; any modification (writes, expiry, eviction, FLUSHDB, SWAPDB) of a watched key makes EXEC fail.

// txState is a connection's transaction state (owned by the connection; read under the keyspace lock).
type txState struct {
	active  bool
	failed  bool // a queued command was rejected: EXEC aborts
	denyOOM bool // a queued command may grow memory: EXEC is refused when over maxmemory
	queue   []queued
	watched []*watchEntry
	dirty   bool
}

type queued struct {
	cmd  *keyspace.Command
	args [][]byte
}

// watchEntry is one key a client watches. It is in the client's list and in the server's per-key list.
type watchEntry struct {
	c   *conn
	db  int
	key string
	// expireAt is the key's TTL when WATCH ran, if it was live then: EXEC fails once it passes.
	expireAt int64
	// existed: the key was live at WATCH. Only such keys are touched by FLUSHDB/FLUSHALL (a flush removes
	// nothing a client could have observed otherwise).
	existed bool
	// expiredAtWatch: the key was already logically expired at WATCH, so its reclamation is no change.
	expiredAtWatch bool
}

func init() {
	const f, ld, st = keyspace.FlagFast, keyspace.FlagLoading, keyspace.FlagStale
	tx := keyspace.CatTransaction
	g := "transactions"
	keyspace.Register(
		&keyspace.Command{Name: "multi", Arity: 1, Flags: keyspace.FlagNoScript | ld | st | f | keyspace.FlagAllowBusy, Categories: tx, Group: g, Summary: "Starts a transaction.", Since: "1.2.0", Handler: cmdMulti},
		&keyspace.Command{Name: "exec", Arity: 1, Flags: keyspace.FlagNoScript | ld | st | keyspace.FlagSkipSlowlog, Categories: tx, Group: g, Summary: "Executes all commands in a transaction.", Since: "1.2.0", Handler: cmdExec},
		&keyspace.Command{Name: "discard", Arity: 1, Flags: keyspace.FlagNoScript | ld | st | f | keyspace.FlagAllowBusy, Categories: tx, Group: g, Summary: "Discards a transaction.", Since: "2.0.0", Handler: cmdDiscard},
		&keyspace.Command{Name: "watch", Arity: -2, Flags: keyspace.FlagNoScript | ld | st | f | keyspace.FlagAllowBusy, FirstKey: 1, LastKey: -1, Step: 1, Categories: tx, Group: g, Summary: "Monitors changes to keys to determine the execution of a transaction.", Since: "2.2.0", Handler: cmdWatch},
		&keyspace.Command{Name: "unwatch", Arity: 1, Flags: keyspace.FlagNoScript | ld | st | f | keyspace.FlagAllowBusy, Categories: tx, Group: g, Summary: "Forgets about watched keys of a transaction.", Since: "2.2.0", Handler: cmdUnwatch},
	)
	addPreExec(50, queueInMulti)
	resetHooks = append(resetHooks, func(c *conn) { c.s.unwatchAll(c); c.tx = txState{} })
	clientFlagHooks = append(clientFlagHooks, func(c *conn) string {
		if c.tx.active {
			return "x"
		}
		return ""
	})
}

// queueInMulti queues every command but the transaction-control ones while MULTI is active.
func queueInMulti(c *conn, cmd *keyspace.Command, msg string, args [][]byte) (bool, uint64) {
	if !c.tx.active {
		return false, 0
	}
	if cmd != nil && cmd.Parent == nil {
		switch cmd.Name {
		case "exec", "discard", "multi", "watch", "quit", "reset":
			return false, 0
		}
	}
	if msg != "" {
		c.tx.failed = true
		c.w.Error(msg)
		return true, 0
	}
	if cmd.Flags&keyspace.FlagNoMulti != 0 {
		c.tx.failed = true
		c.w.Error("ERR Command not allowed inside a transaction")
		return true, 0
	}
	q := queued{cmd: cmd, args: make([][]byte, len(args))}
	for i, a := range args {
		q.args[i] = keyspace.Owned(a)
	}
	c.tx.queue = append(c.tx.queue, q)
	if cmd.Flags&keyspace.FlagDenyOOM != 0 {
		c.tx.denyOOM = true
	}
	c.w.Simple("QUEUED")
	return true, 0
}

func cmdMulti(x *keyspace.Ctx) {
	c := connOf(x)
	if c.tx.active {
		x.Error("ERR MULTI calls can not be nested")
		return
	}
	c.tx.active = true
	c.tx.failed = false
	c.tx.queue = c.tx.queue[:0]
	x.OK()
}

func cmdDiscard(x *keyspace.Ctx) {
	c := connOf(x)
	if !c.tx.active {
		x.Error("ERR DISCARD without MULTI")
		return
	}
	c.endTx()
	x.OK()
}

func (c *conn) endTx() {
	c.s.unwatchAll(c)
	c.tx.active, c.tx.failed, c.tx.dirty, c.tx.denyOOM = false, false, false, false
	clear(c.tx.queue)
	c.tx.queue = c.tx.queue[:0]
}

// execCheck vets each queued command again when EXEC runs it; a non-empty result is the command's error
// reply instead of running it (set by acl.go: ACL rules may have changed since MULTI).
var execCheck = func(*conn, *keyspace.Command, [][]byte) string { return "" }

func cmdExec(x *keyspace.Ctx) {
	c := connOf(x)
	if !c.tx.active {
		x.Error("ERR EXEC without MULTI")
		return
	}
	if c.tx.failed {
		c.endTx()
		x.Error("EXECABORT Transaction discarded because of previous errors.")
		return
	}
	dirty := c.tx.dirty
	for _, w := range c.tx.watched {
		// A watched key that expired since WATCH counts as modified, even if nobody touched it.
		if w.expireAt != 0 && w.expireAt <= x.Now {
			dirty = true
		}
	}
	if dirty {
		c.endTx()
		x.W.NullArray()
		return
	}
	s := c.s
	queue := c.tx.queue
	s.unwatchAll(c)
	execCmd, execArgs := x.Cmd, x.Args
	x.InMulti = true
	x.W.Array(len(queue))
	start := time.Now()
	for _, q := range queue {
		before := len(x.W.Buf)
		if msg := execCheck(c, q.cmd, q.args); msg != "" {
			x.Error(msg) // permissions changed since the command was queued (acl.go)
			s.account(c, q.cmd, q.args, 0, x.W.Buf[before:])
			continue
		}
		runInBatch(c, x, q.cmd, q.args)
		end := time.Now()
		s.account(c, q.cmd, q.args, end.Sub(start), x.W.Buf[before:])
		start = end
	}
	x.InMulti = false
	x.Args, x.Cmd = execArgs, execCmd
	c.tx.active, c.tx.failed, c.tx.dirty, c.tx.denyOOM = false, false, false, false
	clear(c.tx.queue)
	c.tx.queue = c.tx.queue[:0]
}

// runInBatch runs one command of an atomic batch (EXEC's queue, a script's redis.call) with x, appending
// its reply to x.W: a SELECT earlier in the batch takes effect for it, a cold value the tier could not
// return replaces the reply with the tier's error, and a blocking command answers at once, as on timeout
// (handlers normally do this themselves when they see x.InMulti, which the caller sets).
func runInBatch(c *conn, x *keyspace.Ctx, cmd *keyspace.Command, args [][]byte) {
	before := len(x.W.Buf)
	x.Args, x.Cmd = args, cmd
	x.DB = x.KS.DB(c.db)
	x.Block, x.ThawErr = nil, nil
	cmd.Handler(x)
	if x.ThawErr != nil {
		x.W.Buf = x.W.Buf[:before]
		x.W.Error(thawError(x.ThawErr))
		x.Block = nil
	}
	if x.Block != nil {
		if x.Block.NullArrayOnTimeout {
			x.W.NullArray()
		} else {
			x.W.Null()
		}
		x.Block = nil
	}
}

func cmdWatch(x *keyspace.Ctx) {
	c := connOf(x)
	if c.tx.active {
		x.Error("ERR WATCH inside MULTI is not allowed")
		return
	}
	for _, k := range x.Args[1:] {
		c.s.watch(c, x.DB, k, x.Now)
	}
	x.OK()
}

func cmdUnwatch(x *keyspace.Ctx) {
	c := connOf(x)
	c.s.unwatchAll(c)
	c.tx.dirty = false
	x.OK()
}

// watchKey identifies a key of a database.
type watchKey struct {
	db  int
	key string
}

// watch registers c on key of db (keyspace lock held; s.watches is guarded by it).
func (s *Server) watch(c *conn, db *keyspace.DB, key []byte, now int64) {
	for _, w := range c.tx.watched {
		if w.db == db.Index && w.key == string(key) {
			return
		}
	}
	e := &watchEntry{c: c, db: db.Index, key: string(key)}
	if o := db.Peek(key); o != nil {
		if o.ExpireAt != 0 && o.ExpireAt <= now {
			e.expiredAtWatch = true
		} else {
			e.existed, e.expireAt = true, o.ExpireAt
		}
	}
	if s.watches == nil {
		s.watches = map[watchKey][]*watchEntry{}
	}
	wk := watchKey{e.db, e.key}
	s.watches[wk] = append(s.watches[wk], e)
	c.tx.watched = append(c.tx.watched, e)
}

func (s *Server) unwatchAll(c *conn) {
	for _, e := range c.tx.watched {
		wk := watchKey{e.db, e.key}
		list := s.watches[wk]
		for i, o := range list {
			if o == e {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(s.watches, wk)
		} else {
			s.watches[wk] = list
		}
	}
	clear(c.tx.watched)
	c.tx.watched = c.tx.watched[:0]
}

// touchWatched marks the clients watching key dirty (from Keyspace.OnModify).
func (s *Server) touchWatched(db int, key []byte) {
	if len(s.watches) == 0 {
		return
	}
	for _, e := range s.watches[watchKey{db, string(key)}] {
		if e.expiredAtWatch && s.ks.DB(db).Peek(key) == nil {
			// The key was already expired at WATCH and is now reclaimed: logically nothing changed. A later
			// change counts.
			e.expiredAtWatch = false
			continue
		}
		e.c.tx.dirty = true
	}
}

// touchWatchedDB handles FLUSHDB/FLUSHALL (db < 0) and SWAPDB (called for both databases after the swap):
// a watched key is touched if the flush removed it (it was live at WATCH and nothing touched it since,
// or its client is dirty already) or if the swap brought a value under its name.
func (s *Server) touchWatchedDB(db int) {
	for wk, list := range s.watches {
		if db >= 0 && wk.db != db {
			continue
		}
		present := s.ks.DB(wk.db).Peek([]byte(wk.key)) != nil
		for _, e := range list {
			if e.existed || present {
				e.c.tx.dirty = true
			}
		}
	}
}
