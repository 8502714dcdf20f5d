package remotewrite

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
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
