package metric

import "testing"

// The benchmark names match those in bench/sdk so run.sh can put the three
// libraries side by side.

func BenchmarkCounterBound(b *testing.B) {
	c := New(Options{}).Counter("requests_total", "").With("method", "GET", "code", "200", "route", "/api")
	b.ReportAllocs()
	for b.Loop() {
		c.Inc()
	}
}

func BenchmarkCounterBoundParallel(b *testing.B) {
	c := New(Options{}).Counter("requests_total", "").With("method", "GET", "code", "200", "route", "/api")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Inc()
		}
	})
}

func BenchmarkCounterLabels3(b *testing.B) {
	c := New(Options{}).Counter("requests_total", "")
	b.ReportAllocs()
	for b.Loop() {
		c.With("method", "GET", "code", "200", "route", "/api").Inc()
	}
}

func BenchmarkCounterLabels3Parallel(b *testing.B) {
	c := New(Options{}).Counter("requests_total", "")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.With("method", "GET", "code", "200", "route", "/api").Inc()
		}
	})
}

func BenchmarkHistogramBound(b *testing.B) {
	h := New(Options{}).Histogram("latency_seconds", "").With("method", "GET", "code", "200", "route", "/api")
	b.ReportAllocs()
	v := 0.0
	for b.Loop() {
		h.Observe(v)
		v += 0.001
		if v > 2 {
			v = 0
		}
	}
}

func BenchmarkHistogramBoundParallel(b *testing.B) {
	h := New(Options{}).Histogram("latency_seconds", "").With("method", "GET", "code", "200", "route", "/api")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		v := 0.0
		for pb.Next() {
			h.Observe(v)
			v += 0.001
			if v > 2 {
				v = 0
			}
		}
	})
}

func BenchmarkHistogramLabels3(b *testing.B) {
	h := New(Options{}).Histogram("latency_seconds", "")
	b.ReportAllocs()
	for b.Loop() {
		h.With("method", "GET", "code", "200", "route", "/api").Observe(0.042)
	}
}

func BenchmarkExpHistogramBound(b *testing.B) {
	h := New(Options{}).ExpHistogram("latency_seconds", "").With()
	b.ReportAllocs()
	v := 0.0001
	for b.Loop() {
		h.Observe(v)
		v *= 1.01
		if v > 10 {
			v = 0.0001
		}
	}
}

func BenchmarkGaugeSet(b *testing.B) {
	g := New(Options{}).Gauge("temp", "").With("room", "a")
	b.ReportAllocs()
	for b.Loop() {
		g.Set(21.5)
	}
}
