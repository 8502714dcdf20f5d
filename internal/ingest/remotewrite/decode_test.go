package remotewrite

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// Requests as senders build them: the generated encoders that Prometheus'
// remote-write queue uses (prompb for 1.0; writev2 with its symbol table
// for 2.0), with float and native histograms (integer, float, custom
// buckets), exemplars, metadata and start timestamps; plus encodings that
// are valid protobuf but unusual (fields out of order, unpacked label
// references, a metadata field sent twice, unknown fields) that the hand
// decoder must read as the generated one does.

func testHistograms() (*histogram.Histogram, *histogram.FloatHistogram, *histogram.FloatHistogram) {
	h := &histogram.Histogram{
		Count: 25, Sum: 17.5, Schema: 1, ZeroThreshold: 0.001, ZeroCount: 3,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}, {Offset: 3, Length: 1}},
		PositiveBuckets: []int64{4, 1, -2},
		NegativeSpans:   []histogram.Span{{Offset: -1, Length: 1}},
		NegativeBuckets: []int64{6},
	}
	fh := &histogram.FloatHistogram{
		Count: 10.5, Sum: -3.25, Schema: -1, ZeroThreshold: 0.01, ZeroCount: 0.5,
		PositiveSpans:    []histogram.Span{{Offset: 2, Length: 2}},
		PositiveBuckets:  []float64{4, 6},
		CounterResetHint: histogram.GaugeType,
	}
	nhcb := &histogram.FloatHistogram{
		Count: 7, Sum: 2.5, Schema: histogram.CustomBucketsSchema,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 3}},
		PositiveBuckets: []float64{1, 2, 4},
		CustomValues:    []float64{0.1, 0.5, 1},
	}
	return h, fh, nhcb
}

func v1Seeds(t testing.TB) map[string][]byte {
	now := time.Now().UnixMilli()
	h, fh, nhcb := testHistograms()
	full := &prompb.WriteRequest{
		Timeseries: []prompb.TimeSeries{
			{Labels: []prompb.Label{{Name: "__name__", Value: "http_requests_total"}, {Name: "code", Value: "200"}, {Name: "job", Value: "api"}},
				Samples:   []prompb.Sample{{Value: 1, Timestamp: now - 15000}, {Value: 2.5, Timestamp: now}},
				Exemplars: []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: "4bf92f3577b34da6a3ce929d0e0e4736"}}, Value: 0.25, Timestamp: now}}},
			{Labels: []prompb.Label{{Name: "__name__", Value: "latency_seconds"}, {Name: "job", Value: "api"}},
				Histograms: []prompb.Histogram{prompb.FromIntHistogram(now-15000, h), prompb.FromFloatHistogram(now, fh)}},
			{Labels: []prompb.Label{{Name: "__name__", Value: "nhcb"}, {Name: "job", Value: "api"}},
				Histograms: []prompb.Histogram{prompb.FromFloatHistogram(now, nhcb)}},
			{Labels: []prompb.Label{{Name: "job", Value: "unsorted"}, {Name: "__name__", Value: "stale"}, {Name: "empty", Value: ""}},
				Samples: []prompb.Sample{{Value: math.Float64frombits(0x7ff0000000000002), Timestamp: now}, {Value: math.Inf(-1), Timestamp: -5}}},
			{}, // a series with nothing
		},
		Metadata: []prompb.MetricMetadata{
			{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "http_requests_total", Help: "Requests served.", Unit: ""},
			{Type: prompb.MetricMetadata_HISTOGRAM, MetricFamilyName: "latency_seconds", Help: "Latency.", Unit: "seconds"},
		},
	}
	seeds := map[string][]byte{
		"v1 full":      mustMarshal(t, full),
		"v1 bench":     mustMarshal(t, &prompb.WriteRequest{Timeseries: benchSeries(200)}),
		"v1 empty":     {},
		"v1 metadata":  mustMarshal(t, &prompb.WriteRequest{Metadata: full.Metadata}),
		"v1 reordered": reorderedV1(now),
	}
	return seeds
}

