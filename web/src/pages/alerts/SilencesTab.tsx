import { useState } from 'preact/hooks';
import { Link } from 'wouter-preact';
import * as am from '../../api/alertmanager';
import { Empty, ErrorBox, Loading } from '../../components/Status';
import { fmtAgo } from '../../lib/format';
import { useLoad } from '../../lib/load';
import { useTime } from '../../lib/time';
import { formatMatcher } from './matchers';
import { useCan } from '../../lib/session';

export function SilencesTab() {
  const { tick, reload } = useTime();
  const [actionErr, setActionErr] = useState<Error | null>(null);
  const can = useCan('write');
  const s = useLoad((signal) => am.silences(signal), [tick]);
  const expire = async (id: string) => {
    setActionErr(null);
    try {
      await am.expireSilence(id);
      reload();
    } catch (e) {
      setActionErr(e as Error);
    }
  };
  const order = { active: 0, pending: 1, expired: 2 };
  const list = [...(s.data ?? [])].sort((a, b) => order[a.status.state] - order[b.status.state] || Date.parse(b.endsAt) - Date.parse(a.endsAt));
  return (
    <>
      <div class="row" style={{ marginBottom: '8px' }}>
        <Link class="btn primary" href="/alerting/silences/new">
          New silence
        </Link>
      </div>
      <ErrorBox error={s.error} />
      <ErrorBox error={actionErr} title="Expire" />
      <Loading on={s.loading && !s.data} />
      {s.data && s.data.length === 0 && <Empty title="No silences">Create one from a firing alert or with "New silence".</Empty>}
      {list.length > 0 && (
        <table class="table" aria-label="Silences">
          <thead>
            <tr>
              <th>State</th>
              <th>Matchers</th>
              <th>Comment</th>
              <th>Ends</th>
              <th><span class="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {list.map((x) => (
              <tr key={x.id} data-silence={x.id}>
                <td>
                  <span class={`badge ${x.status.state}`}>{x.status.state}</span>
                </td>
                <td>
                  <div class="labels">
                    {x.matchers.map((m, i) => (
                      <span key={i} class="label">
                        {formatMatcher(m)}
                      </span>
                    ))}
                  </div>
                </td>
                <td>
                  {x.comment} <span class="muted">by {x.createdBy}</span>
                </td>
                <td>{x.status.state === 'expired' ? `ended ${fmtAgo(Date.parse(x.endsAt))}` : fmtAgo(Date.parse(x.endsAt))}</td>
                <td>
                  {x.status.state !== 'expired' && (
                    <button class="btn small danger" disabled={!can} title={can ? undefined : 'your role may not expire silences'} onClick={() => expire(x.id)}>
                      Expire
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
