// Package token mints and verifies kvlab's short-lived authentication tokens, a stand-in for the IAM
// authentication of ElastiCache and MemoryDB: a client presents `AUTH <user> <token>` instead of a
// password, and the token stops working when it expires.
//
// A token is
//
//	v1.<expiry>.<mac>
//
// where expiry is the Unix time in seconds after which the token is refused, and mac is the unpadded
// base64url encoding of HMAC-SHA256(key, "kvlab-token-v1\x00" + user + "\x00" + expiry). The user is not
// in the token: AUTH supplies it, and the MAC binds the two, so a token minted for one user is worthless
// for another. Anyone holding the key can mint tokens; keep the key file private (mode 0600).
package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// MinKeyLen is the shortest key accepted, in bytes.
const MinKeyLen = 16

const prefix = "v1."

// Errors of Verify and LoadKey.
var (
	// ErrMalformed: the string is not a token.
	ErrMalformed = errors.New("token: malformed token")
	// ErrBadSignature: the token was not minted with this key for this user.
	ErrBadSignature = errors.New("token: signature does not match")
	// ErrExpired: the token's expiry has passed.
	ErrExpired = errors.New("token: expired")
	// ErrShortKey: the key file holds fewer than MinKeyLen bytes.
	ErrShortKey = errors.New("token: key too short")
)

func mac(key []byte, user string, expiry int64) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kvlab-token-v1\x00"))
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write(strconv.AppendInt(nil, expiry, 10))
	return m.Sum(nil)
}

// Mint returns a token for user valid until expiry (truncated to the second).
func Mint(key []byte, user string, expiry time.Time) string {
	exp := expiry.Unix()
	return prefix + strconv.FormatInt(exp, 10) + "." + base64.RawURLEncoding.EncodeToString(mac(key, user, exp))
}

// Looks reports whether s has the form of a token (so a server can tell tokens from passwords cheaply).
func Looks(s []byte) bool { return len(s) > len(prefix) && string(s[:len(prefix)]) == prefix }

// Verify checks tok for user at now: nil when it was minted with key for user and has not expired. The
// signature is checked before the expiry, in constant time.
func Verify(key []byte, user string, tok []byte, now time.Time) error {
	if !Looks(tok) {
		return ErrMalformed
	}
	rest := string(tok[len(prefix):])
	expStr, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return ErrMalformed
	}
	exp, err := strconv.ParseInt(expStr, 10, 64)
	if err != nil || exp < 0 || strconv.FormatInt(exp, 10) != expStr {
		return ErrMalformed
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return ErrMalformed
	}
	if !hmac.Equal(got, mac(key, user, exp)) {
		return ErrBadSignature
	}
	if now.Unix() > exp {
		return fmt.Errorf("%w at %s", ErrExpired, time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// LoadKey reads a key file: its bytes with surrounding whitespace removed (so a key written by an editor
// or `openssl rand -base64 32 > key` works), at least MinKeyLen of them.
func LoadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("token: read key: %w", err)
	}
	k := []byte(strings.TrimSpace(string(b)))
	if len(k) < MinKeyLen {
		return nil, fmt.Errorf("%w: %s holds %d bytes, want at least %d", ErrShortKey, path, len(k), MinKeyLen)
	}
	return k, nil
}

// NewKeyFile writes a new random key (32 bytes, base64) to path with mode 0600; it refuses to overwrite.
func NewKeyFile(path string) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("token: new key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("token: new key: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("token: new key: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("token: new key: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("token: new key: close %s: %w", path, err)
	}
	return nil
}
