package server

import (
	"strconv"
	"strings"
	"time"

	"github.com/kvlab/kvlab/internal/units"
)

// Output buffer limits (client-output-buffer-limit), per class of client as in Redis: a client whose pending
// output passes the hard limit, or stays above the soft limit for the soft number of seconds, is
// disconnected instead of letting the server's memory grow.
//
// Normal clients: replies of one pipeline accumulate in the connection's buffer and are written at once;
// the buffer is checked against the hard limit after every command, and when it is above the soft limit
// the write gets a deadline of the soft seconds, so a peer that does not read for that long is dropped.
// Pub/sub clients: messages arrive from other goroutines into an outbox drained by the subscriber's own
// writer; the outbox plus the chunk being written is checked on every enqueue.

// outbufClass is the limit of one client class (0 = no limit).
type outbufClass struct {
	hard, soft, softSecs int64
}

// outbufLimits are the limits of every class.
type outbufLimits struct {
	normal, replica, pubsub outbufClass
}

// defaultOutbuf is Redis's default: normal 0 0 0, replica 256mb 64mb 60, pubsub 32mb 8mb 60.
var defaultOutbuf = outbufLimits{
	replica: outbufClass{256 << 20, 64 << 20, 60},
	pubsub:  outbufClass{32 << 20, 8 << 20, 60},
}

// String formats the limits as CONFIG GET reports them.
func (l outbufLimits) String() string {
	f := func(name string, c outbufClass) string {
		return name + " " + strconv.FormatInt(c.hard, 10) + " " + strconv.FormatInt(c.soft, 10) + " " + strconv.FormatInt(c.softSecs, 10)
	}
	return f("normal", l.normal) + " " + f("slave", l.replica) + " " + f("pubsub", l.pubsub)
}

// parseOutbufLimits applies a CONFIG SET value ("class hard soft seconds" groups) to base.
func parseOutbufLimits(v string, base outbufLimits) (outbufLimits, string) {
	f := strings.Fields(v)
	if len(f) == 0 || len(f)%4 != 0 {
		return base, "Wrong number of arguments in buffer limit configuration."
	}
	for i := 0; i < len(f); i += 4 {
		var c *outbufClass
		switch strings.ToLower(f[i]) {
		case "normal":
			c = &base.normal
		case "slave", "replica":
			c = &base.replica
		case "pubsub":
			c = &base.pubsub
		default:
			return base, "Invalid client class specified in buffer limit configuration."
		}
		hard, err1 := units.ParseBytes(f[i+1])
		soft, err2 := units.ParseBytes(f[i+2])
		secs, err3 := strconv.ParseInt(f[i+3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || secs < 0 {
			return base, "Error in hard, soft or soft_seconds setting in buffer limit configuration."
		}
		*c = outbufClass{hard, soft, secs}
	}
	return base, ""
}

func init() {
	p := strParam("client-output-buffer-limit", defaultOutbuf.String())
	p.check = func(v string) (string, string) {
		_, msg := parseOutbufLimits(v, defaultOutbuf)
		return v, msg
	}
	p.apply = func(s *Server, v string) string {
		cur := defaultOutbuf
		if l := s.set.outbuf.Load(); l != nil {
			cur = *l
		}
		l, msg := parseOutbufLimits(v, cur)
		if msg == "" {
			s.set.outbuf.Store(&l)
		}
		return msg
	}
	p.get = func(s *Server) string { return s.set.outbuf.Load().String() }
	addConfigParam(p)
}

// overLimit reports whether pending bytes break class c's limits; softSince is when the client went above the
// soft limit (0 = it is not), updated in place.
func (c outbufClass) overLimit(pending int64, softSince *int64) bool {
	if c.hard > 0 && pending > c.hard {
		return true
	}
	if c.soft <= 0 || pending <= c.soft {
		*softSince = 0
		return false
	}
	now := time.Now().UnixMilli()
	if *softSince == 0 {
		*softSince = now
		return false
	}
	return now-*softSince > c.softSecs*1000
}

// closeForOutbuf logs and disconnects a client that broke its output buffer limit.
func (c *conn) closeForOutbuf(class string, pending int64) {
	c.s.stats.outbufDisconnects.Add(1)
	c.s.Logf("client id=%d addr=%s closed for overcoming of output buffer limits (%s, %d bytes pending)", c.id, c.nc.RemoteAddr(), class, pending)
	c.killed.Store(true)
	c.hangup()
}
