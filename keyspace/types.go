package keyspace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"
)

// TypeOps are the operations every data type provides so generic code (COPY, snapshots, DUMP/RESTORE,
// tiering, MEMORY USAGE) works on any value. Each type's file registers its ops with RegisterType.
type TypeOps struct {
	// Clone returns a deep copy of v.
	Clone func(v any) any
	// Marshal appends a self-contained serialized form of v to dst.
	Marshal func(dst []byte, v any) []byte
	// Unmarshal decodes what Marshal wrote.
	Unmarshal func(b []byte) (any, error)
	// Size estimates the bytes v occupies in memory (MEMORY USAGE, tiering budgets).
	Size func(v any) int
	// Len returns the element count (fields, members, entries).
	Len func(v any) int
	// Encoding is what OBJECT ENCODING reports for v.
	Encoding func(v any) string
}

var typeOps [TypeStream + 1]*TypeOps

// RegisterType installs the ops of a non-string type (at init time).
func RegisterType(t Type, ops *TypeOps) { typeOps[t] = ops }

// Ops returns the registered ops of t, or nil.
func Ops(t Type) *TypeOps {
	if int(t) < len(typeOps) {
		return typeOps[t]
	}
	return nil
}

// CloneObject returns a deep copy of o's value and TTL (new LRU/LFU/LSN metadata).
func CloneObject(o *Object) *Object {
	n := &Object{Type: o.Type, ExpireAt: o.ExpireAt}
	if o.Type == TypeString {
		n.SetStr(Owned(o.Str()))
		return n
	}
	n.SetVal(typeOps[o.Type].Clone(o.Val()))
	return n
}

// ErrBadValue reports a serialized value that does not decode.
var ErrBadValue = errors.New("keyspace: malformed serialized value")

// serialization version of MarshalObject's format
const valueFormat = 1

// MarshalValue appends o's type and value (not its TTL) to dst:
//
//	byte format | byte type | payload
//
// where payload is the raw string for strings and the type's Marshal output otherwise.
func MarshalValue(dst []byte, o *Object) []byte {
	if o.Cold {
		panic("keyspace: MarshalValue of a cold object (use MarshalObject)")
	}
	dst = append(dst, valueFormat, byte(o.Type))
	if o.Type == TypeString {
		return append(dst, o.Str()...)
	}
	return typeOps[o.Type].Marshal(dst, o.Val())
}

// MarshalObject is MarshalValue for any object of db, cold ones included: a cold value is read back from
// its tier (Keyspace.ReadCold, with Mu held), which can fail. db may be nil for an object known to be hot.
func MarshalObject(dst []byte, db *DB, o *Object) ([]byte, error) {
	if o.Cold {
		if db == nil || db.ks.ReadCold == nil {
			return dst, errNoThaw
		}
		return db.ks.ReadCold(db, o, dst)
	}
	return MarshalValue(dst, o), nil
}

// UnmarshalValue decodes MarshalValue's output into a new object (ExpireAt 0).
func UnmarshalValue(b []byte) (*Object, error) {
	o, err := UnmarshalValueOwned(b)
	if err == nil && o.Type == TypeString {
		o.SetStr(Owned(o.Str())) // b stays the caller's
	}
	return o, err
}

// StringValue returns the bytes of a string value in MarshalValue's format (aliasing b), and false for
// any other input.
func StringValue(b []byte) ([]byte, bool) {
	if len(b) < 2 || b[0] != valueFormat || Type(b[1]) != TypeString {
		return nil, false
	}
	return b[2:], true
}

// UnmarshalValueOwned is UnmarshalValue for a buffer the caller hands over: a string's value keeps b's
// bytes instead of copying them (how a tiering engine installs a value it has just read).
func UnmarshalValueOwned(b []byte) (*Object, error) {
	if len(b) < 2 || b[0] != valueFormat {
		return nil, fmt.Errorf("%w: bad header", ErrBadValue)
	}
	t := Type(b[1])
	if t == TypeString {
		return NewString(b[2:len(b):len(b)]), nil
	}
	ops := Ops(t)
	if ops == nil {
		return nil, fmt.Errorf("%w: unknown type %d", ErrBadValue, t)
	}
	v, err := ops.Unmarshal(b[2:])
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadValue, t, err)
	}
	return NewValue(t, v), nil
}

// ObjectSize estimates the memory o uses, metadata included.
func ObjectSize(key string, o *Object) int {
	n := int(unsafe.Sizeof(Object{})) + len(key) + 16 // Object struct + key + dict slot
	if o.Cold {
		return n // the value is off-heap; its handle is in the object
	}
	if o.Type == TypeString {
		return n + cap(o.Str())
	}
	if ops := Ops(o.Type); ops != nil && o.Val() != nil {
		return n + ops.Size(o.Val())
	}
	return n
}

// AppendBytes appends a uvarint length and p (helper for types' Marshal functions).
func AppendBytes(dst, p []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(p)))
	return append(dst, p...)
}

// ReadBytes reads what AppendBytes wrote; it returns the bytes (aliasing b) and the rest.
func ReadBytes(b []byte) (p, rest []byte, err error) {
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return nil, nil, fmt.Errorf("%w: truncated", ErrBadValue)
	}
	return b[n : n+int(l)], b[n+int(l):], nil
}
