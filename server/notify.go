package server

import (
	"strconv"
	"strings"
)

// Keyspace notifications (notify-keyspace-events). The keyspace calls Server.notify (its Notify hook) with
// Redis's event class letter and event name for every event, under the keyspace lock; when the class is
// enabled the event is published to __keyspace@<db>__:<key> (message: the event) and/or
// __keyevent@<db>__:<event> (message: the key), like any PUBLISH, so pattern subscribers see it too.

// Keyspace notification classes, as bits.
const (
	notifyKeyspace = 1 << iota
	notifyKeyevent
	notifyGeneric
	notifyString
	notifyList
	notifySet
	notifyHash
	notifyZset
	notifyExpired
	notifyEvicted
	notifyStream
	notifyKeyMiss
	notifyModule
	notifyNew
)

// notifyAll is what "A" stands for: every class except key-miss and new-key events.
const notifyAll = notifyGeneric | notifyString | notifyList | notifySet | notifyHash | notifyZset |
	notifyExpired | notifyEvicted | notifyStream | notifyModule

// notifyClasses maps letters to classes, in the order Redis prints them.
var notifyClasses = []struct {
	c   byte
	bit int64
}{{'g', notifyGeneric}, {'$', notifyString}, {'l', notifyList}, {'s', notifySet}, {'h', notifyHash},
	{'z', notifyZset}, {'x', notifyExpired}, {'e', notifyEvicted}, {'t', notifyStream}, {'d', notifyModule},
	{'n', notifyNew}, {'K', notifyKeyspace}, {'E', notifyKeyevent}, {'m', notifyKeyMiss}}

// notifyBit returns the class bit of a letter (0 when unknown).
func notifyBit(c byte) int64 {
	for _, l := range notifyClasses {
		if l.c == c {
			return l.bit
		}
	}
	return 0
}

func parseNotifyFlags(v string) (int64, bool) {
	var f int64
	for i := 0; i < len(v); i++ {
		if v[i] == 'A' {
			f |= notifyAll
			continue
		}
		bit := notifyBit(v[i])
		if bit == 0 {
			return 0, false
		}
		f |= bit
	}
	return f, true
}

// notifyFlagsString formats flags as CONFIG GET reports them (Redis's keyspaceEventsFlagsToString: with
// every class "A" stands for them all, and then "n" is not printed either).
func notifyFlagsString(f int64) string {
	var b strings.Builder
	if f&notifyAll == notifyAll {
		b.WriteByte('A')
	}
	for _, l := range notifyClasses {
		if f&l.bit == 0 {
			continue
		}
		switch {
		case l.c == 'K' || l.c == 'E' || l.c == 'm':
		case f&notifyAll == notifyAll:
			continue
		}
		b.WriteByte(l.c)
	}
	return b.String()
}

// notify publishes a keyspace event (Keyspace.Notify hook; keyspace lock held).
func (s *Server) notify(db int, class byte, event string, key []byte) {
	f := s.set.notifyFlags.Load()
	if f&(notifyKeyspace|notifyKeyevent) == 0 || f&notifyBit(class) == 0 {
		return
	}
	dbs := strconv.Itoa(db)
	if f&notifyKeyspace != 0 {
		s.publish(s.channels, []byte("__keyspace@"+dbs+"__:"+string(key)), []byte(event), true)
	}
	if f&notifyKeyevent != 0 {
		s.publish(s.channels, []byte("__keyevent@"+dbs+"__:"+event), key, true)
	}
}
