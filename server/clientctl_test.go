package server_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestClientUnblock(t *testing.T) {
	srv := start(t)
	ctx := context.Background()
	blocked := client(t, srv, 2)
	id, err := blocked.ClientID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error)
	go func() { _, err := blocked.BLPop(ctx, 0, "never").Result(); errc <- err }()
	waitBlocked(t, srv, 1)
	admin := client(t, srv, 2)
	if n, _ := admin.ClientUnblockWithError(ctx, id).Result(); n != 1 {
		t.Fatalf("CLIENT UNBLOCK = %d", n)
	}
	if err := <-errc; err == nil || err.Error() != "UNBLOCKED client unblocked via CLIENT UNBLOCK" {
		t.Fatalf("blocked client got %v", err)
	}
	go func() { _, err := blocked.BLPop(ctx, 0, "never").Result(); errc <- err }()
	waitBlocked(t, srv, 1)
	admin.ClientUnblock(ctx, id)
	if err := <-errc; err != redis.Nil {
		t.Fatalf("CLIENT UNBLOCK TIMEOUT: blocked client got %v, want a nil reply", err)
	}
}

func TestClientReplyOffSkip(t *testing.T) {
	srv := start(t)
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	nc.Write([]byte("CLIENT REPLY SKIP\r\nSET a 1\r\nGET a\r\nCLIENT REPLY OFF\r\nGET a\r\nCLIENT REPLY ON\r\nECHO back\r\n"))
	br := bufio.NewReader(nc)
	var got []string
	for len(got) < 4 {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, strings.TrimSpace(l))
	}
	if strings.Join(got, "|") != "$1|1|+OK|$4" {
		t.Fatalf("replies %q: want GET's reply, then +OK for CLIENT REPLY ON, then ECHO", got)
	}
}

func TestClientPause(t *testing.T) {
	srv := start(t)
	ctx := context.Background()
	admin := client(t, srv, 2)
	if err := admin.ClientPause(ctx, 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	other := client(t, srv, 2)
	start := time.Now()
	other.Set(ctx, "k", "v", 0)
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("SET ran after %v during a 300ms CLIENT PAUSE", d)
	}
}
