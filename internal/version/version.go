// Package version holds build information set by the linker
// (-X github.com/vigilhq/vigil/internal/version.Version=...), with
// defaults that keep every field meaningful in a plain `go build`.
//
// Version is always a semantic version (Grafana's Prometheus data source
// parses status/buildinfo's version to pick features): a release tag
// (0.3.0), or between releases the next one marked as a development
// build with its commit, 0.3.0-dev+3f2c1ab (the Makefile derives it from
// git describe and Next).
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Next is the version the code on this branch will be released as; the
// Makefile reads it from here when HEAD has no release tag.
const Next = "0.3.0"

// Set by -ldflags at build time; init fills those left empty from the Go
// toolchain's build information, so after init every one is set and
// Version is a semantic version.
var (
	Version   = ""
	Commit    = ""
	Branch    = ""
	BuildUser = ""
	BuildDate = ""
)

func init() {
	settings := map[string]string{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
	}
	if Commit == "" {
		Commit = orUnknown(settings["vcs.revision"])
	}
	if Version == "" {
		Version = devVersion(Commit, settings["vcs.modified"] == "true")
	}
	if BuildDate == "" {
		BuildDate = orUnknown(settings["vcs.time"])
	}
	Branch = orUnknown(Branch)
	BuildUser = orUnknown(BuildUser)
}

// Info is the build information in full.
type Info struct {
	Version   string // semantic version
	Revision  string // full commit hash, or "unknown"
	Branch    string
	BuildUser string // user@host
	BuildDate string // RFC 3339
	GoVersion string
}

// Get returns the build information.
func Get() Info {
	return Info{Version: Version, Revision: Commit, Branch: Branch, BuildUser: BuildUser, BuildDate: BuildDate, GoVersion: runtime.Version()}
}

// devVersion is Next as a development build of rev: 0.3.0-dev+3f2c1ab
// (and .dirty when the work tree had changes).
func devVersion(rev string, dirty bool) string {
	v := Next + "-dev"
	if rev != "" && rev != "unknown" {
		v += "+" + rev[:min(len(rev), 7)]
		if dirty {
			v += ".dirty"
		}
	}
	return v
}

// Revision returns the commit the binary was built from, or "unknown".
func Revision() string { return Get().Revision }

// String is the one-line version for `vigil version`.
func String() string {
	i := Get()
	return fmt.Sprintf("vigil %s (commit %s, branch %s, built %s by %s, %s %s/%s)", i.Version, i.Revision, i.Branch, i.BuildDate, i.BuildUser, i.GoVersion, runtime.GOOS, runtime.GOARCH)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
