package remotewrite

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// benchSeries returns n series shaped like the bench/metrics corpus: node
// and service metrics with the target labels a Kubernetes setup attaches,
// 10 labels each counting __name__, sorted by name.
func benchSeries(n int) []prompb.TimeSeries {
	modes := []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"}
	clusters := []string{"eu-west-1a", "eu-west-1b", "us-east-1a", "us-east-1b", "ap-south-1a"}
	ts := make([]prompb.TimeSeries, n)
	for i := range ts {
		inst := i / 200
		ts[i] = prompb.TimeSeries{Labels: []prompb.Label{
			{Name: "__name__", Value: "node_cpu_seconds_total"},
			{Name: "cluster", Value: clusters[inst%len(clusters)]},
			{Name: "cpu", Value: fmt.Sprint(i % 25)},
			{Name: "env", Value: "prod"},
			{Name: "instance", Value: fmt.Sprintf("node-%04d.example.internal:9100", inst)},
			{Name: "job", Value: "node"},
			{Name: "mode", Value: modes[(i/25)%len(modes)]},
			{Name: "region", Value: clusters[inst%len(clusters)][:9]},
			{Name: "series", Value: fmt.Sprint(i)},
			{Name: "team", Value: "platform"},
		}, Samples: []prompb.Sample{{}}}
	}
	return ts
}

// BenchmarkStoreV1Realistic stores requests of 2,000 series with 10 labels
// and one sample each (what a Prometheus remote-write shard sends with
// max_samples_per_send 2000) into a real TSDB head, over 20,000 series
// that all exist after the first round: the steady state of bench/metrics.
func BenchmarkStoreV1Realistic(b *testing.B) {
	db := openDB(b)
	h := New(Options{Appendable: db})
	all := benchSeries(20000)
	const per = 2000
	t0 := time.Now().Add(-time.Hour).UnixMilli()
	body := func(round, req int) []byte {
		ts := all[req*per : (req+1)*per]
		for j := range ts {
			ts[j].Samples[0] = prompb.Sample{Timestamp: t0 + int64(round)*15000, Value: float64(round*j) * 0.5}
		}
		return v1Body(b, ts...)
	}
	// Round 0 creates the series.
	for r := 0; r < len(all)/per; r++ {
		if w := send(b, h, "application/x-protobuf", body(0, r)); w.Code != http.StatusNoContent {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		b.StopTimer()
		bd := body(1+i/(len(all)/per), i%(len(all)/per))
		b.StartTimer()
		if w := send(b, h, "application/x-protobuf", bd); w.Code != http.StatusNoContent {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per), "ns/sample")
}

// BenchmarkDecode compares, per request of 2,000 series with 10 labels, the
// generated decoder (what the handler used before: Unmarshal, then labels
// built per series) with the pooled one (decode, then the lookup labels
// per series, which alias the body).
func BenchmarkDecode(b *testing.B) {
	ts := benchSeries(2000)
	for i := range ts {
		ts[i].Samples[0] = prompb.Sample{Timestamp: 1_700_000_000_000, Value: float64(i) * 1.5}
	}
	raw1 := mustMarshal(b, &prompb.WriteRequest{Timeseries: ts})
	st := writev2.NewSymbolTable()
	req2 := &writev2.Request{}
	for i := range ts {
		var sb labels.ScratchBuilder
		req2.Timeseries = append(req2.Timeseries, writev2.TimeSeries{
			LabelsRefs: st.SymbolizeLabels(ts[i].ToLabels(&sb, nil), nil),
			Samples:    []writev2.Sample{{Value: ts[i].Samples[0].Value, Timestamp: ts[i].Samples[0].Timestamp}},
			Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: st.Symbolize("Seconds the CPUs spent in each mode.")},
		})
	}
	req2.Symbols = st.Symbols()
	raw2 := mustMarshal(b, req2)
	per := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ts)), "ns/series")
	}
	b.Run("v1/generated", func(b *testing.B) {
		b.ReportAllocs()
		sb := labels.NewScratchBuilder(0)
		for b.Loop() {
			var req prompb.WriteRequest
			if err := req.Unmarshal(raw1); err != nil {
				b.Fatal(err)
			}
			for _, s := range req.Timeseries {
				_ = s.ToLabels(&sb, nil).Hash()
			}
		}
		per(b)
	})
	b.Run("v1/pooled", func(b *testing.B) {
		b.ReportAllocs()
		var (
			r   request
			sb  labels.ScratchBuilder
			tmp labels.Labels
		)
		for b.Loop() {
			if err := r.decode(raw1, false); err != nil {
				b.Fatal(err)
			}
			for i := range r.series {
				_ = r.lookupLabels(&r.series[i], &sb, &tmp)
				_ = tmp.Hash()
			}
		}
		per(b)
	})
	b.Run("v2/generated", func(b *testing.B) {
		b.ReportAllocs()
		sb := labels.NewScratchBuilder(0)
		for b.Loop() {
			var req writev2.Request
			if err := req.Unmarshal(raw2); err != nil {
				b.Fatal(err)
			}
			for _, s := range req.Timeseries {
				ls, _ := s.ToLabels(&sb, req.Symbols)
				_ = ls.Hash()
				_, _ = s.ToMetadata(req.Symbols)
			}
		}
		per(b)
	})
	b.Run("v2/pooled", func(b *testing.B) {
		b.ReportAllocs()
		var (
			r   request
			sb  labels.ScratchBuilder
			tmp labels.Labels
		)
		for b.Loop() {
			if err := r.decode(raw2, true); err != nil {
				b.Fatal(err)
			}
			for i := range r.series {
				_ = r.lookupLabels(&r.series[i], &sb, &tmp)
				_ = tmp.Hash()
				_, _ = r.metadataV2(&r.series[i])
			}
		}
		per(b)
	})
}
