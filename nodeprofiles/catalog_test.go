package nodeprofiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultCatalogValid(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if c.ReadAt == "" || len(c.Filter("memorydb", "")) == 0 || len(c.Filter("elasticache", "r6gd")) == 0 {
		t.Fatalf("catalog incomplete: %d nodes", len(c.Nodes))
	}
	for _, n := range c.Nodes {
		if n.Source == "E" && !n.Estimated {
			t.Errorf("%s: an estimate must say estimated: true", n.Type)
		}
	}
}

func TestInvalidCatalogsNameTheField(t *testing.T) {
	base := "sources: {X: x}\nnodes:\n  - {service: elasticache, type: cache.x, vcpu: 2, memory_gib: 1, net: [1, 1], price: 0.1, source: X}\n"
	for _, tc := range []struct{ mutate, want string }{
		{"price: 0.1", "price must be positive"},
		{"source: X", "source is required"},
		{"vcpu: 2", "vcpu must be positive"},
		{"service: elasticache", "service"},
	} {
		bad := strings.Replace(base, tc.mutate, strings.Split(tc.mutate, ":")[0]+": "+map[string]string{"price: 0.1": "0", "source: X": "\"\"", "vcpu: 2": "0", "service: elasticache": "redis"}[tc.mutate], 1)
		if _, err := Parse("bad.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nodes[0]") {
			t.Errorf("%s: %v", tc.mutate, err)
		}
	}
	if _, err := Parse("bad.yaml", []byte("nodez: []\n")); err == nil {
		t.Error("unknown field accepted")
	}
}

func TestOverride(t *testing.T) {
	c, _ := Default()
	p := filepath.Join(t.TempDir(), "mine.yaml")
	os.WriteFile(p, []byte("read_at: \"2026-12-01\"\nsources: {N: negotiated}\nnodes:\n  - {service: elasticache, type: cache.r6g.large, family: r6g, vcpu: 2, memory_gib: 13.07, net: [0.75, 10], price: 0.15, source: N}\n"), 0o644)
	if err := c.Override(p); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		if n.Type == "cache.r6g.large" && n.Price != 0.15 {
			t.Fatalf("override not applied: %+v", n)
		}
	}
	if !strings.Contains(c.ReadAt, "2026-12-01") {
		t.Fatalf("read_at = %q", c.ReadAt)
	}
}
