package logs

import (
	"net/url"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
)

// FuzzParams feeds arbitrary query strings to every request parser: they
// must answer or refuse, never panic, and a refusal is a 4xx.
func FuzzParams(f *testing.F) {
	for _, s := range []string{
		"query=%7Bapp%3D%22a%22%7D&start=1704067200&end=1704067800&step=60&limit=10&direction=forward",
		"query=sum(rate(%7Ba%3D%22b%22%7D%5B1m%5D))&time=2024-01-01T00:00:00Z",
		"match[]=%7Ba%3D%22b%22%7D&match[]=&since=1h",
		"trace_id=00c0ffee12345678&start=1&end=2&limit=5",
		"query=%7Ba%3D%22b%22%7D&targetLabels=a,b&aggregateBy=labels&step=1e9",
		"start=-99999999999999999999&end=1.5e300&since=-1s&line_limit=x",
	} {
		f.Add(s)
	}
	now := time.Date(2024, 1, 1, 0, 10, 0, 0, time.UTC).UnixNano()
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		check := func(what string, err error) {
			t.Helper()
			if err != nil && !isClientError(err) {
				t.Fatalf("%s(%q): %v is not a client error", what, raw, err)
			}
		}
		_, err = parseInstantQuery(form, now)
		check("parseInstantQuery", err)
		q, err := parseRangeQuery(form, now)
		check("parseRangeQuery", err)
		if err == nil && (q.Step <= 0 || q.End < q.Start) {
			t.Fatalf("parseRangeQuery(%q) = %+v", raw, q)
		}
		_, err = parseStreamQuery(form, now)
		check("parseStreamQuery", err)
		_, err = parseSeriesQuery(form, now)
		check("parseSeriesQuery", err)
		_, err = parseVolumeQuery(form, now, true)
		check("parseVolumeQuery", err)
		_, err = parseDetectedFieldsQuery(form, now)
		check("parseDetectedFieldsQuery", err)
		_, err = parseTraceQuery(form, now)
		check("parseTraceQuery", err)
		_, err = parseTailQuery(form, now)
		check("parseTailQuery", err)
		pq, err := parsePatternQuery(form, now)
		check("parsePatternQuery", err)
		if err == nil && pq.Step <= 0 {
			t.Fatalf("parsePatternQuery(%q) = %+v", raw, pq)
		}
		_, err = parseFormatQuery(form, now)
		check("parseFormatQuery", err)
	})
}

// isClientError reports whether err is answered with a 4xx.
func isClientError(err error) bool {
	c := apierr.HTTPStatus(err)
	return c >= 400 && c < 500
}
