package server_test

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kvlab/kvlab/server"
)

// loopInfo returns INFO kvlab's event_loop_* fields.
func loopInfo(t testing.TB, rdb *redis.Client) (clients, turns, handbacks int) {
	t.Helper()
	s, err := rdb.Info(context.Background(), "kvlab").Result()
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) int {
		for _, line := range strings.Split(s, "\r\n") {
			if v, ok := strings.CutPrefix(line, name+":"); ok {
				n, _ := strconv.Atoi(v)
				return n
			}
		}
		t.Fatalf("INFO kvlab has no %s:\n%s", name, s)
		return 0
	}
	return get("event_loop_clients"), get("event_loop_turns"), get("event_loop_handbacks")
}

// loopAdmin returns a one-connection client for a test's INFO, CONFIG and CLIENT commands. Its
// connection enters the event loop after its first command and stays there (it sends nothing the loop
// hands back), so waitLoopClients counts it in.
func loopAdmin(t testing.TB, srv *server.Server) *redis.Client {
	t.Helper()
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: 1})
	t.Cleanup(func() { admin.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, _, _ := loopInfo(t, admin); c == 1 {
			return admin
		}
		if time.Now().After(deadline) {
			t.Fatal("the admin connection did not enter the event loop")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitLoopClients waits until the event loop watches n connections besides loopAdmin's.
func waitLoopClients(t testing.TB, admin *redis.Client, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, _, _ := loopInfo(t, admin)
		if c == n+1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the event loop watches %d connections besides the admin's, want %d", c-1, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// parked dials a raw connection and makes one durable write, after which the event loop watches it.
func parked(t *testing.T, srv *server.Server, admin *redis.Client, n int) *secRaw {
	t.Helper()
	c := secDial(t, srv.Addr())
	if got := c.do(t, "SET parked"+strconv.Itoa(n)+" v"); got != "+OK" {
		t.Fatalf("SET: %s", got)
	}
	waitLoopClients(t, admin, n)
	return c
}

// writeOnce runs a write on a connection of its own, closed at once: the admin connection of a test must
// not enter the event loop, whose connections the test counts.
func writeOnce(t testing.TB, srv *server.Server, args ...any) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: 1})
	defer rdb.Close()
	if err := rdb.Do(context.Background(), args...).Err(); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
}

// TestEventLoopServesDurableWrites: concurrent clients' writes and reads are answered correctly while the
// loop runs their turns (INFO shows it did, and that it watches the idle connections afterwards); with
// --event-loop=false the same traffic runs with the loop never started.
func TestEventLoopServesDurableWrites(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("no-event-loop=%v", off), func(t *testing.T) {
			srv := startWal(t, func(c *server.Config) { c.NoEventLoop = off })
			ctx := context.Background()
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: 8, MinIdleConns: 8})
			defer rdb.Close()
			eachClient(t, 8, func(g int) error {
				key := fmt.Sprintf("k%d", g)
				for i := 1; i <= 300; i++ {
					if n, err := rdb.Incr(ctx, key).Result(); err != nil || n != int64(i) {
						return fmt.Errorf("client %d: INCR %d: %d %v", g, i, n, err)
					}
					if v, err := rdb.Get(ctx, key).Result(); err != nil || v != strconv.Itoa(i) {
						return fmt.Errorf("client %d: GET after INCR %d: %q %v", g, i, v, err)
					}
				}
				return nil
			})
			clients, turns, _ := loopInfo(t, rdb)
			if off {
				if clients != 0 || turns != 0 {
					t.Fatalf("event loop disabled, yet it watches %d connections and ran %d turns", clients, turns)
				}
				return
			}
			if turns < 8*300 {
				t.Fatalf("the event loop ran %d turns of 8x600 commands, want most of them", turns)
			}
			if clients == 0 {
				t.Fatal("the event loop watches no connection after the writes")
			}
		})
	}
}

