package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvlab/kvlab/server"
)

// testPKI is a CA with a server and a client certificate, generated at run time and written as PEM files.
type testPKI struct {
	dir               string
	caKey             *ecdsa.PrivateKey
	ca                *x509.Certificate
	caFile            string
	certFile, keyFile string // server
	clientCert        tls.Certificate
	pool              *x509.CertPool
	serial            int64
}

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir(), serial: 1}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kvlab test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p.ca, _ = x509.ParseCertificate(der)
	p.caKey = key
	p.caFile = filepath.Join(p.dir, "ca.pem")
	writePEM(t, p.caFile, "CERTIFICATE", der)
	p.pool = x509.NewCertPool()
	p.pool.AddCert(p.ca)
	p.certFile, p.keyFile = filepath.Join(p.dir, "server.pem"), filepath.Join(p.dir, "server.key")
	p.issueServer(t, "kvlab server 1")
	cert, key2 := p.issue(t, "kvlab client", x509.ExtKeyUsageClientAuth)
	p.clientCert = tls.Certificate{Certificate: [][]byte{cert}, PrivateKey: key2}
	return p
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (p *testPKI) issue(t testing.TB, cn string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

// issueServer writes a new server certificate and key to certFile and keyFile.
func (p *testPKI) issueServer(t testing.TB, cn string) {
	t.Helper()
	der, key := p.issue(t, cn, x509.ExtKeyUsageServerAuth)
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, p.keyFile, "EC PRIVATE KEY", kder)
	writePEM(t, p.certFile, "CERTIFICATE", der)
}

func (p *testPKI) client(withCert bool) *tls.Config {
	c := &tls.Config{RootCAs: p.pool, ServerName: "127.0.0.1"}
	if withCert {
		c.Certificates = []tls.Certificate{p.clientCert}
	}
	return c
}

func startTLS(t testing.TB, p *testPKI, clientAuth string, separate bool, extra map[string]string) (*server.Server, *server.TLSCerts) {
	t.Helper()
	o := server.TLSOptions{CertFile: p.certFile, KeyFile: p.keyFile, ClientAuth: clientAuth}
	if clientAuth != "no" {
		o.CAFile = p.caFile
	}
	certs, err := server.LoadTLS(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := secStart(t, extra, func(c *server.Config) {
		c.TLS = certs.Config()
		if separate {
			c.TLSAddr = "127.0.0.1:0"
		}
	})
	return srv, certs
}

// TestTLSClientCertificates: TLS with required, optional and no client certificates, with go-redis and an
// ACL user (as a MemoryDB client connects: TLS, user name, password).
func TestTLSClientCertificates(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t) // a client certificate from an unknown CA
	for _, tc := range []struct {
		mode                string
		noCert, cert, alien bool // whether each client gets in
	}{
		{"yes", false, true, false},
		{"optional", true, true, false},
		{"no", true, true, true},
	} {
		t.Run("auth-clients="+tc.mode, func(t *testing.T) {
			srv, _ := startTLS(t, p, tc.mode, false, map[string]string{server.ExtraRequirePass: "adminpw"})
			admin := secClient(t, srv.Addr(), "default", "adminpw", 3, p.client(true))
			if err := admin.Do(bg(), "ACL", "SETUSER", "app", "on", ">apppw", "~*", "&*", "+@all").Err(); err != nil {
				t.Fatal(err)
			}
			alien := p.client(false)
			alien.Certificates = []tls.Certificate{other.clientCert}
			for _, c := range []struct {
				name string
				cfg  *tls.Config
				ok   bool
			}{{"no certificate", p.client(false), tc.noCert}, {"CA-signed certificate", p.client(true), tc.cert}, {"unknown CA", alien, tc.alien}} {
				for _, proto := range []int{2, 3} {
					rdb := secClient(t, srv.Addr(), "app", "apppw", proto, c.cfg)
					err := rdb.Set(bg(), "k", "v", 0).Err()
					if (err == nil) != c.ok {
						t.Errorf("%s RESP%d: %v (want success %v)", c.name, proto, err, c.ok)
					}
				}
			}
		})
	}
}

