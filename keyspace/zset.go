package keyspace

import (
	"encoding/binary"
	"fmt"
	"github.com/kvlab/kvlab/resp"
	"math"
	"strconv"
	"strings"
)

// ZSet is the value of a sorted set key (Object.Val): a counted B+tree ordered by (score, member) for
// ranges and ranks, and a hash from member to score for lookups. Guarded by Keyspace.Mu like every value.
type ZSet struct {
	tree ztree
	hash zsetHash
	// skiplist is what OBJECT ENCODING reports: false ("listpack") while the set is within Redis's listpack
	// thresholds, then true ("skiplist") for good — Redis never converts a grown set back, except for the
	// destination of a *STORE command, which is encoded by its final size.
	skiplist bool
}

// NewZSet returns an empty sorted set.
func NewZSet() *ZSet { return &ZSet{} }

// Len returns the number of members.
func (z *ZSet) Len() int { return z.tree.len() }

// Score returns the score of member.
func (z *ZSet) Score(member string) (float64, bool) {
	if e := z.hash.get(member); e != nil {
		return e.score, true
	}
	return 0, false
}

// Add sets member's score, inserting it if needed; it reports whether the member is new.
func (z *ZSet) Add(member string, score float64) bool {
	if e := z.hash.get(member); e != nil {
		z.setScore(e, score)
		return false
	}
	z.insert(member, score)
	return true
}

// Rank returns the 0-based rank of member in ascending order.
func (z *ZSet) Rank(member string) (int, bool) {
	e := z.hash.get(member)
	if e == nil {
		return 0, false
	}
	return z.tree.rank(&zitem{e.score, e.member})
}

// Range calls fn for the members of 0-based ranks start..end (inclusive, already clamped by the caller) in
// ascending order, or descending from the top when rev is set, until fn returns false.
func (z *ZSet) Range(start, end int, rev bool, fn func(member string, score float64) bool) {
	for _, it := range z.rankRange(int64(start), int64(end), rev) {
		if !fn(it.member, it.score) {
			return
		}
	}
}

// insert adds a member known to be absent. Like Redis, a set outgrowing the listpack thresholds converts
// before the insert; a listpack stores an integral score as an integer, so there -0 becomes 0.
func (z *ZSet) insert(member string, score float64) *zentry {
	if !z.skiplist && (z.Len()+1 > zslMaxListpackEntries || len(member) > zslMaxListpackValue) {
		z.skiplist = true
	}
	if !z.skiplist && score == 0 {
		score = 0
	}
	e := &zentry{member: member, score: score}
	z.hash.add(e)
	z.tree.insert(zitem{score, member})
	return e
}

// setScore moves an existing member to a new score (a no-op for an equal score, as Redis's zsetAdd).
func (z *ZSet) setScore(e *zentry, score float64) {
	if e.score == score {
		return
	}
	if !z.skiplist && score == 0 {
		score = 0
	}
	z.tree.delete(&zitem{e.score, e.member})
	e.score = score
	z.tree.insert(zitem{score, e.member})
}

// resetEqualScore stores a score equal to the current one but possibly of another sign (0 and -0), which
// does not move the member.
func (z *ZSet) resetEqualScore(e *zentry, score float64) {
	var path ztPath
	if p, _, ok := z.tree.find(&zitem{e.score, e.member}, &path); ok {
		p.item().score = score
	}
	e.score = score
}

// remove deletes member; it reports whether it was present.
func (z *ZSet) remove(member string) bool {
	e := z.hash.remove(member)
	if e == nil {
		return false
	}
	z.tree.delete(&zitem{e.score, e.member})
	return true
}

// each calls fn for every member in ascending order until fn returns false. fn must not modify the set.
func (z *ZSet) each(fn func(it *zitem) bool) {
	for p := z.tree.firstPos(); p.ok(); p = p.next() {
		if !fn(p.item()) {
			return
		}
	}
}

