package keyspace

import (
	"strconv"
	"testing"

	"github.com/kvlab/kvlab/resp"
)

// benchCtx returns a context ready to run commands against a fresh keyspace.
func benchCtx() *Ctx {
	ks := New()
	var w resp.Writer
	return &Ctx{KS: ks, DB: ks.DB(0), W: &w, Now: Now()}
}

func run(c *Ctx, args ...[]byte) {
	cmd, msg := Resolve(args)
	if msg != "" {
		panic(msg)
	}
	c.Args, c.Cmd = args, cmd
	c.W.Reset()
	cmd.Handler(c)
}

func BenchmarkHSet(b *testing.B) {
	c := benchCtx()
	fields := make([][]byte, 64)
	for i := range fields {
		fields[i] = []byte("field" + strconv.Itoa(i))
	}
	args := [][]byte{[]byte("HSET"), []byte("h"), nil, []byte("value-of-some-size")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		args[2] = fields[i&63]
		run(c, args...)
	}
}

func BenchmarkHGetAll(b *testing.B) {
	c := benchCtx()
	for i := 0; i < 20; i++ {
		run(c, []byte("HSET"), []byte("h"), []byte("f"+strconv.Itoa(i)), []byte("value"))
	}
	args := [][]byte{[]byte("HGETALL"), []byte("h")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		run(c, args...)
	}
}

func BenchmarkLPush(b *testing.B) {
	c := benchCtx()
	args := [][]byte{[]byte("LPUSH"), []byte("l"), []byte("element-value")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		run(c, args...)
		if i%10000 == 9999 {
			run(c, []byte("DEL"), []byte("l"))
		}
	}
}

func BenchmarkLRange100(b *testing.B) {
	c := benchCtx()
	for i := 0; i < 1000; i++ {
		run(c, []byte("RPUSH"), []byte("l"), []byte("element-"+strconv.Itoa(i)))
	}
	args := [][]byte{[]byte("LRANGE"), []byte("l"), []byte("0"), []byte("99")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		run(c, args...)
	}
}

func BenchmarkSAddSPop(b *testing.B) {
	c := benchCtx()
	args := [][]byte{[]byte("SADD"), []byte("s"), nil}
	members := make([][]byte, 1024)
	for i := range members {
		members[i] = []byte("m" + strconv.Itoa(i))
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		args[2] = members[i&1023]
		run(c, args...)
		if i&1 == 1 {
			run(c, []byte("SPOP"), []byte("s"))
		}
	}
}
