package server_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestPubSubDelivery: go-redis subscribers in RESP2 and RESP3 (push) receive channel and pattern messages.
func TestPubSubDelivery(t *testing.T) {
	srv := start(t)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			sub := client(t, srv, proto).Subscribe(ctx, "news")
			defer sub.Close()
			if _, err := sub.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			if err := sub.PSubscribe(ctx, "sport.*"); err != nil {
				t.Fatal(err)
			}
			pub := client(t, srv, 2)
			deadline := time.Now().Add(5 * time.Second)
			// Until the server has this subscriber's pattern and has dropped the previous subtest's
			// subscriber, whose connection closes asynchronously.
			for {
				n, err := pub.PubSubNumPat(ctx).Result()
				if err != nil {
					t.Fatal(err)
				}
				subs, err := pub.PubSubNumSub(ctx, "news").Result()
				if err != nil {
					t.Fatal(err)
				}
				if (n == 1 && subs["news"] == 1) || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if n, _ := pub.Publish(ctx, "news", "hello").Result(); n != 1 {
				t.Fatalf("PUBLISH news reached %d subscribers", n)
			}
			pub.Publish(ctx, "sport.tennis", "ace")
			ch := sub.Channel()
			for _, want := range []string{"news:hello:", "sport.tennis:ace:sport.*"} {
				select {
				case m := <-ch:
					if got := m.Channel + ":" + m.Payload + ":" + m.Pattern; got != want {
						t.Fatalf("message %q, want %q", got, want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("no message %q", want)
				}
			}
		})
	}
}

// TestSlowSubscriberDisconnected: a subscriber that never reads is dropped at the output-buffer limit
// instead of letting the server's memory grow.
func TestSlowSubscriberDisconnected(t *testing.T) {
	srv := start(t)
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.(*net.TCPConn).SetReadBuffer(4096)
	nc.Write([]byte("SUBSCRIBE flood\r\n"))
	time.Sleep(100 * time.Millisecond)
	ctx := context.Background()
	pub := client(t, srv, 2)
	payload := strings.Repeat("x", 64<<10)
	dropped := false
	for i := 0; i < 2000; i++ {
		n, err := pub.Publish(ctx, "flood", payload).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			dropped = true
			break
		}
	}
	if !dropped {
		t.Fatal("a subscriber that reads nothing was never disconnected (128 MB published)")
	}
}