// TestEventLoopDatabases runs single-command clients on databases 0 and 1 at once, with the same keys,
// so the event loop's harvests mix connections of both (the loop looks up the first database's keys in
// one pass before serving a harvest): each client reads back only its own database's values.
func TestEventLoopDatabases(t *testing.T) {
	srv := startWal(t)
	ctx := context.Background()
	clients := make([]*redis.Client, 2)
	for db := range clients {
		clients[db] = redis.NewClient(&redis.Options{Addr: srv.Addr(), DB: db, PoolSize: 6, MinIdleConns: 6})
		defer clients[db].Close()
	}
	eachClient(t, 12, func(g int) error {
		db := g % 2
		rdb := clients[db]
		for i := 1; i <= 200; i++ {
			key := fmt.Sprintf("k%d", (g/2+i)%8)
			val := fmt.Sprintf("db%d-%d-%d", db, g, i)
			if err := rdb.Set(ctx, key, val, 0).Err(); err != nil {
				return fmt.Errorf("client %d: SET: %v", g, err)
			}
			v, err := rdb.Get(ctx, key).Result()
			if err != nil {
				return fmt.Errorf("client %d: GET: %v", g, err)
			}
			if !strings.HasPrefix(v, fmt.Sprintf("db%d-", db)) {
				return fmt.Errorf("client %d on database %d read %q", g, db, v)
			}
		}
		return nil
	})
	if _, turns, _ := loopInfo(t, clients[0]); turns < 12*200 {
		t.Fatalf("the event loop ran %d turns of 12x400 commands, want most of them", turns)
	}
}

// handedBack runs f on a connection the event loop watches, fails the test unless the loop handed a
// connection back to its goroutine meanwhile, then closes the connection and waits for the loop to forget
// it.
func handedBack(t *testing.T, srv *server.Server, admin *redis.Client, f func(c *secRaw)) {
	t.Helper()
	c := parked(t, srv, admin, 1)
	_, _, hb0 := loopInfo(t, admin)
	f(c)
	if _, _, hb := loopInfo(t, admin); hb == hb0 {
		t.Fatal("the event loop handed no connection back")
	}
	c.nc.Close()
	waitLoopClients(t, admin, 0)
}

// closed fails the test unless the server closes c within 10 s.
func closed(t *testing.T, c *secRaw) {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.rr.Read(); err == nil {
		t.Fatal("the connection is still open")
	} else if strings.Contains(err.Error(), "timeout") {
		t.Fatalf("the connection is still open: %v", err)
	}
}

