package keyspace

import (
	"strconv"
	"testing"
)

// BenchmarkXAdd measures XADD through its handler with generated IDs: one field, five fields, and with
// MAXLEN ~ 1000 trimming (whole nodes dropped as the stream grows).
func BenchmarkXAdd(b *testing.B) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"fields=1", []string{"XADD", "s", "*", "f", "v"}},
		{"fields=5", []string{"XADD", "s", "*", "a", "1", "b", "2", "c", "3", "d", "4", "e", "value-of-e"}},
		{"maxlen~1000", []string{"XADD", "s", "MAXLEN", "~", "1000", "*", "f", "v"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			zb := newZXBench(New())
			args := zxArgs(tc.args...)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i&1023 == 0 {
					zb.c.Now++
				}
				zb.run(args)
			}
		})
	}
}

// BenchmarkXReadGroup measures XREADGROUP ... COUNT 10 STREAMS s > (ten deliveries, each a PEL entry)
// followed by the XACK of those ten, on a stream of 100k entries; when the group has read everything it is
// rewound outside the timer.
func BenchmarkXReadGroup(b *testing.B) {
	const entries = 100_000
	zb := newZXBench(New())
	for i := 1; i <= entries; i++ {
		zb.run(zxArgs("XADD", "s", strconv.Itoa(i)+"-0", "f", "value", "n", strconv.Itoa(i)))
	}
	zb.run(zxArgs("XGROUP", "CREATE", "s", "g", "0"))
	read := zxArgs("XREADGROUP", "GROUP", "g", "consumer-1", "COUNT", "10", "STREAMS", "s", ">")
	ack := make([][]byte, 3, 13)
	copy(ack, zxArgs("XACK", "s", "g"))
	next := 1
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if next > entries {
			b.StopTimer()
			zb.run(zxArgs("XGROUP", "SETID", "s", "g", "0"))
			next = 1
			b.StartTimer()
		}
		zb.run(read)
		ack = ack[:3]
		for j := 0; j < 10 && next <= entries; j++ {
			ack = append(ack, []byte(strconv.Itoa(next)+"-0"))
			next++
		}
		zb.run(ack)
	}
}
