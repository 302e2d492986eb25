package token

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	other := []byte("fedcba9876543210fedcba9876543210")
	now := time.Unix(1_700_000_000, 0)
	good := Mint(key, "alice", now.Add(15*time.Minute))
	if !strings.HasPrefix(good, "v1.1700000900.") {
		t.Fatalf("token %q: want the v1.<expiry>. prefix", good)
	}
	tests := []struct {
		name string
		key  []byte
		user string
		tok  string
		at   time.Time
		want error
	}{
		{"valid", key, "alice", good, now, nil},
		{"valid at the last second", key, "alice", good, now.Add(15 * time.Minute), nil},
		{"expired", key, "alice", good, now.Add(15*time.Minute + time.Second), ErrExpired},
		{"other user", key, "bob", good, now, ErrBadSignature},
		{"other key", other, "alice", good, now, ErrBadSignature},
		{"expiry changed", key, "alice", strings.Replace(good, "1700000900", "1800000900", 1), now, ErrBadSignature},
		{"leading zero expiry", key, "alice", strings.Replace(good, "v1.", "v1.0", 1), now, ErrMalformed},
		{"a password", key, "alice", "hunter2", now, ErrMalformed},
		{"no signature", key, "alice", "v1.1700000900", now, ErrMalformed},
		{"bad base64", key, "alice", "v1.1700000900.!!!", now, ErrMalformed},
		{"truncated signature", key, "alice", good[:len(good)-4], now, ErrBadSignature},
		{"empty", key, "alice", "", now, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.key, tc.user, []byte(tc.tok), tc.at)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key")
	if err := NewKeyFile(p); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	if err := NewKeyFile(p); err == nil {
		t.Fatal("NewKeyFile overwrote an existing key")
	}
	k, err := LoadKey(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(k) != 44 {
		t.Fatalf("key length %d, want 44 (base64 of 32 bytes)", len(k))
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("  tooshort \n"), 0o600)
	if _, err := LoadKey(short); !errors.Is(err, ErrShortKey) {
		t.Fatalf("short key: %v", err)
	}
	if _, err := LoadKey(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing key file accepted")
	}
}
