package version

import (
	"regexp"
	"testing"
)

// semver is the semantic versioning 2.0 grammar (semver.org's regexp).
var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

func TestVersionIsSemantic(t *testing.T) {
	f := func(rev string, dirty bool, want string) {
		t.Helper()
		got := devVersion(rev, dirty)
		if got != want || !semver.MatchString(got) {
			t.Fatalf("devVersion(%q, %v) = %q, want %q (semantic)", rev, dirty, got, want)
		}
	}
	f("3f2c1ab9d0e4", false, Next+"-dev+3f2c1ab")
	f("3f2c1ab9d0e4", true, Next+"-dev+3f2c1ab.dirty")
	f("unknown", false, Next+"-dev")
	if !semver.MatchString(Version) {
		t.Fatalf("Version %q is not a semantic version", Version)
	}
	i := Get()
	for name, v := range map[string]string{"revision": i.Revision, "branch": i.Branch, "buildUser": i.BuildUser, "buildDate": i.BuildDate, "goVersion": i.GoVersion} {
		if v == "" {
			t.Errorf("%s is empty", name)
		}
	}
}
