// Log volume by level over the range: the query Grafana sends,
// sum by (level, detected_level) (count_over_time(...)), as stacked bars.
import { useMemo } from 'preact/hooks';
import { Chart } from '../../components/Chart';
import { ErrorBox } from '../../components/Status';
import { useLoad } from '../../lib/load';
import { normLevel } from '../../lib/logfields';
import type { Range } from '../../lib/timerange';
import { useTime } from '../../lib/time';
import { align } from '../metrics/align';
import { volume, volumeStep } from './requests';

const order = ['critical', 'error', 'warn', 'info', 'debug', 'trace', ''];
const colors: Record<string, string> = { critical: '#862e9c', error: '#e03131', warn: '#f59f00', info: '#2f9e44', debug: '#1c7ed6', trace: '#7048e8', '': '#868e96' };

/** quiet: the page shows the query's own error, so the volume query's (the same, at a shifted position) is left out. */
export function Volume({ query, range, quiet, onZoom }: { query: string; range: Range; quiet?: boolean; onZoom: (a: number, b: number) => void }) {
  const { tick } = useTime();
  const step = volumeStep(range);
  const v = useLoad(
    (signal) => volume(query, range, signal),
    [query, range.start, range.end, step, tick],
  );
  const data = useMemo(() => {
    if (!v.data || v.data.resultType !== 'matrix') return null;
    const a = align(v.data.result, range.start, range.end, step);
    // One series per level, merging level and detected_level.
    const byLevel = new Map<string, (number | null)[]>();
    a.series.forEach((s) => {
      const l = normLevel(s.labels.level || s.labels.detected_level);
      const cur = byLevel.get(l) ?? new Array(a.xs.length).fill(null);
      s.values.forEach((x, i) => x !== null && (cur[i] = (cur[i] ?? 0) + x));
      byLevel.set(l, cur);
    });
    const series = [...byLevel.entries()]
      .sort(([x], [y]) => order.indexOf(x) - order.indexOf(y))
      .map(([l, values]) => ({ label: l || 'unknown', values, color: colors[l] ?? colors[''] }));
    return { xs: a.xs, series };
  }, [v.data]);
  if (v.error) return quiet ? null : <ErrorBox error={v.error} title="Volume" />;
  if (!data || data.series.length === 0) return null;
  return <Chart xs={data.xs} series={data.series} stacked bars height={130} label="Log volume by level" onZoom={onZoom} />;
}
