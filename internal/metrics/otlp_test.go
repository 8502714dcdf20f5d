package metrics

import (
	"context"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func sampleCount(t *testing.T, s *Store, name string) (series int, last float64) {
	t.Helper()
	q, err := s.DB().Querier(0, time.Now().Add(time.Hour).UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", name))
	for ss.Next() {
		series++
		it := ss.At().Iterator(nil)
		for it.Next() != 0 {
			_, last = it.At()
		}
	}
	return series, last
}

func TestOTLPConsumerDeltaToCumulativeAndPartialSuccess(t *testing.T) {
	s, _ := openStore(t, Limits{})
	reg := prometheus.NewRegistry()
	lim, err := NewLimiter(Limits{}, reg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewOTLPConsumer(OTLPOptions{Appendable: s.Appendable(), Received: lim.Received})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	base := time.Now().Add(-time.Minute)
	req := func(i int, v int64) pmetric.Metrics {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", "svc")
		ms := rm.ScopeMetrics().AppendEmpty().Metrics()
		m := ms.AppendEmpty()
		m.SetName("jobs")
		sum := m.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		dp := sum.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i) * time.Second)))
		dp.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i+1) * time.Second)))
		dp.SetIntValue(v)
		// A metric with no data type: unsupported.
		e := ms.AppendEmpty()
		e.SetName("mystery")
		return md
	}
	for i, v := range []int64{3, 4, 5} {
		rej, msg, err := c.ConsumeMetrics(context.Background(), req(i, v))
		if err != nil {
			t.Fatal(err)
		}
		if rej != 1 || !strings.Contains(msg, "mystery") {
			t.Fatalf("unsupported metric not reported: %d %q", rej, msg)
		}
	}
	if n, last := sampleCount(t, s, "jobs_total"); n != 1 || last != 12 {
		t.Fatalf("delta to cumulative: %d series, last %v (want 12)", n, last)
	}
	// Three requests of one data point each, counted in the shared counter.
	if got := testutil.ToFloat64(lim.received.WithLabelValues("otlp")); got != 3 {
		t.Fatalf("vigil_samples_received_total{protocol=otlp} = %v, want 3", got)
	}
}

func TestOTLPConsumerRequestLimit(t *testing.T) {
	s, _ := openStore(t, Limits{})
	c, err := NewOTLPConsumer(OTLPOptions{Appendable: s.Appendable(), Settings: func() OTLPSettings { return OTLPSettings{MaxSamplesPerRequest: 1} }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	md := pmetric.NewMetrics()
	g := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	g.SetName("g")
	g.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(1)
	g.Gauge().DataPoints().AppendEmpty().SetDoubleValue(2)
	if _, _, err := c.ConsumeMetrics(context.Background(), md); err == nil || !strings.Contains(err.Error(), "max_samples_per_request") {
		t.Fatalf("want limit error, got %v", err)
	}
}
