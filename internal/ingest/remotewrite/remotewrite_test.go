package remotewrite

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openDB(t testing.TB) *tsdb.DB {
	t.Helper()
	db, err := tsdb.Open(t.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *tsdb.DB, name string) (series, samples int) {
	t.Helper()
	q, err := db.Querier(0, time.Now().Add(time.Hour).UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", name))
	for ss.Next() {
		series++
		it := ss.At().Iterator(nil)
		for it.Next() != 0 {
			samples++
		}
	}
	return series, samples
}

func send(t testing.TB, h http.Handler, ct string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/v1/write", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Content-Encoding", "snappy")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func v1Body(t testing.TB, ts ...prompb.TimeSeries) []byte {
	t.Helper()
	b, err := (&prompb.WriteRequest{Timeseries: ts}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, b)
}

func series(name string, kv ...string) prompb.TimeSeries {
	ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: name}}}
	for i := 0; i+1 < len(kv); i += 2 {
		ts.Labels = append(ts.Labels, prompb.Label{Name: kv[i], Value: kv[i+1]})
	}
	now := time.Now().UnixMilli()
	ts.Samples = []prompb.Sample{{Timestamp: now - 1000, Value: 1}, {Timestamp: now, Value: 2}}
	return ts
}

func TestV1StoresAndRejectsPerSeries(t *testing.T) {
	db := openDB(t)
	rejected, received := map[string]int{}, map[string]int{}
	h := New(Options{Appendable: db, Rejected: func(r string, n int) { rejected[r] += n }, Received: func(p string, n int) { received[p] += n }})
	w := send(t, h, "application/x-protobuf", v1Body(t, series("good", "a", "1"), series("good", "a", "2")))
	if w.Code != http.StatusNoContent {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if received["remote_write"] != 4 || len(received) != 1 {
		t.Fatalf("received %v, want remote_write: 4", received)
	}
	if s, n := count(t, db, "good"); s != 2 || n != 4 {
		t.Fatalf("stored %d series %d samples", s, n)
	}
	bad := series("good", "a", "3")
	bad.Labels = append(bad.Labels, prompb.Label{Name: "b", Value: ""})
	w = send(t, h, "application/x-protobuf", v1Body(t, bad, series("", "x", "y"), series("more", "a", "1")))
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `empty value for label "b"`) || !strings.Contains(w.Body.String(), "no metric name") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if s, _ := count(t, db, "more"); s != 1 {
		t.Fatal("valid series of a partly bad request not stored")
	}
	if rejected[ReasonInvalidLabels] != 4 {
		t.Fatalf("rejections: %v", rejected)
	}
	// Out of order: rejected with 400 and counted.
	old := series("good", "a", "1")
	old.Samples = []prompb.Sample{{Timestamp: time.Now().Add(-time.Hour).UnixMilli(), Value: 1}}
	w = send(t, h, "application/x-protobuf", v1Body(t, old))
	if w.Code != http.StatusBadRequest || rejected[ReasonOutOfOrder] != 1 {
		t.Fatalf("out of order: %d %s %v", w.Code, w.Body, rejected)
	}
}

func TestRequestLimits(t *testing.T) {
	db := openDB(t)
	h := New(Options{Appendable: db, Limits: func() Limits {
		return Limits{MaxRequestBytes: 1 << 20, MaxSamplesPerRequest: 3, MaxSeriesPerRequest: 1}
	}})
	w := send(t, h, "application/x-protobuf", v1Body(t, series("a"), series("b")))
	if w.Code != 400 || !strings.Contains(w.Body.String(), "max_series_per_request") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	s := series("a")
	s.Samples = append(s.Samples, s.Samples...)
	w = send(t, h, "application/x-protobuf", v1Body(t, s))
	if w.Code != 400 || !strings.Contains(w.Body.String(), "max_samples_per_request") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if n, _ := count(t, db, "a"); n != 0 {
		t.Fatal("over-limit request stored something")
	}
	h = New(Options{Appendable: db, Limits: func() Limits { return Limits{MaxRequestBytes: 100} }})
	w = send(t, h, "application/x-protobuf", make([]byte, 200))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	// A small body that claims a huge decoded size.
	w = send(t, h, "application/x-protobuf", []byte{0xff, 0xff, 0xff, 0x7f})
	if w.Code != http.StatusRequestEntityTooLarge && w.Code != http.StatusBadRequest {
		t.Fatalf("snappy bomb: %d %s", w.Code, w.Body)
	}
}

