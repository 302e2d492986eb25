package keyspace

import (
	"fmt"
	"math"
	"math/bits"
	"unsafe"
)

// Type is the Redis data type of a value.
type Type uint8

// The data types, in Redis's TYPE names.
const (
	TypeNone Type = iota
	TypeString
	TypeList
	TypeSet
	TypeZSet
	TypeHash
	TypeStream
)

// String returns the name TYPE replies with.
func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeList:
		return "list"
	case TypeSet:
		return "set"
	case TypeZSet:
		return "zset"
	case TypeHash:
		return "hash"
	case TypeStream:
		return "stream"
	}
	return "none"
}

// ParseType maps a TYPE name (as accepted by SCAN ... TYPE) to a Type.
func ParseType(name string) (Type, bool) {
	for t := TypeString; t <= TypeStream; t++ {
		if equalFold(name, t.String()) {
			return t, true
		}
	}
	return TypeNone, false
}

// Object is one value in the keyspace with its metadata. Objects are owned by the keyspace and guarded by
// Keyspace.Mu: handlers may read and mutate them only while the lock is held, and must not retain them after.
//
// The value is one pointer and two counts, read through Str and Val: a string's bytes (with length and
// capacity), or a pointer to the collection its Type names, or, for a cold object, nothing (c then holds
// the demotion number of the tier's handle, whose tag is TierTag). Keeping a string's slice header and a collection's interface apart would cost
// 40 bytes where this costs 16; with the rest of the metadata the object fits Go's 80-byte size class.
type Object struct {
	Type Type
	// LFU is Redis's logarithmic access counter (for allkeys-lfu/volatile-lfu and OBJECT FREQ).
	LFU uint8
	// SnapEpoch is the epoch of the last snapshot that has captured this object (see Keyspace.SnapEpoch).
	SnapEpoch uint8
	// Cold is set by a tiering engine when the value lives off-heap (SetCold): Str and Val are then nil and
	// ColdHandle identifies the value. Lookup and LookupWrite bring the value back (Keyspace.Thaw) before a
	// handler sees it.
	Cold bool
	// LRU is the keyspace clock (seconds) of the last access (for LRU eviction and OBJECT IDLETIME).
	LRU uint32
	// ExpireAt is the absolute expiry in Unix milliseconds, 0 when the key is persistent.
	ExpireAt int64
	// LSN is the log sequence number of the last write to this key (durable engines only; 0 otherwise).
	LSN uint64

	ptr  unsafe.Pointer // a string's first byte, or the *List, *Set, *ZSet, *Hash or *Stream of Type
	n, c uint32         // a string's length and capacity; c: a cold object's demotion number (ColdHandle)
	key  string         // the key, owned by the dict (set when the object is inserted)
	next *Object        // the dict's hash chain
	hash uint32         // low bits of the key's hash: skips most chain compares, and resizes without rehashing
	// TierSize is the value size a tiering engine accounts this object for (0 for other engines). It sits
	// in what would otherwise be padding after hash.
	TierSize uint32
	// TierTag is, for a tiering engine, the tag of the database under which the tier holds a copy of the
	// value (0: none). A cold object always has one; a hot object keeps it after being read back until it
	// is modified, so demoting it again writes nothing.
	TierTag uint32
	// TierPos is a tiering engine's place for the object in its list of hot values (0: not listed; the
	// engine's to define). With TierTag it fills the rest of the 80-byte size class.
	TierPos uint32
}

// Str returns a string object's value (nil for other types and for a cold object). The slice aliases the
// object: a handler may modify its bytes in place, and must call SetStr when it changes length or storage.
func (o *Object) Str() []byte {
	if o.Type != TypeString || o.ptr == nil {
		return nil
	}
	return unsafe.Slice((*byte)(o.ptr), o.c)[:o.n]
}

// SetStr makes b the value of a string object (b is retained). Strings are limited to 512 MB like Redis's
// proto-max-bulk-len, far inside the 4 GiB the length and capacity can count.
func (o *Object) SetStr(b []byte) {
	if cap(b) > math.MaxUint32 {
		panic("keyspace: string value over 4 GiB")
	}
	o.ptr, o.n, o.c = unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b)), uint32(cap(b))
}

