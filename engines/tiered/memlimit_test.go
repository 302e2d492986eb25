package tiered

import "testing"

func TestMemoryLimit(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name                                  string
		budget, counted, live, floor, outside int64
		want                                  int64
	}{
		// The heap outside what the budget counts (224 MB) + 1.3 x 256 MB - Pebble's 20 MB, above the floor and its room.
		{"budget rules", 256 * mb, 256 * mb, 480 * mb, 460 * mb, 20 * mb, 224*mb + 256*mb/10*13 - 20*mb},
		// The floor (fragmentation, runtime) above that: the floor plus a quarter of the budget.
		{"floor rules", 256 * mb, 256 * mb, 480 * mb, 600 * mb, 20 * mb, 600*mb + 64*mb},
		// A large budget: a quarter of it as room to allocate in.
		{"large budget", 4096 * mb, 4096 * mb, 5000 * mb, 9000 * mb, 20 * mb, 9000*mb + 1024*mb},
		// A small budget: never less than 64 MB of room.
		{"small budget", 16 * mb, 16 * mb, 100 * mb, 300 * mb, 20 * mb, 300*mb + 64*mb},
		// Counted bytes above the live heap (counted before a collection freed them): no negative part.
		{"counted over live", 256 * mb, 300 * mb, 200 * mb, 100 * mb, 0, 256 * mb / 10 * 13},
	}
	for _, tc := range tests {
		if got := memoryLimit(tc.budget, tc.counted, tc.live, tc.floor, tc.outside); got != tc.want {
			t.Errorf("%s: memoryLimit = %d MB, want %d MB", tc.name, got/mb, tc.want/mb)
		}
	}
}
