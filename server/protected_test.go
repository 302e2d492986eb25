package server_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/kvlab/kvlab/server"
)

// externalIP returns an address of this machine that is not loopback, or skips the test.
func externalIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skip(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address on this machine")
	return ""
}

// TestProtectedMode: while the default user has no password, only loopback clients get in; others read
// Redis's DENIED message. A password (at start or set later), or protected-mode no, lets them in. The
// servers listen on all interfaces (ephemeral port) so that one can be reached both ways.
func TestProtectedMode(t *testing.T) {
	ip := externalIP(t)
	anyIface := func(c *server.Config) { c.Addr = "0.0.0.0:0" }
	external := func(srv *server.Server) string {
		_, port, _ := net.SplitHostPort(srv.Addr())
		return net.JoinHostPort(ip, port)
	}
	loopback := func(srv *server.Server) string {
		_, port, _ := net.SplitHostPort(srv.Addr())
		return net.JoinHostPort("127.0.0.1", port)
	}
	readAll := func(addr string) string {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.Write([]byte("PING\r\n"))
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, _ := bufio.NewReader(nc).ReadString('\n') // one reply line
		return line
	}
	srv := secStart(t, nil, anyIface)
	got := readAll(external(srv))
	if !strings.HasPrefix(got, "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user.") ||
		!strings.HasSuffix(got, "NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n") {
		t.Fatalf("non-loopback client in protected mode read %q", got)
	}
	admin := secDial(t, loopback(srv))
	if got := admin.do(t, "PING"); got != "+PONG" {
		t.Fatalf("loopback client in protected mode: %s", got)
	}
	admin.send(t, "INFO stats")
	if info := admin.read(t); !strings.Contains(info, "rejected_connections:1\r\n") {
		t.Fatalf("the refused connection is not counted: %s", info)
	}
	// A password set at run time lets outside clients in (to authenticate).
	if got := admin.do(t, "ACL SETUSER default resetpass >pw"); got != "+OK" {
		t.Fatal(got)
	}
	if got := readAll(external(srv)); !strings.HasPrefix(got, "-NOAUTH Authentication required.\r\n") {
		t.Fatalf("non-loopback client once a password is set: %q", got)
	}
	srvPW := secStart(t, map[string]string{server.ExtraRequirePass: "pw"}, anyIface)
	if got := readAll(external(srvPW)); !strings.HasPrefix(got, "-NOAUTH Authentication required.\r\n") {
		t.Fatalf("non-loopback client with requirepass: %q", got)
	}
	off := secStart(t, map[string]string{server.ExtraProtectedMode: "no"}, anyIface)
	if got := readAll(external(off)); got != "+PONG\r\n" {
		t.Fatalf("protected-mode no: %q", got)
	}
}
