package keyspace

import (
	"math"
	"strconv"
)

// A port of Redis 7's geohash.c and geohash_helper.c: the 52-bit interleaved geohash that geo sets store as
// sorted set scores, its decoding, the neighbour boxes of a search and the haversine distances. Every
// floating point step is written as in C (products wrapped in float64() so that no multiply-add is
// fused), so that scores, decoded coordinates and distances are Redis's own.

const (
	geoStepMax = 26 // 26*2 = 52 bits
	geoLatMin  = -85.05112878
	geoLatMax  = 85.05112878
	geoLongMin = -180.0
	geoLongMax = 180.0

	geoEarthRadius = 6372797.560856 // EARTH_RADIUS_IN_METERS
	geoMercatorMax = 20037726.37
)

// geoPi is M_PI as a double; geoDR is C's D_R (M_PI / 180.0), divided at run time in double precision as
// the C compiler folds it (a Go constant expression would round the exact quotient instead).
var (
	geoPi = math.Pi
	geoDR = geoPi / 180.0
)

func geoDegRad(ang float64) float64 { return ang * geoDR }
func geoRadDeg(ang float64) float64 { return ang / geoDR }

// geoRange is GeoHashRange.
type geoRange struct{ min, max float64 }

// geoBits is GeoHashBits.
type geoBits struct {
	bits uint64
	step uint8
}

func (h geoBits) isZero() bool { return h.bits == 0 && h.step == 0 }

// geoArea is GeoHashArea.
type geoArea struct {
	hash                geoBits
	longitude, latitude geoRange
}

// geoNeighbors is GeoHashNeighbors.
type geoNeighbors struct {
	north, east, west, south                   geoBits
	northEast, southEast, northWest, southWest geoBits
}

var (
	geoLongRange = geoRange{geoLongMin, geoLongMax}
	geoLatRange  = geoRange{geoLatMin, geoLatMax}
)

// geoInterleave64 interleaves the low 32 bits of x (even positions) and y (odd positions).
func geoInterleave64(xlo, ylo uint32) uint64 {
	b := [...]uint64{0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF}
	s := [...]uint{1, 2, 4, 8, 16}
	x, y := uint64(xlo), uint64(ylo)
	for i := 4; i >= 0; i-- {
		x = (x | (x << s[i])) & b[i]
		y = (y | (y << s[i])) & b[i]
	}
	return x | (y << 1)
}

// geoDeinterleave64 reverses geoInterleave64: the even bits in the low half, the odd bits in the high half.
func geoDeinterleave64(interleaved uint64) uint64 {
	b := [...]uint64{0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF,
		0x0000FFFF0000FFFF, 0x00000000FFFFFFFF}
	s := [...]uint{0, 1, 2, 4, 8, 16}
	x, y := interleaved, interleaved>>1
	for i := 0; i < 6; i++ {
		x = (x | (x >> s[i])) & b[i]
		y = (y | (y >> s[i])) & b[i]
	}
	return x | (y << 32)
}

// geoDoubleToUint32 is C's conversion of a double in [0, 2^32) to uint32_t (truncation).
func geoDoubleToUint32(f float64) uint32 { return uint32(int64(f)) }

// geohashEncode is geohashEncode: false for arguments out of range.
func geohashEncode(longRange, latRange geoRange, longitude, latitude float64, step uint8) (geoBits, bool) {
	if step > 32 || step == 0 || (latRange.min == 0 && latRange.max == 0) || (longRange.min == 0 && longRange.max == 0) {
		return geoBits{}, false
	}
	if longitude > geoLongMax || longitude < geoLongMin || latitude > geoLatMax || latitude < geoLatMin {
		return geoBits{}, false
	}
	h := geoBits{step: step}
	if latitude < latRange.min || latitude > latRange.max || longitude < longRange.min || longitude > longRange.max {
		return h, false
	}
	latOffset := (latitude - latRange.min) / (latRange.max - latRange.min)
	longOffset := (longitude - longRange.min) / (longRange.max - longRange.min)
	latOffset *= float64(uint64(1) << step)
	longOffset *= float64(uint64(1) << step)
	h.bits = geoInterleave64(geoDoubleToUint32(latOffset), geoDoubleToUint32(longOffset))
	return h, true
}

// geohashEncodeWGS84 encodes with Redis's coordinate limits.
func geohashEncodeWGS84(longitude, latitude float64, step uint8) (geoBits, bool) {
	return geohashEncode(geoLongRange, geoLatRange, longitude, latitude, step)
}

