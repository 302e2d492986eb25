package loadgen

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kvlab/kvlab/resp"
)

// Target is where the load goes: a RESP server reachable over TCP (optionally TLS), with optional
// credentials and database.
type Target struct {
	Addr     string
	TLS      *tls.Config
	Username string
	Password string
	DB       int
}

// ParseURL parses redis://[user:pass@]host:port[/db] and rediss:// (TLS). caFile and insecure configure
// TLS verification.
func ParseURL(raw, caFile string, insecure bool) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("loadgen: target %q: %w", raw, err)
	}
	var t Target
	switch u.Scheme {
	case "redis":
	case "rediss":
		t.TLS = &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return t, fmt.Errorf("loadgen: --tls-ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return t, fmt.Errorf("loadgen: --tls-ca %s holds no PEM certificate", caFile)
			}
			t.TLS.RootCAs = pool
		}
	default:
		return t, fmt.Errorf("loadgen: target %q: want redis://host:port, rediss://host:port or embedded:ENGINE", raw)
	}
	t.Addr = u.Host
	if u.Port() == "" {
		t.Addr = net.JoinHostPort(u.Hostname(), "6379")
	}
	if u.User != nil {
		t.Username = u.User.Username()
		t.Password, _ = u.User.Password()
		if _, hasPass := u.User.Password(); !hasPass {
			// redis://:pass@ and redis://pass@ both mean a password for the default user.
			t.Password, t.Username = t.Username, ""
		}
	}
	if p := strings.TrimPrefix(u.Path, "/"); p != "" {
		if t.DB, err = strconv.Atoi(p); err != nil {
			return t, fmt.Errorf("loadgen: target %q: database %q is not a number", raw, p)
		}
	}
	return t, nil
}

// client is one connection of the load generator.
type client struct {
	nc   net.Conn
	bw   *bufio.Writer
	rr   *resp.ReplyReader
	wbuf []byte // requests (closed loop: the whole batch, kept until the next one)
	fbuf []byte // synchronous follow-ups (cache-aside loads, XACK, redirections)

	// Cluster mode only.
	addr     string       // the node's host:port
	batch    []pending    // closed loop: the operations of the batch in wbuf, in order
	outs     []outcome    // closed loop: their outcomes
	inflight chan pending // open loop: operations awaiting replies
}

func dial(t Target) (*client, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	var nc net.Conn
	var err error
	if t.TLS != nil {
		nc, err = tls.DialWithDialer(&d, "tcp", t.Addr, t.TLS)
	} else {
		nc, err = d.Dial("tcp", t.Addr)
	}
	if err != nil {
		return nil, fmt.Errorf("loadgen: connect to %s: %w (is the server running? check the address, and TLS with rediss://)", t.Addr, err)
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	c := &client{nc: nc, rr: resp.NewReplyReader(nc), addr: t.Addr}
	if t.Password != "" {
		args := []string{"AUTH", t.Password}
		if t.Username != "" {
			args = []string{"AUTH", t.Username, t.Password}
		}
		if err := c.call(args...); err != nil {
			nc.Close()
			return nil, fmt.Errorf("loadgen: AUTH on %s: %w", t.Addr, err)
		}
	}
	if t.DB != 0 {
		if err := c.call("SELECT", strconv.Itoa(t.DB)); err != nil {
			nc.Close()
			return nil, fmt.Errorf("loadgen: SELECT %d on %s: %w", t.DB, t.Addr, err)
		}
	}
	return c, nil
}

// call sends one command and returns its error reply as an error.
func (c *client) call(args ...string) error {
	v, err := c.do(args...)
	if err != nil {
		return err
	}
	if v.Kind == '-' {
		return fmt.Errorf("%s", v.Str)
	}
	return nil
}

// do sends one command and reads its reply.
func (c *client) do(args ...string) (resp.Value, error) {
	c.fbuf = resp.AppendCommandStrings(c.fbuf[:0], args...)
	if _, err := c.nc.Write(c.fbuf); err != nil {
		return resp.Value{}, err
	}
	return c.rr.Read()
}

func (c *client) close() { c.nc.Close() }
