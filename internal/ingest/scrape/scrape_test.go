package scrape

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"))
}

func TestScrapesIntoStorage(t *testing.T) {
	exp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# TYPE thing gauge\nthing 5\n")
	}))
	defer exp.Close()
	db, err := tsdb.Open(t.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := New(Options{Appendable: db})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := promconfig.Load(fmt.Sprintf("scrape_configs:\n- job_name: t\n  scrape_interval: 100ms\n  scrape_timeout: 100ms\n  static_configs: [{targets: [%q]}]\n", strings.TrimPrefix(exp.URL, "http://")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		q, _ := db.Querier(0, time.Now().Add(time.Minute).UnixMilli())
		ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "thing"), labels.MustNewMatcher(labels.MatchEqual, "job", "t"))
		found := ss.Next()
		q.Close()
		if found {
			if pools := s.Manager().ScrapePools(); len(pools) != 1 || pools[0] != "t" {
				t.Fatalf("pools %v", pools)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no scraped sample")
}
