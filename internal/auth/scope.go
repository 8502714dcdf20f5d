package auth

import (
	"fmt"
	"strings"

	"github.com/vigilhq/vigil/internal/route"
)

// Scopes is a set of route scopes as a bit set, so a check on the request
// path is one AND.
type Scopes uint8

const (
	scopeRead Scopes = 1 << iota
	scopeIngest
	scopeWrite
	scopeAdmin
)

var scopeBits = []struct {
	s   route.Scope
	bit Scopes
}{{route.Read, scopeRead}, {route.Ingest, scopeIngest}, {route.Write, scopeWrite}, {route.Admin, scopeAdmin}}

func bitOf(s route.Scope) Scopes {
	for _, b := range scopeBits {
		if b.s == s {
			return b.bit
		}
	}
	return 0
}

// Has reports whether the set grants scope. Public is granted to all.
func (ss Scopes) Has(s route.Scope) bool {
	if s == route.Public {
		return true
	}
	b := bitOf(s)
	return b != 0 && ss&b == b
}

// Contains reports whether every scope of o is in ss.
func (ss Scopes) Contains(o Scopes) bool { return ss&o == o }

// List returns the scopes in order of privilege.
func (ss Scopes) List() []route.Scope {
	var out []route.Scope
	for _, b := range scopeBits {
		if ss&b.bit != 0 {
			out = append(out, b.s)
		}
	}
	return out
}

func (ss Scopes) String() string {
	l := ss.List()
	s := make([]string, len(l))
	for i, v := range l {
		s[i] = string(v)
	}
	return strings.Join(s, ",")
}

// ParseScopes parses a list of token scope names (read, ingest, write,
// admin). It refuses "public" and unknown names, and an empty list.
func ParseScopes(names []string) (Scopes, error) {
	var ss Scopes
	for _, n := range names {
		for _, part := range strings.Split(n, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			b := bitOf(route.Scope(part))
			if b == 0 {
				return 0, fmt.Errorf("unknown scope %q: want read, ingest, write or admin", part)
			}
			ss |= b
		}
	}
	if ss == 0 {
		return 0, fmt.Errorf("no scope given: want one or more of read, ingest, write, admin")
	}
	return ss, nil
}

// Role is a user's role.
type Role string

// Roles. viewer reads everything; editor also changes silences, incidents,
// probes and on-call objects; admin also manages users, tokens and the
// configuration, reads /debug/pprof, and may ingest (so that an admin's
// session or token works everywhere).
const (
	Viewer Role = "viewer"
	Editor Role = "editor"
	Admin  Role = "admin"
)

// Roles lists the roles in order of privilege.
var Roles = []Role{Viewer, Editor, Admin}

// Scopes returns what the role grants.
func (r Role) Scopes() Scopes {
	switch r {
	case Viewer:
		return scopeRead
	case Editor:
		return scopeRead | scopeWrite
	case Admin:
		return scopeRead | scopeIngest | scopeWrite | scopeAdmin
	}
	return 0
}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q: want viewer, editor or admin", s)
}
