package vigilhttp

import (
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigilhq/vigil/sdk/metric"
	"github.com/vigilhq/vigil/sdk/tracing"
)

// ScopeName is the instrumentation scope of the server spans.
const ScopeName = "github.com/vigilhq/vigil/sdk/vigilhttp"

// Metric names and their units and buckets, from the HTTP semantic
// conventions (the buckets otelhttp uses).
const (
	DurationMetric     = "http.server.request.duration"
	RequestSizeMetric  = "http.server.request.body.size"
	ResponseSizeMetric = "http.server.response.body.size"
)

var (
	durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	// sizeBuckets are the OpenTelemetry SDK's default histogram bounds,
	// which otelhttp's size histograms get.
	sizeBuckets = []float64{0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000}
)

// Option configures NewHandler and NewMiddleware.
type Option func(*config)

type config struct {
	tp         trace.TracerProvider
	prop       propagation.TextMapPropagator
	reg        *metric.Registry
	server     string
	filters    []func(*http.Request) bool
	spanName   func(operation string, r *http.Request) string
	public     func(*http.Request) bool
	noMetrics  bool
	noTracking bool
}

// WithTracerProvider sets the tracer provider (default the global one,
// looked up at the first request, so a handler built before vigil.Start
// uses what Start installs).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithPropagators sets how the incoming trace context is read (default the
// global propagator).
func WithPropagators(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.prop = p }
}

// WithRegistry records the metrics in reg (default metric.Default(), the
// registry vigil.Start exports unless told otherwise).
func WithRegistry(reg *metric.Registry) Option { return func(c *config) { c.reg = reg } }

// WithServerName sets the server's primary name ("shop.example.com:443"),
// recorded as server.address and server.port instead of the request's
// Host header.
func WithServerName(name string) Option { return func(c *config) { c.server = name } }

// WithFilter skips instrumentation for requests f returns false for (health
// checks, say). Several filters must all return true.
func WithFilter(f func(*http.Request) bool) Option {
	return func(c *config) { c.filters = append(c.filters, f) }
}

// WithSpanNameFormatter names server spans (default "{method} {route}", or
// "{method}" when no ServeMux pattern matched, as the conventions say).
// It is called when the request arrives and again after the handler, when
// the route is known.
func WithSpanNameFormatter(f func(operation string, r *http.Request) string) Option {
	return func(c *config) { c.spanName = f }
}

// WithPublicEndpointFn starts a new trace, linked to the incoming one, for
// requests f returns true for: the caller is outside the service's trust
// boundary and its sampling decision is not to be followed.
func WithPublicEndpointFn(f func(*http.Request) bool) Option { return func(c *config) { c.public = f } }

// WithoutMetrics records spans only.
func WithoutMetrics() Option { return func(c *config) { c.noMetrics = true } }

// NewHandler wraps h: each request gets a server span and is counted in
// the HTTP server metrics. operation is passed to the span name formatter
// (the default formatter ignores it, as otelhttp's does).
func NewHandler(h http.Handler, operation string, opts ...Option) http.Handler {
	return NewMiddleware(operation, opts...)(h)
}

// NewMiddleware returns NewHandler as middleware.
func NewMiddleware(operation string, opts ...Option) func(http.Handler) http.Handler {
	c := &config{}
	for _, o := range opts {
		o(c)
	}
	if c.reg == nil {
		c.reg = metric.Default()
	}
	m := &middleware{config: c, operation: operation}
	if !c.noMetrics {
		ints := metric.WithIntLabels(labelPort, labelStatus)
		m.duration = c.reg.Histogram(DurationMetric, "Duration of HTTP server requests.",
			metric.WithUnit("s"), metric.WithBuckets(durationBuckets...), ints)
		m.requestSize = c.reg.Histogram(RequestSizeMetric, "Size of HTTP server request bodies.",
			metric.WithUnit("By"), metric.WithBuckets(sizeBuckets...), ints)
		m.responseSize = c.reg.Histogram(ResponseSizeMetric, "Size of HTTP server response bodies.",
			metric.WithUnit("By"), metric.WithBuckets(sizeBuckets...), ints)
	}
	return func(next http.Handler) http.Handler {
		return &handler{m: m, next: next}
	}
}

type middleware struct {
	*config
	operation                           string
	tracer                              atomic.Pointer[trace.Tracer]
	duration, requestSize, responseSize *metric.Histogram
}

type handler struct {
	m    *middleware
	next http.Handler
}

func (m *middleware) getTracer() trace.Tracer {
	if t := m.tracer.Load(); t != nil {
		return *t
	}
	tp := m.tp
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	t := tp.Tracer(ScopeName)
	m.tracer.Store(&t)
	return t
}

func (m *middleware) propagator() propagation.TextMapPropagator {
	if m.prop != nil {
		return m.prop
	}
	return otel.GetTextMapPropagator()
}

// state is what one request needs beyond its span, in one allocation.
type state struct {
	w    hijackWriter
	body body
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := h.m
	start := time.Now()
	for _, f := range m.filters {
		if !f(r) {
			h.next.ServeHTTP(w, r)
			return
		}
	}
	ctx := m.propagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	var buf [16]attribute.KeyValue
	attrs := requestAttrs(buf[:0], m.server, r)
	var name string
	if m.spanName != nil {
		name = m.spanName(m.operation, r)
	} else {
		name = spanName(r)
	}
	so := tracing.StartOptions{Kind: trace.SpanKindServer, Attributes: attrs}
	if m.public != nil && m.public(r.WithContext(ctx)) {
		so.NewRoot = true
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && sc.IsRemote() {
			so.Links = []trace.Link{{SpanContext: sc}}
		}
	}
	ctx, span := tracing.Start(ctx, m.getTracer(), name, so)
	defer span.End()

	st := &state{w: hijackWriter{writer{ResponseWriter: w, status: http.StatusOK}}}
	var out http.ResponseWriter = &st.w.writer
	if _, ok := w.(http.Hijacker); ok {
		out = &st.w
	}
	if r.Body != nil && r.Body != http.NoBody {
		st.body.ReadCloser = r.Body
		r.Body = &st.body
		defer func() { r.Body = st.body.ReadCloser }()
	}
	rc := r.WithContext(ctx)
	h.next.ServeHTTP(out, rc)
	if rc.MultipartForm != nil {
		r.MultipartForm = rc.MultipartForm // so net/http removes its temporary files
	}

	if rc.Pattern != "" {
		if m.spanName != nil {
			span.SetName(m.spanName(m.operation, rc))
		} else {
			span.SetName(spanName(rc))
		}
	}
	code := st.w.status
	span.SetStatus(status(code))
	var end [3]attribute.KeyValue
	ea := end[:0]
	if st.body.read > 0 {
		ea = append(ea, semconv.HTTPRequestBodySize(int(st.body.read)))
	}
	if st.w.written > 0 {
		ea = append(ea, semconv.HTTPResponseBodySize(int(st.w.written)))
	}
	if code > 0 {
		ea = append(ea, semconv.HTTPResponseStatusCode(code))
	}
	tracing.SetAttributes(span, ea)

	if !m.noMetrics {
		var kv [16]string
		labels := metricLabels(kv[:0], m.server, rc, code)
		m.requestSize.With(labels...).ObserveContext(ctx, float64(st.body.read))
		m.responseSize.With(labels...).ObserveContext(ctx, float64(st.w.written))
		m.duration.With(labels...).ObserveContext(ctx, float64(time.Since(start))/float64(time.Second))
	}
}
