package remotewrite

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
)

// BenchmarkStoreV1 stores requests of 500 series with one new sample each
// into a real TSDB head, as a Prometheus remote-write shard sends them.
func BenchmarkStoreV1(b *testing.B) {
	db := openDB(b)
	h := New(Options{Appendable: db})
	ts := make([]prompb.TimeSeries, 500)
	for i := range ts {
		ts[i] = prompb.TimeSeries{Labels: []prompb.Label{
			{Name: "__name__", Value: "bench_metric"}, {Name: "instance", Value: fmt.Sprintf("host-%d", i%50)},
			{Name: "job", Value: "node"}, {Name: "series", Value: fmt.Sprint(i)},
		}, Samples: []prompb.Sample{{}}}
	}
	t0 := time.Now().Add(-time.Hour).UnixMilli()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		for j := range ts {
			ts[j].Samples[0] = prompb.Sample{Timestamp: t0 + int64(i)*10, Value: float64(i)}
		}
		i++
		b.StopTimer()
		body := v1Body(b, ts...)
		b.StartTimer()
		if w := send(b, h, "application/x-protobuf", body); w.Code != http.StatusNoContent {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ts)), "ns/sample")
}
