package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/storage"
)

func TestMetadataStoreBounds(t *testing.T) {
	m := newMetadataStore()
	for i := range metadataPerFamily + 2 {
		m.Observe("f", metadata.Metadata{Type: model.MetricTypeCounter, Help: fmt.Sprint("help ", i)})
	}
	got := m.Get("f")
	if len(got) != metadataPerFamily || got[len(got)-1].Help != fmt.Sprint("help ", metadataPerFamily+1) {
		t.Fatalf("per family: %v, want the newest %d", got, metadataPerFamily)
	}
	m.Observe("f", got[0]) // seen again: becomes the newest
	if g := m.Get("f"); g[len(g)-1] != got[0] || len(g) != metadataPerFamily {
		t.Fatalf("re-seen entry not moved to newest: %v", g)
	}
	m.Observe("empty", metadata.Metadata{Type: model.MetricTypeUnknown})
	if m.Get("empty") != nil {
		t.Fatal("metadata saying nothing kept")
	}
	for i := range metadataMaxFamilies + 10 {
		m.Observe(fmt.Sprint("fam_", i), metadata.Metadata{Type: model.MetricTypeGauge})
	}
	if n := len(m.families); n > metadataMaxFamilies {
		t.Fatalf("%d families kept, bound %d", n, metadataMaxFamilies)
	}
	if m.Get(fmt.Sprint("fam_", metadataMaxFamilies+9)) == nil {
		t.Fatal("newest family evicted")
	}
	if m.Get("fam_0") != nil {
		t.Fatal("oldest family kept past the bound")
	}
}

// Metadata carried by appended samples (remote write 2.0, OTLP) is served
// by /api/v1/metadata in Prometheus's shape (issue 10 item 8).
func TestMetadataAPI(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	app := s.Appendable().AppenderV2(context.Background())
	now := time.Now().UnixMilli()
	hist := metadata.Metadata{Type: model.MetricTypeHistogram, Help: "Request latency.", Unit: "seconds"}
	for _, le := range []string{"0.1", "1", "+Inf"} {
		if _, err := app.Append(0, labels.FromStrings("__name__", "latency_seconds_bucket", "le", le), 0, now, 1, nil, nil, storage.AOptions{Metadata: hist}); err != nil {
			t.Fatal(err)
		}
	}
	otel := metadata.Metadata{Type: model.MetricTypeCounter, Help: "Bytes sent."}
	if _, err := app.Append(0, labels.FromStrings("__name__", "sent_bytes_total"), 0, now, 1, nil, nil, storage.AOptions{Metadata: otel, MetricFamilyName: "sent_bytes_total"}); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	s.ObserveMetadata("up", metadata.Metadata{Type: model.MetricTypeGauge, Help: "Up."})
	srv := httptest.NewServer(http.StripPrefix("/api/v1", s.API(APIOptions{})))
	t.Cleanup(srv.Close)
	get := func(q string) map[string][]metadata.Metadata {
		t.Helper()
		resp, err := http.Get(srv.URL + "/api/v1/metadata" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Status string
			Data   map[string][]metadata.Metadata
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
			t.Fatalf("%s: %v %+v", q, err, body)
		}
		return body.Data
	}
	all := get("")
	want := map[string]metadata.Metadata{"latency_seconds": hist, "sent_bytes_total": otel, "up": {Type: model.MetricTypeGauge, Help: "Up."}}
	if len(all) != len(want) {
		t.Fatalf("metadata %v, want %v", all, want)
	}
	for f, md := range want {
		if len(all[f]) != 1 || all[f][0] != md {
			t.Fatalf("metadata of %s = %v, want [%v]", f, all[f], md)
		}
	}
	if one := get("?metric=latency_seconds"); len(one) != 1 || one["latency_seconds"][0] != hist {
		t.Fatalf("metric=latency_seconds: %v", one)
	}
	if lim := get("?limit=1"); len(lim) != 1 {
		t.Fatalf("limit=1: %v", lim)
	}
}
