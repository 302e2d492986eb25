package cluster

import "testing"

func TestKeySlot(t *testing.T) {
	for _, tc := range []struct {
		key  string
		same string // a key that must hash like key ("" = none)
		slot int    // expected slot (-1 = not checked)
	}{
		{"foo", "", 12182},
		{"bar", "", 5061},
		{"", "", 0},
		{"123456789", "", 0x31C3 & 16383}, // CRC16-XMODEM check value
		{"{user1000}.following", "{user1000}.followers", -1},
		{"{user1000}.following", "user1000", -1},
		{"foo{}{bar}", "", -1},        // empty first tag: the whole key is hashed
		{"foo{{bar}}zap", "{bar", -1}, // tag is "{bar"
		{"foo{bar}{zap}", "bar", -1},  // first tag only
		{"{bar", "", -1},              // no closing brace: whole key
		{"a{b}c", "b", -1},
	} {
		got := KeySlot([]byte(tc.key))
		if s := KeySlotString(tc.key); s != got {
			t.Errorf("KeySlotString(%q) = %d, KeySlot = %d", tc.key, s, got)
		}
		if tc.slot >= 0 && got != tc.slot {
			t.Errorf("KeySlot(%q) = %d, want %d", tc.key, got, tc.slot)
		}
		if tc.same != "" && got != KeySlot([]byte(tc.same)) {
			t.Errorf("KeySlot(%q) = %d, want the slot of %q (%d)", tc.key, got, tc.same, KeySlot([]byte(tc.same)))
		}
	}
	// "foo{}{bar}" hashes as a whole key, not as "bar".
	if KeySlot([]byte("foo{}{bar}")) != int(CRC16([]byte("foo{}{bar}")))%SlotCount {
		t.Error("foo{}{bar} must hash the whole key")
	}
}

func BenchmarkKeySlot(b *testing.B) {
	key := []byte("device:{000123}:state")
	for b.Loop() {
		KeySlot(key)
	}
}
