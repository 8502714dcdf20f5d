package server

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigilhq/vigil/internal/route"
)

// addRoutes adds a feature's routes to the table. The mux, the index page,
// docs/api.md and the authentication middleware are all built from it.
func (s *Server) addRoutes(rs ...route.Route) { s.routes = append(s.routes, rs...) }

// Routes returns the route table (after Run has set the server up).
func (s *Server) Routes() []route.Route {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]route.Route(nil), s.routes...)
}

// coreRoutes are the server's own routes: health, reload, self-metrics,
// profiling and the index page.
func (s *Server) coreRoutes() []route.Route {
	metricsH := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
	rs := []route.Route{
		route.Func("GET", "/livez", route.Public, s.serveLive, "liveness: 200 while the process runs"),
		route.Func("GET", "/readyz", route.Public, s.serveReady, "readiness: 200 once the stores are open and the receivers run"),
		{Method: "GET", Pattern: "/-/healthy", Scope: route.Public, Handler: http.HandlerFunc(s.serveLive), Doc: "liveness (Prometheus's path)", Hidden: true},
		{Method: "GET", Pattern: "/-/ready", Scope: route.Public, Handler: http.HandlerFunc(s.serveReady), Doc: "readiness (Prometheus's path)", Hidden: true},
		route.Func("POST", "/-/reload", route.Admin, s.serveReload, "reload the configuration file"),
		{Method: "PUT", Pattern: "/-/reload", Scope: route.Admin, Handler: http.HandlerFunc(s.serveReload), Doc: "reload the configuration file", Hidden: true},
		{Method: "GET", Pattern: "/metrics", Scope: route.Read, Handler: metricsH, Doc: "Vigil's own metrics (Prometheus text and OpenMetrics)"},
		route.Func("GET", "/-/index", route.Public, s.serveIndex, "this index page (/ is the web UI)"),
		route.Func("GET", "/debug/pprof/", route.Admin, pprof.Index, "Go profiles (pprof)"),
	}
	for _, p := range []struct {
		name string
		h    http.HandlerFunc
	}{{"cmdline", pprof.Cmdline}, {"profile", pprof.Profile}, {"symbol", pprof.Symbol}, {"trace", pprof.Trace}} {
		rs = append(rs, route.Route{Method: "GET", Pattern: "/debug/pprof/" + p.name, Scope: route.Admin, Handler: p.h, Doc: "Go profile: " + p.name, Hidden: true})
	}
	return rs
}

// buildMux makes the mux from the table. A route without a valid scope, a
// handler or a doc line is a programming error, as is a pattern two
// routes share (http.ServeMux panics on those too).
func buildMux(routes []route.Route) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	seen := map[string]bool{}
	for _, r := range routes {
		p := r.MuxPattern()
		switch {
		case !r.Scope.Valid():
			return nil, fmt.Errorf("route %q has scope %q: want one of %v", p, r.Scope, route.Scopes)
		case r.Handler == nil:
			return nil, fmt.Errorf("route %q has no handler", p)
		case r.Doc == "":
			return nil, fmt.Errorf("route %q has no doc line", p)
		case seen[p]:
			return nil, fmt.Errorf("route %q is declared twice", p)
		}
		seen[p] = true
		mux.Handle(p, r.Handler)
	}
	return mux, nil
}

// routesMarkdown is docs/api.md: every route with the scope it needs,
// generated from the table (a test checks the file is current).
func routesMarkdown(routes []route.Route) string {
	rs := append([]route.Route(nil), routes...)
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Pattern != rs[j].Pattern {
			return rs[i].Pattern < rs[j].Pattern
		}
		return rs[i].Method < rs[j].Method
	})
	var b strings.Builder
	b.WriteString(`# HTTP routes

Generated from Vigil's route table (internal/server: every feature hands its
routes to the server as data); ` + "`go test ./internal/server -run TestRouteTable -update`" + `
rewrites this file and the test fails when it is stale.

The scope is what a caller needs when authentication is on: ` + "`public`" + ` routes are
always open; a user's role grants scopes (viewer: read; editor: read, write;
admin: every scope) and an API token carries the scopes it was created with.
With authentication off (the default on loopback) every route is open.

| method | path | scope | what |
|---|---|---|---|
`)
	for _, r := range rs {
		m := r.Method
		if m == "" {
			m = "any"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", m, r.Pattern, r.Scope, strings.ReplaceAll(r.Doc, "|", `\|`))
	}
	return b.String()
}

// prometheusAPIRoutes splits Prometheus's /api/v1 router by scope: every
// GET reads; the POST forms of the query endpoints read too (Grafana
// posts long queries); deleting series and the TSDB admin endpoints need
// admin.
func prometheusAPIRoutes(api http.Handler) []route.Route {
	rs := []route.Route{
		{Method: "GET", Pattern: "/api/v1/", Scope: route.Read, Handler: api, Doc: "Prometheus HTTP API: query, query_range, series, labels, label values, metadata, query_exemplars, format_query, parse_query, rules, alerts, targets, status (Grafana Prometheus data source: URL http://HOST:9797)"},
		{Method: "DELETE", Pattern: "/api/v1/series", Scope: route.Admin, Handler: api, Doc: "Prometheus HTTP API: delete series (admin API)"},
		{Method: "POST", Pattern: "/api/v1/admin/", Scope: route.Admin, Handler: api, Doc: "Prometheus TSDB admin API: delete_series, clean_tombstones, snapshot"},
		{Method: "PUT", Pattern: "/api/v1/admin/", Scope: route.Admin, Handler: api, Doc: "Prometheus TSDB admin API (PUT form)", Hidden: true},
	}
	for _, p := range []string{"query", "query_range", "query_exemplars", "format_query", "parse_query", "labels", "series", "read"} {
		rs = append(rs, route.Route{Method: "POST", Pattern: "/api/v1/" + p, Scope: route.Read, Handler: api, Doc: "Prometheus HTTP API: " + p + " (POST form)", Hidden: true})
	}
	return rs
}
