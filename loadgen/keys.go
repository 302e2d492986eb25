package loadgen

import (
	"bytes"
	"strings"
)

// keySpec says which arguments of a command are keys (the legacy first/last/step of COMMAND INFO, plus the
// few forms that need a keyword or a key count).
type keySpec struct {
	kind  keyKind
	first int // index of the first key
	last  int // index of the last key; negative counts from the end (-1 = last argument)
	step  int
}

type keyKind uint8

const (
	keysRange   keyKind = iota // first..last by step
	keysNone                   // no keys (PING, INFO, ...): any node will do
	keysNumkeys                // the argument at first is a key count; keys follow it
	keysStreams                // XREAD/XREADGROUP: the first half of the arguments after STREAMS
)

var (
	oneKey    = keySpec{first: 1, last: 1, step: 1}
	noKeys    = keySpec{kind: keysNone}
	allKeys   = keySpec{first: 1, last: -1, step: 1}
	secondKey = keySpec{first: 2, last: 2, step: 1}
)

// keySpecs lists the commands whose keys are not just the first argument. Commands not listed have one
// key, the first argument (GET, SET, HSET, ZADD, XADD, EXPIRE, ...).
var keySpecs = map[string]keySpec{
	"PING": noKeys, "ECHO": noKeys, "INFO": noKeys, "TIME": noKeys, "DBSIZE": noKeys, "SELECT": noKeys,
	"AUTH": noKeys, "HELLO": noKeys, "MULTI": noKeys, "EXEC": noKeys, "DISCARD": noKeys, "CLIENT": noKeys,
	"CONFIG": noKeys, "COMMAND": noKeys, "CLUSTER": noKeys, "READONLY": noKeys, "READWRITE": noKeys,
	"ASKING": noKeys, "SCRIPT": noKeys, "FUNCTION": noKeys, "PUBLISH": noKeys, "SCAN": noKeys,
	"RANDOMKEY": noKeys, "KEYS": noKeys, "WAIT": noKeys, "FLUSHALL": noKeys, "FLUSHDB": noKeys,
	"UNWATCH": noKeys, "SLOWLOG": noKeys, "LATENCY": noKeys, "MEMORY": {first: 2, last: 2, step: 1},
	"MGET": allKeys, "DEL": allKeys, "UNLINK": allKeys, "EXISTS": allKeys, "TOUCH": allKeys, "WATCH": allKeys,
	"SINTER": allKeys, "SUNION": allKeys, "SDIFF": allKeys, "SINTERSTORE": allKeys, "SUNIONSTORE": allKeys,
	"SDIFFSTORE": allKeys, "PFCOUNT": allKeys, "PFMERGE": allKeys,
	"RENAME": {first: 1, last: 2, step: 1}, "RENAMENX": {first: 1, last: 2, step: 1},
	"COPY": {first: 1, last: 2, step: 1}, "RPOPLPUSH": {first: 1, last: 2, step: 1},
	"LMOVE": {first: 1, last: 2, step: 1}, "BLMOVE": {first: 1, last: 2, step: 1},
	"BRPOPLPUSH": {first: 1, last: 2, step: 1}, "SMOVE": {first: 1, last: 2, step: 1},
	"BLPOP": {first: 1, last: -2, step: 1}, "BRPOP": {first: 1, last: -2, step: 1},
	"BZPOPMIN": {first: 1, last: -2, step: 1}, "BZPOPMAX": {first: 1, last: -2, step: 1},
	"MSET": {first: 1, last: -1, step: 2}, "MSETNX": {first: 1, last: -1, step: 2},
	"BITOP":  {first: 2, last: -1, step: 1},
	"XGROUP": secondKey, "XINFO": secondKey, "OBJECT": secondKey,
	"XREAD": {kind: keysStreams}, "XREADGROUP": {kind: keysStreams},
	"EVAL": {kind: keysNumkeys, first: 2}, "EVALSHA": {kind: keysNumkeys, first: 2},
	"EVAL_RO": {kind: keysNumkeys, first: 2}, "EVALSHA_RO": {kind: keysNumkeys, first: 2},
	"FCALL": {kind: keysNumkeys, first: 2}, "FCALL_RO": {kind: keysNumkeys, first: 2},
	"ZUNION": {kind: keysNumkeys, first: 1}, "ZINTER": {kind: keysNumkeys, first: 1},
	"ZDIFF": {kind: keysNumkeys, first: 1}, "ZINTERCARD": {kind: keysNumkeys, first: 1},
	"SINTERCARD": {kind: keysNumkeys, first: 1}, "LMPOP": {kind: keysNumkeys, first: 1},
	"ZMPOP": {kind: keysNumkeys, first: 1}, "BLMPOP": {kind: keysNumkeys, first: 2},
	"BZMPOP": {kind: keysNumkeys, first: 2},
}

// zstore commands have a destination key, then a key count and the source keys.
var zstore = map[string]bool{"ZUNIONSTORE": true, "ZINTERSTORE": true, "ZDIFFSTORE": true}

// specFor returns the key spec of a command name (any case).
func specFor(name string) keySpec {
	name = strings.ToUpper(name)
	if zstore[name] {
		return keySpec{kind: keysNumkeys, first: 2, last: 1} // last=1: the destination is a key too
	}
	if s, ok := keySpecs[name]; ok {
		return s
	}
	return oneKey
}

// keys calls fn with each key argument of args (a rendered command).
func (s keySpec) keys(args [][]byte, fn func(key []byte)) {
	switch s.kind {
	case keysNone:
		return
	case keysNumkeys:
		if s.last == 1 && len(args) > 1 {
			fn(args[1])
		}
		if s.first >= len(args) {
			return
		}
		n := atoiBytes(args[s.first])
		for i := s.first + 1; i <= s.first+n && i < len(args); i++ {
			fn(args[i])
		}
	case keysStreams:
		for i := 1; i < len(args); i++ {
			if len(args[i]) == 7 && bytes.EqualFold(args[i], []byte("STREAMS")) {
				rest := args[i+1:]
				for _, k := range rest[:len(rest)/2] {
					fn(k)
				}
				return
			}
		}
	default:
		last := s.last
		if last < 0 {
			last += len(args)
		}
		for i := s.first; i <= last && i < len(args); i += s.step {
			fn(args[i])
		}
	}
}

func atoiBytes(b []byte) int {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
		if n > 1<<20 {
			return 0
		}
	}
	return n
}

// slotOf returns the slot all the keys of a command hash to, -1 when it has no keys, and crossed=true
// (with two offending keys) when its keys hash to different slots.
func (s keySpec) slotOf(args [][]byte) (slot int, crossed bool, k1, k2 []byte) {
	slot = -1
	var first []byte
	s.keys(args, func(k []byte) {
		if crossed {
			return
		}
		sl := Slot(k)
		switch {
		case slot < 0:
			slot, first = sl, k
		case sl != slot:
			crossed, k1, k2 = true, first, k
		}
	})
	return slot, crossed, k1, k2
}
