package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kvlab/kvlab/internal/proctest"
	"github.com/kvlab/kvlab/results"
)

// secPKI writes a CA and a server certificate for 127.0.0.1 as PEM files.
type secPKI struct {
	ca       *x509.Certificate
	caKey    *ecdsa.PrivateKey
	caFile   string
	certFile string
	keyFile  string
	pool     *x509.CertPool
}

func newSecPKI(t *testing.T, dir string) *secPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kvlab test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := &secPKI{caKey: key, caFile: filepath.Join(dir, "ca.pem"), certFile: filepath.Join(dir, "server.pem"),
		keyFile: filepath.Join(dir, "server.key"), pool: x509.NewCertPool()}
	p.ca, _ = x509.ParseCertificate(der)
	p.pool.AddCert(p.ca)
	os.WriteFile(p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	p.issue(t, "kvlab server 1", 2)
	return p
}

func (p *secPKI) issue(t *testing.T, cn string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	// Write the key first and the certificate last, each atomically, as a certificate manager would.
	for _, f := range []struct {
		path, typ string
		der       []byte
	}{{p.keyFile, "EC PRIVATE KEY", kder}, {p.certFile, "CERTIFICATE", der}} {
		tmp := f.path + ".tmp"
		os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600)
		if err := os.Rename(tmp, f.path); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServeSecurityEndToEnd runs the real binary as an operator would: TLS on --addr, --requirepass,
// an --aclfile with a password user and a token user, --token-key-file. It checks that go-redis connects
// with TLS + user name + password (MemoryDB's client setup) and with a token from `kvlab token`; that
// `kvlab bench` drives the server over rediss:// with user and password; and that SIGHUP reloads the
// certificate without dropping an established connection.
func TestServeSecurityEndToEnd(t *testing.T) {
	bin := proctest.Binary(t)
	dir := t.TempDir()
	pki := newSecPKI(t, dir)
	keyFile := filepath.Join(dir, "token.key")
	if out, err := exec.Command(bin, "token", "--new-key", "--key-file", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("kvlab token --new-key: %v\n%s", err, out)
	}
	aclFile := filepath.Join(dir, "users.acl")
	os.WriteFile(aclFile, []byte("user app on >apppw ~* &* +@all\nuser svc on token ~svc:* +@all\n"), 0o600)
	srv := proctest.Start(t, "--tls-cert", pki.certFile, "--tls-key", pki.keyFile, "--requirepass", "adminpw",
		"--aclfile", aclFile, "--token-key-file", keyFile)
	tlsCfg := func() *tls.Config { return &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1"} }
	client := func(user, pass string, tc *tls.Config) *redis.Client {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: user, Password: pass, TLSConfig: tc, MaxRetries: -1, DisableIdentity: true})
		t.Cleanup(func() { rdb.Close() })
		return rdb
	}
	ctx := t.Context()
	app := client("app", "apppw", tlsCfg())
	if err := app.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("TLS + user + password: %v", err)
	}
	if err := client("app", "wrong", tlsCfg()).Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password: %v", err)
	}
	if err := client("app", "apppw", nil).Ping(ctx).Err(); err == nil {
		t.Fatal("a plain-text client was served on the TLS port")
	}
	if err := client("default", "adminpw", tlsCfg()).Ping(ctx).Err(); err != nil {
		t.Fatalf("--requirepass on top of an ACL file without a default user: %v", err)
	}
	tok, err := exec.Command(bin, "token", "--user", "svc", "--ttl", "1m", "--key-file", keyFile).Output()
	if err != nil {
		t.Fatalf("kvlab token: %v", err)
	}
	svc := client("svc", strings.TrimSpace(string(tok)), tlsCfg())
	if err := svc.Set(ctx, "svc:1", "v", 0).Err(); err != nil {
		t.Fatalf("AUTH with a token from kvlab token: %v", err)
	}

	// kvlab bench over TLS with user name and password.
	scenario := filepath.Join(dir, "getset.yaml")
	os.WriteFile(scenario, []byte(getSetScenario), 0o644)
	out := filepath.Join(dir, "result.json")
	bench := exec.Command(bin, "bench", "--scenario", scenario, "--target", "rediss://app:apppw@"+srv.Addr,
		"--tls-ca", pki.caFile, "--duration", "1s", "--warmup", "0s", "--connections", "4", "--pipeline", "4",
		"--out", out, "--quiet")
	if b, err := bench.CombinedOutput(); err != nil {
		t.Fatalf("kvlab bench over rediss://: %v\n%s", err, b)
	}
	r, err := results.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total.Count == 0 || r.Total.Errors != 0 || len(r.Errors) != 0 {
		t.Fatalf("bench over TLS: %d operations, %d errors %v", r.Total.Count, r.Total.Errors, r.Errors)
	}
	if b, _ := exec.Command(bin, "bench", "--scenario", scenario, "--target", "rediss://app:nope@"+srv.Addr,
		"--tls-ca", pki.caFile, "--duration", "1s", "--warmup", "0s", "--connections", "1", "--quiet").CombinedOutput(); !strings.Contains(string(b), "WRONGPASS") {
		t.Fatalf("bench with a wrong password should report WRONGPASS:\n%s", b)
	}

	// SIGHUP reloads the certificate; the established connection keeps working.
	held := app.Conn()
	defer held.Close()
	if err := held.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	info, err := held.Info(ctx, "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	pid := 0
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "process_id:"); ok {
			pid, _ = strconv.Atoi(v)
		}
	}
	if pid == 0 {
		t.Fatalf("no process_id in INFO server:\n%s", info)
	}
	pki.issue(t, "kvlab server 2", 3)
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := tls.Dial("tcp", srv.Addr, tlsCfg())
		if err != nil {
			t.Fatal(err)
		}
		cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName
		conn.Close()
		if cn == "kvlab server 2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGHUP new connections still get %q\n%s", cn, srv.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v, err := held.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("connection established before SIGHUP: %q, %v", v, err)
	}
	// The server installs the new certificate, then logs: the line may follow the first new handshake.
	for !strings.Contains(srv.Output(), "SIGHUP: reloaded the TLS certificate") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload message:\n%s", srv.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// getSetScenario is GET and SET of 100-byte values over 10,000 keys, half each.
const getSetScenario = `name: getset
description: GET and SET of 100-byte values over 10,000 keys, half each.
defaults: {connections: 50, pipeline: 1, duration: 10s, warmup: 2s}
keyspaces:
  k: {pattern: "key:{id}", count: 10000}
values:
  v:
    size: {min: 100, max: 100}
preload:
  - keyspace: k
    command: [SET, "{key}", "{value:v}"]
operations:
  - name: get
    weight: 50
    keyspace: k
    distribution: {type: uniform}
    commands:
      - [GET, "{key}"]
  - name: set
    weight: 50
    keyspace: k
    value: v
    distribution: {type: uniform}
    commands:
      - [SET, "{key}", "{value}"]
`
