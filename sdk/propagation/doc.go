// Package propagation builds the text-map propagators the SDK installs:
// W3C trace context and baggage by default, B3 (single and multi header) and
// Jaeger (uber-trace-id) by name.
//
// The W3C trace context propagator here is strict: a traceparent with a bad
// version, bad hex, uppercase hex, all-zero IDs or the wrong length is
// ignored (the request starts a new trace), a tracestate with more than 32
// members or a malformed member is dropped, and one over 512 characters is
// truncated as the specification says. Each case is counted in
// vigil_sdk_propagation_invalid_total{header,reason}, so bad upstream headers
// are visible rather than silently starting new traces.
package propagation
