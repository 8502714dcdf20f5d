// Probes (/vigil/api/v1/probes): current state, last latency, uptime over
// the shared range and uptime bars (periods of it) from probe_success in
// the TSDB, and "Run now". The public status page is /status (probes feature).
import { useState } from 'preact/hooks';
import { url } from '../../api/http';
import * as oncall from '../../api/oncall';
import * as prom from '../../api/prometheus';
import { Empty, ErrorBox, Loading } from '../../components/Status';
import { fmtNum, fmtTime } from '../../lib/format';
import { useLoad } from '../../lib/load';
import { useCan } from '../../lib/session';
import { useTime } from '../../lib/time';
import { formatDuration } from '../../lib/timerange';
import { barClass, bars, barStep, seriesOf } from './uptime';

/** periods: how many uptime bars a probe gets over the range. */
const periods = 30;

const pct = (u: number) => `${fmtNum(u * 100, 4)}%`;

export default function UptimePage() {
  const { tick, range, reload } = useTime();
  const can = useCan('write');
  const [running, setRunning] = useState('');
  const [runErr, setRunErr] = useState<Error | null>(null);
  const p = useLoad((signal) => oncall.probes(signal), [tick]);
  const win = range ? formatDuration(Math.max(60_000, Math.round((range.end - range.start) / 60_000) * 60_000)) : '1h';
  const up = useLoad(
    range ? (signal) => prom.instant(`avg_over_time(probe_success[${win}])`, range.end, signal) : null,
    [tick, range?.end, win],
  );
  // The bars: periods of step ending at the range's end (whole seconds).
  const end = range ? Math.floor(range.end / 1000) * 1000 : 0;
  const step = range ? barStep(range.start, end, periods) : 0;
  const hist = useLoad(
    range
      ? async (signal) => {
          const r = await prom.queryRange(`avg_over_time(probe_success[${step / 1000}s])`, end - (periods - 1) * step, end, step, signal);
          return r.data.resultType === 'matrix' ? r.data.result : [];
        }
      : null,
    [tick, end, step],
  );
  const runNow = async (name: string) => {
    setRunErr(null);
    setRunning(name);
    try {
      await oncall.runProbe(name);
      reload();
    } catch (e) {
      setRunErr(e as Error);
    } finally {
      setRunning('');
    }
  };
  return (
    <div class="page">
      <div class="page-head">
        <h1>Uptime</h1>
        <Loading on={p.loading} />
        <a href={url('/status')}>Public status page</a>
      </div>
      <ErrorBox error={p.error} />
      <ErrorBox error={up.error ?? hist.error} title="Uptime" />
      <ErrorBox error={runErr} title="Run now" />
      {p.data && p.data.length === 0 && <Empty title="No probes">Add probes under <code>probes:</code> in the configuration (blackbox exporter modules).</Empty>}
      {p.data && p.data.length > 0 && (
        <table class="table" aria-label="Probes">
          <thead>
            <tr>
              <th>Probe</th>
              <th>State</th>
              <th class="num">Last duration</th>
              <th class="num">Uptime ({win})</th>
              <th>Uptime bars ({formatDuration(step)} each)</th>
              <th>Target</th>
              <th><span class="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {p.data.map((x) => {
              const u = seriesOf(up.data, x.labels);
              const bs = bars(seriesOf(hist.data, x.labels)?.values, end, step, periods);
              const seen = bs.filter((b) => b.uptime !== null);
              const summary = seen.length
                ? `${seen.length} of ${periods} periods with runs, ${seen.filter((b) => b.uptime! < 1).length} with failures`
                : 'no runs in the range';
              return (
                <tr key={x.name} data-probe={x.name}>
                  <td>
                    {x.name} {x.group && <span class="muted">{x.group}</span>}
                  </td>
                  <td data-testid="probe-state">
                    {x.last ? <span class={`badge ${x.last.success ? 'up' : 'error'}`}>{x.last.success ? 'up' : 'down'}</span> : <span class="badge">not run yet</span>}
                    {x.last && !x.last.success && x.last.error && <div class="error">{x.last.error}</div>}
                  </td>
                  <td class="num" data-testid="probe-latency">{x.last ? `${fmtNum(x.last.duration_seconds * 1000)} ms` : '–'}</td>
                  <td class="num" data-testid="probe-uptime">{u?.value ? pct(Number(u.value[1])) : '–'}</td>
                  <td>
                    <div class="uptime-bars" role="img" aria-label={`Uptime bars of ${x.name}: ${summary}`}>
                      {bs.map((b) => (
                        <span
                          key={b.end}
                          class={barClass(b.uptime)}
                          data-uptime={b.uptime ?? ''}
                          data-end={new Date(b.end).toISOString()}
                          title={`${fmtTime(b.start)} – ${fmtTime(b.end)}: ${b.uptime === null ? 'no runs' : pct(b.uptime)}`}
                        />
                      ))}
                    </div>
                  </td>
                  <td class="mono">
                    {x.module} {x.target}
                  </td>
                  <td>
                    <button class="btn small" disabled={!can || running === x.name} title={can ? undefined : 'your role may not run probes'} onClick={() => runNow(x.name)}>
                      Run now
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
