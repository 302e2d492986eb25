package keyspace

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"sync"
)

// The geo commands, a port of Redis 7's geo.c: a geo set is a sorted set whose scores are 52-bit
// interleaved geohashes (see geohash.go), so GEOADD is ZADD with encoded scores and the searches are score
// range scans of the sorted set over the 9 boxes that cover the search area.

func init() {
	const w, r, d, mk = FlagWrite, FlagReadonly, FlagDenyOOM, FlagMovableKeys
	g := "geo"
	k1 := func(c *Command) *Command {
		c.FirstKey, c.LastKey, c.Step, c.Categories, c.Group = 1, 1, 1, CatGeo, g
		return c
	}
	Register(
		k1(&Command{Name: "geoadd", Arity: -5, Flags: w | d, Summary: "Adds one or more members to a geospatial index. The key is created if it doesn't exist.", Since: "3.2.0", Handler: cmdGeoAdd}),
		k1(&Command{Name: "geodist", Arity: -4, Flags: r, Summary: "Returns the distance between two members of a geospatial index.", Since: "3.2.0", Handler: cmdGeoDist}),
		k1(&Command{Name: "geohash", Arity: -2, Flags: r, Summary: "Returns members from a geospatial index as geohash strings.", Since: "3.2.0", Handler: cmdGeoHash}),
		k1(&Command{Name: "geopos", Arity: -2, Flags: r, Summary: "Returns the longitude and latitude of members from a geospatial index.", Since: "3.2.0", Handler: cmdGeoPos}),
		k1(&Command{Name: "georadius", Arity: -6, Flags: w | d | mk, Summary: "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result.", Since: "3.2.0", Handler: cmdGeoRadius, Keys: geoRadiusKeys}),
		k1(&Command{Name: "georadius_ro", Arity: -6, Flags: r, Summary: "Returns members from a geospatial index that are within a distance from a coordinate.", Since: "3.2.10", Handler: cmdGeoRadius}),
		k1(&Command{Name: "georadiusbymember", Arity: -5, Flags: w | d | mk, Summary: "Queries a geospatial index for members within a distance from a member, optionally stores the result.", Since: "3.2.0", Handler: cmdGeoRadius, Keys: geoRadiusKeys}),
		k1(&Command{Name: "georadiusbymember_ro", Arity: -5, Flags: r, Summary: "Returns members from a geospatial index that are within a distance from a member.", Since: "3.2.10", Handler: cmdGeoRadius}),
		k1(&Command{Name: "geosearch", Arity: -7, Flags: r, Summary: "Queries a geospatial index for members inside an area of a box or a circle.", Since: "6.2.0", Handler: cmdGeoRadius}),
		&Command{Name: "geosearchstore", Arity: -8, Flags: w | d, FirstKey: 1, LastKey: 2, Step: 1, Categories: CatGeo, Group: g, Summary: "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result.", Since: "6.2.0", Handler: cmdGeoRadius},
	)
}

// geoRadiusKeys is Redis's georadiusGetKeys: the source key, and the key after the last STORE or STOREDIST.
func geoRadiusKeys(args [][]byte) []int {
	stored := -1
	for i := 5; i < len(args); i++ {
		if (EqualFold(args[i], "store") || EqualFold(args[i], "storedist")) && i+1 < len(args) {
			stored = i + 1
			i++
		}
	}
	if len(args) < 2 {
		return nil
	}
	if stored == -1 {
		return []int{1}
	}
	return []int{1, stored}
}

// geoFormatC formats f as C's "%f".
func geoFormatC(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', 6, 64)
}

// geoParseDouble is getDoubleFromObjectOrReply with an optional custom message.
func (c *Ctx) geoParseDouble(b []byte, msg string) (float64, bool) {
	f, ok := zsetParseDouble(b)
	if !ok {
		if msg == "" {
			c.Error(ErrNotFloat)
		} else {
			c.Error("ERR " + msg)
		}
	}
	return f, ok
}

// geoExtractLongLat is extractLongLatOrReply.
func (c *Ctx) geoExtractLongLat(args [][]byte) (lon, lat float64, ok bool) {
	if lon, ok = c.geoParseDouble(args[0], ""); !ok {
		return
	}
	if lat, ok = c.geoParseDouble(args[1], ""); !ok {
		return
	}
	if lon < geoLongMin || lon > geoLongMax || lat < geoLatMin || lat > geoLatMax {
		c.Error("ERR invalid longitude,latitude pair " + geoFormatC(lon) + "," + geoFormatC(lat))
		return 0, 0, false
	}
	return lon, lat, true
}

