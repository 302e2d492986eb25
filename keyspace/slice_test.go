package keyspace

import (
	"testing"
	"time"
)

func TestLockSlice(t *testing.T) {
	ks := New()
	tests := []struct {
		name  string
		limit time.Duration
		over  bool
	}{
		{"within its limit", time.Hour, false},
		{"past its limit", time.Nanosecond, true},
	}
	for _, tc := range tests {
		s := ks.LockSlice(tc.limit)
		if ks.Mu.TryLock() {
			t.Fatalf("%s: Mu is free during the slice", tc.name)
		}
		time.Sleep(time.Millisecond)
		if got := s.Over(); got != tc.over {
			t.Errorf("%s: Over = %v, want %v", tc.name, got, tc.over)
		}
		if held := s.Yield(); held < time.Millisecond {
			t.Errorf("%s: Yield reports %v held, want at least 1ms", tc.name, held)
		}
		if !ks.Mu.TryLock() {
			t.Fatalf("%s: Mu still held after Yield", tc.name)
		}
		ks.Mu.Unlock()
	}
}
