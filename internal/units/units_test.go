package units

import "testing"

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"0", 0, false}, {"100", 100, false}, {"1k", 1000, false}, {"1kb", 1024, false}, {"256mb", 256 << 20, false},
		{"2GB", 2 << 30, false}, {"3m", 3e6, false}, {"1g", 1e9, false}, {"-1", 0, true}, {"abc", 0, true},
		{"10xb", 0, true}, {"99999999999gb", 0, true},
	} {
		got, err := ParseBytes(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d, err=%v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for in, want := range map[int64]string{0: "0B", 1023: "1023B", 1536: "1.50K", 3 << 20: "3.00M"} {
		if got := FormatBytes(in); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", in, got, want)
		}
	}
}
