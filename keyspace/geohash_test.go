package keyspace

import "testing"

// Values checked against Redis 7 (GEOADD Sicily ... then ZRANGE WITHSCORES, GEOPOS, GEOHASH, GEODIST).
func TestGeohashSicily(t *testing.T) {
	if got := geoEncodeScore(13.361389, 38.115556); got != 3479099956230698 {
		t.Fatalf("Palermo score %d", got)
	}
	if got := geoEncodeScore(15.087269, 37.502669); got != 3479447370796909 {
		t.Fatalf("Catania score %d", got)
	}
	lon, lat, ok := geoDecodeScore(3479099956230698)
	if !ok || string(geoAppendHuman(nil, lon)) != "13.36138933897018433" || string(geoAppendHuman(nil, lat)) != "38.11555639549629859" {
		t.Fatalf("Palermo decoded %v %v", lon, lat)
	}
	if h, _ := geoStandardHash(3479099956230698); h != "sqc8b49rny0" {
		t.Fatalf("GEOHASH %s", h)
	}
	lon2, lat2, _ := geoDecodeScore(3479447370796909)
	if d := string(geoAppendDistance(nil, geohashGetDistance(lon, lat, lon2, lat2)/1000)); d != "166.2742" {
		t.Fatalf("distance %s", d)
	}
}

// The top edge overflows into bit 52 and decodes clamped, as in Redis.
func TestGeohashLimits(t *testing.T) {
	if got := geoEncodeScore(180, 85.05112878); got != 13510798882111488 {
		t.Fatalf("score %d", got)
	}
	lon, lat, _ := geoDecodeScore(13510798882111488)
	if string(geoAppendHuman(nil, lon)) != "180" || string(geoAppendHuman(nil, lat)) != "85.0511287799999991" {
		t.Fatalf("decoded %v %v", lon, lat)
	}
	if geoAppendHuman(nil, -0.0)[0] != '0' {
		t.Fatal("-0")
	}
}

func TestGeohashNeighborsAndInterleave(t *testing.T) {
	for _, v := range []uint32{0, 1, 12345, 1<<26 - 1} {
		x := geoInterleave64(v, v^0x155)
		d := geoDeinterleave64(x)
		if uint32(d) != v || uint32(d>>32) != v^0x155 {
			t.Fatalf("round trip %d", v)
		}
	}
	h, _ := geohashEncodeWGS84(0, 0, 4)
	n := geohashNeighbors(h)
	e, _ := geohashDecode(geoLongRange, geoLatRange, n.east)
	c, _ := geohashDecode(geoLongRange, geoLatRange, h)
	if e.longitude.min != c.longitude.max || e.latitude != c.latitude {
		t.Fatalf("east %+v centre %+v", e, c)
	}
	if geohashEstimateStepsByRadius(0, 0) != 26 || geohashEstimateStepsByRadius(200000, 0) != 6 || geohashEstimateStepsByRadius(200000, 70) != 5 {
		t.Fatal("steps")
	}
}
