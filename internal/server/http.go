package server

import (
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/version"
)

// serveStarting answers while the stores open (WAL replay): liveness yes,
// everything else 503 with Retry-After.
func (s *Server) serveStarting(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/livez", "/-/healthy":
		s.serveLive(w, r)
		return
	}
	s.errw.Text(w, r, &apierr.Error{Code: apierr.Unavailable, Message: "vigil is starting: replaying the write-ahead log", RetryAfter: 5 * time.Second})
}

func (s *Server) serveLive(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !s.ready.Load() {
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready\n"))
		return
	}
	if p := s.storageProblems(); len(p) > 0 {
		_, _ = w.Write([]byte(degradedText(p)))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

func (s *Server) serveReload(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if err := s.Reload(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "error", "error": "config not reloaded, the previous one stays in force: " + err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success"})
}

var indexTmpl = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil</title>
<style>body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;color:#222}code{background:#f3f3f3;padding:0 .3em}td{padding:.2em 1em .2em 0;vertical-align:top}</style>
</head><body>
<h1>Vigil</h1>
<p>{{.Version}} &middot; up since {{.Start}} &middot; {{if .Ready}}ready{{else}}starting{{end}}</p>
<h2>Running</h2>
<ul>{{range .Running}}<li>{{.}}</li>{{end}}</ul>
<h2>Connect</h2>
<table>
{{range .Connect}}<tr><td>{{.What}}</td><td><code>{{.Path}}</code></td></tr>
{{end}}</table>
<h2>Endpoints</h2>
<table>
{{range .Endpoints}}<tr><td>{{.Method}}</td><td>{{if .Link}}<a href="{{.Link}}"><code>{{.Path}}</code></a>{{else}}<code>{{.Path}}</code>{{end}}</td><td>{{.What}}</td></tr>
{{end}}</table>
</body></html>
`))

type endpoint struct{ Method, Path, Link, What string }

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	cfg := s.Config()
	running := []string{"metrics: Prometheus TSDB in " + cfg.DataDir + "/metrics", "scraping: " + scrapeSummary(s)}
	if s.grpcLn != nil {
		running = append(running, "OTLP/gRPC on "+s.grpcLn.Addr().String())
	}
	if s.otlpHTTPLn != nil {
		running = append(running, "OTLP/HTTP on "+s.otlpHTTPLn.Addr().String())
	}
	running = append(running, s.running...)
	// Links use the address the browser reached, so they work behind a
	// DNS name or a port other than the default.
	base := s.baseURL(r)
	connect := []endpoint{
		{What: "Grafana Prometheus data source", Path: base},
		{What: "Grafana Loki data source", Path: base},
		{What: "Grafana Jaeger data source", Path: base + "/jaeger"},
		{What: "Grafana Alertmanager data source, amtool --alertmanager.url", Path: base + "/alertmanager"},
		{What: "Prometheus remote_write url", Path: base + "/api/v1/write"},
		{What: "Loki push (Promtail, Alloy, Fluent Bit)", Path: base + "/loki/api/v1/push"},
	}
	if s.grpcLn != nil {
		connect = append(connect, endpoint{What: "OTLP/gRPC endpoint", Path: s.grpcLn.Addr().String()})
	}
	if s.otlpHTTPLn != nil {
		connect = append(connect, endpoint{What: "OTLP/HTTP endpoint", Path: "http://" + s.otlpHTTPLn.Addr().String()})
	}
	var eps []endpoint
	for _, rt := range s.Routes() {
		if rt.Hidden || rt.Pattern == "/-/index" {
			continue
		}
		e := endpoint{Method: rt.Method, Path: rt.Pattern, What: rt.Doc}
		if e.Method == "" {
			e.Method = "any"
		}
		if rt.Method == "GET" && !strings.Contains(rt.Pattern, "{") {
			e.Link = base + rt.Pattern
		}
		eps = append(eps, e)
	}
	sort.SliceStable(eps, func(i, j int) bool { return eps[i].Path < eps[j].Path })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = indexTmpl.Execute(w, map[string]any{
		"Version":   version.String(),
		"Start":     s.start.UTC().Format(time.RFC3339),
		"Ready":     s.ready.Load(),
		"Running":   running,
		"Connect":   connect,
		"Endpoints": eps,
	})
}

// baseURL is web.external_url when set, else the address a client used
// to reach this server.
func (s *Server) baseURL(r *http.Request) string {
	if s.Config().Web.ExternalURL != "" {
		return s.externalURL().String()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = s.HTTPAddr()
	}
	return scheme + "://" + host
}

func scrapeSummary(s *Server) string {
	if s.scraper == nil {
		return "off"
	}
	pools := s.scraper.Manager().ScrapePools()
	if len(pools) == 0 {
		return "no jobs"
	}
	return strconv.Itoa(len(pools)) + " job(s): " + strings.Join(pools, ", ")
}

// httpMetrics counts HTTP requests by route pattern and code.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"handler", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                        "vigil_http_request_duration_seconds",
			Help:                        "HTTP request latency by route.",
			Buckets:                     []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
			NativeHistogramBucketFactor: 1.1,
		}, []string{"handler"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (websockets).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (m *httpMetrics) instrument(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		mux.ServeHTTP(sw, r)
		handler := r.Pattern
		if handler == "GET /api/v1/" || handler == "POST /api/v1/admin/" || handler == "PUT /api/v1/admin/" {
			handler = "/api/v1" + strings.TrimPrefix(r.URL.Path, "/api/v1")
			if sw.code == http.StatusNotFound || strings.Count(handler, "/") > 4 {
				handler = "/api/v1/other"
			}
			if strings.HasPrefix(handler, "/api/v1/label/") {
				handler = "/api/v1/label/:name/values"
			}
		}
		if handler == "" {
			handler = "other"
		}
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		m.requests.WithLabelValues(handler, strconv.Itoa(code)).Inc()
		m.duration.WithLabelValues(handler).Observe(time.Since(start).Seconds())
	})
}

// withRoutePrefix serves next under prefix (web.external_url's path), as
// Prometheus does with its route prefix: "/" redirects to the prefix and
// anything else outside it is not found, but for /livez and /readyz,
// which are also answered at the root so that health checks need no
// knowledge of the prefix.
func withRoutePrefix(prefix string, next http.Handler) http.Handler {
	strip := http.StripPrefix(prefix, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == prefix:
			http.Redirect(w, r, prefix+"/", http.StatusFound)
		case strings.HasPrefix(p, prefix+"/"):
			strip.ServeHTTP(w, r)
		case p == "/":
			http.Redirect(w, r, prefix+"/", http.StatusFound)
		case p == "/livez" || p == "/readyz":
			next.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}
