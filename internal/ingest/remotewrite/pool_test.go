package remotewrite

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// keeper is an appendable over a TSDB that keeps every labels value,
// metadata and exemplar the handler hands it, with a copy of what each
// read at the time, as a store that keeps references would.
type keeper struct {
	db *tsdb.DB
	mu sync.Mutex
	// kept values and what they read when handed over
	kept   []any
	copies []string
	byRef  map[bool]int // appends with a known reference (true) or not
}

func (k *keeper) keep(v any) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.kept = append(k.kept, v)
	k.copies = append(k.copies, fmt.Sprint(v))
}

// check fails for every kept value that no longer reads as it did.
func (k *keeper) check(t *testing.T) {
	t.Helper()
	for i, v := range k.kept {
		if got := fmt.Sprint(v); got != k.copies[i] {
			t.Errorf("value handed to the storage changed after its request: %q, was %q", got, k.copies[i])
		}
	}
}

func (k *keeper) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return &keepApp{k: k, app: k.db.AppenderV2(ctx)}
}

type keepApp struct {
	k   *keeper
	app storage.AppenderV2
}

func (a *keepApp) Append(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AppendV2Options) (storage.SeriesRef, error) {
	a.k.keep(ls)
	a.k.keep(opts.Metadata)
	a.k.mu.Lock()
	a.k.byRef[ref != 0]++
	a.k.mu.Unlock()
	return a.app.Append(ref, ls, st, t, v, h, fh, opts)
}

func (a *keepApp) AppendExemplars(ref storage.SeriesRef, ls labels.Labels, es []exemplar.Exemplar) (storage.SeriesRef, error) {
	a.k.keep(ls)
	for _, e := range es {
		a.k.keep(e.Labels)
	}
	return a.app.(storage.ExemplarAppenderV2).AppendExemplars(ref, ls, es)
}

func (a *keepApp) GetRef(ls labels.Labels, hash uint64) (storage.SeriesRef, labels.Labels) {
	return a.app.(storage.GetRef).GetRef(ls, hash)
}

func (a *keepApp) Commit() error   { return a.app.Commit() }
func (a *keepApp) Rollback() error { return a.app.Rollback() }

