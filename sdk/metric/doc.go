// Package metric records metrics on a hot path measured in nanoseconds.
//
// Instruments (Counter, UpDownCounter, Gauge, Histogram, ExpHistogram) live
// in a Registry. A series is selected by label name/value pairs:
//
//	requests := reg.Counter("http_requests_total", "Requests served.")
//	ok := requests.With("method", "GET", "code", "200") // bind once
//	ok.Inc()                                           // one atomic add
//	requests.With("method", r.Method, "code", code).Inc() // per call: hash + lock-free probe
//
// Neither form allocates once the series exists. Each instrument has a
// cardinality limit; past it, records go to a series labelled
// otel.metric.overflow="true" and are counted in vigil_sdk_metric_overflow_total,
// or, with WithLimitError, TryWith returns an error wrapping
// ErrCardinalityLimit.
//
// A Registry is exported through OpenTelemetry (Registry.Producer, for a
// metric reader, so the OTLP exporter sends it) and through Registry.Handler,
// which serves the Prometheus text format and OpenMetrics.
package metric
