package keyspace

import (
	"strconv"
	"testing"
)

// FuzzGeo runs the geo commands with arbitrary coordinates, radii, box sizes and counts (and a member whose
// score is not a geohash): client input must never panic a search or index past the geohash tables.
func FuzzGeo(f *testing.F) {
	f.Add(13.361389, 38.115556, 15.087269, 37.502669, 200.0, 400.0, int64(3), "km")
	f.Add(180.0, 85.05112878, -180.0, -85.05112878, 1e7, 1e-9, int64(-1), "m")
	f.Add(0.0, 0.0, 1e-300, -1e-300, 0.0, 0.0, int64(0), "mi")
	f.Fuzz(func(t *testing.T, lon1, lat1, lon2, lat2, radius, height float64, count int64, unit string) {
		c := benchCtx()
		ff := func(v float64) []byte { return []byte(strconv.FormatFloat(v, 'g', -1, 64)) }
		b := func(s string) []byte { return []byte(s) }
		run(c, b("GEOADD"), b("g"), ff(lon1), ff(lat1), b("a"), ff(lon2), ff(lat2), b("b"), b("13"), b("38"), b("c"))
		run(c, b("ZADD"), b("g"), b("9e15"), b("bad"), b("-1"), b("neg"))
		n := []byte(strconv.FormatInt(count, 10))
		for _, args := range [][][]byte{
			{b("GEOSEARCH"), b("g"), b("FROMLONLAT"), ff(lon2), ff(lat2), b("BYRADIUS"), ff(radius), b(unit), b("ASC"), b("COUNT"), n, b("WITHCOORD"), b("WITHDIST"), b("WITHHASH")},
			{b("GEOSEARCH"), b("g"), b("FROMMEMBER"), b("a"), b("BYBOX"), ff(radius), ff(height), b(unit), b("DESC"), b("COUNT"), n, b("ANY")},
			{b("GEOSEARCHSTORE"), b("d"), b("g"), b("FROMLONLAT"), ff(lon1), ff(lat1), b("BYRADIUS"), ff(radius), b(unit), b("STOREDIST")},
			{b("GEORADIUS"), b("g"), ff(lon1), ff(lat2), ff(radius), b(unit), b("WITHDIST"), b("COUNT"), n},
			{b("GEORADIUSBYMEMBER"), b("g"), b("bad"), ff(height), b(unit)},
			{b("GEODIST"), b("g"), b("a"), b("b"), b(unit)},
			{b("GEOPOS"), b("g"), b("a"), b("bad"), b("neg"), b("zz")},
			{b("GEOHASH"), b("g"), b("a"), b("b"), b("bad"), b("neg")},
		} {
			run(c, args...)
		}
	})
}
