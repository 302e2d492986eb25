package server_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/kvlab/kvlab/resp"
)

// Geo commands over real TCP, every reply compared with Debian's redis-server (RESP2 and RESP3): edge
// cases and error paths, then a randomized differential run of searches over a few hundred points.

const (
	geoSicily = "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania"
	geoPoints = "GEOADD Sicily 12.758489 38.788135 edge1 17.241510 38.788135 edge2"
)

// geoEdgeCases are scripts in the hlsEdgeCases format; a line starting with "=" compares replies with the
// numbers that are not integers rounded to 12 significant digits (STOREDIST scores, which Redis 7.0 prints
// with %.17g and 7.2 with the shortest round-trip digits, and whose last bit can differ: see geohashGetDistance).
var geoEdgeCases = [][]string{
	// GEOADD, ZRANGE of the scores, GEOPOS, GEOHASH, GEODIST (Redis's documented examples).
	{geoSicily, "ZRANGE Sicily 0 -1 WITHSCORES", "GEOPOS Sicily Palermo Catania NonExisting", "GEOHASH Sicily Palermo Catania x",
		"GEODIST Sicily Palermo Catania", "GEODIST Sicily Palermo Catania km", "GEODIST Sicily Palermo Catania MI",
		"GEODIST Sicily Palermo Catania ft", "GEODIST Sicily Palermo Catania M", "GEODIST Sicily Foo Bar", "GEODIST Sicily Palermo Bar",
		"GEODIST Sicily Palermo Palermo", "GEODIST Sicily Palermo Catania yd", "GEODIST Sicily Palermo Catania km x",
		"GEODIST nokey a b", "GEODIST nokey a b yd", "GEODIST nokey a b km x", "GEOPOS nokey a b", "GEOHASH nokey a", "GEOPOS Sicily",
		"GEOHASH Sicily", "OBJECT ENCODING Sicily", "TYPE Sicily"},
	// GEOADD options and errors.
	{geoSicily, "GEOADD Sicily NX 13.361389 38.115556 Palermo 1 2 new", "GEOADD Sicily XX 1 1 Palermo 2 2 other",
		"GEOADD Sicily XX CH 1 1 Palermo 2 2 other", "GEOADD Sicily CH 1 1 Palermo 3 3 x 3 3 x", "GEOADD Sicily CH NX 5 5 Palermo",
		"GEOADD Sicily ch xx ch 5 5 Palermo", "GEOADD Sicily NX XX 1 1 a", "GEOADD Sicily 1 1", "GEOADD Sicily 1 1 a 2",
		"GEOADD Sicily GT 1 1 a", "GEOADD Sicily CH CH CH", "GEOADD Sicily NX CH XX", "GEOADD Sicily x 1 a", "GEOADD Sicily 1 x a",
		"GEOADD Sicily 200 100 a", "GEOADD Sicily 180.000001 0 a", "GEOADD Sicily 0 85.05112879 a", "GEOADD Sicily 0 -85.05112879 a",
		"GEOADD Sicily inf 0 a", "GEOADD Sicily 0 -inf a", "GEOADD Sicily nan 0 a", "GEOADD Sicily '' 0 a", "GEOADD Sicily ' 1' 0 a",
		"GEOADD Sicily 1 1 ok 200 0 bad", "GEOPOS Sicily ok", "GEOADD nokey XX 1 1 a", "EXISTS nokey", "GEOADD k", "GEOADD k 1 2",
		"ZRANGE Sicily 0 -1 WITHSCORES"},
	// Coordinate limits.
	{"GEOADD w 180 85.05112878 ne -180 -85.05112878 sw 180 -85.05112878 se -180 85.05112878 nw 0 0 zero -0 -0 negzero",
		"GEOADD w 179.999999 85.051128 a -179.999999 -85.051128 b 1e-300 1e-300 tiny", "ZRANGE w 0 -1 WITHSCORES",
		"GEOPOS w ne sw se nw zero negzero a b tiny", "GEOHASH w ne sw se nw zero negzero a b tiny", "GEODIST w ne sw km",
		"GEODIST w zero negzero", "GEODIST w a b mi", "GEODIST w ne nw", "GEORADIUS w 0 0 1000 km WITHCOORD WITHHASH",
		"GEOSEARCH w FROMLONLAT 180 85.05112878 BYRADIUS 500 km ASC WITHDIST", "GEOSEARCH w FROMMEMBER sw BYBOX 1000 1000 km DESC WITHDIST",
		"GEOSEARCH w FROMLONLAT 0 0 BYRADIUS 0 m WITHDIST", "GEOSEARCH w FROMLONLAT 0 0 BYBOX 0 0 m WITHDIST",
		"GEOSEARCH w FROMLONLAT 0 0 BYRADIUS 30000 km ASC WITHDIST", "GEOSEARCH w FROMLONLAT 0 80 BYRADIUS 5000 km DESC WITHDIST",
		"GEOSEARCH w FROMLONLAT 0 -80 BYBOX 40000 8000 km ASC WITHCOORD"},
	// Scores that are not geohashes (ZADD into a geo set).
	{"ZADD z -1 neg 0 zero 1.5 frac 4503599627370496 big 1e30 huge", "GEOPOS z zero frac big", "GEOHASH z zero frac big",
		"GEODIST z zero frac", "GEOSEARCH z FROMMEMBER zero BYRADIUS 100 km WITHHASH", "GEORADIUSBYMEMBER z frac 10 km WITHCOORD"},
	// GEORADIUS / GEORADIUSBYMEMBER and their _RO variants (documented examples).
	{geoSicily, "GEORADIUS Sicily 15 37 200 km WITHDIST", "GEORADIUS Sicily 15 37 200 km WITHCOORD",
		"GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD", "GEORADIUS Sicily 15 37 200 km WITHHASH WITHCOORD WITHDIST DESC",
		"GEORADIUS Sicily 15 37 200 km ASC COUNT 1", "GEORADIUS Sicily 15 37 200 km DESC COUNT 1 withdist",
		"GEORADIUS Sicily 15 37 200 km COUNT 1 ANY", "GEORADIUS Sicily 15 37 200 km COUNT 5 ANY DESC", "GEORADIUS Sicily 15 37 1 km",
		"GEORADIUS Sicily 15 37 100 km", "GEORADIUS Sicily 15 37 100000 m", "GEORADIUS Sicily 15 37 200 MI ASC", "GEORADIUS Sicily 15 37 656168 ft desc",
		"GEORADIUS_RO Sicily 15 37 200 km WITHDIST ASC", "GEOADD Sicily 13.583333 37.316667 Agrigento",
		"GEORADIUSBYMEMBER Sicily Agrigento 100 km", "GEORADIUSBYMEMBER Sicily Agrigento 100 km WITHDIST WITHCOORD WITHHASH DESC COUNT 2",
		"GEORADIUSBYMEMBER_RO Sicily Palermo 500 km ASC", "GEORADIUSBYMEMBER Sicily nope 100 km", "GEORADIUSBYMEMBER_RO Sicily nope 100 km",
		"GEORADIUS nokey 15 37 200 km", "GEORADIUS_RO nokey 15 37 200 km", "GEORADIUSBYMEMBER nokey a 100 km", "GEORADIUSBYMEMBER_RO nokey a 100 km"},
	// GEORADIUS* errors, in Redis's order.
	{geoSicily, "GEORADIUS Sicily 200 37 200 km", "GEORADIUS Sicily x 37 200 km", "GEORADIUS Sicily 15 x 200 km",
		"GEORADIUS Sicily 15 37 x km", "GEORADIUS Sicily 15 37 -1 km", "GEORADIUS Sicily 15 37 1 yd", "GEORADIUS Sicily 15 37 1 km FOO",
		"GEORADIUS Sicily 15 37 1 km COUNT", "GEORADIUS Sicily 15 37 1 km COUNT 0", "GEORADIUS Sicily 15 37 1 km COUNT -1",
		"GEORADIUS Sicily 15 37 1 km COUNT x", "GEORADIUS Sicily 15 37 1 km ANY", "GEORADIUS Sicily 15 37 1 km ANY COUNT 1",
		"GEORADIUS Sicily 15 37 1 km STORE", "GEORADIUS Sicily 15 37 1 km STORE d WITHDIST", "GEORADIUS Sicily 15 37 1 km WITHHASH STOREDIST d",
		"GEORADIUS_RO Sicily 15 37 1 km STORE d", "GEORADIUSBYMEMBER_RO Sicily Palermo 1 km STOREDIST d",
		"GEORADIUS Sicily 15 37 1 km FROMLONLAT 1 1", "GEORADIUS Sicily 15 37 1 km BYRADIUS 1 km", "GEORADIUSBYMEMBER Sicily nope x km",
		"GEORADIUSBYMEMBER Sicily Palermo x km", "GEORADIUSBYMEMBER Sicily Palermo 1 yd", "GEORADIUSBYMEMBER nokey a x yd",
		"GEORADIUSBYMEMBER nokey a 1 km WITHDIST STORE d", "GEORADIUSBYMEMBER nokey a 1 km COUNT 0", "GEORADIUSBYMEMBER nokey a 1 km FOO",
		"GEORADIUS nokey 200 0 1 km", "GEORADIUS nokey 1 1 1 km ANY", "GEORADIUS Sicily 15 37 200 km COUNT 1 COUNT 2 COUNT 3",
		"GEORADIUS Sicily 15 37 200 km ASC DESC", "GEORADIUS Sicily 15 37 200 km desc asc", "GEORADIUS Sicily 15 37 200 km",
		"GEORADIUS Sicily 15 37 200", "GEORADIUSBYMEMBER Sicily Palermo 200", "GEORADIUS_RO Sicily 15 37 200", "SET str v",
		"GEORADIUS str 15 37 200 km", "GEORADIUS str 200 37 200 km", "GEORADIUSBYMEMBER str a 1 km", "GEORADIUS_RO str 1 1 1 km",
		"GEORADIUS Sicily 15 37 200 km STORE str", "TYPE str"},
	// GEOSEARCH (documented examples) and its errors.
	{geoSicily, "GEOADD Sicily 12.758489 38.788135 edge1 17.241510 38.788135 edge2",
		"GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC", "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHCOORD WITHDIST",
		"GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km DESC WITHCOORD WITHDIST WITHHASH", "GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 300 km",
		"GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 300 300 km WITHDIST", "GEOSEARCH Sicily BYRADIUS 200 km FROMLONLAT 15 37 WITHDIST",
		"GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 2", "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 2 DESC",
		"GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1 ANY", "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 3 ANY ASC",
		"GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 100 800 mi", "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 800 100 mi", "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 0 0 km",
		"geosearch Sicily fromlonlat 15 37 byradius 200 KM withdist", "GEOSEARCH Sicily FROMMEMBER nope BYRADIUS 200 km",
		"GEOSEARCH nokey FROMMEMBER nope BYRADIUS 200 km", "GEOSEARCH nokey FROMLONLAT 1 1 BYBOX 1 1 km",
		"GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200", "GEOSEARCH Sicily FROMLONLAT 15 BYRADIUS 200 km", "GEOSEARCH Sicily BYRADIUS 200 km ASC",
		"geosearch Sicily BYRADIUS 200 km ASC", "GEOSEARCH Sicily FROMLONLAT 15 37 ASC DESC", "GeoSearch Sicily FROMLONLAT 15 37 ASC DESC",
		"GEOSEARCH Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 1 km", "GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 15 37 BYRADIUS 1 km",
		"GEOSEARCH Sicily FROMMEMBER Palermo FROMMEMBER Catania BYRADIUS 1 km", "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km BYBOX 1 1 km",
		"GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 km BYRADIUS 1 km", "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km BYRADIUS 2 km",
		"GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX x 1 km", "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 x km", "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX -1 1 km",
		"GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 -1 yd", "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 yd", "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1",
		"GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS -1 km", "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS x km", "GEOSEARCH Sicily FROMLONLAT 200 37 BYRADIUS 1 km",
		"GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km STORE d", "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km STOREDIST",
		"GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km ANY", "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km COUNT 0",
		"GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km COUNT 1 FOO", "GEOSEARCH nokey FROMMEMBER a BYRADIUS 1 km ANY",
		"GEOSEARCH nokey FROMMEMBER a", "GEOSEARCH nokey BYBOX 1 1 km FROMMEMBER a COUNT 1 ANY", "SET str v",
		"GEOSEARCH str FROMLONLAT 15 37 BYRADIUS 200 km", "GEOSEARCH str FOO", "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km x"},
	// GEOSEARCHSTORE and the STORE options, read back.
	{geoSicily, "GEOADD Sicily 12.758489 38.788135 edge1 17.241510 38.788135 edge2",
		"GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC COUNT 3", "ZRANGE d 0 -1 WITHSCORES", "TYPE d",
		"=GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC COUNT 3 STOREDIST", "=ZRANGE d 0 -1 WITHSCORES",
		"GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYRADIUS 1 km", "EXISTS d", "SET d x", "GEOSEARCHSTORE d nokey FROMLONLAT 15 37 BYRADIUS 1 km",
		"EXISTS d", "GEOSEARCHSTORE d nokey FROMMEMBER x BYRADIUS 1 km", "GEOSEARCHSTORE d Sicily FROMMEMBER Palermo BYRADIUS 200 km STOREDIST",
		"=ZRANGE d 0 -1 WITHSCORES", "GEOSEARCHSTORE d Sicily FROMMEMBER Palermo BYRADIUS 200 km WITHDIST",
		"GEOSEARCHSTORE d Sicily FROMMEMBER Palermo BYRADIUS 200 km WITHCOORD", "GEOSEARCHSTORE d Sicily FROMMEMBER Palermo BYRADIUS 200 km WITHHASH",
		"GEOSEARCHSTORE d Sicily FROMMEMBER Palermo BYRADIUS 200 km STORE x", "GEOSEARCHSTORE d Sicily FROMMEMBER Palermo",
		"GEOSEARCHSTORE d Sicily BYRADIUS 200 km", "GEOSEARCHSTORE d Sicily FROMMEMBER Palermo BYRADIUS 200 km COUNT 1 ANY",
		"ZRANGE d 0 -1 WITHSCORES", "SET str v", "GEOSEARCHSTORE d str FROMMEMBER Palermo BYRADIUS 200 km", "GEOSEARCHSTORE str Sicily FROMMEMBER Palermo BYRADIUS 200 km",
		"TYPE str", "GEOSEARCHSTORE d Sicily FROMMEMBER Palermo BYRADIUS", "GEORADIUS Sicily 15 37 200 km STORE r", "ZRANGE r 0 -1 WITHSCORES",
		"=GEORADIUS Sicily 15 37 200 km STOREDIST r2 DESC COUNT 1", "=ZRANGE r2 0 -1 WITHSCORES", "GEORADIUS Sicily 15 37 200 km STOREDIST r STORE r3",
		"EXISTS r", "ZRANGE r3 0 -1 WITHSCORES", "=GEORADIUSBYMEMBER Sicily Palermo 200 mi STOREDIST r4 ASC", "=ZRANGE r4 0 -1 WITHSCORES",
		"GEORADIUSBYMEMBER Sicily Palermo 200 mi STORE r4 COUNT 1 ANY", "ZRANGE r4 0 -1 WITHSCORES", "GEORADIUS Sicily 0 0 1 km STORE r4", "EXISTS r4",
		"GEORADIUSBYMEMBER nokey a 1 km STORE r3", "EXISTS r3", "GEORADIUS nokey 1 1 1 km STOREDIST r", "GEOSEARCHSTORE d d FROMLONLAT 15 37 BYRADIUS 1000 km"},
	// Wrong types and arity.
	{"SET str v", "GEOADD str 1 1 a", "GEOPOS str a", "GEOHASH str a", "GEODIST str a b", "GEODIST str a b km",
		"GEODIST str a b yd", "GEOSEARCH str FROMMEMBER a BYRADIUS 1 km", "GEOSEARCHSTORE d str FROMMEMBER a BYRADIUS 1 km",
		"GEOADD", "GEOADD k 1 1", "GEOPOS", "GEOHASH", "GEODIST k a", "GEORADIUS k 1 1 1", "GEORADIUS_RO k 1 1 1", "GEORADIUSBYMEMBER k a 1",
		"GEORADIUSBYMEMBER_RO k a 1", "GEOSEARCH k FROMMEMBER a BYRADIUS 1", "GEOSEARCHSTORE d k FROMMEMBER a BYRADIUS 1"},
}

