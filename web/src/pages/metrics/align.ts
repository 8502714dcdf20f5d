// Matrix results onto one time grid for the chart (query_range answers
// every series on start + k*step, so this is an index, not a search).
import type { MatrixSeries } from '../../api/prometheus';
import { labelString } from '../../lib/format';

export interface Aligned {
  xs: number[]; // seconds
  series: { label: string; labels: Record<string, string>; values: (number | null)[] }[];
}

export function align(result: MatrixSeries[], startMs: number, endMs: number, stepMs: number): Aligned {
  const start = startMs / 1000;
  const step = stepMs / 1000;
  const n = Math.floor((endMs - startMs) / stepMs) + 1;
  const xs = new Array<number>(n);
  for (let i = 0; i < n; i++) xs[i] = start + i * step;
  const series = result.map((s) => {
    const values = new Array<number | null>(n).fill(null);
    for (const [t, v] of s.values ?? []) {
      const i = Math.round((t - start) / step);
      if (i >= 0 && i < n) values[i] = parseFloat(v);
    }
    // Native histograms: plot the count (as Prometheus' graph does for rate()).
    for (const [t, h] of s.histograms ?? []) {
      const i = Math.round((t - start) / step);
      if (i >= 0 && i < n) values[i] = parseFloat(h.count);
    }
    return { label: labelString(s.metric), labels: s.metric, values };
  });
  return { xs, series };
}