// geohashDecode is geohashDecode.
func geohashDecode(longRange, latRange geoRange, h geoBits) (geoArea, bool) {
	if h.isZero() || (latRange.min == 0 && latRange.max == 0) || (longRange.min == 0 && longRange.max == 0) {
		return geoArea{}, false
	}
	a := geoArea{hash: h}
	sep := geoDeinterleave64(h.bits)
	latScale := latRange.max - latRange.min
	longScale := longRange.max - longRange.min
	ilato := uint32(sep)
	ilono := uint32(sep >> 32)
	div := float64(uint64(1) << h.step)
	a.latitude.min = latRange.min + float64(float64(ilato)*1.0/div*latScale)
	a.latitude.max = latRange.min + float64(float64(ilato+1)*1.0/div*latScale)
	a.longitude.min = longRange.min + float64(float64(ilono)*1.0/div*longScale)
	a.longitude.max = longRange.min + float64(float64(ilono+1)*1.0/div*longScale)
	return a, true
}

// geohashDecodeToLongLatWGS84 returns the centre of the cell h, clamped to the valid coordinates (as
// geohashDecodeAreaToLongLat does since Redis 6.2).
func geohashDecodeToLongLatWGS84(h geoBits) (lon, lat float64, ok bool) {
	a, ok := geohashDecode(geoLongRange, geoLatRange, h)
	if !ok {
		return 0, 0, false
	}
	lon = (a.longitude.min + a.longitude.max) / 2
	lon = max(min(lon, geoLongMax), geoLongMin)
	lat = (a.latitude.min + a.latitude.max) / 2
	lat = max(min(lat, geoLatMax), geoLatMin)
	return lon, lat, true
}

// geoScoreBits is C's (uint64_t) conversion of a score as x86-64 code does it.
func geoScoreBits(score float64) uint64 {
	const two63 = 9223372036854775808.0
	if score >= two63 {
		return uint64(int64(score-two63)) ^ (1 << 63)
	}
	return uint64(int64(score))
}

// geoDecodeScore is geo.c's decodeGeohash: the coordinates a geo set score stands for.
func geoDecodeScore(score float64) (lon, lat float64, ok bool) {
	return geohashDecodeToLongLatWGS84(geoBits{bits: geoScoreBits(score), step: geoStepMax})
}

// geoEncodeScore returns the 52-bit score of a valid coordinate pair.
func geoEncodeScore(lon, lat float64) uint64 {
	h, _ := geohashEncodeWGS84(lon, lat, geoStepMax)
	return geohashAlign52Bits(h)
}

func geohashMoveX(h *geoBits, d int) {
	if d == 0 {
		return
	}
	x := h.bits & 0xaaaaaaaaaaaaaaaa
	y := h.bits & 0x5555555555555555
	zz := uint64(0x5555555555555555) >> (64 - uint(h.step)*2)
	if d > 0 {
		x = x + (zz + 1)
	} else {
		x = x | zz
		x = x - (zz + 1)
	}
	x &= uint64(0xaaaaaaaaaaaaaaaa) >> (64 - uint(h.step)*2)
	h.bits = x | y
}

func geohashMoveY(h *geoBits, d int) {
	if d == 0 {
		return
	}
	x := h.bits & 0xaaaaaaaaaaaaaaaa
	y := h.bits & 0x5555555555555555
	zz := uint64(0xaaaaaaaaaaaaaaaa) >> (64 - uint(h.step)*2)
	if d > 0 {
		y = y + (zz + 1)
	} else {
		y = y | zz
		y = y - (zz + 1)
	}
	y &= uint64(0x5555555555555555) >> (64 - uint(h.step)*2)
	h.bits = x | y
}

// geohashNeighbors returns the 8 cells around h.
func geohashNeighbors(h geoBits) geoNeighbors {
	n := geoNeighbors{h, h, h, h, h, h, h, h}
	geohashMoveX(&n.east, 1)
	geohashMoveX(&n.west, -1)
	geohashMoveY(&n.south, -1)
	geohashMoveY(&n.north, 1)
	geohashMoveX(&n.northWest, -1)
	geohashMoveY(&n.northWest, 1)
	geohashMoveX(&n.northEast, 1)
	geohashMoveY(&n.northEast, 1)
	geohashMoveX(&n.southEast, 1)
	geohashMoveY(&n.southEast, -1)
	geohashMoveX(&n.southWest, -1)
	geohashMoveY(&n.southWest, -1)
	return n
}