// Val returns the value of a collection object: *Hash, *List, *Set, *ZSet or *Stream as Type says (nil for
// strings and for a cold object).
func (o *Object) Val() any {
	if o.ptr == nil {
		return nil
	}
	switch o.Type {
	case TypeList:
		return (*List)(o.ptr)
	case TypeSet:
		return (*Set)(o.ptr)
	case TypeZSet:
		return (*ZSet)(o.ptr)
	case TypeHash:
		return (*Hash)(o.ptr)
	case TypeStream:
		return (*Stream)(o.ptr)
	}
	return nil
}

// SetVal makes v the value of a collection object; v's Go type must match the object's Type.
func (o *Object) SetVal(v any) {
	var p unsafe.Pointer
	var t Type
	switch v := v.(type) {
	case nil:
	case *List:
		p, t = unsafe.Pointer(v), TypeList
	case *Set:
		p, t = unsafe.Pointer(v), TypeSet
	case *ZSet:
		p, t = unsafe.Pointer(v), TypeZSet
	case *Hash:
		p, t = unsafe.Pointer(v), TypeHash
	case *Stream:
		p, t = unsafe.Pointer(v), TypeStream
	default:
		panic(fmt.Sprintf("keyspace: %T is not a collection value", v))
	}
	if p != nil && t != o.Type {
		panic(fmt.Sprintf("keyspace: a %s value in a %s object", t, o.Type))
	}
	o.ptr, o.n, o.c = p, 0, 0
}

// SetValue moves src's value (and type) into o, hot: how a tiering engine installs a value read back.
func (o *Object) SetValue(src *Object) {
	o.Type, o.ptr, o.n, o.c, o.Cold = src.Type, src.ptr, src.n, src.c, false
}

// SetCold drops the value from RAM and marks the object cold with a tiering engine's handle: tag (kept as
// TierTag, where the value is) and seq (which demotion put it there).
func (o *Object) SetCold(tag, seq uint32) {
	o.ptr, o.n, o.c, o.Cold, o.TierTag = nil, 0, seq, true, tag
}

// ColdHandle returns the handle SetCold stored (meaningful only while Cold).
func (o *Object) ColdHandle() (tag, seq uint32) { return o.TierTag, o.c }

// stringObject returns a string object holding v (retained) that expires at expireAt (0: never).
func stringObject(v []byte, expireAt int64) *Object {
	o := NewString(v)
	o.ExpireAt = expireAt
	return o
}

// NewValue returns an object of type t holding the collection v (v is retained).
func NewValue(t Type, v any) *Object {
	o := &Object{Type: t}
	o.SetVal(v)
	return o
}

// ColdView reads cold values as they were when the view was taken (Keyspace.ColdView), without Mu. Reads
// in increasing (tag, rank, key) order are the cheapest (see ScanRank).
type ColdView interface {
	// Read appends, in MarshalValue's format, the value of the cold object stored under key with the
	// handle tag (ColdHandle, taken under Mu when the view was) and the key's ScanRank.
	Read(tag, rank uint32, key string, dst []byte) ([]byte, error)
	// Close releases the view.
	Close()
}

// ScanRank is the object's place in its database's Scan order: the bit-reversed low bits of its key's hash,
// a function of the key alone (every database of a keyspace hashes with the same seed). Scan visits keys in
// nearly increasing rank (exactly, up to keys sharing a bucket), so a tiering engine that files cold values
// by (tag, rank, key) lets a snapshot, which walks the keyspace with Scan, read them forward through its
// store instead of seeking all over it for every slice of the walk. Valid while the object is in a database.
func (o *Object) ScanRank() uint32 { return bits.Reverse32(o.hash) }

// Key returns the key the object is stored under ("" for an object not in a database).
func (o *Object) Key() string { return o.key }

// NewString returns a string object holding v (v is retained).
func NewString(v []byte) *Object {
	o := &Object{Type: TypeString}
	o.SetStr(v)
	return o
}

// equalFold is an ASCII case-insensitive comparison that does not allocate.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

// EqualFold reports whether the argument b equals the ASCII word s, ignoring case. Used to match options.
func EqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		d := s[i]
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}
