package server_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestBlockingFairOrder: clients blocked on a list are served first-blocked, first-served.
func TestBlockingFairOrder(t *testing.T) {
	srv := start(t)
	ctx := context.Background()
	got := make([]string, 3)
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		rdb := client(t, srv, 2)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v, err := rdb.BLPop(ctx, 5*time.Second, "q").Result()
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = v[1]
		}(i)
		// Wait until this client is blocked before the next one blocks.
		waitBlocked(t, srv, i+1)
	}
	pusher := client(t, srv, 2)
	if err := pusher.RPush(ctx, "q", "first", "second", "third").Err(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if fmt.Sprint(got) != "[first second third]" {
		t.Fatalf("served in order %v, want [first second third]", got)
	}
}

func waitBlocked(t *testing.T, srv interface{ Addr() string }, n int) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	for i := 0; i < 200; i++ {
		info, _ := rdb.Info(context.Background(), "clients").Result()
		if containsLine(info, fmt.Sprintf("blocked_clients:%d", n)) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("never saw %d blocked clients", n)
}

func containsLine(s, line string) bool {
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		l := s[:i]
		if len(l) > 0 && l[len(l)-1] == '\r' {
			l = l[:len(l)-1]
		}
		if l == line {
			return true
		}
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
	return false
}

// TestBlockedClientDisconnect: a client that disconnects while blocked is removed, so a later push is
// not consumed on its behalf.
func TestBlockedClientDisconnect(t *testing.T) {
	srv := start(t)
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte("*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n"))
	waitBlocked(t, srv, 1)
	nc.Close()
	waitBlocked(t, srv, 0)
	ctx := context.Background()
	rdb := client(t, srv, 2)
	rdb.RPush(ctx, "k", "v")
	if n, _ := rdb.LLen(ctx, "k").Result(); n != 1 {
		t.Fatalf("LLEN = %d after the blocked client left: its BLPOP consumed the element", n)
	}
}

// TestBlockingTimeoutAndMove: BLMOVE waits, is served by a push from another client, and a timeout
// replies nil.
func TestBlockingTimeoutAndMove(t *testing.T) {
	srv := start(t)
	ctx := context.Background()
	rdb := client(t, srv, 3)
	start := time.Now()
	if _, err := rdb.BLPop(ctx, 100*time.Millisecond, "none").Result(); err != redis.Nil {
		t.Fatalf("timeout: %v", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("returned after %v, before the 100ms timeout", d)
	}
	done := make(chan string)
	go func() {
		v, err := rdb.BLMove(ctx, "src", "dst", "LEFT", "RIGHT", 5*time.Second).Result()
		if err != nil {
			t.Error(err)
		}
		done <- v
	}()
	waitBlocked(t, srv, 1)
	other := client(t, srv, 2)
	other.LPush(ctx, "src", "x")
	if v := <-done; v != "x" {
		t.Fatalf("BLMOVE = %q", v)
	}
	if v, _ := other.LRange(ctx, "dst", 0, -1).Result(); len(v) != 1 || v[0] != "x" {
		t.Fatalf("dst = %v", v)
	}
}