// geoCanonFloats rewrites the non-integral numbers of a rendered reply element by element.
func geoCanonFloats(v resp.Value) resp.Value {
	switch v.Kind {
	case '$', ',':
		s := string(v.Str)
		if f, err := strconv.ParseFloat(s, 64); err == nil && strings.ContainsAny(s, ".e") {
			// 12 significant digits: Go's sin/cos/asin and glibc's can differ in the last bit, so a
			// STOREDIST score can be an ulp away from Redis's (see geohashGetDistance).
			v.Str = []byte(strconv.FormatFloat(f, 'g', 12, 64))
			v.Kind = '$'
		}
	case '*':
		elems := make([]resp.Value, len(v.Elems))
		for i, e := range v.Elems {
			elems[i] = geoCanonFloats(e)
		}
		v.Elems = elems
	}
	return v
}

func geoCompare(t *testing.T, kv, rd *hlsConn, line, what string) {
	t.Helper()
	sorted, canon := strings.HasPrefix(line, "~"), strings.HasPrefix(line, "=")
	args := hlsSplit(strings.TrimLeft(line, "~="))
	a, b := kv.do(t, args...), rd.do(t, args...)
	if canon {
		a, b = geoCanonFloats(a), geoCanonFloats(b)
	}
	if x, y := hlsExact(a, sorted), hlsExact(b, sorted); x != y {
		t.Errorf("%s: %s\n  kvlab:        %s\n  redis-server: %s", what, line, x, y)
	}
}

