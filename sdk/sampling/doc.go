// Package sampling provides trace samplers that implement sdktrace.Sampler
// and compose: parent-based, per-operation probabilities, rate-limited and
// adaptive.
//
// Every probabilistic decision follows OpenTelemetry's consistent probability
// sampling: a 56-bit randomness value R (the tracestate "ot" rv sub-key if
// present, else the low 56 bits of the trace ID) is compared with a 56-bit
// rejection threshold T, and the span is sampled when R >= T. The threshold is
// recorded in tracestate as ot=th:HEX, so services in any language that
// implement the specification make the same decision for the same trace, and
// a trace sampled at probability p is also sampled at every probability above
// p. Sampled spans also carry a sampling.rate attribute (the probability).
package sampling
