package logging

import (
	"context"
	"log/slog"
	"math"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/trace"
)

// sevOffset maps slog levels to OpenTelemetry severities, as otelslog
// does: Debug (-4) is SeverityDebug (5).
const sevOffset = slog.Level(otellog.SeverityDebug) - slog.LevelDebug

// fast queues r on e's lean path and reports true, or reports false for a
// record whose attributes need the log SDK's rules (errors, which become
// exception attributes; groups; values other than strings, numbers,
// booleans, durations and times; empty or repeated keys; records over the
// attribute limits), which then goes the otelslog way. Both ways give the
// same OTLP.
func (h *Handler) fast(ctx context.Context, e *Exporter, r slog.Record) bool {
	if h.slowOnly || e.lengthLimit >= 0 {
		return false
	}
	n := len(h.fastAttrs) + r.NumAttrs()
	if e.countLimit >= 0 && n > e.countLimit || n > 32 {
		return false
	}
	var attrs []attribute.KeyValue
	if n > 0 {
		attrs = make([]attribute.KeyValue, 0, n)
		attrs = append(attrs, h.fastAttrs...)
		ok := true
		r.Attrs(func(a slog.Attr) bool {
			kv, good := fastAttr(a)
			if !good {
				ok = false
				return false
			}
			attrs = append(attrs, kv)
			return true
		})
		if !ok || repeated(attrs) {
			return false
		}
	}
	sc := trace.SpanContextFromContext(ctx)
	en := entry{
		severity: otellog.Severity(r.Level + sevOffset), sevText: r.Level.String(),
		body: attribute.StringValue(r.Message), attrs: attrs, scope: ownScope,
		traceID: sc.TraceID(), spanID: sc.SpanID(), flags: sc.TraceFlags(),
	}
	if !r.Time.IsZero() {
		en.time = max(0, r.Time.UnixNano())
		en.observed = en.time
	} else {
		en.observed = time.Now().UnixNano()
	}
	e.queue.Enqueue(en)
	return true
}

// fastAttr converts what the lean path takes, as otelslog converts it.
func fastAttr(a slog.Attr) (attribute.KeyValue, bool) {
	if a.Key == "" {
		return attribute.KeyValue{}, false
	}
	v := a.Value
	if v.Kind() == slog.KindLogValuer {
		v = v.Resolve()
	}
	k := attribute.Key(a.Key)
	switch v.Kind() {
	case slog.KindString:
		return k.String(v.String()), true
	case slog.KindInt64:
		return k.Int64(v.Int64()), true
	case slog.KindUint64:
		if u := v.Uint64(); u > math.MaxInt64 {
			return k.Float64(float64(u)), true
		} else {
			return k.Int64(int64(u)), true
		}
	case slog.KindFloat64:
		return k.Float64(v.Float64()), true
	case slog.KindBool:
		return k.Bool(v.Bool()), true
	case slog.KindDuration:
		return k.Int64(v.Duration().Nanoseconds()), true
	case slog.KindTime:
		return k.Int64(v.Time().UnixNano()), true
	case slog.KindAny:
		switch x := v.Any().(type) {
		case string:
			return k.String(x), true
		case int:
			return k.Int64(int64(x)), true
		case int64:
			return k.Int64(x), true
		case float64:
			return k.Float64(x), true
		case bool:
			return k.Bool(x), true
		}
	}
	return attribute.KeyValue{}, false
}

// repeated reports whether a key occurs twice (the log SDK would keep the
// last value and count the drop).
func repeated(attrs []attribute.KeyValue) bool {
	for i := 1; i < len(attrs); i++ {
		for j := range i {
			if attrs[i].Key == attrs[j].Key {
				return true
			}
		}
	}
	return false
}
