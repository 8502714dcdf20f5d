package logs

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/vigilhq/vigil/internal/route"
)

// Routes are the Loki query API and Vigil's log API. The handlers only
// parse (params.go), call the store's typed methods and encode
// (encode.go). Loki accepts GET and POST (form) on its query endpoints;
// the POST routes are hidden from the index page.
func (s *Store) Routes() []route.Route {
	var rs []route.Route
	for _, q := range []struct {
		path string
		h    http.HandlerFunc
		doc  string
	}{
		{"/loki/api/v1/query", s.serveQuery, "LogQL instant query (Grafana Loki data source: URL http://HOST:9797)"},
		{"/loki/api/v1/query_range", s.serveQueryRange, "LogQL range query"},
		{"/loki/api/v1/labels", s.serveLabels, "log stream label names"},
		{"/loki/api/v1/label/{name}/values", s.serveLabelValues, "log stream label values"},
		{"/loki/api/v1/series", s.serveSeries, "log streams matching selectors"},
		{"/loki/api/v1/index/stats", s.serveIndexStats, "streams, chunks, entries and bytes of a selector"},
		{"/loki/api/v1/index/volume", s.serveIndexVolume, "log volume by label"},
		{"/loki/api/v1/index/volume_range", s.serveIndexVolume, "log volume by label over time"},
		{"/loki/api/v1/detected_fields", s.serveDetectedFields, "fields detected in log lines (Logs Drilldown)"},
		{"/loki/api/v1/detected_labels", s.serveDetectedLabels, "labels detected in streams (Logs Drilldown)"},
	} {
		for _, m := range []string{"GET", "POST"} {
			rs = append(rs, route.Route{Method: m, Pattern: q.path, Scope: route.Read, Handler: q.h, Doc: q.doc, Hidden: m == "POST"})
		}
	}
	return append(rs,
		route.Func("GET", "/loki/api/v1/tail", route.Read, s.serveTail, "live tail over a websocket"),
		route.Func("GET", "/loki/api/v1/status/buildinfo", route.Read, s.serveBuildInfo, "Loki build information (for Grafana)"),
		route.Func("GET", "/vigil/api/v1/logs", route.Read, s.serveByTrace, "logs of a trace (?trace_id=)"),
	)
}

// form returns the request's query and form parameters.
func form(r *http.Request) (url.Values, error) {
	if err := r.ParseForm(); err != nil {
		return nil, badRequest("invalid form: %v", err)
	}
	return r.Form, nil
}

// fail answers err in Loki's plain-text style.
func (s *Store) fail(w http.ResponseWriter, r *http.Request, err error) { s.errw.Text(w, r, err) }

func (s *Store) nowNS() int64 { return s.now().UnixNano() }

func (s *Store) serveQuery(w http.ResponseWriter, r *http.Request) {
	f, err := form(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, err := parseInstantQuery(f, s.nowNS())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, q)
}

func (s *Store) serveQueryRange(w http.ResponseWriter, r *http.Request) {
	f, err := form(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, err := parseRangeQuery(f, s.nowNS())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, q)
}

func (s *Store) answer(w http.ResponseWriter, r *http.Request, q Query) {
	res, err := s.Query(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeResult(w, res)
}

// streamQuery parses the metadata endpoints' parameters.
func (s *Store) streamQuery(r *http.Request) (StreamQuery, error) {
	f, err := form(r)
	if err != nil {
		return StreamQuery{}, err
	}
	return parseStreamQuery(f, s.nowNS())
}

func (s *Store) serveLabels(w http.ResponseWriter, r *http.Request) {
	q, err := s.streamQuery(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	names, err := s.LabelNames(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, success{Status: "success", Data: names})
}

func (s *Store) serveLabelValues(w http.ResponseWriter, r *http.Request) {
	q, err := s.streamQuery(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	values, err := s.LabelValues(r.Context(), q, r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, success{Status: "success", Data: values})
}

func (s *Store) serveSeries(w http.ResponseWriter, r *http.Request) {
	f, err := form(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sels, start, end, err := parseSeriesQuery(f, s.nowNS())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	series, err := s.Series(r.Context(), sels, start, end)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := make([]map[string]string, len(series))
	for i, ls := range series {
		data[i] = ls.Map()
	}
	writeJSON(w, success{Status: "success", Data: data})
}

func (s *Store) serveIndexStats(w http.ResponseWriter, r *http.Request) {
	f, err := form(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, err := parseIndexQuery(f, s.nowNS())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.IndexStats(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, st)
}

// serveIndexVolume answers index/volume (a vector) and index/volume_range
// (a matrix).
func (s *Store) serveIndexVolume(w http.ResponseWriter, r *http.Request) {
	f, err := form(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	isRange := strings.HasSuffix(r.URL.Path, "volume_range")
	q, err := parseVolumeQuery(f, s.nowNS(), isRange)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	series, err := s.Volume(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res := &Result{Kind: "vector", Series: series}
	if isRange {
		res.Kind = "matrix"
	}
	writeResult(w, res)
}

func (s *Store) serveDetectedLabels(w http.ResponseWriter, r *http.Request) {
	q, err := s.streamQuery(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.DetectedLabels(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, map[string]any{"detectedLabels": out})
}

func (s *Store) serveDetectedFields(w http.ResponseWriter, r *http.Request) {
	f, err := form(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, err := parseDetectedFieldsQuery(f, s.nowNS())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	fields, err := s.DetectedFields(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, map[string]any{"fields": fields, "limit": q.LineLimit})
}

func (s *Store) serveByTrace(w http.ResponseWriter, r *http.Request) {
	f, err := form(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, err := parseTraceQuery(f, s.nowNS())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	recs, err := s.ByTrace(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, success{Status: "success", Data: recs})
}

func (s *Store) serveBuildInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]string{"version": "3.0.0-vigil", "revision": "", "branch": "", "goVersion": ""})
}
