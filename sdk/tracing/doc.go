// Package tracing is a lean OpenTelemetry trace.TracerProvider: spans are
// started and ended through the standard OpenTelemetry API (so otelhttp,
// otelgrpc and every other instrumentation library work unchanged), sampled
// by any sdktrace.Sampler (by default this SDK's consistent-probability
// sampler) and exported as OTLP through OpenTelemetry's own otlptrace
// clients, or to any sdktrace.SpanExporter.
//
// What it changes is the cost of a sampled span. The OpenTelemetry SDK
// allocates a large span object, copies it into a snapshot at End and passes
// that through a channel; here a span is a smaller object handed to the
// export queue itself at End (it is immutable from then on), the queue is a
// slice under a mutex, and the OTLP messages of a batch are carved from a few
// slabs. docs/perf/sdk.md has the figures.
//
// Behaviour follows the OpenTelemetry SDK: span limits (attribute, event and
// link counts, value length) from sdktrace.SpanLimits with the same defaults
// and OTEL_SPAN_*_LIMIT variables, duplicate attribute keys resolved to the
// last value, events and links past their limit evicting the oldest, status
// precedence (Ok over Error over Unset), RecordError's exception event, a
// panic recorded by a deferred End, non-recording spans for dropped traces
// that still propagate their context, and non-recording spans after
// Shutdown. Every dropped span is counted in
// vigil_sdk_spans_dropped_total{reason}.
package tracing
