package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
)

// TLSOptions name the files of a TLS setup, like Redis's tls-cert-file, tls-key-file, tls-ca-cert-file and
// tls-auth-clients.
type TLSOptions struct {
	CertFile string
	KeyFile  string
	// CAFile holds the CA certificates that client certificates must chain to.
	CAFile string
	// ClientAuth is "yes" (client certificates required), "optional" (verified when sent) or "no";
	// "" means "yes" when CAFile is set, else "no".
	ClientAuth string
}

// Errors of TLS setup.
var (
	// ErrTLSOptions: the options are incomplete or contradictory.
	ErrTLSOptions = errors.New("server: bad TLS options")
)

// TLSCerts serves TLS with certificates that can be reloaded while the server runs: every handshake
// takes the configuration current at its start (tls.Config.GetConfigForClient over an atomic pointer),
// so Reload affects new connections only and never drops established ones.
type TLSCerts struct {
	opts TLSOptions
	cur  atomic.Pointer[tls.Config]
}

// LoadTLS reads the certificate, key and CA files. Only TLS 1.2 and 1.3 are offered.
func LoadTLS(o TLSOptions) (*TLSCerts, error) {
	if o.CertFile == "" || o.KeyFile == "" {
		return nil, fmt.Errorf("%w: both a certificate and a key file are needed", ErrTLSOptions)
	}
	switch strings.ToLower(o.ClientAuth) {
	case "":
		o.ClientAuth = "no"
		if o.CAFile != "" {
			o.ClientAuth = "yes"
		}
	case "yes", "optional", "no":
		o.ClientAuth = strings.ToLower(o.ClientAuth)
	default:
		return nil, fmt.Errorf("%w: client auth must be yes, optional or no, not %q", ErrTLSOptions, o.ClientAuth)
	}
	if o.ClientAuth != "no" && o.CAFile == "" {
		return nil, fmt.Errorf("%w: verifying client certificates needs a CA file", ErrTLSOptions)
	}
	t := &TLSCerts{opts: o}
	if err := t.Reload(); err != nil {
		return nil, err
	}
	return t, nil
}

// Reload rereads the files; on error the current configuration stays in use.
func (t *TLSCerts) Reload() error {
	cert, err := tls.LoadX509KeyPair(t.opts.CertFile, t.opts.KeyFile)
	if err != nil {
		return fmt.Errorf("server: load TLS certificate: %w", err)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}
	if t.opts.CAFile != "" {
		pem, err := os.ReadFile(t.opts.CAFile)
		if err != nil {
			return fmt.Errorf("server: load TLS CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("server: load TLS CA: no PEM certificates in %s", t.opts.CAFile)
		}
		cfg.ClientCAs = pool
	}
	switch t.opts.ClientAuth {
	case "yes":
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	case "optional":
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	t.cur.Store(cfg)
	return nil
}

// Config returns the configuration to put in Config.TLS.
func (t *TLSCerts) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return t.cur.Load(), nil
		},
	}
}

// Leaf returns the certificate currently served (parsed), for logs and tests.
func (t *TLSCerts) Leaf() (*x509.Certificate, error) {
	c := t.cur.Load().Certificates[0]
	if c.Leaf != nil {
		return c.Leaf, nil
	}
	return x509.ParseCertificate(c.Certificate[0])
}
