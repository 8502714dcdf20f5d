import { Link } from 'wouter-preact';
import * as am from '../../api/alertmanager';
import * as prom from '../../api/prometheus';
import { Empty, ErrorBox, Loading } from '../../components/Status';
import { fmtAgo } from '../../lib/format';
import { useLoad } from '../../lib/load';
import { useTime } from '../../lib/time';
import { withRange } from '../../lib/url';
import { Labels } from './Labels';
import { formatMatcher, matcher } from './matchers';

export function silenceHref(labels: Record<string, string>): string {
  const q = new URLSearchParams();
  for (const k of Object.keys(labels).sort()) q.append('matcher', formatMatcher(matcher(k, '=', labels[k])));
  return `/alerting/silences/new?${q}`;
}

export function AlertsTab() {
  const { tick } = useTime();
  const a = useLoad((signal) => am.alerts({}, signal), [tick]);
  const p = useLoad((signal) => prom.alerts(signal), [tick]);
  const pending = p.data?.filter((x) => x.state === 'pending') ?? [];
  return (
    <>
      <h2>Firing ({a.data?.length ?? '…'})</h2>
      <ErrorBox error={a.error} />
      <Loading on={a.loading && !a.data} />
      {a.data && a.data.length === 0 && <Empty title="Nothing is firing">Alerts from the rules appear here while they fire.</Empty>}
      {a.data && a.data.length > 0 && (
        <table class="table" aria-label="Firing alerts">
          <thead>
            <tr>
              <th>Alert</th>
              <th>State</th>
              <th>Since</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {a.data.map((x) => (
              <tr key={x.fingerprint}>
                <td>
                  <strong>{x.labels.alertname}</strong>
                  <Labels labels={x.labels} skip={['alertname']} />
                  {Object.entries(x.annotations).map(([k, v]) => (
                    <div key={k} class="hint">
                      <strong>{k}:</strong> {v}
                    </div>
                  ))}
                </td>
                <td>
                  <span class={`badge ${x.status.state === 'active' ? 'firing' : ''}`}>{x.status.state === 'active' ? 'firing' : x.status.state}</span>
                  {x.status.silencedBy.length > 0 && <div class="hint">silenced</div>}
                  {x.status.inhibitedBy.length > 0 && <div class="hint">inhibited</div>}
                </td>
                <td>{fmtAgo(Date.parse(x.startsAt))}</td>
                <td>
                  <Link href={silenceHref(x.labels)}>Silence</Link> · <Link href={withRange(`/alerting/history/${x.fingerprint}`)}>History</Link>
                  {x.generatorURL && (
                    <>
                      {' '}
                      · <a href={x.generatorURL}>Source</a>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Pending ({p.data ? pending.length : '…'})</h2>
      <ErrorBox error={p.error} />
      {p.data && pending.length === 0 && <p class="hint">No alert is waiting out its "for" duration.</p>}
      {pending.length > 0 && (
        <table class="table" aria-label="Pending alerts">
          <tbody>
            {pending.map((x, i) => (
              <tr key={i}>
                <td>
                  <strong>{x.labels.alertname}</strong>
                  <Labels labels={x.labels} skip={['alertname']} />
                </td>
                <td>
                  <span class="badge pending">pending</span>
                </td>
                <td>{x.activeAt ? `active ${fmtAgo(Date.parse(x.activeAt))}` : ''}</td>
                <td class="mono">{x.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
