package main

import (
	"context"
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
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kvlab/kvlab/internal/proctest"
)

// TestReplicationTLSAuth: a primary that serves only TLS, requires client certificates and a password; a
// replica started with --tls-replication --tls-ca --tls-cert --tls-key --masterauth follows it.
func TestReplicationTLSAuth(t *testing.T) {
	dir := t.TempDir()
	pki := newSecPKI(t, dir)
	// A certificate good for both ends (the replica serves TLS with it and presents it to the primary).
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "replica"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, pki.ca, &key.PublicKey, pki.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	cert, keyf := filepath.Join(dir, "replica.pem"), filepath.Join(dir, "replica.key")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyf, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)

	p := proctest.Start(t, "--tls-cert", pki.certFile, "--tls-key", pki.keyFile, "--tls-ca", pki.caFile, "--requirepass", "pw")
	kp, err := tls.LoadX509KeyPair(cert, keyf)
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{kp}, ServerName: "127.0.0.1"}
	pc := redis.NewClient(&redis.Options{Addr: p.Addr, Password: "pw", TLSConfig: tc, MaxRetries: -1})
	defer pc.Close()
	ctx := context.Background()
	if err := pc.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r := proctest.Start(t, "--replicaof", p.Addr, "--tls-replication", "--tls-ca", pki.caFile, "--tls-cert", cert,
		"--tls-key", keyf, "--tls-auth-clients", "no", "--masterauth", "pw")
	rc := redis.NewClient(&redis.Options{Addr: r.Addr, TLSConfig: tc, MaxRetries: -1})
	defer rc.Close()
	pc.Set(ctx, "k2", "after", 0)
	deadline := time.Now().Add(10 * time.Second)
	for rc.Get(ctx, "k2").Val() != "after" {
		if time.Now().After(deadline) {
			info, _ := rc.Info(ctx, "replication").Result()
			t.Fatalf("replica over TLS never got k2:\n%s", info)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := rc.Get(ctx, "k").Val(); v != "before" {
		t.Fatalf("full sync over TLS: k=%q", v)
	}
	// Without the password the link is refused, with a message that names the flag.
	r2 := proctest.Start(t, "--replicaof", p.Addr, "--tls-replication", "--tls-ca", pki.caFile, "--tls-cert", cert,
		"--tls-key", keyf, "--tls-auth-clients", "no")
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(r2.Output(), "--masterauth") {
		if time.Now().After(deadline) {
			t.Fatalf("no hint about --masterauth in the replica's log:\n%s", r2.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
