package metric

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"
)

func TestCounterBoundAndPerCall(t *testing.T) {
	r := New(Options{})
	c := r.Counter("requests_total", "Requests.")
	bound := c.With("method", "GET", "code", "200")
	bound.Inc()
	bound.Add(2)
	bound.Add(-5)                                // ignored
	c.With("code", "200", "method", "GET").Inc() // other order, same series
	c.With("method", "POST", "code", "500").AddFloat(0.5)
	if got := bound.Value(); got != 4 {
		t.Fatalf("bound value = %v, want 4", got)
	}
	if got := c.With("method", "POST", "code", "500").Value(); got != 0.5 {
		t.Fatalf("float value = %v, want 0.5", got)
	}
	if n := len(c.fam.snapshot()); n != 2 {
		t.Fatalf("series = %d, want 2", n)
	}
	if r.Counter("requests_total", "") != c {
		t.Fatal("registering the same name twice must return the same counter")
	}
}

func TestPanicsOnProgrammerErrors(t *testing.T) {
	r := New(Options{})
	c := r.Counter("x_total", "")
	f := func(name string, fn func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		fn()
	}
	f("odd labels", func() { c.With("a") })
	f("bad label name", func() { c.With("1a", "b") })
	f("duplicate label", func() { c.With("a", "1", "a", "2") })
	f("bad metric name", func() { r.Counter("9x", "") })
	f("kind clash", func() { r.Gauge("x_total", "") })
	if _, err := c.TryWith("a"); err == nil {
		t.Error("TryWith odd labels: no error")
	}
}

func TestConcurrentCounting(t *testing.T) {
	r := New(Options{})
	c := r.Counter("hits_total", "")
	h := r.Histogram("lat", "", WithBuckets(1, 2, 3))
	var wg sync.WaitGroup
	const G, N = 8, 2000
	for g := range G {
		wg.Go(func() {
			for i := range N {
				c.With("w", fmt.Sprint(i%10)).Inc()
				h.With("g", fmt.Sprint(g%2)).Observe(float64(i % 4))
			}
		})
	}
	wg.Wait()
	var total float64
	for _, s := range c.fam.snapshot() {
		total += s.s.Value()
	}
	if total != G*N {
		t.Fatalf("total = %v, want %d", total, G*N)
	}
	var cnt uint64
	for _, s := range h.fam.snapshot() {
		cnt += s.s.Count()
	}
	if cnt != G*N {
		t.Fatalf("histogram count = %d, want %d", cnt, G*N)
	}
}

func TestCardinalityOverflow(t *testing.T) {
	r := New(Options{})
	c := r.Counter("ids_total", "", WithLimit(3))
	for i := range 5 {
		c.With("id", fmt.Sprint(i)).Inc()
	}
	c.With("id", "0").Inc() // existing series still works past the limit
	ss := c.fam.snapshot()
	if len(ss) != 4 {
		t.Fatalf("series = %d, want 3 + overflow", len(ss))
	}
	last := ss[3]
	if len(last.labels) != 1 || last.labels[0] != (Label{OverflowLabel, "true"}) || last.s.Value() != 2 {
		t.Fatalf("overflow series = %+v value %v", last.labels, last.s.Value())
	}
	if got := r.Counter("vigil_sdk_metric_overflow_total", "").With("metric", "ids_total").Value(); got != 2 {
		t.Fatalf("overflow counted %v, want 2", got)
	}
	var buf bytes.Buffer
	r.Write(&buf, false)
	if !strings.Contains(buf.String(), `ids_total{otel_metric_overflow="true"} 2`) {
		t.Fatalf("exposition lacks overflow series:\n%s", buf.String())
	}
}