func v2Seeds(t testing.TB) map[string][]byte {
	now := time.Now().UnixMilli()
	h, fh, nhcb := testHistograms()
	st := writev2.NewSymbolTable()
	ref := func(kv ...string) []uint32 { return st.SymbolizeLabels(labels.FromStrings(kv...), nil) }
	req := &writev2.Request{Timeseries: []writev2.TimeSeries{
		{LabelsRefs: ref("__name__", "http_requests_total", "code", "200", "job", "api"),
			Samples:   []writev2.Sample{{Value: 1, Timestamp: now - 15000, StartTimestamp: now - 60000}, {Value: 2, Timestamp: now}},
			Exemplars: []writev2.Exemplar{{LabelsRefs: ref("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736", "span_id", "00f067aa0ba902b7"), Value: 0.25, Timestamp: now}},
			Metadata:  writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: st.Symbolize("Requests served."), UnitRef: st.Symbolize("")}},
		{LabelsRefs: ref("__name__", "latency_seconds", "job", "api"),
			Histograms: []writev2.Histogram{writev2.FromIntHistogram(now-60000, now-15000, h), writev2.FromFloatHistogram(0, now, fh)},
			Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_HISTOGRAM, HelpRef: st.Symbolize("Latency."), UnitRef: st.Symbolize("seconds")}},
		{LabelsRefs: ref("__name__", "nhcb", "job", "api"),
			Histograms: []writev2.Histogram{writev2.FromFloatHistogram(0, now, nhcb)}},
		{LabelsRefs: []uint32{1, 2, 3}}, // odd: refused per series
		{LabelsRefs: []uint32{1, 999}},  // outside the symbols
	}}
	req.Symbols = st.Symbols()
	bench := writev2.NewSymbolTable()
	breq := &writev2.Request{}
	for _, ts := range benchSeries(200) {
		var b labels.ScratchBuilder
		breq.Timeseries = append(breq.Timeseries, writev2.TimeSeries{
			LabelsRefs: bench.SymbolizeLabels(ts.ToLabels(&b, nil), nil),
			Samples:    []writev2.Sample{{Value: 3, Timestamp: now}},
			Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: bench.Symbolize("Seconds the CPUs spent in each mode.")},
		})
	}
	breq.Symbols = bench.Symbols()
	return map[string][]byte{
		"v2 full":      mustMarshal(t, req),
		"v2 bench":     mustMarshal(t, breq),
		"v2 empty":     {},
		"v2 reordered": reorderedV2(now),
	}
}

type marshaler interface{ Marshal() ([]byte, error) }

func mustMarshal(t testing.TB, m marshaler) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A hand protobuf encoder for the unusual encodings.
func pbKey(b []byte, field, wire int) []byte { return binary.AppendUvarint(b, uint64(field<<3|wire)) }
func pbVarint(b []byte, field int, v uint64) []byte {
	return binary.AppendUvarint(pbKey(b, field, 0), v)
}
func pbBytes(b []byte, field int, v []byte) []byte {
	return append(binary.AppendUvarint(pbKey(b, field, 2), uint64(len(v))), v...)
}
func pbDouble(b []byte, field int, v float64) []byte {
	return binary.LittleEndian.AppendUint64(pbKey(b, field, 1), math.Float64bits(v))
}