// collect returns copies of the members from position p on, in the direction given, at most limit of them
// (limit < 0: all) while in range (nil: no range check on the far end).
func (z *ZSet) collect(p zpos, rev bool, limit int64, inRange func(*zitem) bool) []zitem {
	var out []zitem
	if limit > 0 {
		out = make([]zitem, 0, min(limit, 1024))
	}
	for ; p.ok() && limit != 0; limit-- {
		it := p.item()
		if inRange != nil && !inRange(it) {
			break
		}
		out = append(out, *it)
		if rev {
			p = p.prev()
		} else {
			p = p.next()
		}
	}
	return out
}

// linearLex reports whether a lexicographic range is resolved by scanning in order, as Redis does for a
// listpack-encoded set. The scan and a tree descent agree whenever the members in play share one score
// (the documented use of the BYLEX commands); with mixed scores Redis's answer depends on the encoding, and
// for a skiplist on its random node levels.
func (z *ZSet) linearLex(rng zslRange) bool {
	_, lex := rng.(*zlexSpec)
	return lex && !z.skiplist
}

// inRange reports whether some part of the set can be in rng (Redis's zslIsInRange / zslIsInLexRange).
func (z *ZSet) inRange(rng zslRange) bool {
	if rng.empty() || z.Len() == 0 {
		return false
	}
	return rng.gteMin(z.tree.lastPos().item()) && rng.lteMax(z.tree.firstPos().item())
}

// firstInRange returns the position and 0-based rank of the first member in rng (an empty position when
// none).
func (z *ZSet) firstInRange(rng zslRange) (zpos, int) {
	if !z.inRange(rng) {
		return zpos{}, 0
	}
	if !z.linearLex(rng) {
		p, rank := z.tree.seek(func(it *zitem) bool { return !rng.gteMin(it) }, nil)
		if !p.ok() || !rng.lteMax(p.item()) {
			return zpos{}, 0
		}
		return p, rank
	}
	rank := 0
	for p := z.tree.firstPos(); p.ok(); p = p.next() {
		if rng.gteMin(p.item()) {
			if rng.lteMax(p.item()) {
				return p, rank
			}
			break
		}
		rank++
	}
	return zpos{}, 0
}

// lastInRange returns the position and 0-based rank of the last member in rng.
func (z *ZSet) lastInRange(rng zslRange) (zpos, int) {
	if !z.inRange(rng) {
		return zpos{}, 0
	}
	if !z.linearLex(rng) {
		p, rank := z.tree.seek(func(it *zitem) bool { return rng.lteMax(it) }, nil)
		if p.ok() {
			p = p.prev()
		} else {
			p = z.tree.lastPos()
		}
		rank--
		if !p.ok() || !rng.gteMin(p.item()) {
			return zpos{}, 0
		}
		return p, rank
	}
	rank := z.Len() - 1
	for p := z.tree.lastPos(); p.ok(); p = p.prev() {
		if rng.lteMax(p.item()) {
			if rng.gteMin(p.item()) {
				return p, rank
			}
			break
		}
		rank--
	}
	return zpos{}, 0
}

// countInRange is ZCOUNT/ZLEXCOUNT: from ranks, or by walking from the first member in range for a
// linearly scanned lex range.
func (z *ZSet) countInRange(rng zslRange) int {
	first, r1 := z.firstInRange(rng)
	if !first.ok() {
		return 0
	}
	if z.linearLex(rng) {
		return len(z.collect(first, false, -1, rng.lteMax))
	}
	_, r2 := z.lastInRange(rng)
	return r2 - r1 + 1
}

// deleteInRange removes the members from the first in range on while they stay below the maximum (as
// Redis) and returns how many.
func (z *ZSet) deleteInRange(rng zslRange) int {
	first, _ := z.firstInRange(rng)
	if !first.ok() {
		return 0
	}
	victims := z.collect(first, false, -1, rng.lteMax)
	for i := range victims {
		z.remove(victims[i].member)
	}
	return len(victims)
}

