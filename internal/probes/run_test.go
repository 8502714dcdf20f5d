package probes

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	bbconfig "github.com/prometheus/blackbox_exporter/config"
	"github.com/prometheus/blackbox_exporter/prober"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
)

// handlerSeries is what the blackbox exporter's own /probe handler answers
// for target and module: each series (name and labels) with its value.
func handlerSeries(t *testing.T, target string, mod bbconfig.Module) map[string]float64 {
	t.Helper()
	cfg := &bbconfig.Config{Modules: map[string]bbconfig.Module{"m": mod}}
	q := url.Values{"target": {target}, "module": {"m"}}
	req := httptest.NewRequest("GET", "/probe?"+q.Encode(), nil)
	rec := httptest.NewRecorder()
	prober.Handler(rec, req, cfg, slog.New(slog.DiscardHandler), &prober.ResultHistory{MaxResults: 1}, 0.5, nil, nil,
		&promslog.Config{Level: promslog.NewLevel(), Writer: io.Discard})
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /probe: %v\n%s", err, rec.Body)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			b := labels.NewScratchBuilder(0)
			b.Add(labels.MetricName, name)
			for _, lp := range m.GetLabel() {
				b.Add(lp.GetName(), lp.GetValue())
			}
			b.Sort()
			out[b.Labels().String()] = m.GetGauge().GetValue()
		}
	}
	return out
}

func runSeries(r *Result) map[string]float64 {
	out := map[string]float64{}
	for _, s := range r.Samples {
		out[s.Labels.String()] = s.Value
	}
	return out
}

// timing is whether a series is a duration, which differs from run to run.
func timing(series string) bool {
	return strings.Contains(series, "duration_seconds") || strings.Contains(series, "lookup_time_seconds")
}

// TestRunSeriesMatchHandler: a run's samples are the series the
// exporter's /probe handler answers, probe_success and
// probe_duration_seconds included (a run adds those itself rather than
// registering them), with equal values but for the timings.
func TestRunSeriesMatchHandler(t *testing.T) {
	srv := testServer(t)
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		success    bool
	}{{"ok", "/", true}, {"404", "/404", false}} {
		mod := httpModule(nil)
		tg := target(tc.name, srv.URL+tc.path, mod)
		tg.Timeout = 5 * time.Second
		r := m.run(context.Background(), &tg, time.Now())
		if r.Success != tc.success {
			t.Fatalf("%s: success %v: %s", tc.name, r.Success, r.Error)
		}
		got, want := runSeries(r), handlerSeries(t, tg.Target, mod)
		gk, wk := slices.Sorted(mapsKeys(got)), slices.Sorted(mapsKeys(want))
		if !slices.Equal(gk, wk) {
			t.Fatalf("%s: run series\n%v\nhandler series\n%v", tc.name, gk, wk)
		}
		for k, v := range want {
			if !timing(k) && got[k] != v {
				t.Fatalf("%s: %s = %v, handler %v", tc.name, k, got[k], v)
			}
		}
		if d := got[`{__name__="probe_duration_seconds"}`]; d <= 0 || d != r.Duration.Seconds() {
			t.Fatalf("%s: probe_duration_seconds %v, run took %v", tc.name, d, r.Duration)
		}
		if tc.success {
			continue
		}
		// A failing run's debug output has the exporter's sections, with
		// probe_success and probe_duration_seconds among the metrics.
		for _, w := range []string{"Logs for the probe:", `level=DEBUG`, `msg="Beginning probe"`, `target=` + tg.Target + ` probe=http timeout_seconds=5`,
			"Metrics that would have been returned:", "probe_success 0", "# HELP probe_duration_seconds Returns how long the probe took to complete in seconds", "Module configuration:"} {
			if !strings.Contains(r.Debug, w) {
				t.Fatalf("%s: debug output lacks %q:\n%s", tc.name, w, r.Debug)
			}
		}
		if i, j := strings.Index(r.Debug, "Beginning probe"), strings.Index(r.Debug, "Invalid HTTP response status code"); i < 0 || j < i {
			t.Fatalf("%s: the first line is not the beginning:\n%s", tc.name, r.Debug)
		}
	}
}

func mapsKeys(m map[string]float64) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestCaptureRelease: a released capture's records go back to the pool
// cleared, records logged after the release are dropped, and records
// handed out before stay intact.
func TestCaptureRelease(t *testing.T) {
	c := newCapture(slog.String("module", "m"))
	log := slog.New(c).With("k", "v")
	log.Info("one", "a", 1)
	log.Error("two", "err", "boom")
	kept, ok := c.firstError()
	if !ok || kept.Message != "two" {
		t.Fatalf("first error %+v %v", kept, ok)
	}
	buf := c.log.buf
	c.release()
	if n := len(*buf); n != 0 {
		t.Fatalf("the pooled slice holds %d records", n)
	}
	for _, r := range (*buf)[:2] {
		if r.Message != "" {
			t.Fatalf("the pooled slice keeps record %q", r.Message)
		}
	}
	log.Info("late") // a prober goroutine outliving its run
	if rs := c.all(); len(rs) != 0 {
		t.Fatalf("records after release: %d", len(rs))
	}
	c.release() // twice is harmless
	var attrs []string
	kept.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a.String()); return true })
	if kept.Message != "two" || !slices.Equal(attrs, []string{"k=v", "err=boom"}) {
		t.Fatalf("a record handed out before the release changed: %q %v", kept.Message, attrs)
	}
	// The next capture starts empty.
	if rs := newCapture().all(); len(rs) != 0 {
		t.Fatalf("a new capture starts with %d records", len(rs))
	}
}

// TestDispatchTick: runs due within a tick are dispatched in one wake-up,
// and the tick stays well under a short lateness bound.
func TestDispatchTick(t *testing.T) {
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	tg := target("a", srv.URL, httpModule(nil))
	if err := m.ApplyConfig(Config{Targets: []Target{tg}}); err != nil {
		t.Fatal(err)
	}
	if m.tick != dispatchTick {
		t.Fatalf("tick %v at a 10s interval, want %v", m.tick, dispatchTick)
	}
	tg.Interval = 100 * time.Millisecond // lateness bound 10ms
	if err := m.ApplyConfig(Config{Targets: []Target{tg}}); err != nil {
		t.Fatal(err)
	}
	if want := 10 * time.Millisecond / 4; m.tick != want {
		t.Fatalf("tick %v at a 100ms interval, want %v", m.tick, want)
	}
}
