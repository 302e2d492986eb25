package keyspace

import (
	"bytes"
	"math"
	"slices"
	"strings"
)

// SORT and SORT_RO, after Redis 7.0's sort.c: option parsing in Redis's order and with its errors, the
// LIMIT arithmetic, BY patterns (with '*' substitution and "->" hash fields), GET patterns and GET #,
// numeric and ALPHA comparisons, Redis's partial quicksort when BY and LIMIT are both given, and STORE.

func init() {
	const w, r, d = FlagWrite, FlagReadonly, FlagDenyOOM
	cats := CatSet | CatSortedSet | CatList | CatDangerous
	Register(
		&Command{Name: "sort", Arity: -2, Flags: w | d | FlagMovableKeys, FirstKey: 1, LastKey: 1, Step: 1, Categories: cats, Group: "generic", Summary: "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.", Since: "1.0.0", Handler: cmdSort, Keys: sortKeys},
		&Command{Name: "sort_ro", Arity: -2, Flags: r | FlagMovableKeys, FirstKey: 1, LastKey: 1, Step: 1, Categories: cats, Group: "generic", Summary: "Returns the sorted elements of a list, a set, or a sorted set.", Since: "7.0.0", Handler: cmdSort, Keys: sortROKeys},
	)
}

var argRPUSH = []byte("RPUSH")

// sortKeys is Redis's sortGetKeys: the sorted key, plus the destination of the last STORE (options are
// skipped with their arguments: LIMIT takes two, GET and BY one).
func sortKeys(args [][]byte) []int {
	keys := []int{1}
	store := 0
	for i := 2; i < len(args); i++ {
		switch a := args[i]; {
		case EqualFold(a, "limit"):
			i += 2
		case EqualFold(a, "get"), EqualFold(a, "by"):
			i++
		case EqualFold(a, "store") && i+1 < len(args):
			store = i + 1
		}
	}
	if store != 0 {
		keys = append(keys, store)
	}
	return keys
}

// sortROKeys is Redis's sortROGetKeys: the sorted key only.
func sortROKeys(args [][]byte) []int { return []int{1} }

// sortKeyAccess is implemented by the server's connections: whether the user may read every key, which
// BY and GET patterns require (Redis's ACLUserCheckCmdWithUnrestrictedKeyAccess).
type sortKeyAccess interface {
	SortKeyAccess(cmd *Command, args [][]byte) bool
}

// sortItem is one element being sorted (Redis's redisSortObject).
type sortItem struct {
	obj   string
	score float64
	cmp   string // the BY value for ALPHA BY
	hasBy bool   // cmp was found
}

