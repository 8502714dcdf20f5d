package traces

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
)

func openTSDB(t *testing.T) *tsdb.DB {
	t.Helper()
	opts := tsdb.DefaultOptions()
	opts.EnableExemplarStorage = true
	opts.MaxExemplars = 1000
	db, err := tsdb.Open(t.TempDir(), nil, nil, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func series(t *testing.T, db *tsdb.DB, ms ...*labels.Matcher) map[string]float64 {
	t.Helper()
	q, err := db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	set := q.Select(context.Background(), false, nil, ms...)
	out := map[string]float64{}
	for set.Next() {
		s := set.At()
		it := s.Iterator(nil)
		var v float64
		for it.Next() != 0 {
			_, v = it.At()
		}
		out[s.Labels().String()] = v
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSpanMetrics(t *testing.T) {
	db := openTSDB(t)
	now := base.Add(time.Minute)
	s := newStore(t, Options{
		Now: func() time.Time { return now },
		SpanMetrics: SpanMetricsOptions{
			Appendable: db,
			Dimensions: []string{"http.method", "host.name"},
			Buckets:    []float64{0.1, 1},
		},
	})
	for range 3 {
		if _, _, err := s.ConsumeTraces(context.Background(), richTraces()); err != nil {
			t.Fatal(err)
		}
	}
	s.red.flush(context.Background())

	name := func(n string) *labels.Matcher { return labels.MustNewMatcher(labels.MatchEqual, "__name__", n) }
	got := series(t, db, name("traces_span_metrics_calls_total"))
	want := map[string]float64{
		`{__name__="traces_span_metrics_calls_total", host_name="web-1", http_method="GET", service_name="frontend", span_kind="SPAN_KIND_SERVER", span_name="GET /checkout", status_code="STATUS_CODE_ERROR"}`: 3,
		`{__name__="traces_span_metrics_calls_total", http_method="POST", service_name="backend", span_kind="SPAN_KIND_CLIENT", span_name="charge", status_code="STATUS_CODE_OK"}`:                              3,
	}
	if len(got) != len(want) {
		t.Fatalf("calls series = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	buckets := series(t, db, name("traces_span_metrics_duration_seconds_bucket"), labels.MustNewMatcher(labels.MatchEqual, "span_name", "charge"))
	for le, want := range map[string]float64{"0.1": 0, "1": 3, "+Inf": 3} {
		found := false
		for k, v := range buckets {
			if strings.Contains(k, `le="`+le+`"`) {
				found = true
				if v != want {
					t.Errorf("bucket le=%s = %v, want %v", le, v, want)
				}
			}
		}
		if !found {
			t.Errorf("no bucket le=%s in %v", le, buckets)
		}
	}
	sum := series(t, db, name("traces_span_metrics_duration_seconds_sum"), labels.MustNewMatcher(labels.MatchEqual, "span_name", "charge"))
	for _, v := range sum {
		if math.Abs(v-3*0.19) > 1e-9 {
			t.Errorf("sum = %v, want 0.57", v)
		}
	}

	eq, err := db.ExemplarQuerier(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res, err := eq.Select(math.MinInt64, math.MaxInt64, []*labels.Matcher{name("traces_span_metrics_duration_seconds_bucket")})
	if err != nil {
		t.Fatal(err)
	}
	var traceIDs []string
	for _, r := range res {
		for _, e := range r.Exemplars {
			traceIDs = append(traceIDs, e.Labels.Get("trace_id"))
		}
	}
	if len(traceIDs) != 2 || traceIDs[0] != "a00102030405060708090a0b0c0d0e01" {
		t.Fatalf("exemplar trace IDs = %v, want one per span kind with the trace's ID", traceIDs)
	}

	// A second flush with no new spans adds a sample with the same value.
	now = now.Add(15 * time.Second)
	s.red.flush(context.Background())
	got = series(t, db, name("traces_span_metrics_calls_total"), labels.MustNewMatcher(labels.MatchEqual, "span_name", "charge"))
	for _, v := range got {
		if v != 3 {
			t.Fatalf("after second flush calls = %v, want 3 (cumulative)", v)
		}
	}
}

func TestSpanMetricsOverflow(t *testing.T) {
	db := openTSDB(t)
	s := newStore(t, Options{SpanMetrics: SpanMetricsOptions{Appendable: db, MaxSeries: 1}})
	if _, _, err := s.ConsumeTraces(context.Background(), richTraces()); err != nil {
		t.Fatal(err)
	}
	s.red.flush(context.Background())
	got := series(t, db, labels.MustNewMatcher(labels.MatchEqual, "__name__", "traces_span_metrics_calls_total"))
	if len(got) != 2 || got[`{__name__="traces_span_metrics_calls_total", otel_metric_overflow="true"}`] != 1 {
		t.Fatalf("series with max 1 = %v, want the first one and an overflow series", got)
	}
}
