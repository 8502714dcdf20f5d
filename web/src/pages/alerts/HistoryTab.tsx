// "Why did or didn't this page?": the ledger's events for one alert.
import * as vigil from '../../api/vigil';
import { Empty, ErrorBox, Loading } from '../../components/Status';
import { fmtTime } from '../../lib/format';
import { useLoad } from '../../lib/load';
import { useTime } from '../../lib/time';
import { Labels } from './Labels';
import { silenceHref } from './AlertsTab';
import { Link } from 'wouter-preact';

export function HistoryTab({ fingerprint }: { fingerprint: string }) {
  const { tick } = useTime();
  const h = useLoad((signal) => vigil.alertHistory(fingerprint, { limit: 500 }, signal), [fingerprint, tick]);
  const first = h.data?.[0];
  return (
    <>
      <h2>
        History of <span class="mono">{fingerprint}</span>
      </h2>
      <ErrorBox error={h.error} />
      <Loading on={h.loading && !h.data} />
      {first && (
        <p>
          <strong>{first.alertname}</strong> <Labels labels={first.labels} skip={['alertname']} /> <Link href={silenceHref(first.labels)}>Silence</Link>
        </p>
      )}
      {h.data && h.data.length === 0 && <Empty title="No events for this alert">The ledger records every firing, routing, silence and delivery attempt.</Empty>}
      <ol class="timeline" aria-label="Alert timeline">
        {[...(h.data ?? [])]
          .sort((a, b) => Date.parse(b.time) - Date.parse(a.time))
          .map((e) => (
            <li key={e.id} class={/fail|error|gave_up|dropped/.test(e.kind) ? 'fail' : ''}>
              <div>
                <strong>{e.kind.replace(/_/g, ' ')}</strong> <span class="muted">{fmtTime(Date.parse(e.time))}</span>
              </div>
              {e.detail && <div>{e.detail}</div>}
              {(e.receiver || e.integration) && (
                <div class="hint">
                  {e.receiver} {e.integration} {e.notificationId ? `· notification ${e.notificationId}` : ''}
                </div>
              )}
            </li>
          ))}
      </ol>
    </>
  );
}
