// Links between pages: a service's RED metrics, a set of queries on the
// metrics page, keeping the shared time range.
import { withRange } from './url';

/** serverSpans: the span metrics' selector for requests a service served. */
export const serverSpans = 'span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER"';

export function redQuery(service: string) {
  const sel = `service_name=${JSON.stringify(service)},${serverSpans}`;
  return {
    rate: `sum(rate(traces_span_metrics_calls_total{${sel}}[5m]))`,
    errors: `sum(rate(traces_span_metrics_calls_total{${sel},status_code="STATUS_CODE_ERROR"}[5m])) / sum(rate(traces_span_metrics_calls_total{${sel}}[5m]))`,
    p95: `histogram_quantile(0.95, sum by (le) (rate(traces_span_metrics_duration_seconds_bucket{${sel}}[5m])))`,
  };
}

/** metricsHref: the metrics page with these queries, one panel each. */
export function metricsHref(exprs: string[]): string {
  const extra: Record<string, string> = {};
  exprs.forEach((e, i) => (extra[`g${i}.expr`] = e));
  return withRange('/query', extra);
}