func TestV2(t *testing.T) {
	db := openDB(t)
	received := map[string]int{}
	h := New(Options{Appendable: db, Received: func(p string, n int) { received[p] += n }})
	now := time.Now().UnixMilli()
	req := &writev2.Request{
		Symbols: []string{"", "__name__", "v2_metric", "job", "x", "help text"},
		Timeseries: []writev2.TimeSeries{{
			LabelsRefs: []uint32{1, 2, 3, 4},
			Samples:    []writev2.Sample{{Value: 1, Timestamp: now - 1000}, {Value: 2, Timestamp: now}},
			Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_GAUGE, HelpRef: 5},
		}},
	}
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	w := send(t, h, "application/x-protobuf;proto=io.prometheus.write.v2.Request", snappy.Encode(nil, b))
	if w.Code != http.StatusNoContent {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if received["remote_write_2"] != 2 {
		t.Fatalf("received %v, want remote_write_2: 2", received)
	}
	if w.Header().Get("X-Prometheus-Remote-Write-Samples-Written") != "2" {
		t.Fatalf("written header: %v", w.Header())
	}
	if _, n := count(t, db, "v2_metric"); n != 2 {
		t.Fatalf("stored %d", n)
	}
	// A bad symbol reference is rejected with 400.
	req.Timeseries[0].LabelsRefs = []uint32{1, 99}
	b, _ = req.Marshal()
	w = send(t, h, "application/x-protobuf;proto=io.prometheus.write.v2.Request", snappy.Encode(nil, b))
	if w.Code != 400 {
		t.Fatalf("bad symbols: %d %s", w.Code, w.Body)
	}
}

func TestContentNegotiation(t *testing.T) {
	h := New(Options{Appendable: openDB(t)})
	if w := send(t, h, "application/json", v1Body(t, series("a"))); w.Code != http.StatusUnsupportedMediaType {
		t.Fatalf("json: %d", w.Code)
	}
	if w := send(t, h, "application/x-protobuf;proto=foo.Bar", v1Body(t, series("a"))); w.Code != http.StatusUnsupportedMediaType {
		t.Fatalf("unknown proto: %d", w.Code)
	}
	req := httptest.NewRequest("POST", "/api/v1/write", bytes.NewReader(v1Body(t, series("a"))))
	req.Header.Set("Content-Encoding", "gzip")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusUnsupportedMediaType {
		t.Fatalf("gzip: %d", w.Code)
	}
}

// FuzzDecode feeds arbitrary bodies through both decoding paths: they must
// never panic, and never answer 2xx unless the body was a valid request.
func FuzzDecode(f *testing.F) {
	good, _ := (&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{series("a", "b", "c")}}).Marshal()
	f.Add(good, false)
	v2, _ := (&writev2.Request{Symbols: []string{"", "__name__", "x"}, Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{1, 2}, Samples: []writev2.Sample{{Value: 1, Timestamp: 1}}}}}).Marshal()
	f.Add(v2, true)
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00}, false)
	f.Add([]byte{}, true)
	db, err := tsdb.Open(f.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	h := New(Options{Appendable: db})
	f.Fuzz(func(t *testing.T, raw []byte, isV2 bool) {
		ct := "application/x-protobuf"
		if isV2 {
			ct = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
		}
		w := send(t, h, ct, snappy.Encode(nil, raw))
		if w.Code >= 500 {
			t.Fatalf("server error on fuzz input: %d %s", w.Code, w.Body)
		}
	})
}

type blockingAppendable struct {
	storage.AppendableV2
	block chan struct{}
}

func (b blockingAppendable) AppenderV2(ctx context.Context) storage.AppenderV2 {
	<-b.block
	return b.AppendableV2.AppenderV2(ctx)
}

func TestOverloadIsRetryable(t *testing.T) {
	db := openDB(t)
	ba := blockingAppendable{AppendableV2: db, block: make(chan struct{})}
	h := New(Options{Appendable: ba, MaxConcurrentRequests: 1})
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- send(t, h, "application/x-protobuf", v1Body(t, series("a"))) }()
	time.Sleep(50 * time.Millisecond)
	w := send(t, h, "application/x-protobuf", v1Body(t, series("b")))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("overload: %d %v", w.Code, w.Header())
	}
	close(ba.block)
	if w := <-done; w.Code != http.StatusNoContent {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
}
