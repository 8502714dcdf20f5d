package metric_test

import (
	"net/http/httptest"
	"os"

	"github.com/vigilhq/vigil/sdk/metric"
)

func Example() {
	reg := metric.New(metric.Options{})
	requests := reg.Counter("http_requests_total", "Requests served.")
	ok := requests.With("method", "GET", "code", "200") // bind once
	ok.Inc()
	ok.Inc()
	requests.With("code", "500", "method", "GET").Inc() // per call, any label order

	rec := httptest.NewRecorder()
	reg.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	os.Stdout.Write(rec.Body.Bytes())
	// Output:
	// # HELP http_requests_total Requests served.
	// # TYPE http_requests_total counter
	// http_requests_total{code="200",method="GET"} 2
	// http_requests_total{code="500",method="GET"} 1
}
