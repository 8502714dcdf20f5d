package main

import (
	"math"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// The hand encoder must produce what prompb decodes to the same request.
func TestEncodeMatchesPrompb(t *testing.T) {
	ls := []label{{"__name__", "http_requests_total"}, {"code", "200"}, {"instance", "10.0.0.1:8080"}, {"job", "cart"}}
	enc := encodeLabels(ls)
	f := func(ts int64, v float64) {
		t.Helper()
		var b []byte
		b = appendSeries(b, enc, ts, v)
		b = appendSeries(b, enc, ts+15000, v+1)
		var req prompb.WriteRequest
		if err := req.Unmarshal(snappyRoundTrip(t, b)); err != nil {
			t.Fatalf("prompb cannot decode: %v", err)
		}
		if len(req.Timeseries) != 2 {
			t.Fatalf("got %d series, want 2", len(req.Timeseries))
		}
		for i, s := range req.Timeseries {
			if len(s.Labels) != len(ls) {
				t.Fatalf("series %d: got %d labels, want %d", i, len(s.Labels), len(ls))
			}
			for j, l := range s.Labels {
				if l.Name != ls[j].name || l.Value != ls[j].value {
					t.Fatalf("series %d label %d: got %s=%q, want %s=%q", i, j, l.Name, l.Value, ls[j].name, ls[j].value)
				}
			}
			want := prompb.Sample{Timestamp: ts + int64(i)*15000, Value: v + float64(i)}
			if len(s.Samples) != 1 || s.Samples[0].Timestamp != want.Timestamp || math.Float64bits(s.Samples[0].Value) != math.Float64bits(want.Value) {
				t.Fatalf("series %d: got samples %v, want %v", i, s.Samples, want)
			}
		}
	}
	f(0, 0)
	f(1795730400000, 12345.67)
	f(1, math.Inf(1))
	f(1<<62, -1e-300)
}

func snappyRoundTrip(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := snappy.Decode(nil, snappy.Encode(nil, b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
