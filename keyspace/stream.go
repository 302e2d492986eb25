package keyspace

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/tidwall/btree"
)

// Streams.
//
// A Stream keeps its entries the way Redis lays them out: a tree (github.com/tidwall/btree, keyed by the
// master ID) of nodes, each holding up to streamNodeMaxEntries entries in ID order. Deleted entries stay in
// their node flagged as deleted until the whole node goes, exactly as Redis flags them inside a listpack.
// kvlab does not store listpacks, but it computes the byte size each node's listpack would have, because
// Redis's node boundaries depend on it (a node is closed when it reaches stream-node-max-bytes or
// stream-node-max-entries), and the boundaries are visible: MAXLEN ~ and MINID ~ trim whole nodes only, and
// XINFO STREAM reports the number of nodes. With the same boundaries, approximate trimming gives the same
// lengths as Redis.
//
// Consumer groups keep a pending entries list (PEL) of NACKs ordered by ID, shared with the owning
// consumer's own PEL, as Redis does.

const (
	streamNodeMaxEntries = 100  // stream-node-max-entries default
	streamNodeMaxBytes   = 4096 // stream-node-max-bytes default
	streamListpackMax    = 1 << 30
	// streamInvalidRead is SCG_INVALID_ENTRIES_READ: a group whose entries-read counter is unknown.
	streamInvalidRead = -1
)

// streamID is an entry ID: milliseconds and sequence.
type streamID struct{ ms, seq uint64 }