// deleteRankRange removes the members of 0-based ranks start..end.
func (z *ZSet) deleteRankRange(start, end int) int {
	victims := z.collect(z.tree.at(start), false, int64(end-start+1), nil)
	for i := range victims {
		z.remove(victims[i].member)
	}
	return len(victims)
}

// setStoreEncoding encodes the destination of a *STORE command by its final size, as Redis's
// zsetConvertToListpackIfNeeded (a listpack stores no negative zero).
func (z *ZSet) setStoreEncoding() {
	maxLen := 0
	z.each(func(it *zitem) bool {
		maxLen = max(maxLen, len(it.member))
		return true
	})
	z.skiplist = z.Len() > zslMaxListpackEntries || maxLen > zslMaxListpackValue
	if !z.skiplist {
		for p := z.tree.firstPos(); p.ok(); p = p.next() {
			if it := p.item(); it.score == 0 {
				it.score = 0
				z.hash.get(it.member).score = 0
			}
		}
	}
}

func init() {
	RegisterType(TypeZSet, &TypeOps{
		Clone: func(v any) any {
			src := v.(*ZSet)
			dst := NewZSet()
			dst.skiplist = src.skiplist
			src.each(func(it *zitem) bool {
				dst.insert(it.member, it.score)
				return true
			})
			return dst
		},
		Marshal:   zsetMarshal,
		Unmarshal: zsetUnmarshal,
		Size: func(v any) int {
			z := v.(*ZSet)
			// Per member: its tree item (24 B, leaves about 70% full) and its hash entry (48 B), plus the
			// member bytes.
			n := 96 + 8*(len(z.hash.t0)+len(z.hash.t1))
			z.each(func(it *zitem) bool {
				n += 34 + 48 + len(it.member)
				return true
			})
			return n
		},
		Len: func(v any) int { return v.(*ZSet).Len() },
		Encoding: func(v any) string {
			if v.(*ZSet).skiplist {
				return "skiplist"
			}
			return "listpack"
		},
	})
}

// zsetMarshal appends a sorted set as: byte flags (bit 0: skiplist encoding) | uvarint n |
// n × (uvarint len | member | 8-byte little-endian IEEE-754 score), in ascending order.
func zsetMarshal(dst []byte, v any) []byte {
	z := v.(*ZSet)
	var flags byte
	if z.skiplist {
		flags = 1
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(z.Len()))
	z.each(func(it *zitem) bool {
		dst = binary.AppendUvarint(dst, uint64(len(it.member)))
		dst = append(dst, it.member...)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(it.score))
		return true
	})
	return dst
}

func zsetUnmarshal(b []byte) (any, error) {
	if len(b) < 1 {
		return nil, fmt.Errorf("%w: empty sorted set", ErrBadValue)
	}
	flags := b[0]
	count, n := binary.Uvarint(b[1:])
	if n <= 0 || count > uint64(len(b)) {
		return nil, fmt.Errorf("%w: sorted set length", ErrBadValue)
	}
	b = b[1+n:]
	z := NewZSet()
	z.skiplist = flags&1 != 0
	for i := uint64(0); i < count; i++ {
		m, rest, err := ReadBytes(b)
		if err != nil {
			return nil, err
		}
		if len(rest) < 8 {
			return nil, fmt.Errorf("%w: truncated sorted set score", ErrBadValue)
		}
		score := math.Float64frombits(binary.LittleEndian.Uint64(rest))
		if math.IsNaN(score) || z.hash.getBytes(m) != nil {
			return nil, fmt.Errorf("%w: bad sorted set member", ErrBadValue)
		}
		z.insert(string(m), score)
		b = rest[8:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: trailing bytes after sorted set", ErrBadValue)
	}
	return z, nil
}

// Sorted set reply errors (Redis 7 wording).
const (
	errZMinMaxFloat  = "ERR min or max is not a float"
	errZMinMaxLex    = "ERR min or max not valid string range item"
	errZNaN          = "ERR resulting score is not a number (NaN)"
	errZTimeoutFloat = "ERR timeout is not a float or out of range"
	errZTimeoutNeg   = "ERR timeout is negative"
	errZTimeoutRange = "ERR timeout is out of range"
)

// zsetLookup returns the sorted set at key for reading: (nil, true) when the key is missing, (nil, false)
// after replying WRONGTYPE.
func (c *Ctx) zsetLookup(key []byte) (*ZSet, bool) {
	o := c.Lookup(key)
	if o == nil {
		return nil, true
	}
	if o.Type != TypeZSet {
		c.Error(ErrWrongType)
		return nil, false
	}
	return o.Val().(*ZSet), true
}

// zsetLookupWrite is zsetLookup for a command that may modify the set.
func (c *Ctx) zsetLookupWrite(key []byte) (*Object, *ZSet, bool) {
	o := c.LookupWrite(key)
	if o == nil {
		return nil, nil, true
	}
	if o.Type != TypeZSet {
		c.Error(ErrWrongType)
		return nil, nil, false
	}
	return o, o.Val().(*ZSet), true
}

// zsetAfterRemove deletes key when its set became empty (with Redis's "del" event) or marks it modified.
func (c *Ctx) zsetAfterRemove(key []byte, o *Object, z *ZSet) {
	if z.Len() == 0 {
		c.Delete(key)
		c.Notify('g', "del", key)
		return
	}
	c.Modified(key, o)
}

// isCSpace is C's isspace.
func isCSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r'
}