// TestEventLoopHandsBack: from a connection the loop watches, every command the loop cannot finish by
// itself goes back to the connection's goroutine and behaves as it does there.
func TestEventLoopHandsBack(t *testing.T) {
	srv := startWal(t)
	admin := loopAdmin(t, srv)
	ctx := context.Background()

	t.Run("reads and transactions", func(t *testing.T) {
		c := parked(t, srv, admin, 1)
		_, turns0, hb0 := loopInfo(t, admin)
		for _, step := range []struct{ cmd, want string }{
			{"PING", "+PONG"},
			{"GET parked1", "$v"},
			{"MULTI", "+OK"},
			{"INCR tx", "+QUEUED"},
			{"INCR tx", "+QUEUED"},
			{"EXEC", "*2"},
			{"GET tx", "$2"},
			{"NOSUCHCMD", "-ERR unknown command 'NOSUCHCMD', with args beginning with: "},
		} {
			if got := c.do(t, step.cmd); got != step.want {
				t.Fatalf("%s: got %q, want %q", step.cmd, got, step.want)
			}
		}
		if _, turns, hb := loopInfo(t, admin); turns-turns0 < 8 || hb != hb0 {
			t.Fatalf("8 plain commands: the loop ran %d turns and handed back %d times, want 8+ and 0", turns-turns0, hb-hb0)
		}
		c.nc.Close()
		waitLoopClients(t, admin, 0)
	})

	t.Run("command split across reads", func(t *testing.T) {
		c := parked(t, srv, admin, 1)
		full := "*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$5\r\nvalue\r\n"
		for _, part := range []string{full[:7], full[7:20], full[20:]} {
			if _, err := io.WriteString(c.nc, part); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if got := c.read(t); got != "+OK" {
			t.Fatalf("split SET: %s", got)
		}
		if got := c.do(t, "GET split"); got != "$value" {
			t.Fatalf("GET split: %s", got)
		}
		c.nc.Close()
		waitLoopClients(t, admin, 0)
	})

	t.Run("blocking command", func(t *testing.T) {
		handedBack(t, srv, admin, func(c *secRaw) {
			c.send(t, "BLPOP queue 0")
			waitBlocked(t, srv, 1)
			writeOnce(t, srv, "RPUSH", "queue", "job")
			c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			v, err := c.rr.Read()
			if err != nil || len(v.Elems) != 2 || string(v.Elems[0].Str) != "queue" || string(v.Elems[1].Str) != "job" {
				t.Fatalf("BLPOP: %+v %v", v, err)
			}
			if got := c.do(t, "SET after-block x"); got != "+OK" {
				t.Fatalf("SET after BLPOP: %s", got)
			}
			waitLoopClients(t, admin, 1)
		})
	})

	t.Run("client pause", func(t *testing.T) {
		handedBack(t, srv, admin, func(c *secRaw) {
			if err := admin.Do(ctx, "CLIENT", "PAUSE", "300", "WRITE").Err(); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if got := c.do(t, "SET paused x"); got != "+OK" {
				t.Fatalf("SET during pause: %s", got)
			}
			if d := time.Since(start); d < 200*time.Millisecond {
				t.Fatalf("a write ran %v into a 300 ms CLIENT PAUSE WRITE", d)
			}
		})
	})

	t.Run("reply larger than the socket takes at once", func(t *testing.T) {
		big := strings.Repeat("x", 24<<20)
		writeOnce(t, srv, "SET", "big", big)
		handedBack(t, srv, admin, func(c *secRaw) {
			c.send(t, "GET big")
			time.Sleep(100 * time.Millisecond) // let the socket fill before reading
			if got := c.read(t); got != "$"+big {
				t.Fatalf("GET big: %d bytes, want %d", len(got)-1, len(big))
			}
			if got := c.do(t, "SET after-big x"); got != "+OK" {
				t.Fatalf("SET after GET big: %s", got)
			}
		})
	})

	t.Run("protocol error", func(t *testing.T) {
		handedBack(t, srv, admin, func(c *secRaw) {
			io.WriteString(c.nc, "*1\r\n$x\r\n")
			if got := c.read(t); !strings.HasPrefix(got, "-ERR Protocol error") {
				t.Fatalf("bad bulk length: %s", got)
			}
			closed(t, c)
		})
	})

	t.Run("quit", func(t *testing.T) {
		handedBack(t, srv, admin, func(c *secRaw) {
			if got := c.do(t, "QUIT"); got != "+OK" {
				t.Fatalf("QUIT: %s", got)
			}
			closed(t, c)
		})
	})
}

// TestEventLoopClosing: a connection the loop watches ends when it is killed, times out, or the server
// shuts down, and the server forgets it (no goroutine waits for the loop forever).
func TestEventLoopClosing(t *testing.T) {
	ctx := context.Background()
	connected := func(t *testing.T, admin *redis.Client, want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			s := admin.Info(ctx, "clients").Val()
			if strings.Contains(s, "connected_clients:"+strconv.Itoa(want)+"\r\n") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("want %d connected clients:\n%s", want, s)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	t.Run("client kill", func(t *testing.T) {
		srv := startWal(t)
		admin := loopAdmin(t, srv)
		c := parked(t, srv, admin, 1)
		id := c.do(t, "CLIENT ID")
		waitLoopClients(t, admin, 1)
		if n, err := admin.Do(ctx, "CLIENT", "KILL", "ID", id[1:]).Int(); err != nil || n != 1 {
			t.Fatalf("CLIENT KILL ID %s: %d %v", id[1:], n, err)
		}
		closed(t, c)
		waitLoopClients(t, admin, 0)
		connected(t, admin, 1)
	})

	t.Run("timeout", func(t *testing.T) {
		srv := startWal(t)
		admin := loopAdmin(t, srv)
		c := parked(t, srv, admin, 1)
		if err := admin.ConfigSet(ctx, "timeout", "1").Err(); err != nil {
			t.Fatal(err)
		}
		go func() { // keep the admin connection active
			for i := 0; i < 40; i++ {
				admin.Ping(ctx)
				time.Sleep(100 * time.Millisecond)
			}
		}()
		closed(t, c)
		waitLoopClients(t, admin, 0)
	})

	t.Run("peer closes", func(t *testing.T) {
		srv := startWal(t)
		admin := loopAdmin(t, srv)
		c := parked(t, srv, admin, 1)
		c.nc.Close()
		waitLoopClients(t, admin, 0)
		connected(t, admin, 1)
	})

	t.Run("shutdown", func(t *testing.T) {
		srv := startWal(t)
		admin := loopAdmin(t, srv)
		var cs []*secRaw
		for i := 1; i <= 4; i++ {
			cs = append(cs, parked(t, srv, admin, i))
		}
		done := make(chan error, 1)
		go func() { done <- srv.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not return with connections in the event loop")
		}
		for _, c := range cs {
			closed(t, c)
		}
	})
}