// reorderedV1: samples before labels and interleaved with them, a label's
// value before its name and a name sent twice (the last wins), unknown
// fields of every wire type the decoder skips, metadata before series.
func reorderedV1(now int64) []byte {
	var lab1, lab2, smp, ts, req []byte
	lab1 = pbBytes(lab1, 2, []byte("node_load1"))
	lab1 = pbBytes(lab1, 1, []byte("ignored"))
	lab1 = pbBytes(lab1, 1, []byte("__name__"))
	lab2 = pbBytes(pbBytes(lab2, 1, []byte("job")), 2, []byte("node"))
	lab2 = pbVarint(lab2, 9, 7)
	smp = pbVarint(pbDouble(smp, 1, 0.5), 2, uint64(now))
	smp = binary.LittleEndian.AppendUint32(pbKey(smp, 12, 5), 1) // unknown fixed32
	ts = pbBytes(ts, 2, smp)
	ts = pbBytes(ts, 1, lab1)
	ts = pbBytes(ts, 2, pbVarint(pbDouble(nil, 1, 1.5), 2, uint64(now+1)))
	ts = pbBytes(ts, 1, lab2)
	ts = pbDouble(ts, 15, 3) // unknown fixed64
	ts = pbBytes(ts, 16, []byte("unknown"))
	meta := pbBytes(pbBytes(pbVarint(nil, 1, 2), 2, []byte("node_load1")), 4, []byte("1m load average."))
	req = pbBytes(req, 3, meta)
	req = pbVarint(req, 2, 1) // reserved field: unknown
	req = pbBytes(req, 1, ts)
	req = pbBytes(req, 1, nil)
	return req
}

// reorderedV2: timeseries before the symbols, label references unpacked
// and in two packed runs, metadata sent twice (merged field by field),
// unknown and reserved fields.
func reorderedV2(now int64) []byte {
	var ts, req []byte
	ts = pbBytes(ts, 5, pbVarint(pbVarint(nil, 1, 2), 3, 5)) // gauge, help "Help."
	ts = pbVarint(ts, 1, 1)
	ts = pbVarint(ts, 1, 2)
	ts = pbBytes(ts, 1, []byte{3})
	ts = pbBytes(ts, 1, []byte{4})
	ts = pbBytes(ts, 2, pbVarint(pbVarint(pbDouble(nil, 1, 7), 2, uint64(now)), 3, uint64(now-1000)))
	ts = pbBytes(ts, 5, pbVarint(nil, 4, 6)) // unit "bytes"; type and help stay
	ts = pbVarint(ts, 6, 1)                  // reserved
	req = pbBytes(req, 5, ts)
	req = pbVarint(req, 1, 3) // reserved
	for _, s := range []string{"", "__name__", "mem_bytes", "job", "node", "Help.", "bytes"} {
		req = pbBytes(req, 4, []byte(s))
	}
	return req
}

// compareRequests describes the first difference of a and b, or "".
func compareRequests(a, b *request) string {
	if a.v2 != b.v2 {
		return "version"
	}
	if !slices.EqualFunc(a.series, b.series, func(x, y tseries) bool {
		mx, _ := x.meta.Marshal()
		my, _ := y.meta.Marshal()
		return x.labels == y.labels && x.samples == y.samples && x.histograms == y.histograms && x.exemplars == y.exemplars && bytes.Equal(mx, my)
	}) {
		return fmt.Sprintf("series %+v != %+v", a.series, b.series)
	}
	if !slices.Equal(a.labels, b.labels) {
		return fmt.Sprintf("labels %q != %q", a.labels, b.labels)
	}
	if !slices.Equal(a.symbols, b.symbols) || !slices.Equal(a.refs, b.refs) {
		return fmt.Sprintf("symbols %q %v != %q %v", a.symbols, a.refs, b.symbols, b.refs)
	}
	if !slices.EqualFunc(a.samples, b.samples, func(x, y sample) bool {
		return math.Float64bits(x.v) == math.Float64bits(y.v) && x.t == y.t && x.st == y.st
	}) {
		return fmt.Sprintf("samples %v != %v", a.samples, b.samples)
	}
	for _, c := range []struct {
		name string
		x, y []marshaler
	}{
		{"1.0 histograms", ptrs(a.h1), ptrs(b.h1)}, {"2.0 histograms", ptrs(a.h2), ptrs(b.h2)},
		{"1.0 exemplars", ptrs(a.e1), ptrs(b.e1)}, {"2.0 exemplars", ptrs(a.e2), ptrs(b.e2)},
		{"metadata", ptrs(a.meta), ptrs(b.meta)},
	} {
		if len(c.x) != len(c.y) {
			return fmt.Sprintf("%s: %d != %d", c.name, len(c.x), len(c.y))
		}
		for i := range c.x {
			bx, _ := c.x[i].Marshal()
			by, _ := c.y[i].Marshal()
			if !bytes.Equal(bx, by) {
				return fmt.Sprintf("%s[%d]: %v != %v", c.name, i, c.x[i], c.y[i])
			}
		}
	}
	return ""
}

