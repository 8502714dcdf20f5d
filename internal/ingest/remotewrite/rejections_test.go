package remotewrite

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage"

	"github.com/vigilhq/vigil/internal/apierr"
)

const ctV2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"

func v2Body(t *testing.T, req *writev2.Request) []byte {
	t.Helper()
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, b)
}

// An RW 2.0 request with a valid float series and a native histogram whose
// count does not match its buckets: the histogram's series is refused with
// 400 naming it, the float series is stored (issue 10 item 1).
func TestV2InvalidHistogramRejectsOnlyItsSeries(t *testing.T) {
	db := openDB(t)
	rejected := map[string]int{}
	h := New(Options{Appendable: db, Rejected: func(r string, n int) { rejected[r] += n }})
	now := time.Now().UnixMilli()
	bad := &histogram.Histogram{
		Count: 99, Sum: 10, Schema: 0, ZeroThreshold: 0.001, ZeroCount: 3,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}},
		PositiveBuckets: []int64{10, 0}, // 10 + 10 + zero 3 = 23, not 99
	}
	req := &writev2.Request{
		Symbols: []string{"", "__name__", "good_float", "bad_histogram", "job", "x"},
		Timeseries: []writev2.TimeSeries{
			{LabelsRefs: []uint32{1, 2, 4, 5}, Samples: []writev2.Sample{{Value: 1, Timestamp: now}}},
			{LabelsRefs: []uint32{1, 3, 4, 5}, Histograms: []writev2.Histogram{writev2.FromIntHistogram(0, now, bad)}},
		},
	}
	w := send(t, h, ctV2, v2Body(t, req))
	if w.Code != http.StatusBadRequest {
		t.Fatalf("status %d %s, want 400", w.Code, w.Body)
	}
	if body := w.Body.String(); !strings.Contains(body, `bad_histogram{job="x"}`) || !strings.Contains(body, "1 accepted") {
		t.Fatalf("body %q does not name the histogram series and the accepted sample", body)
	}
	if got := w.Header().Get("X-Prometheus-Remote-Write-Samples-Written"); got != "1" {
		t.Fatalf("Samples-Written %q, want 1", got)
	}
	if _, n := count(t, db, "good_float"); n != 1 {
		t.Fatalf("valid float series: %d samples stored, want 1", n)
	}
	if s, _ := count(t, db, "bad_histogram"); s != 0 {
		t.Fatal("invalid histogram stored")
	}
	if rejected[ReasonInvalidSample] != 1 {
		t.Fatalf("rejections %v, want invalid_sample: 1", rejected)
	}
}

// Exemplars that cannot be stored are counted and named, as the samples
// are stored (issue 10 item 5).
func TestExemplarsNotStoredAreReported(t *testing.T) {
	db := openDB(t)
	rejected := map[string]int{}
	h := New(Options{Appendable: db, Rejected: func(r string, n int) { rejected[r] += n }})
	now := time.Now().UnixMilli()
	req := &writev2.Request{
		Symbols: []string{"", "__name__", "with_sample", "exemplar_only", "trace_id", "abc"},
		Timeseries: []writev2.TimeSeries{
			{LabelsRefs: []uint32{1, 2}, Samples: []writev2.Sample{{Value: 1, Timestamp: now}},
				Exemplars: []writev2.Exemplar{{LabelsRefs: []uint32{4, 5}, Value: 1, Timestamp: now}}},
			{LabelsRefs: []uint32{1, 3},
				Exemplars: []writev2.Exemplar{{LabelsRefs: []uint32{4, 5}, Value: 1, Timestamp: now}}},
		},
	}
	w := send(t, h, ctV2, v2Body(t, req))
	if w.Code != http.StatusBadRequest {
		t.Fatalf("status %d %s, want 400 naming the dropped exemplar", w.Code, w.Body)
	}
	if body := w.Body.String(); !strings.Contains(body, `exemplar_only`) || !strings.Contains(body, "1 exemplars rejected, 1 accepted") {
		t.Fatalf("body %q does not report the exemplar", body)
	}
	if got := w.Header().Get("X-Prometheus-Remote-Write-Exemplars-Written"); got != "1" {
		t.Fatalf("Exemplars-Written %q, want 1", got)
	}
	if rejected[ReasonExemplar] != 1 {
		t.Fatalf("rejections %v, want exemplar: 1", rejected)
	}
	// Remote write 1.0: the same.
	ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: "v1_exemplar_only"}},
		Exemplars: []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: "x"}}, Value: 1, Timestamp: now}}}
	w = send(t, h, "application/x-protobuf", v1Body(t, ts))
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "v1_exemplar_only") {
		t.Fatalf("1.0: %d %s", w.Code, w.Body)
	}
}

