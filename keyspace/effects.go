package keyspace

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/kvlab/kvlab/resp"
)

// Effects collects the deterministic effects of one command or transaction: each is a command in canonical
// form (absolute times, explicit IDs, resulting values) for one database. Replaying them with ApplyEffects
// reproduces the change exactly, whatever the time of replay.
//
// Encoding of Buf, repeated N times:
//
//	uvarint db | uvarint argc | argc × (uvarint len | bytes)
//
// The engine owns the record framing (LSN, checksum, time) around Buf.
type Effects struct {
	Buf []byte
	N   int
}

// Reset empties e, keeping its buffer.
func (e *Effects) Reset() { e.Buf, e.N = e.Buf[:0], 0 }

// Add appends one effect.
func (e *Effects) Add(db int, args ...[]byte) {
	e.Buf = binary.AppendUvarint(e.Buf, uint64(db))
	e.Buf = binary.AppendUvarint(e.Buf, uint64(len(args)))
	for _, a := range args {
		e.Buf = binary.AppendUvarint(e.Buf, uint64(len(a)))
		e.Buf = append(e.Buf, a...)
	}
	e.N++
}

// AddStrings appends one effect given as strings.
func (e *Effects) AddStrings(db int, args ...string) {
	e.Buf = binary.AppendUvarint(e.Buf, uint64(db))
	e.Buf = binary.AppendUvarint(e.Buf, uint64(len(args)))
	for _, a := range args {
		e.Buf = binary.AppendUvarint(e.Buf, uint64(len(a)))
		e.Buf = append(e.Buf, a...)
	}
	e.N++
}

// ErrBadEffects reports an effects buffer that does not decode.
var ErrBadEffects = errors.New("keyspace: malformed effects record")

// DecodeEffects calls fn for each effect in buf. The args slices alias buf.
func DecodeEffects(buf []byte, fn func(db int, args [][]byte) error) error {
	_, err := DecodeEffectsReuse(buf, nil, fn)
	return err
}

// DecodeEffectsReuse is DecodeEffects building each effect's argument list in args (which it returns,
// grown, for the next call): hot paths reuse one and decode without allocating.
func DecodeEffectsReuse(buf []byte, args [][]byte, fn func(db int, args [][]byte) error) ([][]byte, error) {
	for len(buf) > 0 {
		db, n := binary.Uvarint(buf)
		if n <= 0 || db >= NumDBs {
			return args, fmt.Errorf("%w: bad db index", ErrBadEffects)
		}
		buf = buf[n:]
		argc, n := binary.Uvarint(buf)
		if n <= 0 || argc == 0 || argc > uint64(len(buf)) {
			return args, fmt.Errorf("%w: bad argument count", ErrBadEffects)
		}
		buf = buf[n:]
		args = args[:0]
		for i := uint64(0); i < argc; i++ {
			l, n := binary.Uvarint(buf)
			if n <= 0 || l > uint64(len(buf)-n) {
				return args, fmt.Errorf("%w: bad argument length", ErrBadEffects)
			}
			args = append(args, buf[n:n+int(l)])
			buf = buf[n+int(l):]
		}
		if err := fn(int(db), args); err != nil {
			return args, err
		}
	}
	return args, nil
}

// Propagate records the command being executed, unchanged, as its own effect (for deterministic commands).
func (c *Ctx) Propagate() {
	if c.Effects != nil && !c.Replay {
		c.Effects.Add(c.DB.Index, c.Args...)
	}
}

// Emit records a rewritten effect for the current database.
func (c *Ctx) Emit(args ...[]byte) {
	if c.Effects != nil && !c.Replay {
		c.Effects.Add(c.DB.Index, args...)
	}
}

// EmitStrings records a rewritten effect given as strings.
func (c *Ctx) EmitStrings(args ...string) {
	if c.Effects != nil && !c.Replay {
		c.Effects.AddStrings(c.DB.Index, args...)
	}
}

// ApplyEffects replays an effects buffer recorded at time now (Unix ms): each effect runs through its
// command's handler in replay mode (no reply sent, no effects recorded, time fixed to the record's), with
// Mu held by the caller. A handler error reply during replay means the log and the data disagree and is
// returned as an error.
func (ks *Keyspace) ApplyEffects(buf []byte, now int64) error {
	r := ks.NewReplayer()
	return DecodeEffects(buf, func(db int, args [][]byte) error { return r.Apply(db, args, now) })
}

// Replayer applies effects one command at a time, as ApplyEffects does, for callers that hold effects as
// commands rather than as an encoded buffer (a replica loading a full sync). Reuse one to avoid
// allocations; use it with Mu held.
type Replayer struct {
	ks *Keyspace
	w  resp.Writer
	c  Ctx
}

// NewReplayer returns a Replayer for ks.
func (ks *Keyspace) NewReplayer() *Replayer {
	r := &Replayer{ks: ks}
	r.c = Ctx{KS: ks, Replay: true, W: &r.w}
	return r
}

// Apply replays one effect, command args for database db, at time now (Unix ms).
func (r *Replayer) Apply(db int, args [][]byte, now int64) error {
	if db < 0 || db >= NumDBs {
		return fmt.Errorf("%w: bad db index", ErrBadEffects)
	}
	cmd, msg := Resolve(args)
	if msg != "" {
		return fmt.Errorf("%w: %s", ErrBadEffects, msg)
	}
	if cmd.Handler == nil {
		return fmt.Errorf("%w: command %q cannot be replayed", ErrBadEffects, args[0])
	}
	c := &r.c
	c.Now = now
	c.DB = r.ks.dbs[db]
	c.Args = args
	c.Cmd = cmd
	r.w.Reset()
	cmd.Handler(c)
	if len(r.w.Buf) > 0 && r.w.Buf[0] == '-' {
		return fmt.Errorf("keyspace: replay of %s: %s", cmd.Name, trimCRLF(r.w.Buf[1:]))
	}
	return nil
}

func trimCRLF(b []byte) string {
	for i, c := range b {
		if c == '\r' {
			return string(b[:i])
		}
	}
	return string(b)
}
