package keyspace

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
type Object struct {
	Type Type
	// LFU is Redis's logarithmic access counter (for allkeys-lfu/volatile-lfu and OBJECT FREQ).
	LFU uint8
	// SnapEpoch is the epoch of the last snapshot that has captured this object (see Keyspace.SnapEpoch).
	SnapEpoch uint8
	// Cold is set by a tiering engine when the value lives off-heap: Str is then nil and Val is the engine's
	// ColdValue. Lookup and LookupWrite bring the value back (Keyspace.Thaw) before a handler sees it.
	Cold bool
	// LRU is the keyspace clock (seconds) of the last access (for LRU eviction and OBJECT IDLETIME).
	LRU uint32
	// ExpireAt is the absolute expiry in Unix milliseconds, 0 when the key is persistent.
	ExpireAt int64
	// LSN is the log sequence number of the last write to this key (durable engines only; 0 otherwise).
	LSN uint64
	// Str is the value of a string.
	Str []byte
	// Val is the value of every other type (*Hash, *List, *Set, *ZSet, *Stream, defined by their files).
	Val any

	key  string  // the key, owned by the dict (set when the object is inserted)
	next *Object // the dict's hash chain
	hash uint32  // low bits of the key's hash: skips most chain compares, and resizes without rehashing
	// TierSize is the value size a tiering engine accounts this object for (0 for other engines). It sits
	// in what would otherwise be padding after hash.
	TierSize uint32
}

// ColdView reads cold values as they were when the view was taken (Keyspace.ColdView), without Mu.
type ColdView interface {
	// Read appends v's value in MarshalValue's format to dst.
	Read(v ColdValue, dst []byte) ([]byte, error)
	// Close releases the view.
	Close()
}

// ColdValue is the Val of a cold object (Object.Cold): a handle on a value a tiering engine keeps off-heap.
type ColdValue interface {
	// AppendValue appends the value in MarshalValue's format, read from wherever the engine keeps it.
	AppendValue(dst []byte) ([]byte, error)
}

// Key returns the key the object is stored under ("" for an object not in a database).
func (o *Object) Key() string { return o.key }

// NewString returns a string object holding v (v is retained).
func NewString(v []byte) *Object { return &Object{Type: TypeString, Str: v} }

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