// TestTLSPlainClient: a plain-text client on the TLS port fails at once with a clear error (not a hang),
// and the server keeps serving TLS clients.
func TestTLSPlainClient(t *testing.T) {
	p := newPKI(t)
	srv, _ := startTLS(t, p, "no", false, nil)
	start := time.Now()
	err := secClient(t, srv.Addr(), "", "", 2, nil).Ping(bg()).Err()
	if err == nil || !strings.Contains(err.Error(), "accepts only TLS") {
		t.Fatalf("go-redis in clear text on the TLS port: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("the plain-text client waited %v", d)
	}
	c := secDial(t, srv.Addr())
	c.send(t, "PING")
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c.nc)
	if string(b) != "-ERR kvlab: this port accepts only TLS connections; connect with TLS (rediss://, --tls)\r\n" {
		t.Fatalf("raw clear-text client read %q", b)
	}
	if err := secClient(t, srv.Addr(), "", "", 2, p.client(false)).Ping(bg()).Err(); err != nil {
		t.Fatalf("TLS client after the plain-text ones: %v", err)
	}
	// TLS 1.1 is refused.
	old := p.client(false)
	old.MaxVersion = tls.VersionTLS11
	if err := secClient(t, srv.Addr(), "", "", 2, old).Ping(bg()).Err(); err == nil {
		t.Fatal("a TLS 1.1 client was accepted")
	}
}

// TestTLSSeparatePort: with TLSAddr the main address stays plain text and TLS is served beside it.
func TestTLSSeparatePort(t *testing.T) {
	p := newPKI(t)
	srv, _ := startTLS(t, p, "no", true, nil)
	if srv.TLSAddr() == "" || srv.TLSAddr() == srv.Addr() {
		t.Fatalf("TLSAddr = %q", srv.TLSAddr())
	}
	if err := secClient(t, srv.Addr(), "", "", 2, nil).Set(bg(), "k", "plain", 0).Err(); err != nil {
		t.Fatalf("plain port: %v", err)
	}
	if v, err := secClient(t, srv.TLSAddr(), "", "", 3, p.client(false)).Get(bg(), "k").Result(); err != nil || v != "plain" {
		t.Fatalf("TLS port: %q, %v", v, err)
	}
}

// TestTLSReload: a reloaded certificate is served to new connections while an established connection
// keeps working; a broken reload keeps the old certificate.
func TestTLSReload(t *testing.T) {
	p := newPKI(t)
	srv, certs := startTLS(t, p, "no", false, nil)
	peer := func() string {
		conn, err := tls.Dial("tcp", srv.Addr(), p.client(false))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	old, err := tls.Dial("tcp", srv.Addr(), p.client(false))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	c := &secRaw{nc: old}
	c.rr = newReplyReader(old)
	if got := c.do(t, "SET k before"); got != "+OK" {
		t.Fatal(got)
	}
	if cn := peer(); cn != "kvlab server 1" {
		t.Fatalf("initial certificate %q", cn)
	}
	p.issueServer(t, "kvlab server 2")
	if err := certs.Reload(); err != nil {
		t.Fatal(err)
	}
	if cn := peer(); cn != "kvlab server 2" {
		t.Fatalf("after reload a new connection sees %q", cn)
	}
	if got := c.do(t, "GET k"); got != "$before" {
		t.Fatalf("the established connection after reload: %s", got)
	}
	os.WriteFile(p.certFile, []byte("not a certificate"), 0o600)
	if err := certs.Reload(); err == nil {
		t.Fatal("reloading a broken certificate succeeded")
	}
	if cn := peer(); cn != "kvlab server 2" {
		t.Fatalf("after a failed reload a new connection sees %q", cn)
	}
}

// TestLoadTLSOptions: contradictory options are refused.
func TestLoadTLSOptions(t *testing.T) {
	p := newPKI(t)
	for _, o := range []server.TLSOptions{
		{CertFile: p.certFile},
		{CertFile: p.certFile, KeyFile: p.keyFile, ClientAuth: "yes"},
		{CertFile: p.certFile, KeyFile: p.keyFile, ClientAuth: "maybe", CAFile: p.caFile},
		{CertFile: p.certFile, KeyFile: p.keyFile, CAFile: filepath.Join(p.dir, "missing.pem")},
		{CertFile: p.keyFile, KeyFile: p.certFile},
	} {
		if _, err := server.LoadTLS(o); err == nil {
			t.Errorf("LoadTLS(%+v) succeeded", o)
		}
	}
}