// zsetStrtod parses s as C's strtod requiring the whole string to be consumed: it accepts leading
// whitespace, "inf"/"infinity"/"nan", hex floats with or without a 'p' exponent, and reports overflow
// (±Inf from a finite literal) and underflow (0 from a non-zero literal) as erange.
func zsetStrtod(s string) (f float64, ok, erange bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	t := s[i:]
	if t == "" {
		// strtod consumes nothing; the end pointer is s itself, which is the end only for "".
		return 0, s == "", false
	}
	if strings.IndexByte(t, '_') >= 0 {
		return 0, false, false
	}
	body := t
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	hex := len(body) > 1 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')
	if hex && !strings.ContainsAny(body, "pP") {
		t += "p0"
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		ne, isNum := err.(*strconv.NumError)
		if !isNum || ne.Err != strconv.ErrRange {
			return 0, false, false
		}
		return f, true, true
	}
	if f == 0 && zsetNonZeroMantissa(body, hex) {
		return f, true, true
	}
	return f, true, false
}

// zsetNonZeroMantissa reports whether a numeric literal has a non-zero digit before its exponent.
func zsetNonZeroMantissa(body string, hex bool) bool {
	if hex {
		body = body[2:]
	}
	for i := 0; i < len(body); i++ {
		ch := body[i]
		if hex && (ch == 'p' || ch == 'P') || !hex && (ch == 'e' || ch == 'E') {
			return false
		}
		if ch >= '1' && ch <= '9' || hex && (ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F') {
			return true
		}
	}
	return false
}

// zsetParseDouble parses a score, weight or increment as Redis's string2d: no leading space, whole string,
// no NaN, no overflow to ±inf or underflow to zero ("inf" itself is fine).
func zsetParseDouble(b []byte) (float64, bool) {
	if len(b) == 0 || isCSpace(b[0]) {
		return 0, false
	}
	f, ok, erange := zsetStrtod(string(b))
	if !ok || math.IsNaN(f) || (erange && (math.IsInf(f, 0) || f == 0)) {
		return 0, false
	}
	return f, true
}

// zsetParseScoreBound parses one end of a score interval as Redis's zslParseRange: '(' makes it exclusive,
// the rest goes through strtod (so "", " 1" and "1e400" are accepted), NaN is rejected.
func zsetParseScoreBound(b []byte) (v float64, ex, ok bool) {
	s := string(b)
	if len(s) > 0 && s[0] == '(' {
		ex = true
		s = s[1:]
	}
	v, ok, _ = zsetStrtod(s)
	if !ok || math.IsNaN(v) {
		return 0, false, false
	}
	return v, ex, true
}

