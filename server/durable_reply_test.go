package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestDurableRepliesInOrder drives the wal engine's handed-over replies (written by the engine once durable,
// not by the connection's goroutine): concurrent pipelines of writes and reads get every reply, in order,
// and a raw client that sends its next commands before the previous reply arrives reads them in order.
func TestDurableRepliesInOrder(t *testing.T) {
	srv := startWal(t)

	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: 16})
	defer rdb.Close()
	eachClient(t, 8, func(g int) error {
		key := fmt.Sprintf("k%d", g)
		for i := 0; i < 200; i++ {
			p := rdb.Pipeline()
			set := p.Set(ctx, key, i, 0)
			incr := p.Incr(ctx, key+":n")
			get := p.Get(ctx, key)
			if _, err := p.Exec(ctx); err != nil {
				return err
			}
			if set.Val() != "OK" || incr.Val() != int64(i+1) || get.Val() != strconv.Itoa(i) {
				return fmt.Errorf("client %d round %d: SET %q INCR %d GET %q", g, i, set.Val(), incr.Val(), get.Val())
			}
		}
		return nil
	})

	// Commands sent one write at a time without waiting: each lands in its own turn, so a durable reply
	// is still being handed over when the next command (a write, then a read of a key nobody wrote) runs.
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	want := []string{}
	for i := 0; i < 100; i++ {
		fmt.Fprintf(nc, "*3\r\n$3\r\nSET\r\n$3\r\nraw\r\n$%d\r\n%d\r\n", len(strconv.Itoa(i)), i)
		fmt.Fprintf(nc, "*2\r\n$3\r\nGET\r\n$3\r\nraw\r\n")
		fmt.Fprintf(nc, "*2\r\n$6\r\nEXISTS\r\n$4\r\nnone\r\n")
		want = append(want, "+OK", fmt.Sprintf("$%d", len(strconv.Itoa(i))), strconv.Itoa(i), ":0")
	}
	for i, w := range want {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reply line %d: %v", i, err)
		}
		if got := line[:len(line)-2]; got != w {
			t.Fatalf("reply line %d = %q, want %q", i, got, w)
		}
	}
}
