package vigil_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// goBlock returns the first ```go block after the heading in the Markdown
// file.
func goBlock(t *testing.T, file, heading string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := "\n" + string(b)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("%s: no heading %q", file, heading)
	}
	s = s[i+1:]
	if next := strings.Index(s[len(heading):], "\n## "); next >= 0 {
		s = s[:len(heading)+next] // the section only
	}
	start := strings.Index(s, "```go\n")
	if start < 0 {
		t.Fatalf("%s: no go block after %q", file, heading)
	}
	s = s[start+len("```go\n"):]
	end := strings.Index(s, "\n```")
	if end < 0 {
		t.Fatalf("%s: unterminated go block", file)
	}
	return s[:end+1]
}

// The README's example compiles as written, and the repository's README
// shows the same program.
func TestREADMEExampleBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	code := goBlock(t, "README.md", "## Instrument a Go service in five lines")
	if top := goBlock(t, filepath.Join("..", "README.md"), "## Instrument a Go service in five lines"); top != code {
		t.Errorf("README.md and sdk/README.md show different programs:\n%s\n---\n%s", top, code)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", filepath.Join(dir, "example"), src)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's example does not build: %v\n%s\n%s", err, out, code)
	}
	cmd = exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "vet", src)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet on the README's example: %v\n%s", err, out)
	}
}
