// Package logging provides a log/slog handler that writes each record both
// to a local handler (JSON or text on stderr) and to OpenTelemetry logs
// (shipped over OTLP), adding trace_id and span_id from the context, with a
// level changeable at run time and optional suppression of repeated
// messages.
//
// The OTLP path is bounded: records go through export.LogProcessor's
// fixed-size queue and drops are counted in vigil_sdk_logs_dropped_total.
// The local path writes synchronously.
package logging

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/log/global"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigilhq/vigil/sdk/metric"
)

// ScopeName is the instrumentation scope of records sent to OpenTelemetry.
const ScopeName = "github.com/vigilhq/vigil/sdk/logging"

// Options configure New. The zero value means defaults.
type Options struct {
	// Level is the minimum level, shared with LevelHandler to change it at
	// run time (default a new LevelVar at Info).
	Level *slog.LevelVar
	// Local receives every record with trace_id and span_id added (default
	// JSON on stderr). Its own level is not consulted: Level decides.
	Local slog.Handler
	// NoLocal turns the local output off.
	NoLocal bool
	// Exporter receives records for OTLP through the lean path (see
	// Exporter). Without it, records go to the default exporter
	// (SetDefaultExporter, which vigil.Start calls) if LoggerProvider is
	// nil too, else through the otelslog bridge to LoggerProvider.
	Exporter *Exporter
	// LoggerProvider receives records for OTLP through the otelslog bridge
	// when there is no exporter (default the global one, set by
	// vigil.Start).
	LoggerProvider otellog.LoggerProvider
	// NoOTLP turns the OpenTelemetry output off.
	NoOTLP bool
	// Attrs are added to every local record, typically the resource
	// (service.name, service.version); OTLP records carry the resource already.
	Attrs []slog.Attr
	// Repeat, when Burst > 0, passes at most Burst records with the same
	// level and message per Window and counts the rest in
	// vigil_sdk_logs_suppressed_total.
	Repeat RepeatLimit
	// Registry receives the suppression counter (metric.Default() when nil).
	Registry *metric.Registry
}

// RepeatLimit bounds repeated messages.
type RepeatLimit struct {
	Burst  int
	Window time.Duration // default 1s
	// Now is the clock (default time.Now); for tests.
	Now func() time.Time
}

// Handler is the slog.Handler. Create it with New.
type Handler struct {
	level   *slog.LevelVar
	local   slog.Handler
	otel    slog.Handler // the otelslog bridge: the slow path, or the only one
	limiter *repeatLimiter

	exporter   *Exporter // the lean path's exporter, if given
	useDefault bool      // else the default exporter's, when set
	fastAttrs  []attribute.KeyValue
	slowOnly   bool // WithGroup, or WithAttrs the fast path does not take
}

var _ slog.Handler = (*Handler)(nil)

// New returns a handler.
func New(o Options) *Handler {
	h := &Handler{level: o.Level}
	if h.level == nil {
		h.level = new(slog.LevelVar)
	}
	if !o.NoLocal {
		h.local = o.Local
		if h.local == nil {
			h.local = slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug - 8})
		}
		if len(o.Attrs) > 0 {
			h.local = h.local.WithAttrs(o.Attrs)
		}
	}
	if !o.NoOTLP {
		lp := o.LoggerProvider
		switch {
		case o.Exporter != nil:
			h.exporter, lp = o.Exporter, o.Exporter.lp
		case lp == nil:
			h.useDefault = true
			lp = global.GetLoggerProvider() // vigil.Start sets it to the default exporter's
		}
		h.otel = otelslog.NewHandler(ScopeName, otelslog.WithLoggerProvider(lp))
	}
	if o.Repeat.Burst > 0 {
		reg := o.Registry
		if reg == nil {
			reg = metric.Default()
		}
		h.limiter = newRepeatLimiter(o.Repeat, reg.Counter("vigil_sdk_logs_suppressed_total",
			"Log records suppressed as repeats of the same level and message.").With())
	}
	return h
}

// NewText is a convenience: a handler whose local output is text on w.
func NewText(w io.Writer, o Options) *Handler {
	o.Local = slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug - 8})
	return New(o)
}

// Level returns the handler's level variable.
func (h *Handler) Level() *slog.LevelVar { return h.level }

// Enabled reports whether level passes the run-time level.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// Handle writes r to both outputs. The local copy gets trace_id and
// span_id; the OpenTelemetry record carries them as its trace context.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if h.limiter != nil && !h.limiter.allow(r.Level, r.Message) {
		return nil
	}
	var err error
	if h.otel != nil {
		e := h.exporter
		if e == nil && h.useDefault {
			e = defaultExporter.Load()
		}
		if e == nil || !h.fast(ctx, e, r) {
			err = h.otel.Handle(ctx, r)
		}
	}
	if h.local != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r = r.Clone()
			r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
		}
		if e := h.local.Handle(ctx, r); e != nil {
			err = e
		}
	}
	return err
}

// WithAttrs returns a handler adding attrs to both outputs.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	if !c.slowOnly {
		fa := slices.Clip(c.fastAttrs)
		for _, a := range attrs {
			kv, ok := fastAttr(a)
			if !ok {
				c.slowOnly = true
				break
			}
			fa = append(fa, kv)
		}
		c.fastAttrs = fa
	}
	if c.local != nil {
		c.local = c.local.WithAttrs(attrs)
	}
	if c.otel != nil {
		c.otel = c.otel.WithAttrs(attrs)
	}
	return &c
}

// WithGroup returns a handler grouping later attributes in both outputs.
func (h *Handler) WithGroup(name string) slog.Handler {
	c := *h
	if name != "" {
		c.slowOnly = true
	}
	if c.local != nil {
		c.local = c.local.WithGroup(name)
	}
	if c.otel != nil {
		c.otel = c.otel.WithGroup(name)
	}
	return &c
}

// repeatLimiter counts records per (level, message) in fixed windows. Its
// table is bounded: at 4096 distinct messages in a window it is cleared.
type repeatLimiter struct {
	o          RepeatLimit
	suppressed *metric.CounterSeries
	mu         sync.Mutex
	start      time.Time
	seen       map[repeatKey]int
}

type repeatKey struct {
	level slog.Level
	msg   string
}

func newRepeatLimiter(o RepeatLimit, suppressed *metric.CounterSeries) *repeatLimiter {
	if o.Window <= 0 {
		o.Window = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &repeatLimiter{o: o, suppressed: suppressed, seen: make(map[repeatKey]int)}
}

func (l *repeatLimiter) allow(level slog.Level, msg string) bool {
	now := l.o.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.o.Window || len(l.seen) >= 4096 {
		clear(l.seen)
		l.start = now
	}
	k := repeatKey{level, msg}
	n := l.seen[k] + 1
	l.seen[k] = n
	if n > l.o.Burst {
		l.suppressed.Inc()
		return false
	}
	return true
}
