package metric

import (
	"context"
	"slices"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// ScopeName is the instrumentation scope of metrics produced from a Registry.
const ScopeName = "github.com/vigilhq/vigil/sdk/metric"

// Producer returns an OpenTelemetry metric producer for the registry. Pass it
// to a reader (sdkmetric.WithProducer) and the reader's exporter (OTLP, for
// example) sends the registry's series with cumulative temporality.
func (r *Registry) Producer() sdkmetric.Producer { return producer{r} }

type producer struct{ r *Registry }

var _ sdkmetric.Producer = producer{}

func (p producer) Produce(context.Context) ([]metricdata.ScopeMetrics, error) {
	now := time.Now()
	start := p.r.start
	var ms []metricdata.Metrics
	for _, inst := range p.r.instruments() {
		d := inst.meta()
		pts := inst.collect()
		if len(pts) == 0 {
			continue
		}
		m := metricdata.Metrics{Name: d.name, Description: d.help, Unit: d.unit}
		switch d.kind {
		case KindCounter, KindUpDownCounter:
			allInt := true
			for _, pt := range pts {
				allInt = allInt && pt.isInt
			}
			mono := d.kind == KindCounter
			if allInt {
				dps := make([]metricdata.DataPoint[int64], len(pts))
				for i, pt := range pts {
					dps[i] = metricdata.DataPoint[int64]{Attributes: attrs(pt.labels, d.intLabels), StartTime: start, Time: now, Value: pt.intValue}
				}
				m.Data = metricdata.Sum[int64]{DataPoints: dps, Temporality: metricdata.CumulativeTemporality, IsMonotonic: mono}
			} else {
				dps := make([]metricdata.DataPoint[float64], len(pts))
				for i, pt := range pts {
					dps[i] = metricdata.DataPoint[float64]{Attributes: attrs(pt.labels, d.intLabels), StartTime: start, Time: now, Value: pt.value}
				}
				m.Data = metricdata.Sum[float64]{DataPoints: dps, Temporality: metricdata.CumulativeTemporality, IsMonotonic: mono}
			}
		case KindGauge:
			dps := make([]metricdata.DataPoint[float64], len(pts))
			for i, pt := range pts {
				dps[i] = metricdata.DataPoint[float64]{Attributes: attrs(pt.labels, d.intLabels), StartTime: start, Time: now, Value: pt.value}
			}
			m.Data = metricdata.Gauge[float64]{DataPoints: dps}
		case KindHistogram:
			dps := make([]metricdata.HistogramDataPoint[float64], len(pts))
			for i, pt := range pts {
				dp := metricdata.HistogramDataPoint[float64]{
					Attributes: attrs(pt.labels, d.intLabels), StartTime: start, Time: now,
					Count: pt.count, Bounds: pt.bounds, BucketCounts: pt.counts, Sum: pt.value,
				}
				for _, e := range pt.exemplars {
					if e != nil {
						dp.Exemplars = append(dp.Exemplars, metricdata.Exemplar[float64]{
							Time: e.Time, Value: e.Value, TraceID: e.TraceID[:], SpanID: e.SpanID[:],
						})
					}
				}
				dps[i] = dp
			}
			m.Data = metricdata.Histogram[float64]{DataPoints: dps, Temporality: metricdata.CumulativeTemporality}
		case KindExpHistogram:
			dps := make([]metricdata.ExponentialHistogramDataPoint[float64], len(pts))
			for i, pt := range pts {
				e := pt.exp
				dp := metricdata.ExponentialHistogramDataPoint[float64]{
					Attributes: attrs(pt.labels, d.intLabels), StartTime: start, Time: now,
					Count: pt.count, Sum: pt.value, Scale: e.scale, ZeroCount: e.zeroCount,
					PositiveBucket: metricdata.ExponentialBucket{Offset: e.posOffset, Counts: e.pos},
					NegativeBucket: metricdata.ExponentialBucket{Offset: e.negOffset, Counts: e.neg},
				}
				if pt.count > 0 {
					dp.Min, dp.Max = metricdata.NewExtrema(e.min), metricdata.NewExtrema(e.max)
				}
				dps[i] = dp
			}
			m.Data = metricdata.ExponentialHistogram[float64]{DataPoints: dps, Temporality: metricdata.CumulativeTemporality}
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, nil
	}
	return []metricdata.ScopeMetrics{{Scope: instrumentation.Scope{Name: ScopeName}, Metrics: ms}}, nil
}

func attrs(labels []Label, intLabels []string) attribute.Set {
	kvs := make([]attribute.KeyValue, len(labels))
	for i, l := range labels {
		kvs[i] = attribute.String(l.Name, l.Value)
		if slices.Contains(intLabels, l.Name) {
			if n, err := strconv.ParseInt(l.Value, 10, 64); err == nil {
				kvs[i] = attribute.Int64(l.Name, n)
			}
		}
	}
	return attribute.NewSet(kvs...)
}
