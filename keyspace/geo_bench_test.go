package keyspace

import (
	"strconv"
	"testing"
)

// BenchmarkGeoDistance is one haversine distance, computed for every point a search examines.
func BenchmarkGeoDistance(b *testing.B) {
	for i := 0; i < b.N; i++ {
		geohashGetDistance(13.361389, 38.115556, 15.087269+float64(i&7)*1e-3, 37.502669)
	}
}

// BenchmarkGeoSearch finds the 10 nearest of 10,000 points within 50 km (fleet tracking).
func BenchmarkGeoSearch(b *testing.B) {
	c := benchCtx()
	for i := 0; i < 10000; i++ {
		lon := 13 + float64(i%100)*0.01
		lat := 38 + float64(i/100)*0.01
		run(c, []byte("GEOADD"), []byte("fleet"), []byte(strconv.FormatFloat(lon, 'f', 6, 64)),
			[]byte(strconv.FormatFloat(lat, 'f', 6, 64)), []byte("v"+strconv.Itoa(i)))
	}
	args := [][]byte{[]byte("GEOSEARCH"), []byte("fleet"), []byte("FROMLONLAT"), []byte("13.5"), []byte("38.5"),
		[]byte("BYRADIUS"), []byte("50"), []byte("km"), []byte("ASC"), []byte("COUNT"), []byte("10"), []byte("WITHDIST")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		run(c, args...)
	}
}
