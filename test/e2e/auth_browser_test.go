package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAuthBrowser signs in with Debian's Chromium driven by playwright-core
// (test/e2e/browser/login.mjs): it sees the index page, is refused a state
// change without the CSRF token, and signs out.
func TestAuthBrowser(t *testing.T) {
	DebianTool(t, "chromium", "chromium")
	npm := DebianTool(t, "npm", "npm")
	dir := filepath.Join(repoRoot, "test", "e2e", "browser")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		cmd := exec.Command(npm, "install", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm install in test/e2e/browser: %v\n%s", err, out)
		}
	}
	v := StartVigil(t, StartOptions{Config: "auth: {mode: local}\n", Env: []string{"VIGIL_ADMIN_PASSWORD=" + adminPassword}})
	out, err := RunCmd(t, 2*time.Minute, "node", filepath.Join(dir, "login.mjs"), "http://"+v.HTTP, "admin", adminPassword)
	if err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("browser test: %v\n%s", err, out)
	}
}
