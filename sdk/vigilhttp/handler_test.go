package vigilhttp

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/vigilhq/vigil/sdk/export"
	"github.com/vigilhq/vigil/sdk/metric"
	vigilprop "github.com/vigilhq/vigil/sdk/propagation"
	"github.com/vigilhq/vigil/sdk/tracing"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// app is a small service behind a ServeMux.
func app() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q}`, r.PathValue("id"))
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "created %d bytes", len(b))
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/empty", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/weird", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(999) })
	return mux
}

// requests are the cases both middlewares serve.
func requests() []*http.Request {
	var rs []*http.Request
	add := func(method, target, body string, f func(*http.Request)) {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r := httptest.NewRequest(method, target, rd)
		if f != nil {
			f(r)
		}
		rs = append(rs, r)
	}
	add("GET", "http://shop.example.com:8080/orders/42", "", func(r *http.Request) {
		r.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		r.Header.Set("User-Agent", "test/1.0")
	})
	add("GET", "http://shop.example.com/orders/7", "", func(r *http.Request) {
		r.Header.Set("X-Forwarded-For", "203.0.113.9, 10.0.0.1")
	})
	add("POST", "http://shop.example.com:8080/orders", `{"item":"book"}`, nil)
	add("GET", "https://shop.example.com:443/fail", "", func(r *http.Request) { r.TLS = &tls.ConnectionState{} })
	add("GET", "http://[::1]:9000/empty", "", func(r *http.Request) { r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0 })
	add("GET", "http://shop.example.com/nothing-here", "", nil)
	add("FOO", "http://shop.example.com/weird", "", nil)
	add("get", "http://shop.example.com/orders/9", "", nil)
	add("GET", "http://shop.example.com/weird", "", func(r *http.Request) { r.RemoteAddr = "" })
	return rs
}

type spanView struct {
	Name, Status, Desc, Kind string
	Parent                   string
	Attrs                    map[string]string
}

func viewSpans(spans []sdktrace.ReadOnlySpan) []spanView {
	var out []spanView
	for _, s := range spans {
		v := spanView{Name: s.Name(), Status: s.Status().Code.String(), Desc: s.Status().Description, Kind: s.SpanKind().String(),
			Parent: s.Parent().SpanID().String(), Attrs: map[string]string{}}
		for _, kv := range s.Attributes() {
			v.Attrs[string(kv.Key)] = kv.Value.Type().String() + ":" + kv.Value.Emit()
		}
		out = append(out, v)
	}
	return out
}

type pointView struct {
	Metric, Unit, Desc, Attrs string
	Count                     uint64
	Sum                       float64
	Bounds                    []float64
	Counts                    []uint64
	Exemplars                 int
}

// viewMetrics lists the HTTP server metrics' points; the duration's sum
// and buckets depend on timing and are left out.
func viewMetrics(t *testing.T, rm metricdata.ResourceMetrics) []pointView {
	t.Helper()
	var out []pointView
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if !strings.HasPrefix(m.Name, "http.server.") {
				continue
			}
			add := func(attrs attribute.Set, count uint64, sum float64, bounds []float64, counts []uint64, ex int) {
				var kvs []string
				for _, kv := range attrs.ToSlice() {
					kvs = append(kvs, string(kv.Key)+"="+kv.Value.Type().String()+":"+kv.Value.Emit())
				}
				p := pointView{Metric: m.Name, Unit: m.Unit, Desc: m.Description, Attrs: strings.Join(kvs, ","), Count: count, Sum: sum, Bounds: bounds, Counts: counts, Exemplars: ex}
				if m.Name == DurationMetric {
					p.Sum, p.Counts = 0, nil
				}
				out = append(out, p)
			}
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				if d.Temporality != metricdata.CumulativeTemporality {
					t.Errorf("%s: temporality %v", m.Name, d.Temporality)
				}
				for _, dp := range d.DataPoints {
					add(dp.Attributes, dp.Count, dp.Sum, dp.Bounds, dp.BucketCounts, len(dp.Exemplars))
				}
			case metricdata.Histogram[int64]:
				if d.Temporality != metricdata.CumulativeTemporality {
					t.Errorf("%s: temporality %v", m.Name, d.Temporality)
				}
				for _, dp := range d.DataPoints {
					add(dp.Attributes, dp.Count, float64(dp.Sum), dp.Bounds, dp.BucketCounts, len(dp.Exemplars))
				}
			default:
				t.Errorf("%s: data %T", m.Name, m.Data)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Metric+out[i].Attrs < out[j].Metric+out[j].Attrs })
	return out
}

// The middleware produces what otelhttp v0.72 produces, span by span and
// point by point, for requests covering routes, bodies, TLS, IPv6, HTTP/2,
// unknown and lower-case methods, 4xx, 5xx and invalid status codes,
// forwarded client addresses and a remote parent.
func TestMatchesOtelhttp(t *testing.T) {
	prop := propagation.TraceContext{}
	ctx := context.Background()

	// otelhttp on the OpenTelemetry SDK.
	rec := tracetest.NewSpanRecorder()
	otp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	oreader := sdkmetric.NewManualReader()
	omp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(oreader))
	theirs := otelhttp.NewHandler(app(), "shop", otelhttp.WithTracerProvider(otp), otelhttp.WithMeterProvider(omp), otelhttp.WithPropagators(prop))

	// vigilhttp on this SDK.
	exp := tracetest.NewInMemoryExporter()
	reg := metric.New(metric.Options{})
	vtp := tracing.NewProvider(tracing.WithExporter(exp), tracing.WithBatch(export.Options{Registry: reg}))
	vreader := sdkmetric.NewManualReader(sdkmetric.WithProducer(reg.Producer()))
	vmp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(vreader))
	ours := NewHandler(app(), "shop", WithTracerProvider(vtp), WithRegistry(reg), WithPropagators(prop))
	defer func() {
		_ = otp.Shutdown(ctx)
		_ = omp.Shutdown(ctx)
		_ = vmp.Shutdown(ctx)
	}()

	for i, r := range requests() {
		r2 := r.Clone(r.Context())
		if r.Body != nil {
			b, _ := io.ReadAll(r.Body)
			r.Body, r2.Body = io.NopCloser(strings.NewReader(string(b))), io.NopCloser(strings.NewReader(string(b)))
		}
		w1, w2 := httptest.NewRecorder(), httptest.NewRecorder()
		theirs.ServeHTTP(w1, r)
		ours.ServeHTTP(w2, r2)
		if w1.Code != w2.Code || w1.Body.String() != w2.Body.String() {
			t.Errorf("request %d: otelhttp answered %d %q, vigilhttp %d %q", i, w1.Code, w1.Body, w2.Code, w2.Body)
		}
	}
	if err := vtp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	want, got := viewSpans(rec.Ended()), viewSpans(exp.GetSpans().Snapshots())
	if len(want) != len(got) {
		t.Fatalf("%d spans from otelhttp, %d from vigilhttp", len(want), len(got))
	}
	for i := range want {
		if fmt.Sprint(want[i]) != fmt.Sprint(got[i]) {
			t.Errorf("span %d:\notelhttp  %v\nvigilhttp %v", i, want[i], got[i])
		}
	}
	_ = vtp.Shutdown(ctx)

	var orm, vrm metricdata.ResourceMetrics
	if err := oreader.Collect(ctx, &orm); err != nil {
		t.Fatal(err)
	}
	if err := vreader.Collect(ctx, &vrm); err != nil {
		t.Fatal(err)
	}
	wantM, gotM := viewMetrics(t, orm), viewMetrics(t, vrm)
	if len(wantM) == 0 || len(wantM) != len(gotM) {
		t.Fatalf("%d points from otelhttp, %d from vigilhttp:\n%v\n%v", len(wantM), len(gotM), wantM, gotM)
	}
	for i := range wantM {
		if fmt.Sprint(wantM[i]) != fmt.Sprint(gotM[i]) {
			t.Errorf("point %d:\notelhttp  %+v\nvigilhttp %+v", i, wantM[i], gotM[i])
		}
	}
}

// TestAllocations bounds what one request costs the middleware and the
// tracer in allocations: the request attributes are built on the stack
// and copied once into the span (they once escaped to the heap through
// tracing.Start: 1 KB and one allocation more per request).
func TestAllocations(t *testing.T) {
	reg := metric.New(metric.Options{})
	// A queue that never fills during the measurement: no export runs.
	tp := tracing.NewProvider(tracing.WithExporter(tracetest.NewInMemoryExporter()),
		tracing.WithBatch(export.Options{QueueSize: 1 << 14, BatchSize: 1 << 14, Interval: time.Hour, Registry: reg}))
	defer tp.Shutdown(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(http.ResponseWriter, *http.Request) {})
	prop, err := vigilprop.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(mux, "orders", WithTracerProvider(tp), WithRegistry(reg), WithPropagators(prop))
	r := httptest.NewRequest("GET", "http://shop.example.com:8080/orders/42", nil)
	r.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	r.Header.Set("User-Agent", "test/1.0")
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, r) // creates the metric series
	// 8 with go1.26: the remote parent and the span in the context (2
	// each: value and context), the span, its attribute list, the request
	// copy, the writer state and the mux's path values; 10 when the
	// attributes escaped and the span name was built from the pattern.
	const most = 8
	if n := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, r) }); n > most {
		t.Errorf("%.1f allocations per request, want at most %d", n, most)
	}
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}