func ptrs[T any, P interface {
	*T
	marshaler
}](s []T) []marshaler {
	out := make([]marshaler, len(s))
	for i := range s {
		out[i] = P(&s[i])
	}
	return out
}

// checkAgainstGenerated decodes raw by hand (into reused, whose previous
// contents must not matter) and with the generated decoder, and fails if
// the hand decoder succeeds with another result or where the generated one
// fails. It reports whether the hand decoder took raw.
func checkAgainstGenerated(t *testing.T, reused *request, raw []byte, v2 bool) bool {
	t.Helper()
	reused.reset(v2)
	var herr error
	if v2 {
		herr = reused.decodeV2(raw)
	} else {
		herr = reused.decodeV1(raw)
	}
	var want request
	gerr := want.decodeGenerated(raw, v2)
	if herr != nil {
		// The hand decoder gave up: decode must then give exactly the
		// generated decoder's result.
		var got request
		err := got.decode(raw, v2)
		if (err == nil) != (gerr == nil) || err != nil && err.Error() != gerr.Error() {
			t.Fatalf("decode after giving up: error %v, generated %v", err, gerr)
		}
		if err == nil {
			if d := compareRequests(&got, &want); d != "" {
				t.Fatalf("decode after giving up differs from the generated decoder: %s", d)
			}
		}
		return false
	}
	if gerr != nil {
		t.Fatalf("hand decoder took a body the generated decoder refuses (%v)", gerr)
	}
	if d := compareRequests(reused, &want); d != "" {
		t.Fatalf("hand decoder differs from the generated decoder: %s", d)
	}
	return true
}

// TestDecoderMatchesGenerated: on what senders send the hand decoder does
// not give up, and reads what the generated decoder reads; canonical
// re-encodings of every seed too.
func TestDecoderMatchesGenerated(t *testing.T) {
	var reused request
	for _, v2 := range []bool{false, true} {
		seeds := v1Seeds(t)
		if v2 {
			seeds = v2Seeds(t)
		}
		for name, raw := range seeds {
			t.Run(name, func(t *testing.T) {
				if !checkAgainstGenerated(t, &reused, raw, v2) {
					t.Fatal("hand decoder gave up")
				}
			})
		}
	}
	// Hand-built requests read as intended (not only as the generated
	// decoder reads them).
	var r request
	if err := r.decodeV1(reorderedV1(1000)); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(r.labels, r.samples, len(r.series), len(r.meta)); got != "[{__name__ node_load1} {job node}] [{0.5 1000 0} {1.5 1001 0}] 2 1" {
		t.Fatalf("reordered 1.0: %s", got)
	}
	r.reset(true)
	if err := r.decodeV2(reorderedV2(1000)); err != nil {
		t.Fatal(err)
	}
	md, ok := r.metadataV2(&r.series[0])
	if got := fmt.Sprint(r.refs, r.samples, md, ok); got != "[1 2 3 4] [{7 1000 0}] {gauge bytes Help.} true" {
		t.Fatalf("reordered 2.0: %s", got)
	}
}

