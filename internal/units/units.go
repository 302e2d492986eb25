// Package units parses and formats memory sizes the way Redis's configuration does.
package units

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseBytes parses a size with Redis's units: a bare number is bytes; k/m/g are powers of 1000 and
// kb/mb/gb powers of 1024 (case-insensitive), as in redis.conf. "0" means unlimited where callers say so.
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"g", 1e9}, {"m", 1e6}, {"k", 1e3}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("units: invalid size %q: use a number of bytes with an optional unit (k, kb, m, mb, g, gb), e.g. 256mb", s)
	}
	if n > 0 && mult > (1<<63-1)/n {
		return 0, fmt.Errorf("units: size %q overflows", s)
	}
	return n * mult, nil
}

// FormatBytes formats n with binary units as Redis's *_human fields do ("1.50M").
func FormatBytes(n int64) string {
	f := float64(n)
	for _, u := range []string{"B", "K", "M", "G", "T"} {
		if f < 1024 || u == "T" {
			if u == "B" {
				return fmt.Sprintf("%dB", n)
			}
			return fmt.Sprintf("%.2f%s", f, u)
		}
		f /= 1024
	}
	return ""
}
