package server

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/kvlab/kvlab/keyspace"
	"github.com/kvlab/kvlab/resp"
)

// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password] [AUTH2 user password]
// [KEYS key ...] moves keys to another server: their DUMP payloads are sent as RESTORE-ASKING commands
// (RESTORE with the ASKING flag, so a cluster node importing the slot accepts them) and, once the target
// acknowledged them, deleted here (unless COPY). Like Redis, it runs synchronously under the keyspace lock.

func init() {
	keyspace.Register(
		&keyspace.Command{Name: "migrate", Arity: -6, Flags: keyspace.FlagWrite, Keys: migrateKeys,
			Categories: keyspace.CatKeyspace | keyspace.CatDangerous, Group: "generic",
			Summary: "Atomically transfers a key from one Redis instance to another.", Since: "2.6.0", Handler: cmdMigrate},
	)
	closeHooks = append(closeHooks, func(s *Server) {
		s.ks.Mu.Lock()
		for addr := range s.migrateConns {
			s.dropMigrateConn(addr)
		}
		s.ks.Mu.Unlock()
	})
	restore := keyspace.Lookup([]byte("restore"))
	if restore != nil {
		ra := *restore
		ra.Name, ra.Summary, ra.Since = "restore-asking", "An internal command for migrating keys in a cluster.", "3.0.0"
		keyspace.Register(&ra)
	}
}

// migrateKeys returns MIGRATE's key positions: the key argument, or the arguments after KEYS.
func migrateKeys(args [][]byte) []int {
	if len(args) > 3 && len(args[3]) > 0 {
		return []int{3}
	}
	for i := 6; i < len(args); i++ {
		if strings.EqualFold(string(args[i]), "keys") {
			var out []int
			for j := i + 1; j < len(args); j++ {
				out = append(out, j)
			}
			return out
		}
	}
	return nil
}

func cmdMigrate(x *keyspace.Ctx) {
	host, port := string(x.Args[1]), string(x.Args[2])
	db, err := keyspace.ParseInt(x.Args[4])
	if err != nil {
		x.Error(keyspace.ErrNotInt)
		return
	}
	timeout, err := keyspace.ParseInt(x.Args[5])
	if err != nil {
		x.Error(keyspace.ErrNotInt)
		return
	}
	if timeout <= 0 {
		timeout = 1000
	}
	var copyKeys, replace bool
	var user, pass string
	keys := [][]byte{x.Args[3]}
	for i := 6; i < len(x.Args); i++ {
		switch strings.ToLower(string(x.Args[i])) {
		case "copy":
			copyKeys = true
		case "replace":
			replace = true
		case "auth":
			if i+1 >= len(x.Args) {
				x.Error(keyspace.ErrSyntax)
				return
			}
			pass = string(x.Args[i+1])
			i++
		case "auth2":
			if i+2 >= len(x.Args) {
				x.Error(keyspace.ErrSyntax)
				return
			}
			user, pass = string(x.Args[i+1]), string(x.Args[i+2])
			i += 2
		case "keys":
			if len(x.Args[3]) != 0 {
				x.Error("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string")
				return
			}
			keys = x.Args[i+1:]
			i = len(x.Args)
		default:
			x.Error(keyspace.ErrSyntax)
			return
		}
	}
	// Serialize the keys that exist.
	type item struct {
		key     []byte
		ttl     int64
		payload []byte
	}
	var items []item
	for _, k := range keys {
		o := x.Lookup(k)
		if x.ThawErr != nil {
			return
		}
		if o == nil {
			continue
		}
		p, err := keyspace.AppendDump(nil, x.DB, o)
		if err != nil {
			x.Error("ERR " + err.Error())
			return
		}
		ttl := int64(0)
		if o.ExpireAt > 0 {
			ttl = max(o.ExpireAt-x.Now, 1)
		}
		items = append(items, item{k, ttl, p})
	}
	if len(items) == 0 {
		x.W.Simple("NOKEY")
		return
	}
	s := connOf(x).s
	d := time.Duration(timeout) * time.Millisecond
	addr := net.JoinHostPort(host, port)
	mc, err := s.migrateConnTo(addr, d)
	if err != nil {
		x.Error("IOERR error or timeout connecting to the client (" + err.Error() + ")")
		return
	}
	mc.nc.SetDeadline(time.Now().Add(d + time.Duration(len(items))*time.Millisecond))
	var buf []byte
	n := 0
	if pass != "" {
		if user != "" {
			buf = resp.AppendCommandStrings(buf, "AUTH", user, pass)
		} else {
			buf = resp.AppendCommandStrings(buf, "AUTH", pass)
		}
		n++
	}
	if int(db) != mc.db {
		buf = resp.AppendCommandStrings(buf, "SELECT", strconv.FormatInt(db, 10))
		n++
	}
	for _, it := range items {
		args := [][]byte{[]byte("RESTORE-ASKING"), it.key, []byte(strconv.FormatInt(it.ttl, 10)), it.payload}
		if replace {
			args = append(args, []byte("REPLACE"))
		}
		buf = resp.AppendCommand(buf, args...)
	}
	if _, err := mc.nc.Write(buf); err != nil {
		s.dropMigrateConn(addr)
		x.Error("IOERR error or timeout writing to target instance")
		return
	}
	for range n {
		v, err := mc.rr.Read()
		if err == nil && v.Kind == '-' {
			err = errors.New("ERR Target instance replied with error: " + string(v.Str))
		}
		if err != nil {
			s.dropMigrateConn(addr) // its remaining replies are unread
			if v.Kind == '-' {
				x.Error(err.Error())
			} else {
				x.Error("IOERR error or timeout reading to target instance")
			}
			return
		}
	}
	mc.db = int(db)
	rr := mc.rr
	var firstErr string
	var moved [][]byte
	for _, it := range items {
		v, err := rr.Read()
		if err != nil {
			s.dropMigrateConn(addr)
			if firstErr == "" {
				firstErr = "IOERR error or timeout reading to target instance"
			}
			break
		}
		if v.Kind == '-' {
			if firstErr == "" {
				firstErr = "ERR Target instance replied with error: " + string(v.Str)
			}
			continue
		}
		moved = append(moved, it.key)
	}
	if !copyKeys && len(moved) > 0 {
		for _, k := range moved {
			if x.Delete(k) {
				x.Notify('g', "del", k)
			}
		}
		if x.Effects != nil {
			x.Effects.Add(x.DB.Index, append([][]byte{[]byte("DEL")}, moved...)...)
		}
	}
	if firstErr != "" {
		x.Error(firstErr)
		return
	}
	x.OK()
}