// TestGeoEdgeCases runs geoEdgeCases against kvlab and redis-server in RESP2 and RESP3.
func TestGeoEdgeCases(t *testing.T) { compareScriptsWith(t, geoEdgeCases, geoCompare) }

// geoRandQuery draws a random search: GEOSEARCH, GEOSEARCHSTORE or one of the GEORADIUS commands, around a
// member or a point, by radius or box, with random ordering, COUNT [ANY] and WITH* flags.
func geoRandQuery(r *rand.Rand, members int) []string {
	f := func(lo, hi float64) string { return strconv.FormatFloat(lo+r.Float64()*(hi-lo), 'f', 6, 64) }
	unit := []string{"m", "km", "mi", "ft", "KM"}[r.IntN(5)]
	scale := map[string]float64{"m": 1, "km": 1000, "mi": 1609.34, "ft": 0.3048, "KM": 1000}[unit]
	dist := func() string {
		m := []float64{50e3, 300e3, 1500e3, 6000e3}[r.IntN(4)] * r.Float64()
		return strconv.FormatFloat(m/scale, 'f', 3, 64)
	}
	lon, lat := f(-20, 40), f(20, 70)
	if r.IntN(8) == 0 {
		lon, lat = f(-180, 180), f(-85, 85)
	}
	member := "m" + strconv.Itoa(r.IntN(members+5))
	var opts []string
	switch r.IntN(3) {
	case 1:
		opts = append(opts, "ASC")
	case 2:
		opts = append(opts, "DESC")
	}
	if r.IntN(2) == 0 {
		opts = append(opts, "COUNT", strconv.Itoa(1+r.IntN(20)))
		if r.IntN(3) == 0 {
			opts = append(opts, "ANY")
		}
	}
	with := func() []string {
		var w []string
		for _, o := range []string{"WITHDIST", "WITHCOORD", "WITHHASH"} {
			if r.IntN(2) == 0 {
				w = append(w, o)
			}
		}
		return w
	}
	switch r.IntN(6) {
	case 0, 1, 2:
		cmd := []string{"GEOSEARCH", "g"}
		store := r.IntN(4) == 0
		if store {
			cmd = []string{"GEOSEARCHSTORE", "dst", "g"}
		}
		if r.IntN(2) == 0 {
			cmd = append(cmd, "FROMMEMBER", member)
		} else {
			cmd = append(cmd, "FROMLONLAT", lon, lat)
		}
		if r.IntN(2) == 0 {
			cmd = append(cmd, "BYRADIUS", dist(), unit)
		} else {
			cmd = append(cmd, "BYBOX", dist(), dist(), unit)
		}
		cmd = append(cmd, opts...)
		if store {
			if r.IntN(2) == 0 {
				cmd = append(cmd, "STOREDIST")
			}
			return cmd
		}
		return append(cmd, with()...)
	case 3:
		return append(append([]string{"GEORADIUS", "g", lon, lat, dist(), unit}, opts...), with()...)
	case 4:
		return append(append([]string{"GEORADIUSBYMEMBER_RO", "g", member, dist(), unit}, opts...), with()...)
	default:
		cmd := append([]string{"GEORADIUSBYMEMBER", "g", member, dist(), unit}, opts...)
		if r.IntN(2) == 0 {
			return append(cmd, "STOREDIST", "dst")
		}
		return append(cmd, "STORE", "dst")
	}
}

