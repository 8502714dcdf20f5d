package server

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// features may not import one another; they declare what they consume and
// this package glues them.
var features = []string{
	"internal/ingest/otlp", "internal/ingest/remotewrite", "internal/ingest/scrape", "internal/ingest/loki",
	"internal/metrics", "internal/traces", "internal/logs", "internal/alerting", "internal/oncall", "internal/probes", "internal/auth", "internal/ui",
}

// shared packages any feature may import.
var shared = []string{"internal/apierr", "internal/memlimit", "internal/route", "internal/version", "internal/telemetrydb", "internal/state", "internal/outbox"}

const module = "github.com/vigilhq/vigil/"

func featureOf(pkg string) string {
	for _, f := range features {
		if pkg == module+f || strings.HasPrefix(pkg, module+f+"/") {
			return f
		}
	}
	return ""
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		from := featureOf(p.ImportPath)
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/duckdb/") && !strings.HasPrefix(p.ImportPath, module+"internal/telemetrydb") {
				t.Errorf("%s imports DuckDB; only internal/telemetrydb may", p.ImportPath)
			}
			if !strings.HasPrefix(imp, module) {
				continue
			}
			if strings.HasPrefix(imp, module+"internal/server") && !strings.HasPrefix(p.ImportPath, module+"cmd/") && !strings.HasPrefix(p.ImportPath, module+"internal/server") {
				t.Errorf("%s imports internal/server; only cmd may", p.ImportPath)
			}
			if from == "" {
				continue
			}
			if to := featureOf(imp); to != "" && to != from {
				t.Errorf("feature %s imports feature %s (%s -> %s): declare an interface in the consumer and wire it in internal/server", from, to, p.ImportPath, imp)
			}
			if strings.HasPrefix(imp, module+"internal/config") {
				t.Errorf("%s imports internal/config: features take Options; the server maps config to them", p.ImportPath)
			}
		}
	}
}

func TestSharedPackagesImportNoFeature(t *testing.T) {
	for _, s := range shared {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, module+s+"/...").Output()
		if err != nil {
			continue // not written yet
		}
		for _, imp := range strings.Fields(string(out)) {
			if featureOf(imp) != "" {
				t.Errorf("shared package %s imports feature %s", s, imp)
			}
		}
	}
}
