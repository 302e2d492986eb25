package keyspace

// LCS, after Redis 7.0's lcsCommand (t_string.c): the longest common subsequence of two strings by the
// classic dynamic programming table, with its checks in Redis's order (types before options) and the
// same matches, backtracked from the ends of the strings.

func init() {
	Register(&Command{Name: "lcs", Arity: -3, Flags: FlagReadonly, FirstKey: 1, LastKey: 2, Step: 1, Categories: CatString, Group: "string", Summary: "Finds the longest common substring.", Since: "7.0.0", Handler: cmdLCS})
}

// lcsMaxTable is proto-max-bulk-len's default, the largest LCS table (4 bytes a cell) Redis allocates.
const lcsMaxTable = 512 << 20

func cmdLCS(c *Ctx) {
	oa, ob := c.Lookup(c.Args[1]), c.Lookup(c.Args[2])
	if (oa != nil && oa.Type != TypeString) || (ob != nil && ob.Type != TypeString) {
		c.Error("ERR The specified keys must contain string values")
		return
	}
	var a, b []byte
	if oa != nil {
		a = oa.Str()
	}
	if ob != nil {
		b = ob.Str()
	}
	var getLen, getIdx, withMatchLen bool
	var minMatchLen int64
	for j := 3; j < len(c.Args); j++ {
		opt := c.Args[j]
		more := len(c.Args) - 1 - j
		switch {
		case EqualFold(opt, "idx"):
			getIdx = true
		case EqualFold(opt, "len"):
			getLen = true
		case EqualFold(opt, "withmatchlen"):
			withMatchLen = true
		case EqualFold(opt, "minmatchlen") && more > 0:
			n, ok := c.ParseInt(c.Args[j+1])
			if !ok {
				return
			}
			minMatchLen = max(n, 0)
			j++
		default:
			c.Error(ErrSyntax)
			return
		}
	}
	if getIdx && getLen {
		c.Error("ERR If you want both the length and indexes, please just use IDX.")
		return
	}
	if uint64(len(a)) >= 1<<32-2 || uint64(len(b)) >= 1<<32-2 {
		c.Error("ERR String too long for LCS")
		return
	}
	alen, blen := len(a), len(b)
	if uint64(alen+1)*uint64(blen+1)*4 > lcsMaxTable {
		c.Error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
		return
	}
	// lcs[i*(blen+1)+j] is the length of the LCS of a[:i] and b[:j].
	w := blen + 1
	lcs := make([]uint32, (alen+1)*w)
	for i := 1; i <= alen; i++ {
		row, prev := lcs[i*w:(i+1)*w], lcs[(i-1)*w:i*w]
		for j := 1; j <= blen; j++ {
			if a[i-1] == b[j-1] {
				row[j] = prev[j-1] + 1
			} else {
				row[j] = max(prev[j], row[j-1])
			}
		}
	}
	total := lcs[alen*w+blen]
	if getLen {
		c.W.Int(int64(total))
		return
	}

	// Backtrack from the ends, building the LCS right to left and, for IDX, the matching ranges (last
	// first), each emitted once it can grow no further.
	result := make([]byte, total)
	type match struct{ aStart, aEnd, bStart, bEnd uint32 }
	var matches []match
	idx := total
	noRange := uint32(alen)
	aStart, aEnd, bStart, bEnd := noRange, uint32(0), uint32(0), uint32(0)
	i, j := alen, blen
	for i > 0 && j > 0 {
		emit := false
		if a[i-1] == b[j-1] {
			result[idx-1] = a[i-1]
			if aStart == noRange {
				aStart, aEnd = uint32(i-1), uint32(i-1)
				bStart, bEnd = uint32(j-1), uint32(j-1)
			} else if aStart == uint32(i) && bStart == uint32(j) {
				aStart--
				bStart--
			} else {
				emit = true
			}
			if aStart == 0 || bStart == 0 {
				emit = true
			}
			idx--
			i--
			j--
		} else {
			if lcs[(i-1)*w+j] > lcs[i*w+j-1] {
				i--
			} else {
				j--
			}
			if aStart != noRange {
				emit = true
			}
		}
		if emit {
			if getIdx && (minMatchLen == 0 || int64(aEnd-aStart+1) >= minMatchLen) {
				matches = append(matches, match{aStart, aEnd, bStart, bEnd})
			}
			aStart = noRange
		}
	}
	if !getIdx {
		c.W.Bulk(result)
		return
	}
	c.W.Map(2)
	c.W.BulkString("matches")
	c.W.Array(len(matches))
	for _, m := range matches {
		if withMatchLen {
			c.W.Array(3)
		} else {
			c.W.Array(2)
		}
		c.W.Array(2)
		c.W.Int(int64(m.aStart))
		c.W.Int(int64(m.aEnd))
		c.W.Array(2)
		c.W.Int(int64(m.bStart))
		c.W.Int(int64(m.bEnd))
		if withMatchLen {
			c.W.Int(int64(m.aEnd - m.aStart + 1))
		}
	}
	c.W.BulkString("len")
	c.W.Int(int64(total))
}