// geoExtractUnit is extractUnitOrReply: the unit's size in meters, or a negative value after replying.
func (c *Ctx) geoExtractUnit(u []byte) float64 {
	switch {
	case EqualFold(u, "m"):
		return 1
	case EqualFold(u, "km"):
		return 1000
	case EqualFold(u, "ft"):
		return 0.3048
	case EqualFold(u, "mi"):
		return 1609.34
	}
	c.Error("ERR unsupported unit provided. please use M, KM, FT, MI")
	return -1
}

// geoExtractDistance is extractDistanceOrReply: "<radius> <unit>".
func (c *Ctx) geoExtractDistance(args [][]byte, s *geoShape) bool {
	dist, ok := c.geoParseDouble(args[0], "need numeric radius")
	if !ok {
		return false
	}
	if dist < 0 {
		c.Error("ERR radius cannot be negative")
		return false
	}
	s.radius = dist
	conv := c.geoExtractUnit(args[1])
	if conv < 0 {
		return false
	}
	s.conversion = conv
	return true
}

// geoExtractBox is extractBoxOrReply: "<width> <height> <unit>".
func (c *Ctx) geoExtractBox(args [][]byte, s *geoShape) bool {
	w, ok := c.geoParseDouble(args[0], "need numeric width")
	if !ok {
		return false
	}
	h, ok := c.geoParseDouble(args[1], "need numeric height")
	if !ok {
		return false
	}
	if h < 0 || w < 0 {
		c.Error("ERR height or width cannot be negative")
		return false
	}
	s.height, s.width = h, w
	conv := c.geoExtractUnit(args[2])
	if conv < 0 {
		return false
	}
	s.conversion = conv
	return true
}

// geoMemberLongLat is longLatFromMember.
func geoMemberLongLat(z *ZSet, member []byte) (lon, lat float64, ok bool) {
	score, found := geoMemberScore(z, member)
	if !found {
		return 0, 0, false
	}
	return geoDecodeScore(score)
}

// cmdGeoAdd implements GEOADD key [NX|XX] [CH] lon lat member ...: checked here, then run as the ZADD of
// the encoded scores (which is also what is logged, as Redis propagates it).
func cmdGeoAdd(c *Ctx) {
	nx, xx := false, false
	longidx := 2
	for longidx < len(c.Args) {
		opt := c.Args[longidx]
		if EqualFold(opt, "nx") {
			nx = true
		} else if EqualFold(opt, "xx") {
			xx = true
		} else if !EqualFold(opt, "ch") {
			break
		}
		longidx++
	}
	if (len(c.Args)-longidx)%3 != 0 || (xx && nx) {
		c.Error(ErrSyntax)
		return
	}
	elements := (len(c.Args) - longidx) / 3
	argv := make([][]byte, 0, longidx+elements*2)
	argv = append(argv, argZADD)
	argv = append(argv, c.Args[1:longidx]...)
	for i := 0; i < elements; i++ {
		lon, lat, ok := c.geoExtractLongLat(c.Args[longidx+i*3:])
		if !ok {
			return
		}
		argv = append(argv, strconv.AppendUint(nil, geoEncodeScore(lon, lat), 10), c.Args[longidx+i*3+2])
	}
	orig := c.Args
	c.Args = argv
	cmdZAdd(c)
	c.Args = orig
}

// geoPoint is a search result.
type geoPoint struct {
	lon, lat, dist, score float64
	member                string
	seq                   int // position in the search's order, for a stable sort
}

// geoWithinShape decodes score and reports whether the point is inside the shape, with its distance.
func geoWithinShape(s *geoShape, score float64) (lon, lat, dist float64, ok bool) {
	lon, lat, ok = geoDecodeScore(score)
	if !ok {
		return
	}
	if s.box {
		dist, ok = geohashGetDistanceIfInRectangle(s.width*s.conversion, s.height*s.conversion, s.lon, s.lat, lon, lat)
	} else {
		dist, ok = geohashGetDistanceIfInRadius(s.lon, s.lat, lon, lat, s.radius*s.conversion)
	}
	return
}

