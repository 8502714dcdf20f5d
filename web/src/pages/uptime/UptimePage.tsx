// Probes (/vigil/api/v1/probes): current state, last latency, and uptime
// over the shared range from probe_success in the TSDB. The public status
// page is /status (probes feature).
import { url } from '../../api/http';
import * as oncall from '../../api/oncall';
import * as prom from '../../api/prometheus';
import { Empty, ErrorBox, Loading } from '../../components/Status';
import { fmtNum } from '../../lib/format';
import { useLoad } from '../../lib/load';
import { useTime } from '../../lib/time';
import { formatDuration } from '../../lib/timerange';

export default function UptimePage() {
  const { tick, range } = useTime();
  const p = useLoad((signal) => oncall.probes(signal), [tick]);
  const win = range ? formatDuration(Math.max(60_000, Math.round((range.end - range.start) / 60_000) * 60_000)) : '1h';
  const up = useLoad(
    range ? (signal) => prom.instant(`avg by (probe, job, instance) (avg_over_time(probe_success[${win}]))`, range.end, signal) : null,
    [tick, range?.end, win],
  );
  return (
    <div class="page">
      <div class="page-head">
        <h1>Uptime</h1>
        <Loading on={p.loading} />
        <a href={url('/status')}>Public status page</a>
      </div>
      <ErrorBox error={p.error} />
      {p.data && p.data.length === 0 && <Empty title="No probes">Add probes under <code>probes:</code> in the configuration (blackbox exporter modules).</Empty>}
      {p.data && p.data.length > 0 && (
        <table class="table" aria-label="Probes">
          <thead>
            <tr>
              <th>Probe</th>
              <th>State</th>
              <th class="num">Last duration</th>
              <th class="num">Uptime ({win})</th>
              <th>Target</th>
            </tr>
          </thead>
          <tbody>
            {p.data.map((x) => {
              const u = up.data?.find((s) => Object.values(s.metric).includes(x.name) || s.metric.instance === x.target);
              return (
                <tr key={x.name}>
                  <td>
                    {x.name} {x.group && <span class="muted">{x.group}</span>}
                  </td>
                  <td>{x.last ? <span class={`badge ${x.last.success ? 'up' : 'error'}`}>{x.last.success ? 'up' : 'down'}</span> : <span class="badge">not run yet</span>}</td>
                  <td class="num">{x.last ? `${fmtNum(x.last.duration_seconds * 1000)} ms` : '–'}</td>
                  <td class="num">{u?.value ? `${fmtNum(Number(u.value[1]) * 100, 4)}%` : '–'}</td>
                  <td class="mono">
                    {x.module} {x.target}
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
