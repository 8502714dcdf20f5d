// The log page's state as the URL holds it (query, trace, live, limit) and
// the requests it makes first: the lines (or a metric query's series), the
// volume by level and the label names. Shared by the page and by boot.ts,
// which sends them before the page's code has loaded.
import * as loki from '../../api/loki';
import { stepFor, type Range } from '../../lib/timerange';

export interface LogsState {
  query: string;
  trace: string;
  live: boolean;
  limit: number;
}

export function logsStateOf(q: URLSearchParams): LogsState {
  return { query: q.get('query') ?? '', trace: q.get('trace') ?? '', live: q.get('live') === '1', limit: Number(q.get('limit') ?? 1000) || 1000 };
}

/** isMetricQuery: a LogQL metric query (rate, count_over_time, sum by...). */
export function isMetricQuery(q: string): boolean {
  return !q.trim().startsWith('{');
}

/** volumeStep: the volume histogram's bar width over the range (about 120 bars). */
export const volumeStep = (range: Range) => stepFor(range, 120);

/** linesQuery: the page's main query (lines, newest first; a metric query's series at the graph's step). */
export function linesQuery(s: LogsState, range: Range, signal?: AbortSignal) {
  const metric = isMetricQuery(s.query);
  return loki.queryRange({ query: s.query, start: range.start, end: range.end, limit: s.limit, direction: 'backward', step: metric ? stepFor(range) : undefined }, signal);
}

/** volume: the lines per level over the range, as Grafana asks for it. */
export function volume(query: string, range: Range, signal?: AbortSignal) {
  const step = volumeStep(range);
  return loki.queryRange({ query: loki.volumeQuery(query, step), start: range.start, end: range.end, step }, signal);
}
