package keyspace

import "errors"

// Reply errors, exactly as Redis 7 words them. Handlers write them with Ctx.Error; the server maps its own
// conditions (unknown command, arity) with the functions below.
const (
	ErrWrongType      = "WRONGTYPE Operation against a key holding the wrong kind of value"
	ErrSyntax         = "ERR syntax error"
	ErrNotInt         = "ERR value is not an integer or out of range"
	ErrNotFloat       = "ERR value is not a valid float"
	ErrOverflow       = "ERR increment or decrement would overflow"
	ErrNoSuchKey      = "ERR no such key"
	ErrDBIndex        = "ERR DB index is out of range"
	ErrOffsetRange    = "ERR offset is out of range"
	ErrStringTooLong  = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	ErrNaNInf         = "ERR increment would produce NaN or Infinity"
	ErrIndexRange     = "ERR index out of range"
	ErrOOM            = "OOM command not allowed when used memory > 'maxmemory'."
	ErrNotIntPositive = "ERR value is out of range, must be positive"
)

// ErrArity is the reply to a call with the wrong number of arguments; name is the command's full name
// ("get", "client|setname").
func ErrArity(name string) string {
	return "ERR wrong number of arguments for '" + name + "' command"
}

// ErrInvalidExpire is the reply to a zero, negative or overflowing expire time; name is the lowercase command.
func ErrInvalidExpire(name string) string {
	return "ERR invalid expire time in '" + name + "' command"
}

// errNoThaw reports a cold object in a keyspace without a tiering engine to read it back.
var errNoThaw = errors.New("keyspace: cold value without a tiering engine to read it")
