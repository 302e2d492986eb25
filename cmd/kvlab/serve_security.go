package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/server"
)

// Access-control and TLS flags of `kvlab serve`. They are added by variable initialization, which runs
// before every init function, so serve.go's init already sees them when it builds the serve command.
var _ = func() int {
	extraServeFlags = append(extraServeFlags,
		&cli.StringFlag{Name: "requirepass", EnvVars: []string{"KVLAB_REQUIREPASS"}, Usage: "password of the default user (like Redis's requirepass; also read from $KVLAB_REQUIREPASS, which keeps it out of ps)"},
		&cli.StringFlag{Name: "aclfile", Usage: "ACL file in Redis's format (\"user alice on >pw ~app:* +@all\" per line), loaded at start and used by ACL LOAD / ACL SAVE"},
		&cli.StringFlag{Name: "protected-mode", Value: "yes", Usage: "yes: while the default user has no password, accept only loopback clients (Redis's protected mode); no: accept everyone"},
		&cli.StringFlag{Name: "token-key-file", Usage: "HMAC key for short-lived tokens (minted with kvlab token); users with the \"token\" ACL rule accept AUTH <user> <token>"},
		&cli.StringFlag{Name: "tls-cert", Usage: "TLS certificate (PEM); with --tls-key serves TLS 1.2+ on --addr, or on --tls-addr when given; SIGHUP reloads the files"},
		&cli.StringFlag{Name: "tls-key", Usage: "TLS private key (PEM)"},
		&cli.StringFlag{Name: "tls-ca", Usage: "CA certificates (PEM) that client certificates must chain to"},
		&cli.StringFlag{Name: "tls-auth-clients", Usage: "client certificates: yes (required), optional (verified if sent) or no; default yes with --tls-ca, else no"},
		&cli.StringFlag{Name: "tls-addr", Usage: "serve TLS on this separate address and keep --addr plain text"},
	)
	serveConfigHooks = append(serveConfigHooks, securityServeConfig)
	return 0
}()

// securityServeConfig maps the access-control and TLS flags into the server config, and arranges for
// SIGHUP to reload the TLS certificate.
func securityServeConfig(c *cli.Context, cfg *server.Config) error {
	if cfg.Extra == nil {
		cfg.Extra = map[string]string{}
	}
	for flag, key := range map[string]string{
		"requirepass": server.ExtraRequirePass, "aclfile": server.ExtraACLFile,
		"protected-mode": server.ExtraProtectedMode, "token-key-file": server.ExtraTokenKeyFile,
	} {
		if c.IsSet(flag) || flag == "protected-mode" {
			cfg.Extra[key] = c.String(flag)
		}
	}
	if pm := strings.ToLower(c.String("protected-mode")); pm != "yes" && pm != "no" {
		return fmt.Errorf("--protected-mode must be yes or no, not %q", c.String("protected-mode"))
	}
	cert, key := c.String("tls-cert"), c.String("tls-key")
	if cert == "" && key == "" {
		for _, f := range []string{"tls-ca", "tls-auth-clients", "tls-addr"} {
			if f == "tls-ca" && c.Bool("tls-replication") {
				continue // a replica may use --tls-ca only to verify its primary
			}
			if c.IsSet(f) {
				return fmt.Errorf("--%s needs --tls-cert and --tls-key", f)
			}
		}
		return nil
	}
	certs, err := server.LoadTLS(server.TLSOptions{CertFile: cert, KeyFile: key, CAFile: c.String("tls-ca"),
		ClientAuth: c.String("tls-auth-clients")})
	if err != nil {
		return err
	}
	cfg.TLS = certs.Config()
	cfg.TLSAddr = c.String("tls-addr")
	if cfg.ClientTLS, err = clientTLS(cert, key, c.String("tls-ca")); err != nil {
		return err
	}
	go reloadOnHangup(certs)
	return nil
}

// reloadOnHangup reloads the TLS files on every SIGHUP, for the life of the process. Established
// connections keep their session; new handshakes use the new certificate.
func reloadOnHangup(certs *server.TLSCerts) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP)
	for range sig {
		if err := certs.Reload(); err != nil {
			fmt.Fprintf(os.Stderr, "kvlab: SIGHUP: %v (still serving the previous certificate)\n", err)
			continue
		}
		if leaf, err := certs.Leaf(); err == nil {
			fmt.Fprintf(os.Stderr, "kvlab: SIGHUP: reloaded the TLS certificate (subject %s, valid until %s)\n",
				leaf.Subject, leaf.NotAfter.UTC().Format("2006-01-02 15:04:05 MST"))
		}
	}
}

// clientTLS is the TLS configuration of connections kvlab opens to servers (MIGRATE and replication links
// between nodes, kvlab cluster reshard). It presents certFile/keyFile when given and trusts caFile, or
// else the system roots and the certificate it presents (the nodes of a local cluster share one).
func clientTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	var leaf *x509.Certificate
	if certFile != "" || keyFile != "" {
		kp, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		tc.Certificates = []tls.Certificate{kp}
		leaf, _ = x509.ParseCertificate(kp.Certificate[0])
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", caFile)
		}
		return tc, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if leaf != nil {
		pool.AddCert(leaf)
	}
	tc.RootCAs = pool
	return tc, nil
}
