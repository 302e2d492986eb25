package keyspace

import (
	"strconv"

	"github.com/kvlab/kvlab/resp"
)

// Ctx is the execution context of one command. The server fills it, calls the handler with Keyspace.Mu
// held, then reads the reply from W, the effects from Effects and the LSN the reply must wait for from
// NeedLSN. Args alias the connection's read buffer: a handler that keeps bytes must copy them.
type Ctx struct {
	Args [][]byte
	W    *resp.Writer
	KS   *Keyspace
	DB   *DB
	Cmd  *Command
	// Now is the command's time in Unix ms: fixed for the whole command (and for a whole transaction), and
	// the record's time during replay.
	Now int64
	// Conn is the server's per-connection state (opaque to the keyspace).
	Conn any
	// Effects receives the command's effects; nil when the engine does not record them.
	Effects *Effects
	// NeedLSN is the highest LSN of a write this command observed or made; the reply waits for it.
	NeedLSN uint64
	// Dirty counts keys modified (Redis's server.dirty contribution, for SAVE policies and stats).
	Dirty int
	// Replay is set while applying logged effects.
	Replay bool
	// Block is set by a blocking command that found nothing to serve (see BlockRequest).
	Block *BlockRequest
	// InMulti is set while the command runs inside EXEC (blocking commands then behave as non-blocking).
	InMulti bool
	// ThawErr is set when a cold value the command needed could not be read back from the tier; the
	// handler then saw the key as missing, so the server replies with this error instead.
	ThawErr error
}

// BlockRequest asks the server to park the client until one of Keys is modified or Timeout (ms, 0 = forever)
// passes, then run the command again; on timeout the server replies with TimeoutReply.
type BlockRequest struct {
	Keys      [][]byte
	TimeoutMS int64
	// NullArrayOnTimeout selects *-1 (RESP2) / _ (RESP3) rather than a null bulk on timeout.
	NullArrayOnTimeout bool
	// Args, when set, are the arguments the command must be run again with instead of the original ones
	// (owned by the request): XREAD BLOCK resolves "$" to the stream's last ID at the time of blocking, as
	// Redis rewrites its argv, so the re-run waits for entries after that ID rather than after whatever is
	// last when it runs.
	Args [][]byte
}

// Error writes an error reply.
func (c *Ctx) Error(msg string) { c.W.Error(msg) }

// OK writes +OK.
func (c *Ctx) OK() { c.W.Simple("OK") }

// ArityError writes the wrong-number-of-arguments error for the running command.
func (c *Ctx) ArityError() { c.W.Error(ErrArity(c.Cmd.FullName())) }

// ParseInt parses a Redis integer argument; on failure it writes ErrNotInt and returns ok=false.
func (c *Ctx) ParseInt(b []byte) (int64, bool) {
	n, err := ParseInt(b)
	if err != nil {
		c.W.Error(ErrNotInt)
		return 0, false
	}
	return n, true
}

// ParseInt parses a signed 64-bit integer the way Redis's string2ll does (no spaces, no '+', no leading zeros).
func ParseInt(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 20 {
		return 0, strconv.ErrSyntax
	}
	if len(b) > 1 && (b[0] == '0' || (b[0] == '-' && b[1] == '0')) {
		return 0, strconv.ErrSyntax
	}
	neg := false
	i := 0
	if b[0] == '-' {
		neg = true
		i = 1
		if len(b) == 1 {
			return 0, strconv.ErrSyntax
		}
	}
	var v uint64
	for ; i < len(b); i++ {
		d := b[i] - '0'
		if d > 9 {
			return 0, strconv.ErrSyntax
		}
		if v > (1<<64-1)/10 {
			return 0, strconv.ErrRange
		}
		v = v*10 + uint64(d)
		if v < uint64(d) {
			return 0, strconv.ErrRange
		}
	}
	if neg {
		if v > 1<<63 {
			return 0, strconv.ErrRange
		}
		return -int64(v), nil
	}
	if v > 1<<63-1 {
		return 0, strconv.ErrRange
	}
	return int64(v), nil
}

// ParseFloat parses a float argument the way Redis's string2ld does: no spaces, "inf"/"-inf" accepted, NaN
// rejected.
func ParseFloat(b []byte) (float64, bool) {
	if len(b) == 0 || b[0] == ' ' || b[len(b)-1] == ' ' {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	if f != f {
		return 0, false
	}
	// strconv accepts hex floats and underscores that Redis rejects.
	for _, ch := range b {
		if ch == '_' || ch == 'x' || ch == 'X' || ch == 'p' || ch == 'P' {
			return 0, false
		}
	}
	return f, true
}

// FormatFloat formats f as Redis 7.2 does for replies and stored results (see resp.AppendFloat).
func FormatFloat(f float64) string {
	var tmp [32]byte
	return string(resp.AppendFloat(tmp[:0], f))
}

// AppendInt appends the decimal form of n.
func AppendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

// Owned returns a copy of b that the keyspace may retain.
func Owned(b []byte) []byte { return append([]byte(nil), b...) }
