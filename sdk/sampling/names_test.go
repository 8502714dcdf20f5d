package sampling

import (
	"fmt"
	"testing"
)

func TestNameTable(t *testing.T) {
	m := map[string]int{"": 1, "a": 2, "GET /health": 3}
	// Names that share their first, middle and last 8 bytes and length
	// hash alike; lookups must still tell them apart.
	for i := range 200 {
		m[fmt.Sprintf("GET /api/v1/orders/%03d/items/list", i)] = 100 + i
	}
	tab := newNameTable(m)
	if tab.n != len(m) {
		t.Fatalf("n = %d, want %d", tab.n, len(m))
	}
	for k, want := range m {
		if got, ok := tab.get(k); !ok || got != want {
			t.Errorf("get(%q) = %d, %v; want %d", k, got, ok, want)
		}
	}
	for _, k := range []string{"b", "GET /health ", "GET /api/v1/orders/200/items/list", "GET /api/v1/orders/000/items/lis"} {
		if v, ok := tab.get(k); ok {
			t.Errorf("get(%q) = %d, want absent", k, v)
		}
	}
	tab2 := tab.with("b", 7)
	if v, ok := tab2.get("b"); !ok || v != 7 {
		t.Errorf("with: get(b) = %d, %v", v, ok)
	}
	if _, ok := tab.get("b"); ok {
		t.Error("with changed the original table")
	}
	if v, _ := tab2.get("GET /health"); v != 3 || tab2.n != len(m)+1 {
		t.Errorf("with lost entries: %d, n=%d", v, tab2.n)
	}
	seen := 0
	tab2.each(func(string, int) { seen++ })
	if seen != tab2.n {
		t.Errorf("each saw %d of %d", seen, tab2.n)
	}
}

func TestNameTableEmpty(t *testing.T) {
	tab := newNameTable(map[string]*rule{})
	if _, ok := tab.get("x"); ok {
		t.Fatal("empty table found a name")
	}
}

// TestNameHashUsesEveryByte: names that differ only in their middle bytes
// (templated routes) hash apart.
func TestNameHashUsesEveryByte(t *testing.T) {
	seen := map[uint64]bool{}
	for i := range 1000 {
		seen[nameHash(fmt.Sprintf("GET /api/v1/tenants/%04d/orders/list", i))] = true
	}
	if len(seen) < 999 {
		t.Fatalf("%d distinct hashes among 1000 names", len(seen))
	}
}
