import { useState } from 'preact/hooks';
import { Link } from 'wouter-preact';
import * as vigil from '../../api/vigil';
import { Empty, ErrorBox, Loading } from '../../components/Status';
import { fmtAgo } from '../../lib/format';
import { useLoad } from '../../lib/load';
import { useTime } from '../../lib/time';
import { useSearchParams } from '../../lib/url';

import { useCan } from '../../lib/session';

const statuses = ['', 'pending', 'failed', 'delivered', 'superseded'];

export function OutboxTab() {
  const { tick, reload } = useTime();
  const [q, set] = useSearchParams();
  const status = q.get('status') ?? '';
  const [actionErr, setActionErr] = useState<Error | null>(null);
  const can = useCan('write');
  const n = useLoad((signal) => vigil.notifications(status, 200, signal), [status, tick]);
  const retry = async (id: number) => {
    setActionErr(null);
    try {
      await vigil.retryNotification(id);
      reload();
    } catch (e) {
      setActionErr(e as Error);
    }
  };
  return (
    <>
      <div class="row" style={{ marginBottom: '8px' }}>
        <label>
          Status
          <select value={status} onChange={(e) => set({ status: (e.target as HTMLSelectElement).value })}>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s || 'all'}
              </option>
            ))}
          </select>
        </label>
        <p class="hint">Every notification is a row in the outbox until delivered: failed ones can be sent again.</p>
      </div>
      <ErrorBox error={n.error} />
      <ErrorBox error={actionErr} title="Retry" />
      <Loading on={n.loading && !n.data} />
      {n.data && n.data.length === 0 && <Empty title="No notifications">Notifications appear here when alerts are routed to a receiver.</Empty>}
      {n.data && n.data.length > 0 && (
        <table class="table" aria-label="Notifications">
          <thead>
            <tr>
              <th>Receiver</th>
              <th>Status</th>
              <th class="num">Attempts</th>
              <th>Next attempt / last change</th>
              <th>Alerts</th>
              <th><span class="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {n.data.map((x) => (
              <tr key={x.id}>
                <td>
                  {x.receiver} <span class="muted">{x.integration}</span>
                </td>
                <td>
                  <span class={`badge ${x.status}`}>{x.status}</span>
                  {x.lastError && <div class="error">{x.lastError}</div>}
                </td>
                <td class="num">{x.attempts}</td>
                <td>{x.status === 'pending' ? `next ${fmtAgo(Date.parse(x.nextAttemptAt))}` : fmtAgo(Date.parse(x.updatedAt))}</td>
                <td>
                  {x.alerts.map((fp) => (
                    <Link key={fp} class="mono" href={`/alerting/history/${fp}`} style={{ marginRight: '6px' }}>
                      {fp.slice(0, 8)}
                    </Link>
                  ))}
                </td>
                <td>
                  {x.status === 'failed' && (
                    <button class="btn small" disabled={!can} title={can ? undefined : 'your role may not retry notifications'} onClick={() => retry(x.id)}>
                      Retry
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