// geohashAlign52Bits shifts a hash of any step to the 52-bit score scale.
func geohashAlign52Bits(h geoBits) uint64 { return h.bits << (52 - uint(h.step)*2) }

// geohashEstimateStepsByRadius is the precision of the 9 boxes of a search of that radius.
func geohashEstimateStepsByRadius(rangeMeters, lat float64) uint8 {
	if rangeMeters == 0 {
		return 26
	}
	step := 1
	for rangeMeters < geoMercatorMax {
		rangeMeters *= 2
		step++
	}
	step -= 2
	if lat > 66 || lat < -66 {
		step--
		if lat > 80 || lat < -80 {
			step--
		}
	}
	if step < 1 {
		step = 1
	}
	if step > 26 {
		step = 26
	}
	return uint8(step)
}

// geoShape is GeoShape: the centre, the unit conversion and a radius or a width and height (in the unit).
type geoShape struct {
	box           bool // RECTANGLE_TYPE, else CIRCULAR_TYPE
	lon, lat      float64
	conversion    float64
	radius        float64
	width, height float64
	bounds        [4]float64
}

// geohashBoundingBox fills s.bounds (min lon, min lat, max lon, max lat).
func geohashBoundingBox(s *geoShape) {
	longitude, latitude := s.lon, s.lat
	var height, width float64
	if s.box {
		height = s.conversion * (s.height / 2)
		width = s.conversion * (s.width / 2)
	} else {
		height = s.conversion * s.radius
		width = s.conversion * s.radius
	}
	latDelta := geoRadDeg(height / geoEarthRadius)
	longDeltaTop := geoRadDeg(width / geoEarthRadius / math.Cos(geoDegRad(latitude+latDelta)))
	longDeltaBottom := geoRadDeg(width / geoEarthRadius / math.Cos(geoDegRad(latitude-latDelta)))
	if latitude < 0 {
		s.bounds[0] = longitude - longDeltaBottom
		s.bounds[2] = longitude + longDeltaBottom
	} else {
		s.bounds[0] = longitude - longDeltaTop
		s.bounds[2] = longitude + longDeltaTop
	}
	s.bounds[1] = latitude - latDelta
	s.bounds[3] = latitude + latDelta
}

// geoRadius is GeoHashRadius.
type geoRadius struct {
	hash      geoBits
	area      geoArea
	neighbors geoNeighbors
}

// geohashCalculateAreasByShapeWGS84 returns the centre box and the neighbours that cover the shape.
func geohashCalculateAreasByShapeWGS84(s *geoShape) geoRadius {
	geohashBoundingBox(s)
	minLon, minLat, maxLon, maxLat := s.bounds[0], s.bounds[1], s.bounds[2], s.bounds[3]
	longitude, latitude := s.lon, s.lat
	var radiusMeters float64
	if s.box {
		radiusMeters = math.Sqrt(float64(s.width/2*(s.width/2)) + float64(s.height/2*(s.height/2)))
	} else {
		radiusMeters = s.radius
	}
	radiusMeters *= s.conversion

	steps := geohashEstimateStepsByRadius(radiusMeters, latitude)
	hash, _ := geohashEncode(geoLongRange, geoLatRange, longitude, latitude, steps)
	neighbors := geohashNeighbors(hash)
	area, _ := geohashDecode(geoLongRange, geoLatRange, hash)

	decreaseStep := false
	{
		north, _ := geohashDecode(geoLongRange, geoLatRange, neighbors.north)
		south, _ := geohashDecode(geoLongRange, geoLatRange, neighbors.south)
		east, _ := geohashDecode(geoLongRange, geoLatRange, neighbors.east)
		west, _ := geohashDecode(geoLongRange, geoLatRange, neighbors.west)
		if north.latitude.max < maxLat {
			decreaseStep = true
		}
		if south.latitude.min > minLat {
			decreaseStep = true
		}
		if east.longitude.max < maxLon {
			decreaseStep = true
		}
		if west.longitude.min > minLon {
			decreaseStep = true
		}
	}
	if steps > 1 && decreaseStep {
		steps--
		hash, _ = geohashEncode(geoLongRange, geoLatRange, longitude, latitude, steps)
		neighbors = geohashNeighbors(hash)
		area, _ = geohashDecode(geoLongRange, geoLatRange, hash)
	}

	if steps >= 2 {
		if area.latitude.min < minLat {
			neighbors.south, neighbors.southWest, neighbors.southEast = geoBits{}, geoBits{}, geoBits{}
		}
		if area.latitude.max > maxLat {
			neighbors.north, neighbors.northEast, neighbors.northWest = geoBits{}, geoBits{}, geoBits{}
		}
		if area.longitude.min < minLon {
			neighbors.west, neighbors.southWest, neighbors.northWest = geoBits{}, geoBits{}, geoBits{}
		}
		if area.longitude.max > maxLon {
			neighbors.east, neighbors.southEast, neighbors.northEast = geoBits{}, geoBits{}, geoBits{}
		}
	}
	return geoRadius{hash: hash, area: area, neighbors: neighbors}
}

