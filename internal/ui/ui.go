// Package ui serves Vigil's browser UI: the files Vite builds from web/
// into site/app/, embedded in the binary with go:embed, so the UI works
// air-gapped and no other package knows it exists.
//
// The built files are not committed. site/ holds only README.md in git
// (no build writes it), so a
// binary built without `make ui` (plain `go build`) still compiles and
// answers the UI's paths with a page that says how to build it.
//
// The UI is a single-page application: every client-side path (Pages)
// answers the same HTML shell, and the browser's router draws the page.
// The shell and its assets are route.Public: they hold no data, and the
// application asks for a session itself when authentication is on.
package ui

import (
	"bytes"
	"compress/gzip"
	"embed"
	"errors"
	"html"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/vigilhq/vigil/internal/route"
)

//go:embed all:site
var site embed.FS

// Pages are the client-side paths of the application, as net/http
// patterns. They avoid every API prefix (/api/, /loki/, /jaeger/,
// /alertmanager/, /vigil/, /metrics, /status, /probe, /debug/, /-/).
var Pages = []string{
	"/{$}",
	"/query",          // metrics explorer (PromQL)
	"/traces",         // trace search, service graph
	"/traces/{id}",    // one trace
	"/logs",           // log explorer, live tail
	"/alerting",       // rules, alerts, silences, outbox, history
	"/alerting/",      // its tabs
	"/incidents",      // incidents
	"/incidents/{id}", // one incident
	"/oncall",         // schedules, escalation policies
	"/uptime",         // probes
}

// Options configure the UI. A zero Options serves the embedded files.
type Options struct {
	Logger *slog.Logger
	// Files replaces the embedded build (tests); it holds index.html and
	// assets/ at its root.
	Files fs.FS
	// PathPrefix is the path of the external URL ("/obs" when Vigil is
	// reached at https://host/obs/), read per request so a reload that
	// changes web.external_url takes effect; nil or "" for none. The shell
	// gets it so its asset links, API calls and router all carry it.
	PathPrefix func() string
	// AuthOn reports whether authentication is on; the shell tells the
	// application, which then asks who is signed in (nil: off).
	AuthOn func() bool
}

// UI serves the application shell and its static assets.
type UI struct {
	logger *slog.Logger
	files  fs.FS
	shell  []byte // index.html, or the not-built page
	built  bool
	prefix func() string
	authOn func() bool

	mu   sync.Mutex
	gzip map[string][]byte // assets compressed on first request
}

// New reads the build. A binary without a build is not an error: the UI
// paths then answer a page that says how to build it.
func New(opts Options) (*UI, error) {
	u := &UI{logger: opts.Logger, files: opts.Files, prefix: opts.PathPrefix, gzip: map[string][]byte{}}
	if u.prefix == nil {
		u.prefix = func() string { return "" }
	}
	u.authOn = opts.AuthOn
	if u.authOn == nil {
		u.authOn = func() bool { return false }
	}
	if u.logger == nil {
		u.logger = slog.New(slog.DiscardHandler)
	}
	if u.files == nil {
		sub, err := fs.Sub(site, "site/app")
		if err != nil {
			return nil, err
		}
		u.files = sub
	}
	shell, err := fs.ReadFile(u.files, "index.html")
	switch {
	case err == nil:
		u.shell, u.built = shell, true
	case errors.Is(err, fs.ErrNotExist):
		u.shell = []byte(notBuilt)
	default:
		return nil, err
	}
	return u, nil
}

// Built reports whether the binary holds a UI build.
func (u *UI) Built() bool { return u.built }

// Routes are the shell at every client-side path and the hashed assets.
func (u *UI) Routes() []route.Route {
	var rs []route.Route
	for i, p := range Pages {
		rs = append(rs, route.Route{
			Method: "GET", Pattern: p, Scope: route.Public, Handler: http.HandlerFunc(u.serveShell),
			Doc: "web UI (single-page application; the page asks for a session when authentication is on)",
			// One line on the index page is enough for all of them.
			Hidden: i > 0,
		})
	}
	return append(rs, route.Route{
		Method: "GET", Pattern: "/assets/", Scope: route.Public, Handler: http.HandlerFunc(u.serveAsset),
		Doc: "web UI scripts and styles (content-hashed names, cached for a year)", Hidden: true,
	})
}

func (u *UI) serveShell(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The shell names the current assets: always revalidate it.
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	// Everything the UI loads comes from this origin (air-gapped); styles
	// are inline in the editor and the charts, images are data: URIs.
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
	_, _ = w.Write(withPrefix(u.shell, strings.TrimSuffix(u.prefix(), "/"), u.authOn()))
}

// withPrefix points the shell at its assets under the external URL's
// path and tells the application that path. Vite builds with base "./":
// chunks load each other relative to themselves, and only the shell's
// own links (./assets/...) depend on where the page is.
func withPrefix(shell []byte, prefix string, authOn bool) []byte {
	out := bytes.ReplaceAll(shell, []byte(`"./assets/`), []byte(`"`+html.EscapeString(prefix)+`/assets/`))
	auth := "off"
	if authOn {
		auth = "on"
	}
	meta := []byte(`<meta name="vigil-prefix" content="` + html.EscapeString(prefix) + `" /><meta name="vigil-auth" content="` + auth + `" />`)
	return bytes.Replace(out, []byte("<head>"), append([]byte("<head>\n    "), meta...), 1)
}

func (u *UI) serveAsset(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if !strings.HasPrefix(name, "assets/") || !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	body, err := fs.ReadFile(u.files, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		h.Set("Content-Type", ct)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Add("Vary", "Accept-Encoding")
	if compressible(name) && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = u.gzipped(name, body)
	}
	_, _ = w.Write(body)
}

// gzipped compresses an asset once, on its first request: the build is a
// few hundred kilobytes of text and never changes while the binary runs.
func (u *UI) gzipped(name string, body []byte) []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	if z, ok := u.gzip[name]; ok {
		return z
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	_, _ = zw.Write(body)
	_ = zw.Close()
	u.gzip[name] = b.Bytes()
	return b.Bytes()
}

func compressible(name string) bool {
	switch path.Ext(name) {
	case ".js", ".css", ".svg", ".json", ".map", ".txt", ".html":
		return true
	}
	return false
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}

const notBuilt = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil</title>
<style>body{font-family:system-ui,sans-serif;max-width:44em;margin:3em auto;padding:0 1em;line-height:1.5}code{background:#eee;padding:0 .3em}</style>
</head><body><main>
<h1>Vigil</h1>
<p>This binary was built without its web UI. Build it with <code>make build</code>
(it runs <code>make ui</code>, which needs Node.js 20 and npm), then restart Vigil.</p>
<p>The APIs work without it: the Prometheus API under <code>/api/v1/</code>, Jaeger under
<code>/jaeger/api/</code>, Loki under <code>/loki/api/v1/</code>, Alertmanager under
<code>/alertmanager/api/v2/</code>, and Vigil's own metrics at <code>/metrics</code>.</p>
</main></body></html>
`