// geoGetPointsInRange appends the members with min <= score < max that are inside the shape, stopping once
// there are limit results (0: no limit).
func geoGetPointsInRange(z *ZSet, min, max float64, s *geoShape, ga []geoPoint, limit int64) []geoPoint {
	rng := zrangeSpec{min: min, max: max, maxex: true}
	p, _ := z.firstInRange(&rng)
	for ; p.ok(); p = p.next() {
		it := p.item()
		if !rng.lteMaxScore(it.score) {
			break
		}
		if lon, lat, dist, ok := geoWithinShape(s, it.score); ok {
			ga = append(ga, geoPoint{lon: lon, lat: lat, dist: dist, score: it.score, member: it.member})
		}
		if len(ga) > 0 && limit > 0 && int64(len(ga)) >= limit {
			break
		}
	}
	return ga
}

// geoMembersOfAllNeighbors searches the centre box and its (non-excluded) neighbours in Redis's order.
// The points found are appended to ga (a reused buffer: see geoPoints).
func geoMembersOfAllNeighbors(z *ZSet, n *geoRadius, s *geoShape, limit int64, ga []geoPoint) []geoPoint {
	boxes := [9]geoBits{n.hash, n.neighbors.north, n.neighbors.south, n.neighbors.east, n.neighbors.west,
		n.neighbors.northEast, n.neighbors.northWest, n.neighbors.southEast, n.neighbors.southWest}
	lastProcessed := 0
	for i, b := range boxes {
		if b.isZero() {
			continue
		}
		if lastProcessed != 0 && b == boxes[lastProcessed] {
			continue
		}
		if len(ga) > 0 && limit > 0 && int64(len(ga)) >= limit {
			break
		}
		min := geohashAlign52Bits(b)
		b.bits++
		max := geohashAlign52Bits(b)
		ga = geoGetPointsInRange(z, float64(min), float64(max), s, ga, limit)
		lastProcessed = i
	}
	return ga
}

// geoPoints recycles the searches' result buffers: a search of a few hundred points otherwise allocates
// about 13 KB that is garbage once the reply is written (fleet-tracking: 100 MB/s of it).
var geoPoints = sync.Pool{New: func() any { return new([]geoPoint) }}

const (
	geoSortNone = iota
	geoSortAsc
	geoSortDesc
)

const (
	geoRadiusCoords = 1 << iota
	geoRadiusMember
	geoRadiusNoStore
	geoSearch
	geoSearchStore
)

