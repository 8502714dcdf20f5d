package logs

import (
	"context"
	"net/http"
	"net/url"

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
		{"/loki/api/v1/query", handle(s, parseInstantQuery, s.Query, writeResult), "LogQL instant query (Grafana Loki data source: URL http://HOST:9797)"},
		{"/loki/api/v1/query_range", handle(s, parseRangeQuery, s.Query, writeResult), "LogQL range query"},
		{"/loki/api/v1/labels", handle(s, parseStreamQuery, s.LabelNames, writeData[[]string]), "log stream label names"},
		{"/loki/api/v1/label/{name}/values", s.serveLabelValues, "log stream label values"},
		{"/loki/api/v1/series", handle(s, parseSeriesQuery, s.seriesMaps, writeData[[]map[string]string]), "log streams matching selectors"},
		{"/loki/api/v1/index/stats", handle(s, parseIndexQuery, s.IndexStats, writeAny[IndexStats]), "streams, chunks, entries and bytes of a selector"},
		{"/loki/api/v1/index/volume", handle(s, parseVolume(false), s.volume, writeResult), "log volume by label"},
		{"/loki/api/v1/index/volume_range", handle(s, parseVolume(true), s.volume, writeResult), "log volume by label over time"},
		{"/loki/api/v1/detected_fields", handle(s, parseDetectedFieldsQuery, s.detectedFields, writeAny[map[string]any]), "fields detected in log lines (Logs Drilldown)"},
		{"/loki/api/v1/detected_labels", handle(s, parseStreamQuery, s.detectedLabels, writeAny[map[string]any]), "labels detected in streams (Logs Drilldown)"},
		{"/loki/api/v1/detected_field/{name}/values", s.serveDetectedFieldValues, "values of one detected field (Logs Drilldown)"},
		{"/loki/api/v1/detected_fields/{name}/values", s.serveDetectedFieldValues, "values of one detected field (alias)"},
		{"/loki/api/v1/detected_fields/{name}", s.serveDetectedFieldValues, "values of one detected field (alias)"},
		{"/loki/api/v1/patterns", handle(s, parsePatternQuery, s.patterns, writeData[[]patternJSON]), "log line patterns with counts per step (Logs Drilldown)"},
		{"/loki/api/v1/format_query", handle(s, parseFormatQuery, identity, writeData[string]), "a LogQL query in canonical form"},
	} {
		for _, m := range []string{"GET", "POST"} {
			rs = append(rs, route.Route{Method: m, Pattern: q.path, Scope: route.Read, Handler: q.h, Doc: q.doc, Hidden: m == "POST"})
		}
	}
	return append(rs,
		route.Func("GET", "/loki/api/v1/tail", route.Read, s.serveTail, "live tail over a websocket"),
		route.Func("GET", "/loki/api/v1/status/buildinfo", route.Read, s.serveBuildInfo, "Loki build information (for Grafana)"),
		route.Func("GET", "/vigil/api/v1/logs", route.Read, handle(s, parseTraceQuery, s.ByTrace, writeData[[]TraceRecord]), "logs of a trace (?trace_id=)"),
	)
}

// handle is the shape of every query handler: parse the request's
// parameters (a pure function of the form and the time), run the store's
// method, encode its answer; every error is answered by s.fail.
func handle[Q, A any](s *Store, parse func(url.Values, int64) (Q, error), run func(context.Context, Q) (A, error), encode func(http.ResponseWriter, A)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := form(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		q, err := parse(f, s.nowNS())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		a, err := run(r.Context(), q)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		encode(w, a)
	}
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

// The adapters below turn a store method's answer into the document its
// endpoint returns.

func identity[T any](_ context.Context, v T) (T, error) { return v, nil }

func (s *Store) seriesMaps(ctx context.Context, q seriesQuery) ([]map[string]string, error) {
	series, err := s.Series(ctx, q.selectors, q.start, q.end)
	if err != nil {
		return nil, err
	}
	data := make([]map[string]string, len(series))
	for i, ls := range series {
		data[i] = ls.Map()
	}
	return data, nil
}

// volumeRequest is a parsed index/volume or index/volume_range request.
type volumeRequest struct {
	VolumeQuery
	isRange bool
}

func parseVolume(isRange bool) func(url.Values, int64) (volumeRequest, error) {
	return func(form url.Values, now int64) (volumeRequest, error) {
		q, err := parseVolumeQuery(form, now, isRange)
		return volumeRequest{q, isRange}, err
	}
}

// volume answers index/volume as a vector and index/volume_range as a
// matrix.
func (s *Store) volume(ctx context.Context, q volumeRequest) (*Result, error) {
	series, err := s.Volume(ctx, q.VolumeQuery)
	if err != nil {
		return nil, err
	}
	res := &Result{Kind: "vector", Series: series}
	if q.isRange {
		res.Kind = "matrix"
	}
	return res, nil
}

func (s *Store) detectedLabels(ctx context.Context, q StreamQuery) (map[string]any, error) {
	out, err := s.DetectedLabels(ctx, q)
	return map[string]any{"detectedLabels": out}, err
}

func (s *Store) detectedFields(ctx context.Context, q DetectedFieldsQuery) (map[string]any, error) {
	fields, err := s.DetectedFields(ctx, q)
	return map[string]any{"fields": fields, "limit": q.LineLimit}, err
}

// patternJSON is one entry of Loki's patterns answer.
type patternJSON struct {
	Pattern string     `json:"pattern"`
	Level   string     `json:"level"`
	Samples [][2]int64 `json:"samples"`
}

func (s *Store) patterns(ctx context.Context, q PatternQuery) ([]patternJSON, error) {
	ps, err := s.Patterns(ctx, q)
	if err != nil {
		return nil, err
	}
	data := make([]patternJSON, len(ps))
	for i, p := range ps {
		data[i] = patternJSON{Pattern: p.Pattern, Level: p.Level, Samples: p.Samples}
	}
	return data, nil
}

// serveLabelValues and serveDetectedFieldValues also read the path.

func (s *Store) serveLabelValues(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	handle(s, parseStreamQuery, func(ctx context.Context, q StreamQuery) ([]string, error) {
		return s.LabelValues(ctx, q, name)
	}, writeData[[]string])(w, r)
}

func (s *Store) serveDetectedFieldValues(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	handle(s, parseDetectedFieldsQuery, func(ctx context.Context, q DetectedFieldsQuery) (map[string]any, error) {
		values, err := s.DetectedFieldValues(ctx, q, name)
		return map[string]any{"values": values, "limit": q.LineLimit}, err
	}, writeAny[map[string]any])(w, r)
}

func (s *Store) serveBuildInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]string{"version": "3.0.0-vigil", "revision": "", "branch": "", "goVersion": ""})
}
