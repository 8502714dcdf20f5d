// On-call: who is on call now on every schedule (and until when), each
// schedule as a calendar over a week or a month (layers, overrides, final
// shifts), and the escalation policies with their steps (read-only).
import { useMemo } from 'preact/hooks';
import * as oncall from '../../api/oncall';
import { Empty, ErrorBox, Loading } from '../../components/Status';
import { useLoad } from '../../lib/load';
import { useTime } from '../../lib/time';
import { useSearchParams } from '../../lib/url';
import { colorMap, current, isoDate, parseDate, period, step, type View } from './calendar';
import { ScheduleCalendar } from './Calendar';

const until = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
const monthFmt = new Intl.DateTimeFormat(undefined, { month: 'long', year: 'numeric' });
const dayFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });

function layerName(spec: oncall.ScheduleSpec | undefined, layer: number) {
  if (layer === -1) return 'override';
  const n = spec?.layers[layer]?.name;
  return `layer ${layer + 1}${n ? ` (${n})` : ''}`;
}

function Target({ t }: { t: oncall.PolicySpec['steps'][number]['targets'][number] }) {
  if (t.user) return <span class="label">user {t.user}</span>;
  if (t.schedule) return <span class="label">schedule {t.schedule}</span>;
  return <span class="label">team {t.team}</span>;
}

export default function OnCallPage() {
  const { tick } = useTime();
  const [q, set] = useSearchParams();
  const view: View = q.get('view') === 'month' ? 'month' : 'week';
  const startParam = q.get('start') ?? '';
  const anchor = parseDate(startParam);
  // now moves with the refresh tick, so "on call now" and the line at now follow it.
  const now = useMemo(() => Date.now(), [tick]);
  const p = useMemo(() => period(view, anchor ?? now), [view, anchor, view === 'week' && anchor === null ? Math.floor(now / 3_600_000) : 0]);

  const nowQ = useLoad((signal) => oncall.now(signal), [tick]);
  const policies = useLoad((signal) => oncall.policies(signal), [tick]);
  const schedules = useLoad((signal) => oncall.schedules(signal), [tick]);
  // Until when, and who is next: the final shifts of the coming 31 days.
  const ahead = useLoad(
    schedules.data?.length
      ? async (signal) => {
          const t = Date.now();
          const all = await Promise.all(schedules.data!.map((s) => oncall.shifts(s.name, t, t + 31 * 86_400_000, undefined, signal)));
          return new Map(schedules.data!.map((s, i) => [s.name, current(all[i], t)]));
        }
      : null,
    [schedules.data, tick],
  );
  const color = useMemo(
    () => colorMap((schedules.data ?? []).flatMap((s) => [...s.layers.flatMap((l) => l.users), ...(s.overrides ?? []).map((o) => o.user)])),
    [schedules.data],
  );
  const specs = new Map((schedules.data ?? []).map((s) => [s.name, s]));
  const label = view === 'month' ? monthFmt.format(p.start) : `${dayFmt.format(p.start)} – ${dayFmt.format(p.end - 1)}`;
  const go = (n: number) => set({ start: isoDate(step(p, n).start) });

  return (
    <div class="page">
      <div class="page-head">
        <h1>On-call</h1>
        <Loading on={nowQ.loading && !nowQ.data} />
      </div>
      <h2>On call now</h2>
      <ErrorBox error={nowQ.error} />
      {nowQ.data && nowQ.data.length === 0 && <Empty title="No schedules">Add schedules under <code>oncall.schedules</code> in the configuration file or through the API.</Empty>}
      {nowQ.data && nowQ.data.length > 0 && (
        <table class="table" aria-label="On call now">
          <thead>
            <tr>
              <th>Schedule</th>
              <th>On call</th>
              <th>From</th>
              <th>Until</th>
              <th>Next</th>
            </tr>
          </thead>
          <tbody>
            {nowQ.data.map((n) => {
              const a = ahead.data?.get(n.schedule);
              return (
                <tr key={n.schedule}>
                  <td>{n.schedule}</td>
                  <td data-testid="oncall-user">{n.user ?? <span class="muted">nobody</span>}</td>
                  <td>{n.user ? layerName(specs.get(n.schedule), n.layer) : ''}</td>
                  <td>{a?.cur ? until.format(Date.parse(a.cur.end)) : ''}</td>
                  <td>{a?.next ? `${a.next.user}${a.next.layer === -1 ? ' (override)' : ''} from ${until.format(Date.parse(a.next.start))}` : ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}

      <h2>Schedules</h2>
      <ErrorBox error={schedules.error} />
      {schedules.data && schedules.data.length > 0 && (
        <div class="panel row cal-controls" role="group" aria-label="Calendar period">
          <label>
            View
            <select value={view} onChange={(e) =>
                // The period holding today switches to the one holding today; another keeps its start.
                set({ view: (e.target as HTMLSelectElement).value === 'month' ? 'month' : null, start: now >= p.start && now < p.end ? null : isoDate(p.start) })
              }>
              <option value="week">Week</option>
              <option value="month">Month</option>
            </select>
          </label>
          <button class="btn" type="button" onClick={() => go(-1)} aria-label={`Previous ${view}`}>
            ‹ Previous
          </button>
          <button class="btn" type="button" onClick={() => set({ start: null })} disabled={anchor === null}>
            Today
          </button>
          <button class="btn" type="button" onClick={() => go(1)} aria-label={`Next ${view}`}>
            Next ›
          </button>
          <strong data-testid="cal-period" aria-live="polite">
            {label}
          </strong>
          <span class="hint">times in your time zone ({Intl.DateTimeFormat().resolvedOptions().timeZone})</span>
          {startParam && anchor === null && <span class="error inline">start {JSON.stringify(startParam)} is not a date (YYYY-MM-DD); showing today</span>}
        </div>
      )}
      {schedules.data?.map((s) => (
        <ScheduleCalendar key={s.name} spec={s} p={p} now={now} tick={tick} color={color} />
      ))}

      <h2>Escalation policies</h2>
      <ErrorBox error={policies.error} />
      {policies.data && policies.data.length === 0 && <p class="hint">No escalation policies.</p>}
      {policies.data?.map((pol) => (
        <section key={pol.name} class="panel" aria-label={`Escalation policy ${pol.name}`}>
          <div class="panel-head">
            <h3>{pol.name}</h3>
            <span class="muted">
              {pol.team ? `team ${pol.team} · ` : ''}
              {pol.repeat ? `repeats ${pol.repeat} time${pol.repeat === 1 ? '' : 's'} after the last step` : 'does not repeat'}
            </span>
          </div>
          <ol class="steps">
            {pol.steps.map((st, i) => (
              <li key={i}>
                <span class="labels">
                  {st.targets.map((t, j) => (
                    <Target key={j} t={t} />
                  ))}
                </span>
                <span class="muted"> then wait {st.delay || '5m'}</span>
              </li>
            ))}
          </ol>
        </section>
      ))}
    </div>
  );
}
