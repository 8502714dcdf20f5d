package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	deltatocumulative "github.com/open-telemetry/opentelemetry-collector-contrib/processor/deltatocumulativeprocessor"
	"github.com/prometheus/otlptranslator"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/storage"
	otlpconv "github.com/prometheus/prometheus/storage/remote/otlptranslator/prometheusremotewrite"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap"

	"github.com/vigilhq/vigil/internal/apierr"
)

// OTLPSettings control the OTLP → Prometheus translation; they may change
// on reload.
type OTLPSettings struct {
	PromoteResourceAttributes         []string
	KeepIdentifyingResourceAttributes bool
	TranslationStrategy               string
	MaxSamplesPerRequest              int
}

// OTLPOptions configure an OTLPConsumer.
type OTLPOptions struct {
	Appendable storage.AppendableV2
	Logger     *slog.Logger
	Settings   func() OTLPSettings
	// Received counts received data points in the shared
	// vigil_samples_received_total (Limiter.Received); nil counts nothing.
	Received func(protocol string, n int)
	// LookbackDelta spaces target_info samples (default 5m).
	LookbackDelta time.Duration
}

// OTLPConsumer stores OTLP metrics in the TSDB with Prometheus's own
// translator (service.name → job, service.instance.id → instance,
// exponential histograms → native histograms) and the collector's
// delta-to-cumulative processor.
type OTLPConsumer struct {
	opts OTLPOptions
	d2c  processor.Metrics
}

type resultKey struct{}

type result struct {
	rejected int64
	msgs     []string
}

// NewOTLPConsumer creates the consumer.
func NewOTLPConsumer(opts OTLPOptions) (*OTLPConsumer, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Settings == nil {
		opts.Settings = func() OTLPSettings { return OTLPSettings{} }
	}
	if opts.LookbackDelta == 0 {
		opts.LookbackDelta = 5 * time.Minute
	}
	if opts.Received == nil {
		opts.Received = func(string, int) {}
	}
	c := &OTLPConsumer{opts: opts}
	fac := deltatocumulative.NewFactory()
	set := processor.Settings{
		ID:                component.NewID(fac.Type()),
		TelemetrySettings: component.TelemetrySettings{MeterProvider: noop.NewMeterProvider(), Logger: zapNop()},
	}
	d2c, err := fac.CreateMetrics(context.Background(), set, fac.CreateDefaultConfig(), consumerFunc(c.store))
	if err != nil {
		return nil, fmt.Errorf("create delta-to-cumulative processor: %w", err)
	}
	if err := d2c.Start(context.Background(), nil); err != nil {
		return nil, fmt.Errorf("start delta-to-cumulative processor: %w", err)
	}
	c.d2c = d2c
	return c, nil
}

// Close stops the delta-to-cumulative processor.
func (c *OTLPConsumer) Close() error { return c.d2c.Shutdown(context.Background()) }

// ConsumeMetrics implements the OTLP receiver's MetricsConsumer.
func (c *OTLPConsumer) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) (int64, string, error) {
	n := md.DataPointCount()
	if max := c.opts.Settings().MaxSamplesPerRequest; max > 0 && n > max {
		return 0, "", apierr.New(apierr.Limit, "request has %d data points, over the limit of %d per request (metrics.limits.max_samples_per_request); send smaller batches", n, max)
	}
	c.opts.Received("otlp", n)
	res := &result{}
	ctx = context.WithValue(ctx, resultKey{}, res)
	var err error
	if hasDelta(md) {
		err = c.d2c.ConsumeMetrics(ctx, md)
	} else {
		err = c.store(ctx, md)
	}
	if err != nil {
		return 0, "", err
	}
	if res.rejected > 0 {
		return res.rejected, strings.Join(res.msgs, "; "), nil
	}
	return 0, "", nil
}

func hasDelta(md pmetric.Metrics) bool {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				switch m.Type() {
				case pmetric.MetricTypeSum:
					if m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityDelta {
						return true
					}
				case pmetric.MetricTypeHistogram:
					if m.Histogram().AggregationTemporality() == pmetric.AggregationTemporalityDelta {
						return true
					}
				case pmetric.MetricTypeExponentialHistogram:
					if m.ExponentialHistogram().AggregationTemporality() == pmetric.AggregationTemporalityDelta {
						return true
					}
				}
			}
		}
	}
	return false
}

// store translates and appends; series that fail (limits, out of order,
// unsupported types) are counted as rejected and the rest committed.
func (c *OTLPConsumer) store(ctx context.Context, md pmetric.Metrics) error {
	s := c.opts.Settings()
	ocfg := promconfig.OTLPConfig{
		PromoteResourceAttributes:         s.PromoteResourceAttributes,
		TranslationStrategy:               otlptranslator.TranslationStrategyOption(s.TranslationStrategy),
		KeepIdentifyingResourceAttributes: s.KeepIdentifyingResourceAttributes,
	}
	if ocfg.TranslationStrategy == "" {
		ocfg.TranslationStrategy = otlptranslator.UnderscoreEscapingWithSuffixes
	}
	var app storage.AppenderV2
	var soft *limitAppender
	if l, ok := c.opts.Appendable.(*Limiter); ok {
		soft = l.softAppender(ctx)
		app = soft
	} else {
		app = c.opts.Appendable.AppenderV2(ctx)
	}
	conv := otlpconv.NewPrometheusConverter(app)
	annots, convErr := conv.FromMetrics(ctx, md, otlpconv.Settings{
		AddMetricSuffixes:                 ocfg.TranslationStrategy.ShouldAddSuffixes(),
		AllowUTF8:                         !ocfg.TranslationStrategy.ShouldEscape(),
		PromoteResourceAttributes:         otlpconv.NewPromoteResourceAttributes(ocfg),
		KeepIdentifyingResourceAttributes: ocfg.KeepIdentifyingResourceAttributes,
		LookbackDelta:                     c.opts.LookbackDelta,
	})
	if err := ctx.Err(); err != nil {
		_ = app.Rollback()
		return &apierr.Error{Code: apierr.Canceled, Message: "request canceled", Err: err}
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("commit otlp metrics: %w", err)
	}
	res, _ := ctx.Value(resultKey{}).(*result)
	if res == nil {
		return nil
	}
	errs := leaves(convErr)
	if soft != nil {
		errs = append(soft.rejected, errs...)
	}
	for _, e := range errs {
		res.rejected++
		if len(res.msgs) < 5 {
			msg := e.Error()
			dup := false
			for _, m := range res.msgs {
				dup = dup || m == msg
			}
			if !dup {
				res.msgs = append(res.msgs, msg)
			}
		}
	}
	if ws, _ := annots.AsStrings("", 5, 0); len(ws) > 0 && len(res.msgs) < 5 {
		// Unsupported data (e.g. a metric of an unknown type) is dropped by
		// the translator with a warning: report it.
		for _, w := range ws {
			if strings.Contains(w, "unsupported") || strings.Contains(w, "invalid") {
				res.msgs = append(res.msgs, w)
				res.rejected++
			}
		}
	}
	return nil
}

// leaves flattens joined errors.
func leaves(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

type consumerFunc func(context.Context, pmetric.Metrics) error

func (f consumerFunc) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	return f(ctx, md)
}
func (consumerFunc) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func zapNop() *zap.Logger { return zap.NewNop() }