func TestCardinalityError(t *testing.T) {
	r := New(Options{})
	g := r.Gauge("temp", "", WithLimit(2), WithLimitError())
	g.With("room", "a").Set(1)
	g.With("room", "b").Set(2)
	_, err := g.TryWith("room", "c")
	if !errors.Is(err, ErrCardinalityLimit) {
		t.Fatalf("err = %v, want ErrCardinalityLimit", err)
	}
	for _, want := range []string{`"temp"`, "limit 2", "current 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	g.With("room", "d").Set(5) // discarded, no panic
	if n := len(g.fam.snapshot()); n != 2 {
		t.Fatalf("series = %d, want 2", n)
	}
}

func TestHistogramBuckets(t *testing.T) {
	r := New(Options{})
	h := r.Histogram("size", "", WithBuckets(1, 5, 10))
	s := h.With()
	for _, v := range []float64{0.5, 1, 1.01, 5, 7, 10, 11, math.NaN()} {
		s.Observe(v)
	}
	want := []uint64{2, 2, 2, 1}
	for i := range want {
		if got := s.counts[i].Load(); got != want[i] {
			t.Errorf("bucket %d = %d, want %d", i, got, want[i])
		}
	}
	if s.Sum() != 35.51 || s.Count() != 7 {
		t.Errorf("sum %v count %d, want 35.51 7", s.Sum(), s.Count())
	}
	// many bounds take the binary search path; it must agree with linear
	many := make([]float64, 40)
	for i := range many {
		many[i] = float64(i)
	}
	hs := r.Histogram("many", "", WithBuckets(many...)).With()
	if hs.linear {
		t.Fatal("40 bounds should use binary search")
	}
	for _, v := range []float64{-1, 0, 0.5, 3, 39, 39.5} {
		lin := len(many)
		for i, b := range many {
			if v <= b {
				lin = i
				break
			}
		}
		if got := hs.bucket(v); got != lin {
			t.Errorf("bucket(%v) = %d, want %d", v, got, lin)
		}
	}
}

func TestExemplarsAndOpenMetrics(t *testing.T) {
	r := New(Options{})
	h := r.Histogram("latency_seconds", "Latency.", WithBuckets(0.1, 1))
	tid := trace.TraceID{1, 2, 3}
	sid := trace.SpanID{4, 5}
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	h.With("route", "/a").ObserveContext(ctx, 0.05)
	h.With("route", "/a").ObserveContext(context.Background(), 0.5)

	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	r.Handler().ServeHTTP(rec, req)
	body := rec.Body.String()
	if rec.Header().Get("Content-Type") != ContentTypeOpenMetrics {
		t.Fatalf("content type %q", rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{
		"# TYPE latency_seconds histogram\n",
		`latency_seconds_bucket{route="/a",le="0.1"} 1 # {trace_id="01020300000000000000000000000000",span_id="0405000000000000"} 0.05 `,
		`latency_seconds_bucket{route="/a",le="1"} 2` + "\n",
		`latency_seconds_bucket{route="/a",le="+Inf"} 2` + "\n",
		`latency_seconds_count{route="/a"} 2` + "\n",
		"# EOF\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("OpenMetrics output lacks %q:\n%s", want, body)
		}
	}
}

func TestTextFormat(t *testing.T) {
	r := New(Options{})
	r.Counter("jobs_total", "Jobs \"done\"\nsince start.").With("queue", "a\"b\\c\nd").Add(3)
	r.UpDownCounter("inflight", "").With().Add(-2)
	r.Gauge("temp.celsius", "").With().Set(21.5)
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	want := "# HELP jobs_total Jobs \"done\"\\nsince start.\n# TYPE jobs_total counter\n" +
		"jobs_total{queue=\"a\\\"b\\\\c\\nd\"} 3\n" +
		"# TYPE inflight gauge\ninflight -2\n" +
		"# TYPE temp_celsius gauge\ntemp_celsius 21.5\n"
	if got := rec.Body.String(); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	var om bytes.Buffer
	r.Write(&om, true)
	if !strings.Contains(om.String(), "# TYPE jobs counter\njobs_total{") {
		t.Fatalf("OpenMetrics counter family should drop _total:\n%s", om.String())
	}
}

func TestExpIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, scale := range []int32{-3, -1, 0, 1, 3, 8, 20} {
		w := math.Exp2(-float64(scale))
		for range 2000 {
			v := math.Exp(rng.NormFloat64() * 10)
			idx := expIndex(v, scale)
			lo, hi := math.Exp2(float64(idx)*w), math.Exp2(float64(idx+1)*w)
			if !(v > lo*(1-1e-9) && v <= hi*(1+1e-9)) {
				t.Fatalf("scale %d: expIndex(%g) = %d, bucket (%g, %g]", scale, v, idx, lo, hi)
			}
		}
		// exact powers of two are upper-inclusive
		for e := -5; e <= 5; e++ {
			v := math.Ldexp(1, e)
			if got, want := expIndex(v, scale), expIndexExact(e, scale); got != want {
				t.Errorf("scale %d: expIndex(2^%d) = %d, want %d", scale, e, got, want)
			}
		}
	}
}

func expIndexExact(e int, scale int32) int32 {
	if scale <= 0 {
		return (int32(e) - 1) >> -scale
	}
	return int32(e)<<scale - 1
}

func TestExpHistogramDownscale(t *testing.T) {
	r := New(Options{})
	s := r.ExpHistogram("x", "", WithMaxBuckets(20)).With()
	vals := []float64{0, -3, 1e-6, 1, 2, 1e6, 1e9, 123.4}
	var sum float64
	for _, v := range vals {
		s.Observe(v)
		sum += v
	}
	if s.count != uint64(len(vals)) || s.zeroCount != 1 || s.sum != sum {
		t.Fatalf("count %d zero %d sum %v", s.count, s.zeroCount, s.sum)
	}
	if len(s.pos.counts) > 20 {
		t.Fatalf("%d positive buckets, max 20", len(s.pos.counts))
	}
	base := math.Exp2(math.Exp2(-float64(s.scale)))
	var n uint64
	for i, c := range s.pos.counts {
		n += c
		_ = i
	}
	if n != 6 {
		t.Fatalf("positive count %d, want 6", n)
	}
	// every value falls in the bucket its index names at the final scale
	for _, v := range vals[2:] {
		idx := expIndex(v, s.scale)
		if idx < s.pos.start || idx >= s.pos.start+int32(len(s.pos.counts)) || s.pos.counts[idx-s.pos.start] == 0 {
			t.Errorf("value %g (index %d, base %g) not in buckets start %d len %d", v, idx, base, s.pos.start, len(s.pos.counts))
		}
	}
}

func TestProducer(t *testing.T) {
	r := New(Options{})
	r.Counter("c_total", "C.", WithUnit("1")).With("k", "v").Add(7)
	r.Histogram("h", "").With().Observe(0.3)
	r.ExpHistogram("e", "").With().Observe(4)
	r.Gauge("g", "").With().Set(2)
	reader := sdkmetric.NewManualReader(sdkmetric.WithProducer(r.Producer()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			found = append(found, m.Name)
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if v := d.DataPoints[0].Value; v != 7 || !d.IsMonotonic {
					t.Errorf("c_total = %d monotonic %v", v, d.IsMonotonic)
				}
				if v, _ := d.DataPoints[0].Attributes.Value("k"); v.AsString() != "v" {
					t.Errorf("attribute k = %v", v)
				}
			case metricdata.Histogram[float64]:
				if d.DataPoints[0].Count != 1 || d.DataPoints[0].Sum != 0.3 {
					t.Errorf("histogram %+v", d.DataPoints[0])
				}
			case metricdata.ExponentialHistogram[float64]:
				if d.DataPoints[0].Count != 1 || d.DataPoints[0].Scale != expMaxScale {
					t.Errorf("exp histogram %+v", d.DataPoints[0])
				}
			case metricdata.Gauge[float64]:
				if d.DataPoints[0].Value != 2 {
					t.Errorf("gauge %+v", d.DataPoints[0])
				}
			default:
				t.Errorf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	if len(found) != 4 {
		t.Fatalf("metrics %v, want 4", found)
	}
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	r := New(Options{})
	c := r.Counter("a_total", "")
	h := r.Histogram("b", "")
	bound := c.With("x", "1")
	c.With("method", "GET", "code", "200", "route", "/")
	h.With("m", "GET")
	f := func(name string, fn func()) {
		t.Helper()
		if n := testing.AllocsPerRun(1000, fn); n != 0 {
			t.Errorf("%s: %v allocs/op, want 0", name, n)
		}
	}
	f("bound add", func() { bound.Inc() })
	f("per-call 3 labels", func() { c.With("method", "GET", "code", "200", "route", "/").Inc() })
	f("histogram observe", func() { h.With("m", "GET").Observe(0.2) })
}
