package server

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	w.Header().Set("Retry-After", "5")
	http.Error(w, "vigil is starting: replaying the write-ahead log", http.StatusServiceUnavailable)
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
<html><head><meta charset="utf-8"><title>Vigil</title>
<style>body{font-family:system-ui,sans-serif;max-width:52em;margin:2em auto;color:#222}code{background:#f3f3f3;padding:0 .3em}td{padding:.2em 1em .2em 0;vertical-align:top}</style>
</head><body>
<h1>Vigil</h1>
<p>{{.Version}} &middot; up since {{.Start}} &middot; {{if .Ready}}ready{{else}}starting{{end}}</p>
<h2>Running</h2>
<ul>{{range .Running}}<li>{{.}}</li>{{end}}</ul>
<h2>Endpoints</h2>
<table>
{{range .Endpoints}}<tr><td><code>{{.Path}}</code></td><td>{{.What}}</td></tr>
{{end}}</table>
</body></html>
`))

type endpoint struct{ Path, What string }

func (s *Server) serveIndex(w http.ResponseWriter, _ *http.Request) {
	cfg := s.Config()
	running := []string{"metrics: Prometheus TSDB in " + cfg.DataDir + "/metrics", "scraping: " + scrapeSummary(s)}
	if s.grpcLn != nil {
		running = append(running, "OTLP/gRPC on "+s.grpcLn.Addr().String())
	}
	if s.otlpHTTPLn != nil {
		running = append(running, "OTLP/HTTP on "+s.otlpHTTPLn.Addr().String())
	}
	running = append(running, s.running...)
	eps := []endpoint{
		{"POST /api/v1/write", "Prometheus remote write 1.0 and 2.0 (snappy protobuf)"},
		{"POST /v1/metrics, /v1/traces, /v1/logs", "OTLP/HTTP, also on the OTLP HTTP port"},
		{"/api/v1/query, /api/v1/query_range", "PromQL (Prometheus HTTP API)"},
		{"/api/v1/series, /api/v1/labels, /api/v1/label/{name}/values", "series and label metadata"},
		{"/api/v1/metadata, /api/v1/query_exemplars, /api/v1/format_query", "metric metadata, exemplars, PromQL formatting"},
		{"/api/v1/targets", "scrape targets"},
		{"/api/v1/status/buildinfo, runtimeinfo, tsdb, config, flags", "status"},
		{"/metrics", "Vigil's own metrics"},
		{"/livez, /readyz", "liveness and readiness"},
		{"POST /-/reload", "reload the configuration file"},
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = indexTmpl.Execute(w, map[string]any{
		"Version":   version.String(),
		"Start":     s.start.UTC().Format(time.RFC3339),
		"Ready":     s.ready.Load(),
		"Running":   running,
		"Endpoints": append(eps, s.endpoints...),
	})
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
		if handler == "/api/v1/" {
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
