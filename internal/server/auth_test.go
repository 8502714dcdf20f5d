package server

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/route"
)

// securityRoutes is the generated part of docs/security.md: the route
// table grouped by scope.
func securityRoutes(routes []route.Route) string {
	var b strings.Builder
	for _, sc := range route.Scopes {
		var rows []string
		for _, r := range routes {
			if r.Scope != sc {
				continue
			}
			m := r.Method
			if m == "" {
				m = "any"
			}
			rows = append(rows, fmt.Sprintf("| %s | `%s` | %s |", m, r.Pattern, strings.ReplaceAll(r.Doc, "|", `\|`)))
		}
		sort.Strings(rows)
		fmt.Fprintf(&b, "\n### `%s` (%d routes)\n\n| method | path | what |\n|---|---|---|\n%s\n", sc, len(rows), strings.Join(rows, "\n"))
	}
	return b.String()
}

// TestSecurityDoc keeps docs/security.md's route table equal to the real
// one, and checks that every route has a scope the middleware knows.
func TestSecurityDoc(t *testing.T) {
	s := startServer(t, "")
	routes := s.Routes()
	for _, r := range routes {
		if !r.Scope.Valid() {
			t.Errorf("route %s has no valid scope (%q)", r.MuxPattern(), r.Scope)
		}
	}
	path := filepath.Join("..", "..", "docs", "security.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const open, end = "<!-- routes: generated -->\n", "<!-- /routes -->"
	doc := string(b)
	i, j := strings.Index(doc, open), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("docs/security.md lacks the %q ... %q markers", open, end)
	}
	want := doc[:i+len(open)] + securityRoutes(routes) + doc[j:]
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if doc != want {
		t.Fatal("docs/security.md's route table is stale; run go test ./internal/server -run TestSecurityDoc -update")
	}
}
