package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kvlab/kvlab/resp"
	"github.com/kvlab/kvlab/server"
)

// secStart starts a memory-engine server on a loopback port with access-control settings.
func secStart(t testing.TB, extra map[string]string, mod ...func(*server.Config)) *server.Server {
	t.Helper()
	return startConfig(t, server.Config{Addr: "127.0.0.1:0", Engine: "memory", Log: logWriter{t}, Extra: extra}, mod...)
}

// secClient is a go-redis client for one user (empty user: no AUTH), over TLS when tc is set.
func secClient(t testing.TB, addr, user, pass string, proto int, tc *tls.Config) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, Username: user, Password: pass, Protocol: proto,
		TLSConfig: tc, DisableIdentity: true, MaxRetries: -1, PoolSize: 4, DialTimeout: 5 * time.Second})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// secRaw is a raw RESP connection whose replies are kept exact.
type secRaw struct {
	nc net.Conn
	rr *resp.ReplyReader
}

func newReplyReader(nc net.Conn) *resp.ReplyReader { return resp.NewReplyReader(bufio.NewReader(nc)) }

func secDial(t testing.TB, addr string) *secRaw {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &secRaw{nc: nc, rr: resp.NewReplyReader(bufio.NewReader(nc))}
}

// send writes commands (each a space-separated line) in one write.
func (c *secRaw) send(t testing.TB, lines ...string) {
	t.Helper()
	var buf []byte
	for _, l := range lines {
		buf = resp.AppendCommandStrings(buf, strings.Fields(l)...)
	}
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.nc.Write(buf); err != nil {
		t.Fatal(err)
	}
}

// read returns the next reply as "+OK", "-ERR ...", ":1", "$val", "(nil)", or "*n" for arrays.
func (c *secRaw) read(t testing.TB) string {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	v, err := c.rr.Read()
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	return secFormat(v)
}

func secFormat(v resp.Value) string {
	switch v.Kind {
	case '+':
		return "+" + string(v.Str)
	case '-':
		return "-" + string(v.Str)
	case ':':
		return ":" + strconv.FormatInt(v.Int, 10)
	case '$':
		if v.Null {
			return "(nil)"
		}
		return "$" + string(v.Str)
	case '_':
		return "(nil)"
	}
	return "*" + strconv.Itoa(len(v.Elems))
}

// do sends one command and returns its reply.
func (c *secRaw) do(t testing.TB, line string) string {
	t.Helper()
	c.send(t, line)
	return c.read(t)
}

// errText returns err's message, or "OK" for nil.
func errText(err error) string {
	if err == nil {
		return "OK"
	}
	return err.Error()
}

func bg() context.Context { return context.Background() }