func (a streamID) cmp(b streamID) int {
	switch {
	case a.ms < b.ms:
		return -1
	case a.ms > b.ms:
		return 1
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return 0
}

func (a streamID) less(b streamID) bool { return a.cmp(b) < 0 }

func (a streamID) isZero() bool { return a.ms == 0 && a.seq == 0 }

// incr returns the next ID; ok is false when a is the largest ID (the result wraps to 0-0).
func (a streamID) incr() (streamID, bool) {
	if a.seq == math.MaxUint64 {
		if a.ms == math.MaxUint64 {
			return streamID{}, false
		}
		return streamID{a.ms + 1, 0}, true
	}
	return streamID{a.ms, a.seq + 1}, true
}

// decr returns the previous ID; ok is false when a is 0-0 (the result wraps to the largest ID).
func (a streamID) decr() (streamID, bool) {
	if a.seq == 0 {
		if a.ms == 0 {
			return streamID{math.MaxUint64, math.MaxUint64}, false
		}
		return streamID{a.ms - 1, math.MaxUint64}, true
	}
	return streamID{a.ms, a.seq - 1}, true
}

func (a streamID) appendTo(b []byte) []byte {
	b = strconv.AppendUint(b, a.ms, 10)
	b = append(b, '-')
	return strconv.AppendUint(b, a.seq, 10)
}

func (a streamID) String() string { return string(a.appendTo(nil)) }

var streamMaxID = streamID{math.MaxUint64, math.MaxUint64}

// streamEntry is one entry. data holds its fields and values as uvarint-length-prefixed strings
// (field1 value1 field2 value2 ...), in one allocation.
type streamEntry struct {
	id      streamID
	data    []byte
	pairs   int32
	deleted bool
}

func newStreamEntry(id streamID, fv [][]byte) streamEntry {
	n := 0
	for _, a := range fv {
		n += binary.MaxVarintLen32 + len(a)
	}
	data := make([]byte, 0, n)
	for _, a := range fv {
		data = AppendBytes(data, a)
	}
	return streamEntry{id: id, data: data[:len(data):len(data)], pairs: int32(len(fv) / 2)}
}

// each calls fn for the fields and values in order (field, value, field, value ...).
func (e *streamEntry) each(fn func(b []byte)) {
	d := e.data
	for len(d) > 0 {
		l, n := binary.Uvarint(d)
		fn(d[n : n+int(l)])
		d = d[n+int(l):]
	}
}

// streamNode is one node of the entry tree: the entries of one Redis listpack.
type streamNode struct {
	master  streamID
	entries []streamEntry // in ID order, deleted ones included; entries[0] provides the master fields
	live    int
	deleted int
	bytes   int // the size in bytes of the equivalent Redis listpack
}

// Listpack sizes (listpack.c): an element is its encoding header, its data and a back-length.

func lpIntSize(v int64) int {
	switch {
	case v >= 0 && v <= 127:
		return 2
	case v >= -4096 && v <= 4095:
		return 3
	case v >= -32768 && v <= 32767:
		return 4
	case v >= -8388608 && v <= 8388607:
		return 5
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return 6
	}
	return 10
}

func lpBacklenSize(l int) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

// lpElemSize is the size of a string element, which listpack stores as an integer when it is one.
func lpElemSize(b []byte) int {
	if v, err := ParseInt(b); err == nil {
		return lpIntSize(v)
	}
	l := len(b)
	var total int
	switch {
	case l < 64:
		total = 1 + l
	case l < 4096:
		total = 2 + l
	default:
		total = 5 + l
	}
	return total + lpBacklenSize(total)
}

// masterFields returns the field names of the node's master entry.
func (n *streamNode) masterFields() [][]byte {
	var out [][]byte
	i := 0
	n.entries[0].each(func(b []byte) {
		if i%2 == 0 {
			out = append(out, b)
		}
		i++
	})
	return out
}

// sameFields reports whether e has exactly the master entry's fields (Redis's SAMEFIELDS flag).
func (n *streamNode) sameFields(e *streamEntry) bool {
	if e == &n.entries[0] {
		return true
	}
	m := &n.entries[0]
	if m.pairs != e.pairs {
		return false
	}
	a, b := m.data, e.data
	for i := int32(0); i < e.pairs; i++ {
		la, na := binary.Uvarint(a)
		lb, nb := binary.Uvarint(b)
		if string(a[na:na+int(la)]) != string(b[nb:nb+int(lb)]) {
			return false
		}
		a, b = a[na+int(la):], b[nb+int(lb):]
		la, na = binary.Uvarint(a)
		lb, nb = binary.Uvarint(b)
		a, b = a[na+int(la):], b[nb+int(lb):]
	}
	return true
}

// entryBytes is the listpack size of entry e in node n.
func (n *streamNode) entryBytes(e *streamEntry) int {
	same := n.sameFields(e)
	flags := int64(0)
	if same {
		flags = 2
	}
	size := lpIntSize(flags) + lpIntSize(int64(e.id.ms-n.master.ms)) + lpIntSize(int64(e.id.seq-n.master.seq))
	lpCount := int64(e.pairs) + 3
	if !same {
		size += lpIntSize(int64(e.pairs))
		lpCount += int64(e.pairs) + 1
	}
	i := 0
	e.each(func(b []byte) {
		if i%2 == 1 || !same {
			size += lpElemSize(b)
		}
		i++
	})
	return size + lpIntSize(lpCount)
}

// computeBytes recomputes the listpack size from the entries (after loading a snapshot).
func (n *streamNode) computeBytes() int {
	size := 7 + lpIntSize(int64(n.live)) + lpIntSize(int64(n.deleted)) + lpIntSize(int64(n.entries[0].pairs)) + lpIntSize(0)
	for _, f := range n.masterFields() {
		size += lpElemSize(f)
	}
	for i := range n.entries {
		size += n.entryBytes(&n.entries[i])
	}
	return size
}

// setCounts updates the live/deleted counters, whose integer encodings are part of the listpack size.
func (n *streamNode) setCounts(live, deleted int) {
	n.bytes += lpIntSize(int64(live)) - lpIntSize(int64(n.live)) + lpIntSize(int64(deleted)) - lpIntSize(int64(n.deleted))
	n.live, n.deleted = live, deleted
}

// find returns the index of the first entry with ID >= id.
func (n *streamNode) find(id streamID) int {
	return sort.Search(len(n.entries), func(i int) bool { return !n.entries[i].id.less(id) })
}

type streamNodeItem struct {
	master streamID
	n      *streamNode
}

// streamNACK is a pending entry: delivered to a consumer and not yet acknowledged.
type streamNACK struct {
	id            streamID
	consumer      *streamConsumer
	deliveryTime  int64
	deliveryCount int64
}

type streamPELItem struct {
	id   streamID
	nack *streamNACK
}

func newPEL() *btree.BTreeG[streamPELItem] {
	return btree.NewBTreeGOptions(func(a, b streamPELItem) bool { return a.id.less(b.id) }, btree.Options{NoLocks: true})
}

// streamConsumer is a consumer of a group with its own view of the group's PEL.
type streamConsumer struct {
	name       string
	seenTime   int64
	activeTime int64 // -1 until the consumer is first delivered something
	pel        *btree.BTreeG[streamPELItem]
}

// streamGroup is a consumer group.
type streamGroup struct {
	name        string
	lastID      streamID
	entriesRead int64
	pel         *btree.BTreeG[streamPELItem]
	consumers   map[string]*streamConsumer
}

func (g *streamGroup) consumerNames() []string {
	names := make([]string, 0, len(g.consumers))
	for n := range g.consumers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (g *streamGroup) nack(id streamID) *streamNACK {
	if it, ok := g.pel.Get(streamPELItem{id: id}); ok {
		return it.nack
	}
	return nil
}

// dropNACK removes a NACK from the group and its consumer.
func (g *streamGroup) dropNACK(n *streamNACK) {
	g.pel.Delete(streamPELItem{id: n.id})
	if n.consumer != nil {
		n.consumer.pel.Delete(streamPELItem{id: n.id})
	}
}

// Stream is the value of a stream key (Object.Val). Guarded by Keyspace.Mu like every value.
type Stream struct {
	nodes        *btree.BTreeG[streamNodeItem]
	tail         *streamNode
	length       uint64
	lastID       streamID
	firstID      streamID
	maxDeletedID streamID
	entriesAdded uint64
	groups       map[string]*streamGroup
}

// NewStream returns an empty stream.
func NewStream() *Stream {
	return &Stream{nodes: btree.NewBTreeGOptions(func(a, b streamNodeItem) bool { return a.master.less(b.master) },
		btree.Options{NoLocks: true})}
}

// Len returns the number of (live) entries.
func (s *Stream) Len() int { return int(s.length) }

func (s *Stream) groupNames() []string {
	names := make([]string, 0, len(s.groups))
	for n := range s.groups {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// appendEntry adds an entry whose ID is greater than lastID, opening a new node when the tail node is full
// by Redis's rules (stream-node-max-bytes counted with the new fields, or stream-node-max-entries counting
// deleted entries too).
func (s *Stream) appendEntry(id streamID, fv [][]byte) {
	e := newStreamEntry(id, fv)
	n := s.tail
	if n != nil {
		total := 0
		for _, a := range fv {
			total += len(a)
		}
		if n.bytes+total >= streamNodeMaxBytes || n.live+n.deleted >= streamNodeMaxEntries {
			n = nil
		}
	}
	if n == nil {
		n = &streamNode{master: id, entries: make([]streamEntry, 0, 4)}
		n.entries = append(n.entries, e)
		n.live = 1
		n.bytes = n.computeBytes()
		s.nodes.Set(streamNodeItem{id, n})
		s.tail = n
	} else {
		n.entries = append(n.entries, e)
		n.setCounts(n.live+1, n.deleted)
		n.bytes += n.entryBytes(&n.entries[len(n.entries)-1])
	}
	s.length++
	s.entriesAdded++
	s.lastID = id
	if s.length == 1 {
		s.firstID = id
	}
}

// removeNode drops a whole node.
func (s *Stream) removeNode(n *streamNode) {
	s.nodes.Delete(streamNodeItem{master: n.master})
	if s.tail == n {
		s.tail = nil
		if it, ok := s.nodes.Max(); ok {
			s.tail = it.n
		}
	}
}

// nodeFor returns the node that would hold id (the last node whose master ID is <= id), or nil.
func (s *Stream) nodeFor(id streamID) *streamNode {
	var n *streamNode
	s.nodes.Descend(streamNodeItem{master: id}, func(it streamNodeItem) bool {
		n = it.n
		return false
	})
	return n
}

// lookup returns the live entry with ID id, or nil.
func (s *Stream) lookup(id streamID) (*streamNode, *streamEntry) {
	n := s.nodeFor(id)
	if n == nil {
		return nil, nil
	}
	i := n.find(id)
	if i < len(n.entries) && n.entries[i].id == id && !n.entries[i].deleted {
		return n, &n.entries[i]
	}
	return nil, nil
}

// deleteEntry flags the entry id deleted (removing its node when it was the node's last live entry) and
// reports whether it existed.
func (s *Stream) deleteEntry(id streamID) bool {
	n, e := s.lookup(id)
	if e == nil {
		return false
	}
	if n.live == 1 {
		s.removeNode(n)
	} else {
		e.deleted = true
		n.setCounts(n.live-1, n.deleted+1)
	}
	s.length--
	return true
}

// scan calls fn for the live entries with start <= ID <= end, ascending (or descending when rev), until fn
// returns false.
func (s *Stream) scan(start, end streamID, rev bool, fn func(e *streamEntry) bool) {
	if end.less(start) {
		return
	}
	if !rev {
		pivot := start
		if n := s.nodeFor(start); n != nil {
			pivot = n.master
		}
		s.nodes.Ascend(streamNodeItem{master: pivot}, func(it streamNodeItem) bool {
			n := it.n
			if end.less(n.master) {
				return false
			}
			for i := n.find(start); i < len(n.entries); i++ {
				e := &n.entries[i]
				if end.less(e.id) {
					return false
				}
				if !e.deleted && !fn(e) {
					return false
				}
			}
			return true
		})
		return
	}
	s.nodes.Descend(streamNodeItem{master: end}, func(it streamNodeItem) bool {
		n := it.n
		for i := n.find(end); i >= 0; i-- {
			if i >= len(n.entries) {
				continue
			}
			e := &n.entries[i]
			if end.less(e.id) {
				continue
			}
			if e.id.less(start) {
				return false
			}
			if !e.deleted && !fn(e) {
				return false
			}
		}
		return start.less(n.master)
	})
}

// first returns the first live entry (streamGetEdgeID skipping tombstones), or nil.
func (s *Stream) first() *streamEntry {
	var out *streamEntry
	s.scan(streamID{}, streamMaxID, false, func(e *streamEntry) bool { out = e; return false })
	return out
}

// last returns the last live entry (streamLastValidID), or nil.
func (s *Stream) last() *streamEntry {
	var out *streamEntry
	s.scan(streamID{}, streamMaxID, true, func(e *streamEntry) bool { out = e; return false })
	return out
}

// firstIncludingDeleted returns the ID of the first entry, deleted or not (streamGetEdgeID without skipping
// tombstones), or the largest ID for an empty stream — so "MINID = <it>" trims everything, as it must when
// it records an approximate trim that emptied the stream.
func (s *Stream) firstIncludingDeleted() streamID {
	if it, ok := s.nodes.Min(); ok {
		return it.n.entries[0].id
	}
	return streamMaxID
}

// streamTrimArgs are the MAXLEN/MINID options of XADD and XTRIM.
type streamTrimArgs struct {
	strategy int // 0 none, 1 MAXLEN, 2 MINID
	approx   bool
	limit    int64
	maxLen   int64
	minID    streamID
	argIdx   int // index of the MAXLEN/MINID value in the arguments
}

// trim removes entries from the head as Redis's streamTrim and returns how many it removed: whole nodes
// while they are entirely out of bounds, then (unless approximate) entries of the next node one by one.
func (s *Stream) trim(a *streamTrimArgs) int64 {
	if a.strategy == 0 {
		return 0
	}
	var deleted int64
	for {
		it, ok := s.nodes.Min()
		if !ok {
			break
		}
		n := it.n
		if a.strategy == 1 && int64(s.length) <= a.maxLen {
			break
		}
		entries := int64(n.live)
		if a.limit > 0 && deleted+entries > a.limit {
			break
		}
		var remove bool
		if a.strategy == 1 {
			remove = int64(s.length)-entries >= a.maxLen
		} else {
			remove = n.entries[len(n.entries)-1].id.less(a.minID)
		}
		if remove {
			s.removeNode(n)
			s.length -= uint64(entries)
			deleted += entries
			continue
		}
		if a.approx {
			break
		}
		var fromNode int
		for i := range n.entries {
			e := &n.entries[i]
			if a.strategy == 1 && int64(s.length) <= a.maxLen || a.strategy == 2 && !e.id.less(a.minID) {
				break
			}
			if !e.deleted {
				e.deleted = true
				fromNode++
				s.length--
			}
		}
		n.setCounts(n.live-fromNode, n.deleted+fromNode)
		deleted += int64(fromNode)
		break
	}
	if s.length == 0 {
		s.firstID = streamID{}
	} else if deleted > 0 {
		s.firstID = s.first().id
	}
	return deleted
}

// newGroup creates a consumer group (nil when the name exists).
func (s *Stream) newGroup(name string, last streamID, entriesRead int64) *streamGroup {
	if s.groups == nil {
		s.groups = map[string]*streamGroup{}
	}
	if _, ok := s.groups[name]; ok {
		return nil
	}
	g := &streamGroup{name: name, lastID: last, entriesRead: entriesRead, pel: newPEL(), consumers: map[string]*streamConsumer{}}
	s.groups[name] = g
	return g
}

// rangeHasTombstones is Redis's streamRangeHasTombstones for [start, +inf].
func (s *Stream) rangeHasTombstones(start streamID) bool {
	if s.length == 0 || s.maxDeletedID.isZero() {
		return false
	}
	if s.maxDeletedID.less(s.firstID) {
		return false
	}
	return !s.maxDeletedID.less(start)
}

// estimateDistance is Redis's streamEstimateDistanceFromFirstEverEntry: the logical read counter of id, or
// streamInvalidRead when it cannot be known.
func (s *Stream) estimateDistance(id streamID) int64 {
	if s.entriesAdded == 0 {
		return 0
	}
	if s.length == 0 && id.cmp(s.lastID) < 1 {
		return int64(s.entriesAdded)
	}
	switch id.cmp(s.lastID) {
	case 0:
		return int64(s.entriesAdded)
	case 1:
		return streamInvalidRead
	}
	if s.maxDeletedID.isZero() || s.maxDeletedID.less(s.firstID) {
		switch id.cmp(s.firstID) {
		case -1:
			return int64(s.entriesAdded - s.length)
		case 0:
			return int64(s.entriesAdded - s.length + 1)
		}
	}
	return streamInvalidRead
}

// lag is Redis's consumer group lag (ok=false: unknown, replied as null).
func (s *Stream) lag(g *streamGroup) (int64, bool) {
	if s.entriesAdded == 0 {
		return 0, true
	}
	if g.entriesRead != streamInvalidRead && !s.rangeHasTombstones(g.lastID) {
		return int64(s.entriesAdded) - g.entriesRead, true
	}
	if read := s.estimateDistance(g.lastID); read != streamInvalidRead {
		return int64(s.entriesAdded) - read, true
	}
	return 0, false
}

// radixTreeNodes estimates the node count of Redis's radix tree of listpacks (XINFO STREAM
// radix-tree-nodes), which depends on rax internals kvlab does not model: exact for 0 and 1 keys.
func (s *Stream) radixTreeNodes() int {
	switch k := s.nodes.Len(); k {
	case 0:
		return 1
	case 1:
		return 2
	default:
		return 2*k + 2
	}
}

func init() {
	RegisterType(TypeStream, &TypeOps{
		Clone: func(v any) any {
			b := streamMarshal(nil, v)
			c, err := streamUnmarshal(b)
			if err != nil {
				panic(fmt.Sprintf("keyspace: stream clone: %v", err))
			}
			return c
		},
		Marshal:   streamMarshal,
		Unmarshal: streamUnmarshal,
		Size: func(v any) int {
			s := v.(*Stream)
			size := 160
			s.nodes.Scan(func(it streamNodeItem) bool {
				size += 96 + cap(it.n.entries)*48
				for i := range it.n.entries {
					size += cap(it.n.entries[i].data)
				}
				return true
			})
			for _, g := range s.groups {
				size += 128 + len(g.name) + g.pel.Len()*64
				for _, c := range g.consumers {
					size += 96 + len(c.name) + c.pel.Len()*24
				}
			}
			return size
		},
		Len:      func(v any) int { return v.(*Stream).Len() },
		Encoding: func(any) string { return "stream" },
	})
}

func appendID(b []byte, id streamID) []byte {
	b = binary.AppendUvarint(b, id.ms)
	return binary.AppendUvarint(b, id.seq)
}

// streamMarshal appends a stream as:
//
//	uvarint length | id last | id first | id max-deleted | uvarint entries-added
//	uvarint nodes  | nodes × (uvarint entries | entries × (id | byte deleted | uvarint pairs | bytes data))
//	uvarint groups | groups × (bytes name | id last | varint entries-read |
//	                 uvarint consumers | consumers × (bytes name | varint seen | varint active) |
//	                 uvarint pel | pel × (id | uvarint consumer index | varint time | varint count))
//
// where id is two uvarints. Deleted entries are kept, so node boundaries (and with them approximate
// trimming) survive a snapshot.
func streamMarshal(dst []byte, v any) []byte {
	s := v.(*Stream)
	dst = binary.AppendUvarint(dst, s.length)
	dst = appendID(dst, s.lastID)
	dst = appendID(dst, s.firstID)
	dst = appendID(dst, s.maxDeletedID)
	dst = binary.AppendUvarint(dst, s.entriesAdded)
	dst = binary.AppendUvarint(dst, uint64(s.nodes.Len()))
	s.nodes.Scan(func(it streamNodeItem) bool {
		dst = binary.AppendUvarint(dst, uint64(len(it.n.entries)))
		for i := range it.n.entries {
			e := &it.n.entries[i]
			dst = appendID(dst, e.id)
			if e.deleted {
				dst = append(dst, 1)
			} else {
				dst = append(dst, 0)
			}
			dst = binary.AppendUvarint(dst, uint64(e.pairs))
			dst = AppendBytes(dst, e.data)
		}
		return true
	})
	names := s.groupNames()
	dst = binary.AppendUvarint(dst, uint64(len(names)))
	for _, name := range names {
		g := s.groups[name]
		dst = AppendBytes(dst, []byte(name))
		dst = appendID(dst, g.lastID)
		dst = binary.AppendVarint(dst, g.entriesRead)
		cnames := g.consumerNames()
		index := make(map[*streamConsumer]int, len(cnames))
		dst = binary.AppendUvarint(dst, uint64(len(cnames)))
		for i, cn := range cnames {
			c := g.consumers[cn]
			index[c] = i
			dst = AppendBytes(dst, []byte(cn))
			dst = binary.AppendVarint(dst, c.seenTime)
			dst = binary.AppendVarint(dst, c.activeTime)
		}
		dst = binary.AppendUvarint(dst, uint64(g.pel.Len()))
		g.pel.Scan(func(it streamPELItem) bool {
			dst = appendID(dst, it.id)
			dst = binary.AppendUvarint(dst, uint64(index[it.nack.consumer]))
			dst = binary.AppendVarint(dst, it.nack.deliveryTime)
			dst = binary.AppendVarint(dst, it.nack.deliveryCount)
			return true
		})
	}
	return dst
}

// streamReader decodes streamMarshal's output, remembering the first error.
type streamReader struct {
	b   []byte
	err error
}

func (r *streamReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: truncated stream", ErrBadValue)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *streamReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: truncated stream", ErrBadValue)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *streamReader) id() streamID { return streamID{r.uvarint(), r.uvarint()} }

func (r *streamReader) bytes() []byte {
	if r.err != nil {
		return nil
	}
	p, rest, err := ReadBytes(r.b)
	if err != nil {
		r.err = err
		return nil
	}
	r.b = rest
	return p
}

func (r *streamReader) byte1() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = fmt.Errorf("%w: truncated stream", ErrBadValue)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// count reads an element count, bounded by the bytes left so a corrupt count cannot allocate without bound.
func (r *streamReader) count() int {
	v := r.uvarint()
	if v > uint64(len(r.b)) {
		r.err = fmt.Errorf("%w: stream count out of range", ErrBadValue)
		return 0
	}
	return int(v)
}

func streamUnmarshal(b []byte) (any, error) {
	r := &streamReader{b: b}
	s := NewStream()
	s.length = r.uvarint()
	s.lastID = r.id()
	s.firstID = r.id()
	s.maxDeletedID = r.id()
	s.entriesAdded = r.uvarint()
	var live uint64
	for i, nodes := 0, r.count(); i < nodes && r.err == nil; i++ {
		cnt := r.count()
		if cnt == 0 {
			r.err = fmt.Errorf("%w: empty stream node", ErrBadValue)
			break
		}
		n := &streamNode{entries: make([]streamEntry, 0, cnt)}
		for j := 0; j < cnt && r.err == nil; j++ {
			e := streamEntry{id: r.id(), deleted: r.byte1() == 1, pairs: int32(r.uvarint())}
			e.data = append([]byte(nil), r.bytes()...)
			if len(n.entries) > 0 && !n.entries[len(n.entries)-1].id.less(e.id) {
				r.err = fmt.Errorf("%w: stream entries out of order", ErrBadValue)
			}
			if e.deleted {
				n.deleted++
			} else {
				n.live++
			}
			n.entries = append(n.entries, e)
		}
		if r.err != nil || n.live == 0 && n.deleted == 0 {
			break
		}
		n.master = n.entries[0].id
		n.bytes = n.computeBytes()
		live += uint64(n.live)
		s.nodes.Set(streamNodeItem{n.master, n})
		s.tail = n
	}
	for i, groups := 0, r.count(); i < groups && r.err == nil; i++ {
		name := string(r.bytes())
		g := s.newGroup(name, r.id(), r.varint())
		if g == nil {
			r.err = fmt.Errorf("%w: duplicate stream group", ErrBadValue)
			break
		}
		cons := make([]*streamConsumer, r.count())
		for j := range cons {
			c := &streamConsumer{name: string(r.bytes()), seenTime: r.varint(), activeTime: r.varint(), pel: newPEL()}
			cons[j] = c
			g.consumers[c.name] = c
		}
		for j, pel := 0, r.count(); j < pel && r.err == nil; j++ {
			nk := &streamNACK{id: r.id()}
			ci := r.uvarint()
			nk.deliveryTime, nk.deliveryCount = r.varint(), r.varint()
			if ci >= uint64(len(cons)) {
				r.err = fmt.Errorf("%w: stream PEL consumer index", ErrBadValue)
				break
			}
			nk.consumer = cons[ci]
			g.pel.Set(streamPELItem{nk.id, nk})
			nk.consumer.pel.Set(streamPELItem{nk.id, nk})
		}
	}
	if r.err == nil && (len(r.b) != 0 || live != s.length) {
		r.err = fmt.Errorf("%w: stream length mismatch", ErrBadValue)
	}
	if r.err != nil {
		return nil, r.err
	}
	return s, nil
}