// cmdGeoRadius implements GEORADIUS[_RO], GEORADIUSBYMEMBER[_RO], GEOSEARCH and GEOSEARCHSTORE (Redis's
// georadiusGeneric).
func cmdGeoRadius(c *Ctx) {
	var flags, srcKeyIndex int
	srcKeyIndex = 1
	switch c.Cmd.Name {
	case "georadius":
		flags = geoRadiusCoords
	case "georadius_ro":
		flags = geoRadiusCoords | geoRadiusNoStore
	case "georadiusbymember":
		flags = geoRadiusMember
	case "georadiusbymember_ro":
		flags = geoRadiusMember | geoRadiusNoStore
	case "geosearch":
		flags = geoSearch
	case "geosearchstore":
		flags, srcKeyIndex = geoSearch|geoSearchStore, 2
	}
	var storekey []byte
	storedist := false

	z, ok := c.zsetLookup(c.Args[srcKeyIndex])
	if !ok {
		return
	}
	var baseArgs int
	var shape geoShape
	switch {
	case flags&geoRadiusCoords != 0:
		baseArgs = 6
		if shape.lon, shape.lat, ok = c.geoExtractLongLat(c.Args[2:]); !ok {
			return
		}
		if !c.geoExtractDistance(c.Args[baseArgs-2:], &shape) {
			return
		}
	case flags&geoRadiusMember != 0 && z == nil:
		baseArgs = 5
	case flags&geoRadiusMember != 0:
		baseArgs = 5
		if shape.lon, shape.lat, ok = geoMemberLongLat(z, c.Args[2]); !ok {
			c.Error("ERR could not decode requested zset member")
			return
		}
		if !c.geoExtractDistance(c.Args[baseArgs-2:], &shape) {
			return
		}
	default: // GEOSEARCH, GEOSEARCHSTORE
		baseArgs = 2
		if flags&geoSearchStore != 0 {
			baseArgs = 3
			storekey = c.Args[1]
		}
	}

	withdist, withhash, withcoords := false, false, false
	frommember, fromloc, byradius, bybox := false, false, false, false
	sortOrder := geoSortNone
	anyOpt := false
	var count int64
	if len(c.Args) > baseArgs {
		remaining := len(c.Args) - baseArgs
		for i := 0; i < remaining; i++ {
			arg := c.Args[baseArgs+i]
			switch {
			case EqualFold(arg, "withdist"):
				withdist = true
			case EqualFold(arg, "withhash"):
				withhash = true
			case EqualFold(arg, "withcoord"):
				withcoords = true
			case EqualFold(arg, "any"):
				anyOpt = true
			case EqualFold(arg, "asc"):
				sortOrder = geoSortAsc
			case EqualFold(arg, "desc"):
				sortOrder = geoSortDesc
			case EqualFold(arg, "count") && i+1 < remaining:
				if count, ok = c.ParseInt(c.Args[baseArgs+i+1]); !ok {
					return
				}
				if count <= 0 {
					c.Error("ERR COUNT must be > 0")
					return
				}
				i++
			case EqualFold(arg, "store") && i+1 < remaining && flags&geoRadiusNoStore == 0 && flags&geoSearch == 0:
				storekey = c.Args[baseArgs+i+1]
				storedist = false
				i++
			case EqualFold(arg, "storedist") && i+1 < remaining && flags&geoRadiusNoStore == 0 && flags&geoSearch == 0:
				storekey = c.Args[baseArgs+i+1]
				storedist = true
				i++
			case EqualFold(arg, "storedist") && flags&geoSearch != 0 && flags&geoSearchStore != 0:
				storedist = true
			case EqualFold(arg, "frommember") && i+1 < remaining && flags&geoSearch != 0 && !fromloc:
				if z == nil {
					frommember = true
					i++
					continue
				}
				if shape.lon, shape.lat, ok = geoMemberLongLat(z, c.Args[baseArgs+i+1]); !ok {
					c.Error("ERR could not decode requested zset member")
					return
				}
				frommember = true
				i++
			case EqualFold(arg, "fromlonlat") && i+2 < remaining && flags&geoSearch != 0 && !frommember:
				if shape.lon, shape.lat, ok = c.geoExtractLongLat(c.Args[baseArgs+i+1:]); !ok {
					return
				}
				fromloc = true
				i += 2
			case EqualFold(arg, "byradius") && i+2 < remaining && flags&geoSearch != 0 && !bybox:
				if !c.geoExtractDistance(c.Args[baseArgs+i+1:], &shape) {
					return
				}
				shape.box = false
				byradius = true
				i += 2
			case EqualFold(arg, "bybox") && i+3 < remaining && flags&geoSearch != 0 && !byradius:
				if !c.geoExtractBox(c.Args[baseArgs+i+1:], &shape) {
					return
				}
				shape.box = true
				bybox = true
				i += 3
			default:
				c.Error(ErrSyntax)
				return
			}
		}
	}

	if storekey != nil && (withdist || withhash || withcoords) {
		what := "STORE option in GEORADIUS"
		if flags&geoSearchStore != 0 {
			what = "GEOSEARCHSTORE"
		}
		c.Error("ERR " + what + " is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
		return
	}
	if flags&geoSearch != 0 && !(frommember || fromloc) {
		c.Error("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " + string(c.Args[0]))
		return
	}
	if flags&geoSearch != 0 && !(byradius || bybox) {
		c.Error("ERR exactly one of BYRADIUS and BYBOX can be specified for " + string(c.Args[0]))
		return
	}
	if anyOpt && count == 0 {
		c.Error("ERR the ANY argument requires COUNT argument")
		return
	}

	event := "georadiusstore"
	if flags&geoSearch != 0 {
		event = "geosearchstore"
	}
	if z == nil {
		if storekey != nil {
			c.zsetStore(storekey, nil, event)
		} else {
			c.W.Array(0)
		}
		return
	}

	if count != 0 && sortOrder == geoSortNone && !anyOpt {
		sortOrder = geoSortAsc
	}
	georadius := geohashCalculateAreasByShapeWGS84(&shape)
	var limit int64
	if anyOpt {
		limit = count
	}
	buf := geoPoints.Get().(*[]geoPoint)
	defer func() {
		clear(*buf) // drop the member strings
		*buf = (*buf)[:0]
		geoPoints.Put(buf)
	}()
	ga := geoMembersOfAllNeighbors(z, &georadius, &shape, limit, (*buf)[:0])
	*buf = ga
	if len(ga) == 0 && storekey == nil {
		c.W.Array(0)
		return
	}
	returned := len(ga)
	if count != 0 && int64(returned) > count {
		returned = int(count)
	}
	if sortOrder != geoSortNone {
		// A stable sort by distance, as glibc's qsort (a merge sort) sorts for Redis: equal distances keep
		// the order the search found them in (seq), here with one pdqsort instead of reflection-driven
		// in-place merging (BenchmarkGeoSearch, 10,000 points: 5.2 ms -> 3.1 ms).
		for i := range ga {
			ga[i].seq = i
		}
		desc := sortOrder == geoSortDesc
		slices.SortFunc(ga, func(a, b geoPoint) int {
			d := cmp.Compare(a.dist, b.dist)
			if desc {
				d = -d
			}
			return cmp.Or(d, cmp.Compare(a.seq, b.seq))
		})
	}
	ga = ga[:returned]

	if storekey == nil {
		optionLength := 0
		if withdist {
			optionLength++
		}
		if withcoords {
			optionLength++
		}
		if withhash {
			optionLength++
		}
		c.W.Array(len(ga))
		var tmp [64]byte
		for i := range ga {
			gp := &ga[i]
			gp.dist /= shape.conversion
			if optionLength != 0 {
				c.W.Array(optionLength + 1)
			}
			c.W.BulkString(gp.member)
			if withdist {
				c.W.Bulk(geoAppendDistance(tmp[:0], gp.dist))
			}
			if withhash {
				c.W.Int(int64(gp.score))
			}
			if withcoords {
				c.W.Array(2)
				c.geoReplyHuman(gp.lon)
				c.geoReplyHuman(gp.lat)
			}
		}
		return
	}
	nodes := make([]zitem, 0, len(ga))
	seen := make(map[string]struct{}, len(ga))
	for i := range ga {
		gp := &ga[i]
		gp.dist /= shape.conversion
		if _, dup := seen[gp.member]; dup {
			continue
		}
		seen[gp.member] = struct{}{}
		score := gp.score
		if storedist {
			score = gp.dist
		}
		nodes = append(nodes, zitem{score: score, member: gp.member})
	}
	c.zsetStore(storekey, nodes, event)
}

// geoReplyHuman writes a coordinate as Redis's addReplyHumanLongDouble: a bulk string in RESP2, a double in
// RESP3, formatted "%.17Lf" without trailing zeros either way.
func (c *Ctx) geoReplyHuman(f float64) {
	var tmp [64]byte
	if c.W.Proto >= 3 {
		b := append(tmp[:0], ',')
		b = geoAppendHuman(b, f)
		c.W.Raw(append(b, '\r', '\n'))
		return
	}
	c.W.Bulk(geoAppendHuman(tmp[:0], f))
}

// geoMemberScore returns member's score in the geo set z (nil when the key is missing).
func geoMemberScore(z *ZSet, member []byte) (float64, bool) {
	if z == nil {
		return 0, false
	}
	n := z.hash.getBytes(member)
	if n == nil {
		return 0, false
	}
	return n.score, true
}

func cmdGeoHash(c *Ctx) {
	z, ok := c.zsetLookup(c.Args[1])
	if !ok {
		return
	}
	c.W.Array(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		score, found := geoMemberScore(z, m)
		if !found {
			c.W.Null()
			continue
		}
		s, ok := geoStandardHash(score)
		if !ok {
			c.W.Null()
			continue
		}
		c.W.BulkString(s)
	}
}

func cmdGeoPos(c *Ctx) {
	z, ok := c.zsetLookup(c.Args[1])
	if !ok {
		return
	}
	c.W.Array(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		score, found := geoMemberScore(z, m)
		if !found {
			c.W.NullArray()
			continue
		}
		lon, lat, ok := geoDecodeScore(score)
		if !ok {
			c.W.NullArray()
			continue
		}
		c.W.Array(2)
		c.geoReplyHuman(lon)
		c.geoReplyHuman(lat)
	}
}

func cmdGeoDist(c *Ctx) {
	toMeter := 1.0
	if len(c.Args) == 5 {
		if toMeter = c.geoExtractUnit(c.Args[4]); toMeter < 0 {
			return
		}
	} else if len(c.Args) > 5 {
		c.Error(ErrSyntax)
		return
	}
	z, ok := c.zsetLookup(c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.W.Null()
		return
	}
	n1, n2 := z.hash.getBytes(c.Args[2]), z.hash.getBytes(c.Args[3])
	if n1 == nil || n2 == nil {
		c.W.Null()
		return
	}
	lon1, lat1, ok1 := geoDecodeScore(n1.score)
	lon2, lat2, ok2 := geoDecodeScore(n2.score)
	if !ok1 || !ok2 {
		c.W.Null()
		return
	}
	var tmp [64]byte
	c.W.Bulk(geoAppendDistance(tmp[:0], geohashGetDistance(lon1, lat1, lon2, lat2)/toMeter))
}
