package metrics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openStore(t *testing.T, l Limits) (*Store, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := Open(Options{Dir: t.TempDir(), Limits: l, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, reg
}

func appendOne(s *Store, name, v string) error {
	app := s.Appendable().AppenderV2(context.Background())
	_, err := app.Append(0, labels.FromStrings("__name__", name, "v", v), 0, time.Now().UnixMilli(), 1, nil, nil, storage.AOptions{})
	if err != nil {
		_ = app.Rollback()
		return err
	}
	return app.Commit()
}

func TestSeriesPerMetricLimit(t *testing.T) {
	s, reg := openStore(t, Limits{MaxSeriesPerMetric: 2})
	for i := 0; i < 2; i++ {
		if err := appendOne(s, "m", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	err := appendOne(s, "m", "3")
	var le *LimitError
	if !errors.As(err, &le) || le.Metric != "m" || le.Limit != 2 || le.Current != 2 {
		t.Fatalf("want LimitError for m, got %v", err)
	}
	if !errors.Is(err, storage.ErrOutOfBounds) {
		t.Fatal("LimitError must match ErrOutOfBounds so scrapes skip the sample")
	}
	if !strings.Contains(err.Error(), `"m"`) || !strings.Contains(err.Error(), "max_series_per_metric=2") || !strings.Contains(err.Error(), "current series 2") {
		t.Fatalf("message: %v", err)
	}
	// Existing series and other metrics keep going.
	if err := appendOne(s, "m", "1"); err != nil {
		t.Fatal(err)
	}
	if err := appendOne(s, "other", "1"); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(s.limiter.rejected.WithLabelValues(ReasonSeriesPerMetric)); got != 1 {
		t.Fatalf("rejected counter %v", got)
	}
	_ = reg
}

func TestActiveSeriesAndLabelLimits(t *testing.T) {
	s, _ := openStore(t, Limits{MaxActiveSeries: 3, MaxLabelNamesPerSeries: 3})
	for i := 0; i < 3; i++ {
		if err := appendOne(s, fmt.Sprint("m", i), "x"); err != nil {
			t.Fatal(err)
		}
	}
	var le *LimitError
	if err := appendOne(s, "m9", "x"); !errors.As(err, &le) || le.Reason != ReasonActiveSeries {
		t.Fatalf("active series: %v", err)
	}
	s.SetLimits(Limits{MaxActiveSeries: 10, MaxLabelNamesPerSeries: 1})
	if err := appendOne(s, "m9", "x"); !errors.As(err, &le) || le.Reason != ReasonLabelNames {
		t.Fatalf("label names: %v", err)
	}
}

func TestLimiterResyncsFromHeadAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, Limits: Limits{MaxSeriesPerMetric: 2}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := appendOne(s, "m", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = Open(Options{Dir: dir, Limits: Limits{MaxSeriesPerMetric: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := appendOne(s, "m", "new"); err == nil {
		t.Fatal("limit forgotten after restart (WAL replay)")
	}
	if got := s.limiter.total.Load(); got != 2 {
		t.Fatalf("total %d", got)
	}
}

func TestDeletedSeriesFreeTheirSlots(t *testing.T) {
	s, _ := openStore(t, Limits{MaxSeriesPerMetric: 1})
	if err := appendOne(s, "m", "a"); err != nil {
		t.Fatal(err)
	}
	if err := appendOne(s, "m", "b"); err == nil {
		t.Fatal("limit not enforced")
	}
	s.limiter.PostDeletion(map[chunks.HeadSeriesRef]labels.Labels{1: labels.FromStrings("__name__", "m", "v", "a")})
	if err := appendOne(s, "m", "b"); err != nil {
		t.Fatalf("slot not freed: %v", err)
	}
}

func TestConcurrentAdmitStaysWithinLimit(t *testing.T) {
	s, _ := openStore(t, Limits{MaxSeriesPerMetric: 50})
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		go func(w int) {
			for i := 0; i < 20; i++ {
				_ = appendOne(s, "race", fmt.Sprint(w, "-", i))
			}
			errs <- nil
		}(w)
	}
	for i := 0; i < 8; i++ {
		<-errs
	}
	// The check (PreCreation) and the count (PostCreation) are separate
	// hooks: racing creators may overshoot by at most their number.
	if n := s.DB().Head().NumSeries(); n < 50 || n > 50+8 {
		t.Fatalf("head has %d series, limit 50 (+8 racing writers)", n)
	}
	if got := s.limiter.total.Load(); got != int64(s.DB().Head().NumSeries()) {
		t.Fatalf("limiter counts %d, head has %d", got, s.DB().Head().NumSeries())
	}
}

// TestAppenderLooksSeriesUp: the limiter's appender passes GetRef through
// to the head, so receivers can skip checks for series already stored.
func TestAppenderLooksSeriesUp(t *testing.T) {
	s, _ := openStore(t, Limits{})
	if err := appendOne(s, "known", "a"); err != nil {
		t.Fatal(err)
	}
	app := s.Appendable().AppenderV2(context.Background())
	defer app.Rollback()
	g, ok := app.(storage.GetRef)
	if !ok {
		t.Fatal("appender does not implement storage.GetRef")
	}
	known := labels.FromStrings("__name__", "known", "v", "a")
	if ref, _ := g.GetRef(known, known.Hash()); ref == 0 {
		t.Fatalf("GetRef(%s) = 0 for a stored series", known)
	}
	other := labels.FromStrings("__name__", "unknown")
	if ref, _ := g.GetRef(other, other.Hash()); ref != 0 {
		t.Fatalf("GetRef(%s) = %d for a series never stored", other, ref)
	}
}