// sortCString is s as C's string functions see it: up to the first NUL byte.
func sortCString(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// sortLookup is Redis's lookupKeyByPattern: "#" yields the element itself; otherwise the first '*' of the
// pattern is replaced by the element, and the value is that string key's, or with "field" after a "->"
// following the '*', that hash field's. ok=false when there is no such value (no '*', missing key or
// field, wrong type).
func (c *Ctx) sortLookup(pat []byte, elem string, scratch *[]byte) (string, bool) {
	cs := pat
	if i := bytes.IndexByte(pat, 0); i >= 0 {
		cs = pat[:i]
	}
	if len(cs) == 1 && cs[0] == '#' {
		return elem, true
	}
	p := bytes.IndexByte(cs, '*')
	if p < 0 {
		return "", false
	}
	fieldLen := 0
	var field []byte
	if f := bytes.Index(cs[p+1:], []byte("->")); f >= 0 {
		f += p + 1
		if f+2 < len(cs) {
			fieldLen = len(pat) - f - 2
			field = pat[f+2:]
		}
	}
	post := len(pat) - (p + 1)
	if fieldLen > 0 {
		post -= fieldLen + 2
	}
	key := append((*scratch)[:0], pat[:p]...) // reused for every element: one key name at a time
	key = append(key, elem...)
	key = append(key, pat[p+1:p+1+post]...)
	*scratch = key
	o := c.Lookup(key)
	if o == nil {
		return "", false
	}
	if fieldLen > 0 {
		if o.Type != TypeHash {
			return "", false
		}
		return o.Val().(*Hash).Get(field)
	}
	if o.Type != TypeString {
		return "", false
	}
	return string(o.Str()), true
}

// sortScore converts a value to a double as SORT does (strtod on the C string, which must be consumed
// whole; overflow, underflow and NaN are errors).
func sortScore(s string) (float64, bool) {
	f, ok, erange := zsetStrtod(sortCString(s))
	if !ok || erange || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

func cmdSort(c *Ctx) {
	readonly := c.Cmd.Name == "sort_ro"
	var (
		desc, alpha, dontsort  bool
		limitStart, limitCount int64 = 0, -1
		sortBy, storeKey       []byte
		gets                   [][]byte
	)
	cluster := c.KS.countSlots
	// BY and GET patterns require that the user may read every key (Redis works this out before parsing;
	// the answer is the same when asked on first need).
	access := 0 // 0 unknown, 1 yes, -1 no
	fullAccess := func() bool {
		if access == 0 {
			access = 1
			if ka, ok := c.Conn.(sortKeyAccess); ok && !ka.SortKeyAccess(c.Cmd, c.Args) {
				access = -1
			}
		}
		return access > 0
	}
	for j := 2; j < len(c.Args); j++ {
		a := c.Args[j]
		left := len(c.Args) - j - 1
		switch {
		case EqualFold(a, "asc"):
			desc = false
		case EqualFold(a, "desc"):
			desc = true
		case EqualFold(a, "alpha"):
			alpha = true
		case EqualFold(a, "limit") && left >= 2:
			var ok bool
			if limitStart, ok = c.ParseInt(c.Args[j+1]); !ok {
				return
			}
			if limitCount, ok = c.ParseInt(c.Args[j+2]); !ok {
				return
			}
			j += 2
		case !readonly && EqualFold(a, "store") && left >= 1:
			storeKey = c.Args[j+1]
			j++
		case EqualFold(a, "by") && left >= 1:
			sortBy = c.Args[j+1]
			if bytes.IndexByte(sortCStringBytes(sortBy), '*') < 0 {
				dontsort = true
			} else if cluster {
				c.Error("ERR BY option of SORT denied in Cluster mode.")
				return
			} else if !fullAccess() {
				c.Error("ERR BY option of SORT denied due to insufficient ACL permissions.")
				return
			}
			j++
		case EqualFold(a, "get") && left >= 1:
			if cluster {
				c.Error("ERR GET option of SORT denied in Cluster mode.")
				return
			}
			if !fullAccess() {
				c.Error("ERR GET option of SORT denied due to insufficient ACL permissions.")
				return
			}
			gets = append(gets, c.Args[j+1])
			j++
		default:
			c.Error(ErrSyntax)
			return
		}
	}

	o := c.Lookup(c.Args[1])
	if o != nil && o.Type != TypeSet && o.Type != TypeList && o.Type != TypeZSet {
		c.Error(ErrWrongType)
		return
	}
	var (
		list *List
		set  *Set
		zs   *ZSet
	)
	typ := TypeList
	if o == nil {
		list = &List{}
	} else {
		typ = o.Type
		switch typ {
		case TypeList:
			list = o.Val().(*List)
		case TypeSet:
			set = o.Val().(*Set)
		case TypeZSet:
			zs = o.Val().(*ZSet)
		}
	}

	// A set has no order of its own: unsorted, it is stored (or replicated) sorted as ALPHA.
	if dontsort && typ == TypeSet && storeKey != nil {
		dontsort, alpha, sortBy = false, true, nil
	}
	// Redis converts a listpack sorted set to a skiplist for SORT, for good.
	if zs != nil {
		zs.skiplist = true
	}

	var vectorLen int64
	switch typ {
	case TypeList:
		vectorLen = int64(list.Len())
	case TypeSet:
		vectorLen = int64(set.Len())
	case TypeZSet:
		vectorLen = int64(zs.Len())
	}

	// LIMIT sanity checks, as Redis does them.
	start := max(limitStart, 0)
	end := vectorLen - 1
	if limitCount >= 0 {
		end = start + limitCount - 1
		if end < start-1 { // overflow: Redis's long arithmetic is undefined there; take "to the end"
			end = vectorLen - 1
		}
	}
	if start >= vectorLen {
		start = vectorLen - 1
		end = vectorLen - 2
	}
	if end >= vectorLen {
		end = vectorLen - 1
	}

	// Lists and sorted sets left unsorted load only the range asked for.
	n := vectorLen
	if (typ == TypeZSet || typ == TypeList) && dontsort && (start != 0 || end != vectorLen-1) {
		n = end - start + 1
	}
	vector := make([]sortItem, 0, max(n, 0))
	switch {
	case typ == TypeList && dontsort:
		if end >= start {
			for k := int64(0); k < n; k++ {
				i := start + k
				if desc {
					i = vectorLen - start - 1 - k
				}
				vector = append(vector, sortItem{obj: list.At(int(i))})
			}
			end -= start
			start = 0
		}
	case typ == TypeList:
		for i := 0; i < list.Len(); i++ {
			vector = append(vector, sortItem{obj: list.At(i)})
		}
	case typ == TypeSet:
		set.ForEachMember(func(m string) bool {
			vector = append(vector, sortItem{obj: m})
			return true
		})
	case typ == TypeZSet && dontsort:
		if n > 0 {
			zs.Range(int(start), int(start+n-1), desc, func(m string, _ float64) bool {
				vector = append(vector, sortItem{obj: m})
				return true
			})
		}
		end -= start
		start = 0
	default: // a sorted set to sort
		zs.each(func(it *zitem) bool {
			vector = append(vector, sortItem{obj: it.member})
			return true
		})
	}

	var keyBuf []byte // sortLookup's key names
	convErr := false
	if !dontsort {
		for i := range vector {
			it := &vector[i]
			by := it.obj
			if sortBy != nil {
				v, ok := c.sortLookup(sortBy, it.obj, &keyBuf)
				if !ok {
					continue
				}
				by = v
			}
			if alpha {
				if sortBy != nil {
					it.cmp, it.hasBy = by, true
				}
			} else if f, ok := sortScore(by); ok {
				it.score = f
			} else {
				convErr = true
			}
		}
		cmp := sortComparator(desc, alpha, sortBy != nil, storeKey != nil)
		if sortBy != nil && (start != 0 || end != int64(len(vector))-1) {
			pqsort(vector, cmp, int(start), int(end))
		} else {
			// glibc's qsort is a merge sort: stable. Sorting positions, with ties in their original order,
			// is that order in O(n log n), and compares elements in place: a comparator over copies made
			// each copy escape to the heap, two allocations per comparison.
			order := make([]int, len(vector))
			for i := range order {
				order[i] = i
			}
			slices.SortFunc(order, func(i, j int) int {
				if r := cmp(&vector[i], &vector[j]); r != 0 {
					return r
				}
				return i - j
			})
			sorted := make([]sortItem, len(vector))
			for k, i := range order {
				sorted[k] = vector[i]
			}
			vector = sorted
		}
	}

	count := end - start + 1
	if len(gets) > 0 {
		count *= int64(len(gets))
	}
	if convErr {
		c.Error("ERR One or more scores can't be converted into double")
		return
	}
	if storeKey == nil {
		c.W.Array(int(count))
		for j := start; j <= end; j++ {
			it := &vector[j]
			if len(gets) == 0 {
				c.W.BulkString(it.obj)
			}
			for _, g := range gets {
				if v, ok := c.sortLookup(g, it.obj, &keyBuf); ok {
					c.W.BulkString(v)
				} else {
					c.W.Null()
				}
			}
		}
		return
	}

	out := &List{}
	for j := start; j <= end; j++ {
		it := &vector[j]
		if len(gets) == 0 {
			out.PushBack(it.obj)
			continue
		}
		for _, g := range gets {
			v, _ := c.sortLookup(g, it.obj, &keyBuf) // a missing value is stored as ""
			out.PushBack(v)
		}
	}
	if count > 0 {
		c.Set(storeKey, NewValue(TypeList, out), false)
		c.Dirty += int(count) - 1 // Redis counts one change per stored element
		c.Notify('l', "sortstore", storeKey)
		// Logged as the resulting list, so that replaying it depends on no other key.
		args := make([][]byte, 0, out.Len()+2)
		args = append(args, argRPUSH, storeKey)
		for i := 0; i < out.Len(); i++ {
			args = append(args, []byte(out.At(i)))
		}
		c.Emit(argDEL, storeKey)
		c.Emit(args...)
	} else if c.Delete(storeKey) {
		c.Notify('g', "del", storeKey)
		c.Emit(argDEL, storeKey)
	}
	c.W.Int(count)
}

func sortCStringBytes(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// sortComparator is Redis's sortCompare. Numeric ties are broken by comparing the elements as binary
// strings; ALPHA compares with strcoll (C strings; kvlab assumes the C or C.UTF-8 locale, where strcoll is
// strcmp) unless the result is stored, where it compares binary strings; with BY, a missing BY value sorts
// first and two missing ones are equal.
func sortComparator(desc, alpha, byPattern, store bool) func(a, b *sortItem) int {
	coll := func(x, y string) int {
		if store {
			return strings.Compare(x, y)
		}
		return strings.Compare(sortCString(x), sortCString(y))
	}
	var cmp func(a, b *sortItem) int
	switch {
	case !alpha:
		cmp = func(a, b *sortItem) int {
			switch {
			case a.score > b.score:
				return 1
			case a.score < b.score:
				return -1
			}
			return strings.Compare(a.obj, b.obj)
		}
	case byPattern:
		cmp = func(a, b *sortItem) int {
			if !a.hasBy || !b.hasBy {
				switch {
				case a.hasBy == b.hasBy:
					return 0
				case !a.hasBy:
					return -1
				}
				return 1
			}
			return coll(a.cmp, b.cmp)
		}
	default:
		cmp = func(a, b *sortItem) int { return coll(a.obj, b.obj) }
	}
	if desc {
		return func(a, b *sortItem) int { return -cmp(a, b) }
	}
	return cmp
}

// pqsort is Redis's pqsort.c (a BSD quicksort that only recurses into partitions overlapping the
// elements lo..hi), ported so that equal elements end up where Redis puts them.
func pqsort(v []sortItem, cmp func(a, b *sortItem) int, lo, hi int) {
	pqsortRange(v, 0, cmp, lo, hi)
}

func pqsortRange(a []sortItem, base int, cmp func(a, b *sortItem) int, lo, hi int) {
	swap := func(i, j int) { a[i], a[j] = a[j], a[i] }
	med3 := func(x, y, z int) int {
		if cmp(&a[x], &a[y]) < 0 {
			if cmp(&a[y], &a[z]) < 0 {
				return y
			}
			if cmp(&a[x], &a[z]) < 0 {
				return z
			}
			return x
		}
		if cmp(&a[y], &a[z]) > 0 {
			return y
		}
		if cmp(&a[x], &a[z]) < 0 {
			return x
		}
		return z
	}
	vecswap := func(i, j, n int) {
		for k := 0; k < n; k++ {
			swap(i+k, j+k)
		}
	}
	// outside reports whether the partition of n elements at offset off lies wholly before or after lo..hi.
	outside := func(off, n int) bool {
		first, last := base+off, base+off+n-1
		return (lo < first && hi < first) || (lo > last && hi > last)
	}
	for {
		n := len(a)
		if n < 7 {
			for pm := 1; pm < n; pm++ {
				for pl := pm; pl > 0 && cmp(&a[pl-1], &a[pl]) > 0; pl-- {
					swap(pl, pl-1)
				}
			}
			return
		}
		pm := n / 2
		if n > 7 {
			pl, pn := 0, n-1
			if n > 40 {
				d := n / 8
				pl = med3(pl, pl+d, pl+2*d)
				pm = med3(pm-d, pm, pm+d)
				pn = med3(pn-2*d, pn-d, pn)
			}
			pm = med3(pl, pm, pn)
		}
		swap(0, pm)
		pa, pb := 1, 1
		pc, pd := n-1, n-1
		for {
			for pb <= pc {
				r := cmp(&a[pb], &a[0])
				if r > 0 {
					break
				}
				if r == 0 {
					swap(pa, pb)
					pa++
				}
				pb++
			}
			for pb <= pc {
				r := cmp(&a[pc], &a[0])
				if r < 0 {
					break
				}
				if r == 0 {
					swap(pc, pd)
					pd--
				}
				pc--
			}
			if pb > pc {
				break
			}
			swap(pb, pc)
			pb++
			pc--
		}
		pn := n
		r := min(pa, pb-pa)
		vecswap(0, pb-r, r)
		r = min(pd-pc, pn-pd-1)
		vecswap(pb, pn-r, r)
		if r = pb - pa; r > 1 && !outside(0, r) {
			pqsortRange(a[:r], base, cmp, lo, hi)
		}
		r = pd - pc
		if r <= 1 || outside(pn-r, r) {
			return
		}
		base += pn - r
		a = a[pn-r:]
	}
}