// migrateConn is a connection MIGRATE keeps to a target: like Redis, it is reused by the next MIGRATE to the
// same address within migrateIdle, so a reshard's many MIGRATEs do not each pay a dial (and a TLS
// handshake). The connections are guarded by the keyspace lock (MIGRATE runs under it).
type migrateConn struct {
	nc   net.Conn
	rr   *resp.ReplyReader
	db   int // the database the connection has SELECTed
	last time.Time
}

const migrateIdle = 10 * time.Second

// migrateConnTo returns the cached connection to addr, or dials one (keyspace lock held).
func (s *Server) migrateConnTo(addr string, timeout time.Duration) (*migrateConn, error) {
	now := time.Now()
	for a, mc := range s.migrateConns {
		if now.Sub(mc.last) > migrateIdle {
			mc.nc.Close()
			delete(s.migrateConns, a)
		}
	}
	if mc := s.migrateConns[addr]; mc != nil {
		mc.last = now
		return mc, nil
	}
	nc, err := s.dialNode(addr, s.cfg.ClientTLS != nil, timeout)
	if err != nil {
		return nil, err
	}
	mc := &migrateConn{nc: nc, rr: resp.NewReplyReader(bufio.NewReader(nc)), last: now}
	if s.migrateConns == nil {
		s.migrateConns = map[string]*migrateConn{}
	}
	s.migrateConns[addr] = mc
	return mc, nil
}

// dropMigrateConn closes the cached connection to addr (after an error left it in an unknown state).
func (s *Server) dropMigrateConn(addr string) {
	if mc := s.migrateConns[addr]; mc != nil {
		mc.nc.Close()
		delete(s.migrateConns, addr)
	}
}

// dialNode connects to another kvlab or Redis node, with TLS (Config.ClientTLS) when useTLS.
func (s *Server) dialNode(addr string, useTLS bool, timeout time.Duration) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil || !useTLS || s.cfg.ClientTLS == nil {
		return nc, err
	}
	tc := s.cfg.ClientTLS.Clone()
	if tc.ServerName == "" {
		tc.ServerName, _, _ = net.SplitHostPort(addr)
	}
	t := tls.Client(nc, tc)
	t.SetDeadline(time.Now().Add(timeout))
	if err := t.Handshake(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("TLS: %w", err)
	}
	t.SetDeadline(time.Time{})
	return t, nil
}
