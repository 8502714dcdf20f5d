// Package version holds build information set by the linker
// (-X github.com/vigilhq/vigil/internal/version.Version=...).
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by -ldflags at build time.
var (
	Version   = "dev"
	Commit    = ""
	BuildDate = ""
)

// Revision returns Commit, or the VCS revision the Go toolchain recorded.
func Revision() string {
	if Commit != "" {
		return Commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// String is the one-line version for `vigil version`.
func String() string {
	return fmt.Sprintf("vigil %s (commit %s, built %s, %s %s/%s)", Version, Revision(), orUnknown(BuildDate), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