// TestPooledBuffersAreNotRetained: label strings and symbols alias the
// pooled request buffers, which are scribbled over after every request
// here and reused by the next. Nothing the storage was handed (series
// labels of new and known series, exemplar labels, metadata) and nothing
// the TSDB head keeps (series, its label index, exemplars) may change.
func TestPooledBuffersAreNotRetained(t *testing.T) {
	testScribble = func(b *buffers) {
		for _, buf := range [][]byte{b.compressed[:cap(b.compressed)], b.body[:cap(b.body)]} {
			for i := range buf {
				buf[i] = 0xa5
			}
		}
	}
	t.Cleanup(func() { testScribble = nil })
	opts := tsdb.DefaultOptions()
	opts.EnableExemplarStorage = true
	opts.MaxExemplars = 1000
	db, err := tsdb.Open(t.TempDir(), nil, nil, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	k := &keeper{db: db, byRef: map[bool]int{}}
	var metaMu sync.Mutex
	v1meta := map[string]metadata.Metadata{}
	var v1metaCopy []string
	h := New(Options{Appendable: k, Metadata: func(f string, md metadata.Metadata) {
		metaMu.Lock()
		defer metaMu.Unlock()
		v1meta[f] = md
		v1metaCopy = append(v1metaCopy, fmt.Sprint(f, md))
	}})

	now := time.Now().UnixMilli()
	want := map[string]bool{} // every series' labels, built apart from any body
	v1 := func(prefix string, n int, t0 int64) []prompb.TimeSeries {
		var ts []prompb.TimeSeries
		for i := range n {
			ls := []prompb.Label{{Name: "__name__", Value: prefix + "_total"}, {Name: "instance", Value: fmt.Sprintf("host-%03d:9100", i)}, {Name: "job", Value: prefix}}
			s := prompb.TimeSeries{Labels: ls, Samples: []prompb.Sample{{Value: float64(i), Timestamp: t0}}}
			if i%5 == 0 {
				s.Exemplars = []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: fmt.Sprintf("%s%029d", prefix, i)}}, Value: 1, Timestamp: t0}}
			}
			ts = append(ts, s)
			want[labels.FromStrings("__name__", prefix+"_total", "instance", fmt.Sprintf("host-%03d:9100", i), "job", prefix).String()] = true
		}
		return ts
	}
	v2 := func(prefix, help string, n int, t0 int64) *writev2.Request {
		st := writev2.NewSymbolTable()
		req := &writev2.Request{}
		for i := range n {
			ls := labels.FromStrings("__name__", prefix+"_seconds", "instance", fmt.Sprintf("host-%03d:9100", i), "job", prefix)
			want[ls.String()] = true
			s := writev2.TimeSeries{
				LabelsRefs: st.SymbolizeLabels(ls, nil),
				Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_HISTOGRAM, HelpRef: st.Symbolize(help), UnitRef: st.Symbolize("seconds")},
				Exemplars:  []writev2.Exemplar{{LabelsRefs: st.SymbolizeLabels(labels.FromStrings("trace_id", fmt.Sprintf("%s%029d", prefix, i)), nil), Value: 0.5, Timestamp: t0}},
			}
			hist := &histogram.Histogram{Count: uint64(i + 1), Sum: 1, Schema: 0, PositiveSpans: []histogram.Span{{Offset: 0, Length: 1}}, PositiveBuckets: []int64{int64(i + 1)}}
			s.Histograms = []writev2.Histogram{writev2.FromIntHistogram(0, t0, hist)}
			req.Timeseries = append(req.Timeseries, s)
		}
		req.Symbols = st.Symbols()
		return req
	}
	sendOK := func(ct string, raw []byte) {
		t.Helper()
		if w := send(t, h, ct, snappy.Encode(nil, raw)); w.Code != http.StatusNoContent {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	// New series; then the same series (known: the head's labels) with
	// 10 new ones; then series whose strings have the same lengths, so that
	// the reused buffers hold plausible labels at the same offsets.
	sendOK("application/x-protobuf", mustMarshal(t, &prompb.WriteRequest{Timeseries: v1("alpha", 50, now-3000),
		Metadata: []prompb.MetricMetadata{{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "alpha_total", Help: "Alpha requests.", Unit: "requests"}}}))
	sendOK("application/x-protobuf", mustMarshal(t, &prompb.WriteRequest{Timeseries: v1("alpha", 60, now-2000)}))
	sendOK(ctV2, mustMarshal(t, v2("gamma", "Gamma latency.", 20, now-3000)))
	sendOK(ctV2, mustMarshal(t, v2("gamma", "Gamma latency, new help.", 20, now-2000)))
	sendOK("application/x-protobuf", mustMarshal(t, &prompb.WriteRequest{Timeseries: v1("omega", 60, now-1000)}))
	sendOK(ctV2, mustMarshal(t, v2("delta", "Delta latency.", 20, now-1000)))
	if k.byRef[true] == 0 || k.byRef[false] == 0 {
		t.Fatalf("appends by reference %d, by labels %d: want both paths", k.byRef[true], k.byRef[false])
	}

	k.check(t)
	for i, f := range []string{"alpha_total"} {
		if got := fmt.Sprint(f, v1meta[f]); got != v1metaCopy[i] {
			t.Errorf("1.0 metadata changed: %q, was %q", got, v1metaCopy[i])
		}
	}

	// What the head keeps: its series and their labels, the label index,
	// the exemplars.
	q, err := db.Querier(0, now+time.Hour.Milliseconds())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	got := map[string]bool{}
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	for ss.Next() {
		got[ss.At().Labels().String()] = true
	}
	if ss.Err() != nil {
		t.Fatal(ss.Err())
	}
	if len(got) != len(want) {
		t.Errorf("head holds %d series, want %d", len(got), len(want))
	}
	for s := range want {
		if !got[s] {
			t.Errorf("series %s missing from the head", s)
		}
	}
	for s := range got {
		if !want[s] {
			t.Errorf("head holds %s, which was never sent", s)
		}
	}
	jobs, _, err := q.LabelValues(context.Background(), "job", nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(jobs) != "[alpha delta gamma omega]" {
		t.Errorf("label index: job values %q", jobs)
	}
	names, _, err := q.LabelNames(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(names) != "[__name__ instance job]" {
		t.Errorf("label index: names %q", names)
	}
	eq, err := db.ExemplarQuerier(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res, err := eq.Select(0, now+time.Hour.Milliseconds(), []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")})
	if err != nil {
		t.Fatal(err)
	}
	nex := 0
	for _, r := range res {
		if !want[r.SeriesLabels.String()] {
			t.Errorf("exemplars of %s, never sent", r.SeriesLabels)
		}
		for _, e := range r.Exemplars {
			nex++
			id := e.Labels.Get("trace_id")
			if name := r.SeriesLabels.Get("job"); len(id) != len(name)+29 || id[:len(name)] != name {
				t.Errorf("exemplar of %s has trace_id %q", r.SeriesLabels, id)
			}
		}
	}
	// 10 + 12 + 12 1.0 exemplars; 20 x 3 2.0 ones (2 requests of gamma).
	if nex != 10+12+12+60 {
		t.Errorf("%d exemplars stored, want %d", nex, 10+12+12+60)
	}
}
