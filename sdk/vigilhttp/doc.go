// Package vigilhttp is HTTP server middleware recording what otelhttp
// records: a server span and the HTTP server metrics of the OpenTelemetry
// semantic conventions (v1.43, as otelhttp v0.72 writes them:
// http.server.request.duration, http.server.request.body.size and
// http.server.response.body.size), with the same names, attributes,
// buckets and status rules, so that dashboards and queries built for
// otelhttp work unchanged. It is a drop-in for otelhttp.NewHandler:
//
//	handler := vigilhttp.NewHandler(mux, "shop")
//
// The difference is the cost. Spans start through this SDK's tracer
// without option allocations, and the metrics go to a metric.Registry
// (lock-free series lookup, no attribute sets) instead of the
// OpenTelemetry metric SDK; the registry reaches OTLP through vigil.Start
// (integer attributes such as http.response.status_code stay integers)
// and /metrics. Any trace.TracerProvider works; with this SDK's
// tracing.Provider the span costs least.
//
// Differences from otelhttp: no otelhttp.Labeler (add labels in the
// handler's own metrics), no read/write events, and the histograms have no
// min and max (the registry does not keep them).
package vigilhttp
