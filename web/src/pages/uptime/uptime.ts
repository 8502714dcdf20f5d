// Uptime bars: a probe's probe_success over the shared range, cut into
// equal periods, each the share of successful runs in it (or no data).
import type { Labels, SamplePair } from '../../api/prometheus';

export interface Bar {
  /** start and end of the period (ms); the period is (start, end]. */
  start: number;
  end: number;
  /** uptime: the share of runs that succeeded (0..1), null without runs. */
  uptime: number | null;
}

/** barStep: the length (ms, whole seconds, at least 1 s) of each of n periods ending at end. */
export function barStep(start: number, end: number, n: number): number {
  return Math.max(1000, Math.ceil((end - start) / n / 1000) * 1000);
}

/**
 * seriesOf: the series of one probe among the results of a query over
 * probe_success that keeps every label (no aggregation): its labels,
 * without __name__, are the probe's labels (they hold job and instance).
 */
export function seriesOf<T extends { metric: Labels }>(series: T[] | undefined, probe: Labels): T | undefined {
  const want = Object.entries(probe).filter(([k]) => k !== '__name__');
  return series?.find((s) => {
    const got = Object.keys(s.metric).filter((k) => k !== '__name__');
    return got.length === want.length && want.every(([k, v]) => s.metric[k] === v);
  });
}

/**
 * bars: n periods of step ms ending at end, from the samples of
 * avg_over_time(probe_success[step]) evaluated at each period's end
 * (seconds, as the query API writes them).
 */
export function bars(values: SamplePair[] | undefined, end: number, step: number, n: number): Bar[] {
  const at = new Map((values ?? []).map(([t, v]) => [Math.round(t * 1000), Number(v)]));
  return Array.from({ length: n }, (_, i) => {
    const e = end - (n - 1 - i) * step;
    const u = at.get(e);
    return { start: e - step, end: e, uptime: u === undefined || Number.isNaN(u) ? null : u };
  });
}

/** barClass: how a period is coloured: all up, some runs down, all down, no runs. */
export function barClass(u: number | null): 'none' | 'up' | 'partial' | 'down' {
  if (u === null) return 'none';
  if (u >= 1) return 'up';
  return u <= 0 ? 'down' : 'partial';
}
