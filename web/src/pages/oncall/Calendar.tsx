// One schedule as a calendar: a row per layer (its own rotation), the
// overrides, and the final schedule that pages, over a week or a month,
// with day columns and a line at now.
import * as oncall from '../../api/oncall';
import { ErrorBox, Loading } from '../../components/Status';
import { useLoad } from '../../lib/load';
import { place, type Period } from './calendar';

const when = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
const dayFmt = { week: new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short' }), month: new Intl.DateTimeFormat(undefined, { weekday: 'narrow' }) };

function span(s: oncall.Shift) {
  return `${when.format(Date.parse(s.start))} – ${when.format(Date.parse(s.end))}`;
}

function Track({ label, shifts, p, now, color, final }: { label: string; shifts: oncall.Shift[]; p: Period; now: number; color: (u: string) => string; final?: boolean }) {
  return (
    <div class={`cal-row${final ? ' final' : ''}`}>
      <div class="cal-label">{label}</div>
      <div class="cal-cells">
        {p.days.map((d, i) =>
          i === 0 ? null : <span key={d.start} class="cal-day-line" style={{ left: `${place(p, d.start, p.end)!.left}%` }} aria-hidden="true" />,
        )}
        {now >= p.start && now < p.end && <span class="cal-now" style={{ left: `${place(p, now, p.end)!.left}%` }} aria-hidden="true" />}
        <ul class="cal-track" aria-label={label}>
          {shifts.map((s) => {
            const at = place(p, Date.parse(s.start), Date.parse(s.end));
            if (!at) return null;
            const override = s.layer === -1;
            const name = `${s.user}${override ? ' (override)' : ''}, ${span(s)}`;
            return (
              <li
                key={`${s.start}-${s.user}`}
                class={`cal-bar${override ? ' override' : ''}`}
                style={{ left: `${at.left}%`, width: `${at.width}%`, background: color(s.user) }}
                title={name}
                aria-label={name}
                data-user={s.user}
                data-layer={s.layer}
                data-start={s.start}
                data-end={s.end}
              >
                {/* Too narrow for a name: the title and label still have it. */}
                {at.width >= 2.2 && <span>{s.user}</span>}
              </li>
            );
          })}
        </ul>
      </div>
    </div>
  );
}

export function ScheduleCalendar({ spec, p, now, tick, color }: { spec: oncall.ScheduleSpec; p: Period; now: number; tick: number; color: (u: string) => string }) {
  const data = useLoad(
    async (signal) => {
      const [final, ...layers] = await Promise.all([
        oncall.shifts(spec.name, p.start, p.end, undefined, signal),
        ...spec.layers.map((_, i) => oncall.shifts(spec.name, p.start, p.end, i, signal)),
      ]);
      return { final, layers };
    },
    [spec.name, spec.layers.length, p.start, p.end, tick],
  );
  const d = data.data;
  const overrides = d?.final.filter((s) => s.layer === -1) ?? [];
  const labelFor = (i: number) => {
    const l = spec.layers[i];
    return `Layer ${i + 1}${l?.name ? `: ${l.name}` : ''}`;
  };
  return (
    <section
      class="panel cal"
      aria-label={`Schedule ${spec.name}`}
      data-schedule={spec.name}
      data-start={new Date(p.start).toISOString()}
      data-end={new Date(p.end).toISOString()}
    >
      <div class="panel-head">
        <h3>{spec.name}</h3>
        <span class="muted">
          {spec.time_zone}
          {spec.team ? ` · team ${spec.team}` : ''}
          {spec.source ? ` · from ${spec.source === 'api' ? 'the API' : 'the config file'}` : ''}
        </span>
        <Loading on={data.loading} />
      </div>
      <ErrorBox error={data.error} />
      <div class="cal-grid">
        <div class="cal-row cal-head" aria-hidden="true">
          <div class="cal-label" />
          <div class="cal-cells">
            {p.days.map((day) => {
              const at = place(p, day.start, day.end)!;
              const dt = new Date(day.start);
              const weekend = dt.getDay() === 0 || dt.getDay() === 6;
              return (
                <span key={day.start} class={`cal-day${weekend ? ' weekend' : ''}`} style={{ left: `${at.left}%`, width: `${at.width}%` }}>
                  {p.view === 'week' ? (
                    dayFmt.week.format(dt)
                  ) : (
                    <>
                      {dayFmt.month.format(dt)}
                      <br />
                      {dt.getDate()}
                    </>
                  )}
                </span>
              );
            })}
          </div>
        </div>
        {d && (
          <>
            {d.layers.map((ls, i) => (
              <Track key={i} label={labelFor(i)} shifts={ls} p={p} now={now} color={color} />
            ))}
            <Track label="Overrides" shifts={overrides} p={p} now={now} color={color} />
            <Track label="Final" shifts={d.final} p={p} now={now} color={color} final />
          </>
        )}
      </div>
      {d && d.final.length === 0 && <p class="hint">Nobody is on call on this schedule in this period.</p>}
      {spec.layers.some((l) => l.users.length) && (
        <p class="hint">
          {spec.layers.map((l, i) => (
            <span key={i}>
              {i > 0 && ' · '}
              {labelFor(i)}: every {l.shift}, {l.users.join(' → ')}
              {l.restrictions?.length ? `, only ${l.restrictions.map((r) => `${r.days?.length ? r.days.join(' ') + ' ' : ''}${r.from}–${r.to}`).join(', ')}` : ''}
            </span>
          ))}
          {spec.layers.length > 1 && ' · later layers win where they have someone; overrides win over all.'}
        </p>
      )}
    </section>
  );
}