// TestDecoderGivesUp: encodings the hand decoder does not take are decoded
// by the generated decoder, with its result or error.
func TestDecoderGivesUp(t *testing.T) {
	good := pbBytes(nil, 1, pbBytes(nil, 1, pbBytes(pbBytes(nil, 1, []byte("__name__")), 2, []byte("up"))))
	cases := map[string]struct {
		raw []byte
		v2  bool
		ok  bool // the generated decoder takes it
	}{
		"group field":           {append(pbKey(slices.Clone(good), 7, 3), pbKey(nil, 7, 4)...), false, true},
		"wrong wire type":       {pbVarint(slices.Clone(good), 1, 5), false, false},
		"truncated":             {good[:len(good)-1], false, false},
		"varint past its field": {pbBytes(pbBytes(nil, 5, append(pbKey(nil, 1, 2), 1, 0x81, 0x01)), 4, []byte("x")), true, true},
		"eleven-byte varint":    {append(pbKey(nil, 2, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), false, false},
		"field zero":            {pbVarint(nil, 0, 1), false, false},
		"bad histogram":         {pbBytes(nil, 1, pbBytes(nil, 4, []byte{0xff})), false, false},
	}
	var reused request
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var want request
			if gerr := want.decodeGenerated(c.raw, c.v2); (gerr == nil) != c.ok {
				t.Fatalf("generated decoder: %v, want ok=%v", gerr, c.ok)
			}
			checkAgainstGenerated(t, &reused, c.raw, c.v2)
		})
	}
}

// FuzzDecoderMatchesGenerated: wherever the hand decoder takes a body its
// result is the generated decoder's, and it takes every canonical encoding
// of what the generated decoder reads (it may give up only on unusual
// encodings, which the generated decoder then decodes).
func FuzzDecoderMatchesGenerated(f *testing.F) {
	for _, raw := range v1Seeds(f) {
		f.Add(raw, false)
	}
	for _, raw := range v2Seeds(f) {
		f.Add(raw, true)
	}
	var reused request
	f.Fuzz(func(t *testing.T, raw []byte, v2 bool) {
		checkAgainstGenerated(t, &reused, raw, v2)
		// The canonical encoding of what the generated decoder read.
		var canon []byte
		if v2 {
			var req writev2.Request
			if req.Unmarshal(raw) != nil {
				return
			}
			req.XXX_unrecognized = nil
			for i := range req.Timeseries {
				req.Timeseries[i].XXX_unrecognized = nil
			}
			canon, _ = req.Marshal()
		} else {
			var req prompb.WriteRequest
			if req.Unmarshal(raw) != nil {
				return
			}
			req.XXX_unrecognized = nil
			for i := range req.Timeseries {
				req.Timeseries[i].XXX_unrecognized = nil
				for j := range req.Timeseries[i].Labels {
					req.Timeseries[i].Labels[j].XXX_unrecognized = nil
				}
				for j := range req.Timeseries[i].Samples {
					req.Timeseries[i].Samples[j].XXX_unrecognized = nil
				}
			}
			canon, _ = req.Marshal()
		}
		if !checkAgainstGenerated(t, &reused, canon, v2) {
			t.Fatalf("hand decoder gave up on a canonical encoding %x", canon)
		}
	})
}

// TestReadBody: bodies up to the limit are read whole into the pooled
// buffer, one byte more is seen as over the limit, and a Content-Length
// that lies (larger or smaller than the body) changes neither.
func TestReadBody(t *testing.T) {
	const max = 3000
	for _, n := range []int{0, 1, 511, 512, 2999, 3000, 3001, 10000} {
		for _, hint := range []int64{-1, 0, int64(n), int64(n) / 2, 1 << 40} {
			body := bytes.Repeat([]byte{'x'}, n)
			got, err := readBody(bytes.NewReader(body), make([]byte, 0, 16), hint, max)
			if err != nil {
				t.Fatal(err)
			}
			if n <= max && !bytes.Equal(got, body) {
				t.Fatalf("n=%d hint=%d: read %d bytes", n, hint, len(got))
			}
			if n > max && len(got) != max+1 {
				t.Fatalf("n=%d hint=%d: read %d bytes, want max+1 = %d", n, hint, len(got), max+1)
			}
			if cap(got) > maxSizeHint+max+1 {
				t.Fatalf("n=%d hint=%d: buffer of %d bytes", n, hint, cap(got))
			}
		}
	}
}
