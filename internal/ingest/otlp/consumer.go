// Package otlp receives OTLP traces, metrics and logs over gRPC and HTTP
// (protobuf and JSON, gzip) and hands them to consumers.
package otlp

import (
	"context"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Consumers are plain interfaces over pdata types and standard Go types, so a
// feature package (traces, logs, metrics) satisfies them without importing
// this package.
//
// Contract shared by all three:
//   - Consume returns only after the accepted data is durable.
//   - rejected > 0 with err == nil is a partial success: the receiver answers
//     OTLP success (HTTP 200 / gRPC OK) carrying a partial_success with
//     rejected and message; message must name what was rejected and why.
//   - err should be an *apierr.Error (wrapped is fine): Overloaded and
//     Unavailable become retryable responses (HTTP 429/503 with Retry-After,
//     gRPC RESOURCE_EXHAUSTED/UNAVAILABLE); Invalid, Limit and TooLarge become
//     HTTP 400 / gRPC INVALID_ARGUMENT. Nothing of a failed request is stored.
//   - Safe for concurrent use; the data must not be retained after return.

// TracesConsumer stores spans.
type TracesConsumer interface {
	ConsumeTraces(ctx context.Context, td ptrace.Traces) (rejected int64, message string, err error)
}

// MetricsConsumer stores metrics; rejected counts data points.
type MetricsConsumer interface {
	ConsumeMetrics(ctx context.Context, md pmetric.Metrics) (rejected int64, message string, err error)
}

// LogsConsumer stores log records.
type LogsConsumer interface {
	ConsumeLogs(ctx context.Context, ld plog.Logs) (rejected int64, message string, err error)
}
