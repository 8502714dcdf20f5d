// Incidents (on-call API): the list with filters, and one incident with
// its alerts, timeline and the acknowledge / resolve / reassign / note
// buttons. URL: /incidents?state=, /incidents/{id}.
import { useState } from 'preact/hooks';
import { Link, useParams } from 'wouter-preact';
import * as oncall from '../../api/oncall';
import { Empty, ErrorBox, Loading } from '../../components/Status';
import { fmtAgo, fmtTime } from '../../lib/format';
import { useLoad } from '../../lib/load';
import { useTime } from '../../lib/time';
import { useSearchParams } from '../../lib/url';
import { Labels } from '../alerts/Labels';
import { useCan } from '../../lib/session';

const states = ['', 'triggered', 'acknowledged', 'resolved'];

export default function IncidentsPage() {
  const { id } = useParams<{ id?: string }>();
  return <div class="page">{id ? <Incident id={id} /> : <List />}</div>;
}

function List() {
  const { tick } = useTime();
  const [q, set] = useSearchParams();
  const state = q.get('state') ?? '';
  const team = q.get('team') ?? '';
  const l = useLoad((signal) => oncall.incidents({ state, team, limit: 200 }, signal), [state, team, tick]);
  return (
    <>
      <div class="page-head">
        <h1>Incidents</h1>
        <label>
          State
          <select value={state} onChange={(e) => set({ state: (e.target as HTMLSelectElement).value })}>
            {states.map((s) => (
              <option key={s} value={s}>
                {s || 'all'}
              </option>
            ))}
          </select>
        </label>
        <label>
          Team
          <input size={10} value={team} onChange={(e) => set({ team: (e.target as HTMLInputElement).value })} />
        </label>
        <Loading on={l.loading} />
      </div>
      <ErrorBox error={l.error} />
      {l.data && l.data.length === 0 && (
        <Empty title="No incidents">
          Incidents open when an alert group reaches a receiver listed under <code>oncall.receivers</code>, or by hand through the API or{' '}
          <code>vigil incidents</code>.
        </Empty>
      )}
      {l.data && l.data.length > 0 && (
        <table class="table" aria-label="Incidents">
          <thead>
            <tr>
              <th>#</th>
              <th>Title</th>
              <th>State</th>
              <th>Team / service</th>
              <th>Assignee</th>
              <th>Opened</th>
            </tr>
          </thead>
          <tbody>
            {l.data.map((i) => (
              <tr key={i.id}>
                <td>{i.id}</td>
                <td>
                  <Link href={`/incidents/${i.id}`}>{i.title}</Link> {i.severity && <span class="badge">{i.severity}</span>}
                </td>
                <td>
                  <span class={`badge ${i.state}`}>{i.state}</span>
                </td>
                <td>{[i.team, i.service].filter(Boolean).join(' / ')}</td>
                <td>{i.assignee}</td>
                <td>{fmtAgo(Date.parse(i.created_at))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function Incident({ id }: { id: string }) {
  const { tick, reload } = useTime();
  const i = useLoad((signal) => oncall.incident(id, signal), [id, tick]);
  const [err, setErr] = useState<Error | null>(null);
  const [note, setNote] = useState('');
  const [assignee, setAssignee] = useState('');
  const [busy0, setBusy] = useState(false);
  const can = useCan('write');
  const busy = busy0 || !can;
  const why = can ? undefined : 'your role may not change incidents';
  const act = async (a: oncall.Action, body = {}) => {
    setErr(null);
    setBusy(true);
    try {
      await oncall.act(Number(id), a, body);
      reload();
      return true;
    } catch (e) {
      setErr(e as Error);
      return false;
    } finally {
      setBusy(false);
    }
  };
  if (i.error) return <><h1>Incident {id}</h1><ErrorBox error={i.error} /></>;
  if (!i.data) return <Loading on />;
  const x = i.data;
  return (
    <>
      <div class="page-head">
        <h1>
          #{x.id} {x.title}
        </h1>
        <span class={`badge ${x.state}`} data-testid="incident-state">
          {x.state}
        </span>
        <Link href="/incidents">All incidents</Link>
      </div>
      <div class="row" style={{ marginBottom: '10px' }}>
        {x.state === 'triggered' && (
          <button class="btn primary" disabled={busy} title={why} onClick={() => act('acknowledge')}>
            Acknowledge
          </button>
        )}
        {x.state !== 'resolved' && (
          <button class="btn" disabled={busy} title={why} onClick={() => act('resolve')}>
            Resolve
          </button>
        )}
        <form
          class="row"
          onSubmit={async (e) => {
            e.preventDefault();
            if (assignee.trim() && (await act('reassign', { assignee: assignee.trim() }))) setAssignee('');
          }}
        >
          <label>
            Reassign to
            <input value={assignee} disabled={!can} title={why} onInput={(e) => setAssignee((e.target as HTMLInputElement).value)} placeholder="user name" />
          </label>
          <button class="btn" type="submit" disabled={busy || !assignee.trim()} title={why}>
            Reassign
          </button>
        </form>
        <form
          class="row grow"
          onSubmit={async (e) => {
            e.preventDefault();
            if (note.trim() && (await act('notes', { text: note.trim() }))) setNote('');
          }}
        >
          <label class="grow">
            Note
            <input value={note} disabled={!can} title={why} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
          </label>
          <button class="btn" type="submit" disabled={busy || !note.trim()} title={why}>
            Add note
          </button>
        </form>
      </div>
      <ErrorBox error={err} />
      <table class="kv" style={{ maxWidth: '720px' }}>
        <tbody>
          <tr><td>source</td><td>{x.source}{x.receiver ? ` (receiver ${x.receiver})` : ''}</td></tr>
          <tr><td>team / service</td><td>{[x.team, x.service].filter(Boolean).join(' / ') || '–'}</td></tr>
          <tr><td>assignee</td><td>{x.assignee || '–'}</td></tr>
          <tr><td>escalation</td><td>{x.escalation_policy ? `${x.escalation_policy}: loop ${x.escalation.loop}, step ${x.escalation.step}` : '–'}</td></tr>
          <tr><td>opened</td><td>{fmtTime(Date.parse(x.created_at))}</td></tr>
          {x.acknowledged_at && <tr><td>acknowledged</td><td>{fmtTime(Date.parse(x.acknowledged_at))} by {x.acknowledged_by}</td></tr>}
          {x.resolved_at && <tr><td>resolved</td><td>{fmtTime(Date.parse(x.resolved_at))} by {x.resolved_by}</td></tr>}
        </tbody>
      </table>
      {x.labels && <Labels labels={x.labels} />}
      <h2>Alerts ({x.alerts?.length ?? 0})</h2>
      {(x.alerts ?? []).map((a) => (
        <div key={a.fingerprint} class="panel">
          <strong>{a.labels.alertname}</strong> <span class={`badge ${a.status}`}>{a.status}</span> <Labels labels={a.labels} skip={['alertname']} />{' '}
          <Link href={`/alerting/history/${a.fingerprint}`}>History</Link>
        </div>
      ))}
      <h2>Timeline</h2>
      <ol class="timeline" aria-label="Incident timeline">
        {[...(x.timeline ?? [])].reverse().map((e) => (
          <li key={e.id}>
            <div>
              <strong>{e.kind.replace(/_/g, ' ')}</strong> <span class="muted">{fmtTime(Date.parse(e.time))}</span> {e.actor && <span>by {e.actor}</span>}
            </div>
            {e.detail && <div>{e.detail}</div>}
            {(e.user || e.channel) && <div class="hint">{[e.user, e.channel].filter(Boolean).join(' · ')}</div>}
          </li>
        ))}
      </ol>
    </>
  );
}