func zsetParseScoreRange(min, max []byte) (zrangeSpec, bool) {
	var r zrangeSpec
	var ok bool
	if r.min, r.minex, ok = zsetParseScoreBound(min); !ok {
		return r, false
	}
	if r.max, r.maxex, ok = zsetParseScoreBound(max); !ok {
		return r, false
	}
	return r, true
}

// zsetParseLexBound parses "-", "+", "(member" or "[member" (Redis's zslParseLexRangeItem: the infinities
// count as exclusive).
func zsetParseLexBound(b []byte) (zlexBound, bool, bool) {
	if len(b) == 0 {
		return zlexBound{}, false, false
	}
	switch b[0] {
	case '+':
		if len(b) != 1 {
			return zlexBound{}, false, false
		}
		return zlexBound{inf: 1}, true, true
	case '-':
		if len(b) != 1 {
			return zlexBound{}, false, false
		}
		return zlexBound{inf: -1}, true, true
	case '(':
		return zlexBound{s: string(b[1:])}, true, true
	case '[':
		return zlexBound{s: string(b[1:])}, false, true
	}
	return zlexBound{}, false, false
}

func zsetParseLexRange(min, max []byte) (zlexSpec, bool) {
	var r zlexSpec
	var ok bool
	if r.min, r.minex, ok = zsetParseLexBound(min); !ok {
		return r, false
	}
	if r.max, r.maxex, ok = zsetParseLexBound(max); !ok {
		return r, false
	}
	return r, true
}

// zsetParseTimeout parses a blocking timeout in seconds (Redis's getTimeoutFromObjectOrReply with
// UNIT_SECONDS) and returns it in milliseconds (0 = block forever); on error it replies.
func (c *Ctx) zsetParseTimeout(b []byte) (int64, bool) {
	f, ok := zsetParseDouble(b)
	if !ok || len(b) >= 5*1024 {
		c.Error(errZTimeoutFloat)
		return 0, false
	}
	f *= 1000
	if f > math.MaxInt64 {
		c.Error(errZTimeoutRange)
		return 0, false
	}
	ms := int64(math.Ceil(f))
	if f < math.MinInt64 {
		ms = math.MinInt64
	}
	if ms < 0 {
		c.Error(errZTimeoutNeg)
		return 0, false
	}
	if ms > 0 && ms > math.MaxInt64-c.Now {
		c.Error(errZTimeoutRange)
		return 0, false
	}
	return ms, true
}

// zsetReplyItems writes members (and scores) as ZRANGE does: RESP2 a flat array, RESP3 with scores an array
// of [member, score] pairs.
func (c *Ctx) zsetReplyItems(nodes []zitem, withScores bool) {
	nested := withScores && c.W.Proto >= 3
	if withScores && !nested {
		c.W.Array(2 * len(nodes))
	} else {
		c.W.Array(len(nodes))
	}
	for _, n := range nodes {
		if nested {
			c.W.Array(2)
		}
		c.W.BulkString(n.member)
		if withScores {
			c.zsetReplyScore(n.score)
		}
	}
}

// zsetFormatScore formats a score for an effect record so that it parses back to the same float64.
func zsetFormatScore(f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return []byte("inf")
	case math.IsInf(f, -1):
		return []byte("-inf")
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64)
}

// zsetReplyScore writes a score as Redis 7.2 does: a RESP3 double, or a bulk string in RESP2, formatted by
// zsetAppendScore.
func (c *Ctx) zsetReplyScore(f float64) {
	var tmp [40]byte
	if c.W.Proto >= 3 {
		b := append(tmp[:0], ',')
		b = zsetAppendScore(b, f)
		c.W.Raw(append(b, '\r', '\n'))
		return
	}
	c.W.Bulk(zsetAppendScore(tmp[:0], f))
}

// zsetAppendScore formats a score as Redis 7.2's d2string (see resp.AppendFloat).
func zsetAppendScore(b []byte, f float64) []byte { return resp.AppendFloat(b, f) }
