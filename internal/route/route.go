// Package route is the shape in which every feature hands its HTTP routes
// to the server: data, not calls on a mux. internal/server builds the mux,
// the index page, the route list in docs/api.md and the authentication
// middleware from the one table these make up, so a route's permission is
// declared next to the route and nowhere else.
//
// Every package may import it: it depends on nothing of Vigil's.
package route

import "net/http"

// Scope is what a caller needs to be allowed a route when authentication is
// on. A user's role grants scopes (viewer: Read; editor: Read and Write;
// admin: all); an API token carries the scopes it was created with.
type Scope string

// Scopes. Public routes are open even with authentication on, and only
// those the security model lists (health, the status page, static UI
// assets, the login page) may use it.
const (
	Public Scope = "public" // no credentials needed
	Read   Scope = "read"   // every query API and read-only view
	Ingest Scope = "ingest" // remote write, OTLP, Loki push, Alertmanager alerts POST
	Write  Scope = "write"  // silences, incidents, probes, on-call objects
	Admin  Scope = "admin"  // users, tokens, config reload, /debug/pprof
)

// Scopes lists every scope, in order of privilege.
var Scopes = []Scope{Public, Read, Ingest, Write, Admin}

// Valid reports whether s is one of Scopes.
func (s Scope) Valid() bool {
	for _, v := range Scopes {
		if s == v {
			return true
		}
	}
	return false
}

// Route is one HTTP route.
type Route struct {
	// Method is the HTTP method ("GET", "POST", ...); "" matches every
	// method (and a GET route also answers HEAD, as net/http does).
	Method string
	// Pattern is a net/http ServeMux path pattern: "/jaeger/api/traces/{id}",
	// "/alertmanager/api/v2/" (a subtree), "/{$}".
	Pattern string
	// Scope is what the caller needs (see Scope).
	Scope Scope
	// Handler serves the route.
	Handler http.Handler
	// Doc is one line for the index page and docs/api.md: what the route
	// is for and, where it matters, which client speaks it.
	Doc string
	// Hidden keeps the route out of the index page (it is still in
	// docs/api.md and under the same rules).
	Hidden bool
}

// MuxPattern is the pattern as http.ServeMux takes it ("GET /x").
func (r Route) MuxPattern() string {
	if r.Method == "" {
		return r.Pattern
	}
	return r.Method + " " + r.Pattern
}

// Func is a shorthand for a Route with a handler function.
func Func(method, pattern string, scope Scope, h http.HandlerFunc, doc string) Route {
	return Route{Method: method, Pattern: pattern, Scope: scope, Handler: h, Doc: doc}
}

// NewMux returns a mux serving routes, without any checks or middleware:
// for a feature's own tests. The server builds its mux itself.
func NewMux(routes []Route) *http.ServeMux {
	mux := http.NewServeMux()
	for _, r := range routes {
		mux.Handle(r.MuxPattern(), r.Handler)
	}
	return mux
}