// A sample from 1970 is refused naming the series and the accepted
// window (issue 10 item 18).
func TestOutOfBoundsNamesSeriesAndWindow(t *testing.T) {
	db := openDB(t)
	lo := time.Now().Add(-time.Hour).UnixMilli()
	h := New(Options{Appendable: db, MinTime: func() (int64, bool) { return lo, true }})
	if w := send(t, h, "application/x-protobuf", v1Body(t, series("recent", "job", "x"))); w.Code != http.StatusNoContent {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	old := series("old_metric", "job", "x")
	old.Samples = []prompb.Sample{{Timestamp: 0, Value: 1}}
	w := send(t, h, "application/x-protobuf", v1Body(t, old))
	body := w.Body.String()
	if w.Code != http.StatusBadRequest || !strings.Contains(body, `old_metric{job="x"}`) || !strings.Contains(body, "1970-01-01T00:00:00Z") ||
		!strings.Contains(body, "accepted window ["+time.UnixMilli(lo).UTC().Format(time.RFC3339Nano)+", now+10m]") {
		t.Fatalf("%d %q: want 400 naming the series, its time and the window", w.Code, body)
	}
	future := series("future_metric")
	future.Samples = []prompb.Sample{{Timestamp: time.Now().Add(time.Hour).UnixMilli(), Value: 1}}
	w = send(t, h, "application/x-protobuf", v1Body(t, future))
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "future_metric") || !strings.Contains(w.Body.String(), "accepted window") {
		t.Fatalf("future: %d %s", w.Code, w.Body)
	}
}

// Remote write 1.0 metadata and 2.0 per-series metadata reach the store
// (issue 10 item 8): 1.0 through Options.Metadata, 2.0 with the sample.
func TestMetadata(t *testing.T) {
	db := openDB(t)
	got := map[string]metadata.Metadata{}
	h := New(Options{Appendable: metaRecorder{db, got}, Metadata: func(f string, md metadata.Metadata) { got[f] = md }})
	req := &prompb.WriteRequest{Metadata: []prompb.MetricMetadata{{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "http_requests_total", Help: "Requests.", Unit: ""}}}
	b, _ := req.Marshal()
	if w := send(t, h, "application/x-protobuf", snappy.Encode(nil, b)); w.Code != http.StatusNoContent {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	now := time.Now().UnixMilli()
	v2 := &writev2.Request{
		Symbols: []string{"", "__name__", "latency_seconds_bucket", "le", "1", "Latency.", "seconds"},
		Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{1, 2, 3, 4}, Samples: []writev2.Sample{{Value: 1, Timestamp: now}},
			Metadata: writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_HISTOGRAM, HelpRef: 5, UnitRef: 6}}},
	}
	if w := send(t, h, ctV2, v2Body(t, v2)); w.Code != http.StatusNoContent {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	want := map[string]metadata.Metadata{
		"http_requests_total":    {Type: model.MetricTypeCounter, Help: "Requests."},
		"latency_seconds_bucket": {Type: model.MetricTypeHistogram, Help: "Latency.", Unit: "seconds"},
	}
	for f, md := range want {
		if got[f] != md {
			t.Fatalf("metadata of %s = %+v, want %+v (all: %v)", f, got[f], md, got)
		}
	}
}

// metaRecorder records the metadata passed with appended samples under
// their series' name.
type metaRecorder struct {
	storage.AppendableV2
	got map[string]metadata.Metadata
}

func (m metaRecorder) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return metaAppender{m.AppendableV2.AppenderV2(ctx), m.got}
}

type metaAppender struct {
	storage.AppenderV2
	got map[string]metadata.Metadata
}

func (a metaAppender) Append(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AppendV2Options) (storage.SeriesRef, error) {
	if opts.Metadata.Type != "" {
		a.got[ls.Get(labels.MetricName)] = opts.Metadata
	}
	return a.AppenderV2.Append(ref, ls, st, t, v, h, fh, opts)
}

// A commit the storage cannot make for lack of space is a 503 with
// Retry-After saying so, not a 500 (issue 10 item 3).
func TestCommitOutOfSpaceIsRetryable(t *testing.T) {
	h := New(Options{Appendable: failingCommit{openDB(t)}})
	w := send(t, h, "application/x-protobuf", v1Body(t, series("a")))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "30" || !strings.Contains(w.Body.String(), "out of disk space") {
		t.Fatalf("%d %v %s: want 503, Retry-After 30, out of disk space", w.Code, w.Header(), w.Body)
	}
}

type failingCommit struct{ storage.AppendableV2 }

func (f failingCommit) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return failingAppender{f.AppendableV2.AppenderV2(ctx)}
}

type failingAppender struct{ storage.AppenderV2 }

func (f failingAppender) Commit() error {
	_ = f.AppenderV2.Rollback()
	return apierr.StorageFull("metrics")
}

// Admit's refusal (the memory governor's) is answered before the body is
// read: 503 with Retry-After, which every Prometheus retries; nothing is
// stored.
func TestAdmitRefusalIsRetryable(t *testing.T) {
	db := openDB(t)
	rejected := map[string]int{}
	refuse := true
	h := New(Options{Appendable: db, Rejected: func(r string, n int) { rejected[r]++ }, Admit: func() error {
		if refuse {
			return &apierr.Error{Code: apierr.Unavailable, Message: "memory limit: over 90% of memory_limit 512MiB; retry later", RetryAfter: time.Second}
		}
		return nil
	}})
	w := send(t, h, "application/x-protobuf", v1Body(t, series("a")))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), "memory_limit 512MiB") {
		t.Fatalf("%d %v %s: want 503, Retry-After 1, the limit", w.Code, w.Header(), w.Body)
	}
	if rejected["overloaded"] != 1 {
		t.Fatalf("rejections counted: %v", rejected)
	}
	refuse = false
	if w := send(t, h, "application/x-protobuf", v1Body(t, series("a"))); w.Code/100 != 2 {
		t.Fatalf("admitted: %d %s", w.Code, w.Body)
	}
}
