package keyspace

import (
	"testing"
	"unsafe"
)

// TestObjectFitsSizeClass guards the per-key overhead: Object must stay within Go's 80-byte size class.
func TestObjectFitsSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(Object{}); n > 80 {
		t.Fatalf("Object is %d bytes; it must fit the 80-byte size class (every key pays for it)", n)
	}
}

func TestObjectValueAccessors(t *testing.T) {
	o := NewString([]byte("abc"))
	if string(o.Str()) != "abc" || o.Val() != nil {
		t.Fatalf("string object: Str %q Val %v", o.Str(), o.Val())
	}
	o.SetStr(append(o.Str(), "def"...))
	if string(o.Str()) != "abcdef" {
		t.Fatalf("after SetStr: %q", o.Str())
	}
	empty := NewString([]byte{})
	if s := empty.Str(); s == nil || len(s) != 0 {
		t.Fatalf("empty string: %v", s)
	}
	l := NewValue(TypeList, &List{})
	if _, ok := l.Val().(*List); !ok || l.Str() != nil {
		t.Fatalf("list object: Val %T", l.Val())
	}
	l.SetCold(7, 9)
	if tag, seq := l.ColdHandle(); !l.Cold || tag != 7 || seq != 9 || l.Val() != nil {
		t.Fatalf("cold: %v %d %d %v", l.Cold, tag, seq, l.Val())
	}
	l.SetValue(NewValue(TypeList, &List{}))
	if _, ok := l.Val().(*List); !ok || l.Cold {
		t.Fatal("SetValue did not make the object hot")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("SetVal of a set into a list object did not panic")
		}
	}()
	l.SetVal(&Set{})
}