// TestGeoDifferential adds a few hundred random points (clustered over Europe so that searches find many,
// plus some anywhere) and compares a few hundred random searches reply for reply with redis-server,
// reading stored results back.
func TestGeoDifferential(t *testing.T) {
	redisAddr := hlsStartRedis(t)
	srv := start(t)
	seed := uint64(1)
	n := 400
	if testing.Short() {
		n = 100
	}
	for _, proto := range []string{"2", "3"} {
		r := rand.New(rand.NewPCG(seed, 7))
		kv, rd := hlsDial(t, srv.Addr()), hlsDial(t, redisAddr)
		for _, c := range []*hlsConn{kv, rd} {
			c.do(t, "HELLO", proto)
			c.do(t, "FLUSHALL")
		}
		const members = 300
		for i := 0; i < members; i += 10 {
			args := []string{"GEOADD", "g"}
			for j := i; j < i+10; j++ {
				lon, lat := -20+r.Float64()*60, 20+r.Float64()*50
				if j%10 == 0 {
					lon, lat = -180+r.Float64()*360, -85+r.Float64()*170
				}
				args = append(args, strconv.FormatFloat(lon, 'f', 6, 64), strconv.FormatFloat(lat, 'f', 6, 64), "m"+strconv.Itoa(j))
			}
			geoCompare(t, kv, rd, strings.Join(args, " "), "RESP"+proto)
		}
		geoCompare(t, kv, rd, "ZRANGE g 0 -1 WITHSCORES", "RESP"+proto)
		geoCompare(t, kv, rd, "GEOPOS g m0 m1 m2 m3 m299 m300", "RESP"+proto)
		geoCompare(t, kv, rd, "GEOHASH g m0 m1 m2 m3 m299 m300", "RESP"+proto)
		for i := 0; i < 20; i++ {
			geoCompare(t, kv, rd, fmt.Sprintf("GEODIST g m%d m%d %s", r.IntN(members), r.IntN(members),
				[]string{"m", "km", "mi", "ft"}[r.IntN(4)]), "RESP"+proto)
		}
		for i := 0; i < n; i++ {
			q := geoRandQuery(r, members)
			line := strings.Join(q, " ")
			store := strings.Contains(line, "STORE")
			if store {
				line = "=" + line
			}
			geoCompare(t, kv, rd, line, fmt.Sprintf("RESP%s query %d", proto, i))
			if store {
				geoCompare(t, kv, rd, "=ZRANGE dst 0 -1 WITHSCORES", fmt.Sprintf("RESP%s query %d", proto, i))
			}
			if t.Failed() {
				return
			}
		}
	}
}