// geohashGetLatDistance is the distance between two latitudes on a meridian.
func geohashGetLatDistance(lat1d, lat2d float64) float64 {
	return geoEarthRadius * math.Abs(geoDegRad(lat2d)-geoDegRad(lat1d))
}

// geohashGetDistance is the haversine great circle distance in meters. It uses Go's sin, cos and asin,
// where Redis uses glibc's: they can differ in the last bit, which only a STOREDIST score (the distance
// stored with every digit) shows; replies print distances with four decimals. Correctly rounded functions
// in 128-bit big.Float matched glibc a little more often but cost 28 µs per distance against 37 ns, under
// the keyspace lock, for every point a search examines.
func geohashGetDistance(lon1d, lat1d, lon2d, lat2d float64) float64 {
	lon1r := geoDegRad(lon1d)
	lon2r := geoDegRad(lon2d)
	v := math.Sin((lon2r - lon1r) / 2)
	if v == 0.0 {
		return geohashGetLatDistance(lat1d, lat2d)
	}
	lat1r := geoDegRad(lat1d)
	lat2r := geoDegRad(lat2d)
	u := math.Sin((lat2r - lat1r) / 2)
	a := float64(u*u) + float64(float64(float64(math.Cos(lat1r)*math.Cos(lat2r))*v)*v)
	return 2.0 * geoEarthRadius * math.Asin(math.Sqrt(a))
}

// geohashGetDistanceIfInRadius returns the distance and whether it is within radius.
func geohashGetDistanceIfInRadius(x1, y1, x2, y2, radius float64) (float64, bool) {
	d := geohashGetDistance(x1, y1, x2, y2)
	return d, d <= radius
}

// geohashGetDistanceIfInRectangle reports whether (x2, y2) is in the box centred on (x1, y1), and its
// distance from the centre.
func geohashGetDistanceIfInRectangle(widthM, heightM, x1, y1, x2, y2 float64) (float64, bool) {
	latDistance := geohashGetLatDistance(y2, y1)
	if latDistance > heightM/2 {
		return 0, false
	}
	lonDistance := geohashGetDistance(x2, y2, x1, y2)
	if lonDistance > widthM/2 {
		return 0, false
	}
	return geohashGetDistance(x1, y1, x2, y2), true
}

// geoStandardHash is GEOHASH's 11-character string of a score: decoded, re-encoded with the standard
// ranges (latitude ±90), the last character assumed zero.
func geoStandardHash(score float64) (string, bool) {
	lon, lat, ok := geoDecodeScore(score)
	if !ok {
		return "", false
	}
	const alphabet = "0123456789bcdefghjkmnpqrstuvwxyz"
	h, _ := geohashEncode(geoRange{-180, 180}, geoRange{-90, 90}, lon, lat, 26)
	var buf [11]byte
	for i := 0; i < 11; i++ {
		idx := uint64(0)
		if i != 10 {
			idx = (h.bits >> (52 - (uint(i)+1)*5)) & 0x1f
		}
		buf[i] = alphabet[idx]
	}
	return string(buf[:]), true
}

// geoAppendHuman formats a coordinate as Redis's ld2string(LD_STR_HUMAN): "%.17Lf" of the (exact) value,
// trailing zeros and a trailing dot removed, "-0" written "0".
func geoAppendHuman(b []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'f', 17, 64)
	for b[len(b)-1] == '0' {
		b = b[:len(b)-1]
	}
	if b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	if string(b[start:]) == "-0" {
		b = append(b[:start], '0')
	}
	return b
}

// geoAppendDistance formats a distance as Redis's "%.4f".
func geoAppendDistance(b []byte, d float64) []byte { return strconv.AppendFloat(b, d, 'f', 4, 64) }
