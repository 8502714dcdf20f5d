package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunCommands(t *testing.T) {
	f := func(args []string, wantErr bool, wantOut string) {
		t.Helper()
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut)
		if (err != nil) != wantErr {
			t.Fatalf("%v: err %v, stderr %s", args, err, errOut.String())
		}
		if !strings.Contains(out.String()+errOut.String(), wantOut) {
			t.Fatalf("%v: output %q lacks %q", args, out.String()+errOut.String(), wantOut)
		}
	}
	f([]string{"version"}, false, "vigil ")
	f([]string{"help"}, false, "check-config")
	f([]string{"bogus"}, true, "usage")
	f([]string{"serve", "--log-level", "loud"}, true, "")
	f([]string{"serve", "extra"}, true, "")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("nope: 1\n"), 0o644)
	f([]string{"check-config", bad}, true, "bad.yaml:1")
	good := filepath.Join(dir, "good.yaml")
	_ = os.WriteFile(good, []byte("data_dir: x\n"), 0o644)
	f([]string{"check-config", good}, false, "OK")
	f([]string{"check-config"}, true, "usage")
	if exitCode(usageError{"x"}) != 2 {
		t.Fatal("usage errors exit 2")
	}
}
