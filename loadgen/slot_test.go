package loadgen

import "testing"

// TestSlot checks the hash slot function against the vectors of the Redis cluster specification.
func TestSlot(t *testing.T) {
	for _, tc := range []struct {
		key  string
		same string // hashes like this key (hash-tag rules) ...
		want int    // ... or to this slot when same is ""
	}{
		{key: "foo", want: 12182},
		{key: "bar", want: 5061},
		{key: "123456789", want: 0x31C3}, // CRC16-XMODEM check value
		{key: "", want: 0},
		{key: "{user1000}.following", same: "user1000"},
		{key: "{user1000}.followers", same: "{user1000}.following"},
		{key: "foo{}{bar}", want: crcSlot("foo{}{bar}")},
		{key: "foo{{bar}}zap", same: "{bar"},
		{key: "foo{bar}{zap}", same: "bar"},
		{key: "{bar", want: crcSlot("{bar")},
		{key: "bar}", want: crcSlot("bar}")},
		{key: "{}", want: crcSlot("{}")},
		{key: "a{b}", same: "b"},
	} {
		want := tc.want
		if tc.same != "" {
			want = Slot([]byte(tc.same))
		}
		if got := Slot([]byte(tc.key)); got != want {
			t.Errorf("Slot(%q) = %d, want %d", tc.key, got, want)
		}
	}
}

func crcSlot(s string) int { return int(crc16([]byte(s)) % SlotCount) }

func BenchmarkSlot(b *testing.B) {
	keys := [][]byte{[]byte("device:123456"), []byte("{user1000}.following"), []byte("session:abcdefghijklmnopqrstuvwxyz0123456789")}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = Slot(keys[i%len(keys)])
	}
}
