// On-call: who is on call now on every schedule, the schedules, and the
// escalation policies with their steps (read-only).
import * as oncall from '../../api/oncall';
import { Empty, ErrorBox, Loading } from '../../components/Status';
import { useLoad } from '../../lib/load';
import { useTime } from '../../lib/time';

function Obj({ v }: { v: unknown }) {
  return <pre style={{ margin: 0 }}>{JSON.stringify(v, null, 1)}</pre>;
}

export default function OnCallPage() {
  const { tick } = useTime();
  const now = useLoad((signal) => oncall.now(signal), [tick]);
  const policies = useLoad((signal) => oncall.list('escalation_policies', signal), [tick]);
  const schedules = useLoad((signal) => oncall.list('schedules', signal), [tick]);
  return (
    <div class="page">
      <div class="page-head">
        <h1>On-call</h1>
        <Loading on={now.loading} />
      </div>
      <h2>On call now</h2>
      <ErrorBox error={now.error} />
      {now.data && now.data.length === 0 && <Empty title="No schedules">Add schedules under <code>oncall.schedules</code> or through the API.</Empty>}
      {now.data && now.data.length > 0 && (
        <table class="table" aria-label="On call now">
          <thead>
            <tr>
              <th>Schedule</th>
              <th>On call</th>
              <th>Layer</th>
            </tr>
          </thead>
          <tbody>
            {now.data.map((n) => (
              <tr key={n.schedule}>
                <td>{n.schedule}</td>
                <td>{n.user ?? <span class="muted">nobody</span>}</td>
                <td>{n.layer}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Schedules</h2>
      <ErrorBox error={schedules.error} />
      {schedules.data?.map((s, i) => (
        <details key={i} class="panel">
          <summary>{String((s as { name?: string }).name ?? i)}</summary>
          <Obj v={s} />
        </details>
      ))}
      <h2>Escalation policies</h2>
      <ErrorBox error={policies.error} />
      {policies.data && policies.data.length === 0 && <p class="hint">No escalation policies.</p>}
      {policies.data?.map((p, i) => (
        <details key={i} class="panel">
          <summary>{String((p as { name?: string }).name ?? i)}</summary>
          <Obj v={p} />
        </details>
      ))}
    </div>
  );
}
