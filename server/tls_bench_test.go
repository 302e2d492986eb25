package server_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kvlab/kvlab/resp"
)

// BenchmarkTLSThroughput compares TLS with plain TCP for GET/SET (half each, 100-byte values, 10,000
// keys) over 50 connections at pipeline depths 1 and 16, against one server that serves plain text on
// its address and TLS on a second one. Client and server share the machine, so the figures include the
// client's TLS work too.
//
//	go test ./server -run XXX -bench BenchmarkTLSThroughput -benchtime 200000x
func BenchmarkTLSThroughput(b *testing.B) {
	p := newPKI(b)
	srv, _ := startTLS(b, p, "no", true, nil)
	value := make([]byte, 100)
	for i := range value {
		value[i] = 'v'
	}
	keys := make([][]byte, 10000)
	for i := range keys {
		keys[i] = []byte("key:" + strconv.Itoa(i))
	}
	for _, mode := range []string{"plain", "tls"} {
		for _, depth := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/conns=50/P=%d", mode, depth), func(b *testing.B) {
				const conns = 50
				cs := make([]net.Conn, conns)
				for i := range cs {
					var err error
					if mode == "tls" {
						cs[i], err = tls.Dial("tcp", srv.TLSAddr(), p.client(false))
					} else {
						cs[i], err = net.Dial("tcp", srv.Addr())
					}
					if err != nil {
						b.Fatal(err)
					}
					defer cs[i].Close()
				}
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				per := (b.N + conns - 1) / conns
				for i, nc := range cs {
					wg.Add(1)
					go func(i int, nc net.Conn) {
						defer wg.Done()
						rr := resp.NewReplyReader(bufio.NewReader(nc))
						var buf []byte
						for done := 0; done < per; done += depth {
							buf = buf[:0]
							n := min(depth, per-done)
							for j := 0; j < n; j++ {
								key := keys[(i*7919+done+j)%len(keys)]
								if (done+j)%2 == 0 {
									buf = resp.AppendCommand(buf, []byte("SET"), key, value)
								} else {
									buf = resp.AppendCommand(buf, []byte("GET"), key)
								}
							}
							if _, err := nc.Write(buf); err != nil {
								b.Error(err)
								return
							}
							for j := 0; j < n; j++ {
								if kind, msg, err := rr.Skip(); err != nil || kind == '-' {
									b.Errorf("reply: %c %s %v", kind, msg, err)
									return
								}
							}
						}
					}(i, nc)
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(per*conns)/time.Since(start).Seconds(), "ops/s")
			})
		}
	}
}
