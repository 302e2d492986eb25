package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/kvlab/kvlab/resp"
	"github.com/kvlab/kvlab/server"
)

// BenchmarkPipelinedSetGet measures the hot path: one connection over real TCP sending SET and GET
// alternately (100-byte values, 1,000 keys) at several pipeline depths. The server runs in the test
// process, so allocs/op counts the server's allocations per command too (the client side allocates
// nothing once warm): the figure the pipelined SET/GET path must keep at zero.
//
//	go test ./server -run XXX -bench BenchmarkPipelinedSetGet -benchmem
func BenchmarkPipelinedSetGet(b *testing.B) { benchSetGet(b, start(b)) }

// BenchmarkPipelinedSetGetReplicated is BenchmarkPipelinedSetGet with one replica attached (in the same
// process): the cost of recording effects and feeding the replication stream on the memory engine, which
// records nothing while no replica ever connected.
//
//	go test ./server -run XXX -bench 'BenchmarkPipelinedSetGet' -benchmem
func BenchmarkPipelinedSetGetReplicated(b *testing.B) {
	srv := start(b)
	replica, err := server.New(server.Config{Addr: "127.0.0.1:0", Log: io.Discard,
		Replication: server.ReplicationConfig{ReplicaOf: srv.Addr(), BacklogSize: 64 << 20}})
	if err != nil {
		b.Fatal(err)
	}
	if err := replica.Start(); err != nil {
		b.Fatal(err)
	}
	defer replica.Close()
	for deadline := time.Now().Add(10 * time.Second); replica.Replication().Offset() == 0 && srv.Replication().Offset() == 0; {
		// The link is up once the primary has a backlog (its first PSYNC); give it a moment.
		if time.Now().After(deadline) {
			b.Fatal("replica did not connect")
		}
		time.Sleep(10 * time.Millisecond)
		if srv.Replication().Offset() == 0 {
			nc, _ := net.Dial("tcp", srv.Addr())
			nc.Write([]byte("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\n1\r\n"))
			nc.Read(make([]byte, 16))
			nc.Close()
		}
	}
	benchSetGet(b, srv)
}

// BenchmarkPipelinedSetGetCluster is BenchmarkPipelinedSetGet on a one-node cluster (every command's keys
// are checked against the slot map before it runs): the cost of cluster mode's redirection filter.
//
//	go test ./server -run XXX -bench 'BenchmarkPipelinedSetGet' -benchmem
func BenchmarkPipelinedSetGetCluster(b *testing.B) {
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", Log: io.Discard, Dir: b.TempDir(),
		Extra: map[string]string{server.ExtraClusterEnabled: "yes"}})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	benchSetGet(b, srv)
}

func benchSetGet(b *testing.B, srv *server.Server) {
	value := make([]byte, 100)
	for i := range value {
		value[i] = 'v'
	}
	keys := make([][]byte, 1000)
	for i := range keys {
		keys[i] = []byte("key:" + strconv.Itoa(i))
	}
	for _, depth := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("P=%d", depth), func(b *testing.B) {
			nc, err := net.Dial("tcp", srv.Addr())
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			rr := resp.NewReplyReader(bufio.NewReaderSize(nc, 64<<10))
			buf := make([]byte, 0, depth*160)
			round := func(done, n int) {
				buf = buf[:0]
				for j := 0; j < n; j++ {
					key := keys[(done+j)%len(keys)]
					if (done+j)%2 == 0 {
						buf = resp.AppendCommand(buf, []byte("SET"), key, value)
					} else {
						buf = resp.AppendCommand(buf, []byte("GET"), key)
					}
				}
				if _, err := nc.Write(buf); err != nil {
					b.Fatal(err)
				}
				for j := 0; j < n; j++ {
					if kind, msg, err := rr.Skip(); err != nil || kind == '-' {
						b.Fatalf("reply: %c %s %v", kind, msg, err)
					}
				}
			}
			// Warm up: every key exists and every buffer has grown to its working size.
			for done := 0; done < 4*len(keys); done += depth {
				round(done, depth)
			}
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for done := 0; done < b.N; done += depth {
				round(done, min(depth, b.N-done))
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
		})
	}
}
