// Trace search (Jaeger API): service, operation, tags, durations, the
// shared time range; results as a list and a duration scatter plot; the
// service graph from /dependencies.
import { useEffect, useState } from 'preact/hooks';
import { Link, useLocation } from 'wouter-preact';
import * as jaeger from '../../api/jaeger';
import { Tabs } from '../../components/Tabs';
import { ErrorBox, Empty, Loading, SendHelp } from '../../components/Status';
import { fmtMicros, fmtTime } from '../../lib/format';
import { useLoad } from '../../lib/load';
import { useTime } from '../../lib/time';
import { useSearchParams, withRange } from '../../lib/url';
import { badTags, parseTags, serviceColor } from './model';
import { Scatter } from './Scatter';
import { ServiceGraph } from './ServiceGraph';

interface Summary {
  id: string;
  name: string;
  start: number; // µs
  duration: number; // µs
  spans: number;
  errors: number;
  services: { name: string; count: number }[];
}

function summarize(t: jaeger.Trace): Summary {
  let start = Infinity;
  let end = -Infinity;
  const ids = new Set(t.spans.map((s) => s.spanID));
  let root: jaeger.Span | undefined;
  const svc = new Map<string, number>();
  let errors = 0;
  for (const s of t.spans) {
    start = Math.min(start, s.startTime);
    end = Math.max(end, s.startTime + s.duration);
    if (!(s.references ?? []).some((r) => ids.has(r.spanID)) && (!root || s.startTime < root.startTime)) root = s;
    const name = t.processes[s.processID]?.serviceName ?? '?';
    svc.set(name, (svc.get(name) ?? 0) + 1);
    if (jaeger.isError(s)) errors++;
  }
  const rootSvc = root ? (t.processes[root.processID]?.serviceName ?? '?') : '?';
  return {
    id: t.traceID,
    name: root ? `${rootSvc}: ${root.operationName}` : '(no root span)',
    start,
    duration: end - start,
    spans: t.spans.length,
    errors,
    services: [...svc.entries()].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count),
  };
}

export default function TracesPage() {
  const [q, set] = useSearchParams();
  const { range, tick } = useTime();
  const [, navigate] = useLocation();
  const tab = q.get('tab') === 'dependencies' ? 'dependencies' : 'search';
  const service = q.get('service') ?? '';
  const operation = q.get('operation') ?? '';
  const tags = q.get('tags') ?? '';
  const minDuration = q.get('minDuration') ?? '';
  const maxDuration = q.get('maxDuration') ?? '';
  const limit = Number(q.get('limit') ?? 20) || 20;

  const [form, setForm] = useState({ service, operation, tags, minDuration, maxDuration, limit: String(limit) });
  useEffect(() => setForm({ service, operation, tags, minDuration, maxDuration, limit: String(limit) }), [service, operation, tags, minDuration, maxDuration, limit]);

  const services = useLoad((signal) => jaeger.services(signal), [tick]);
  const ops = useLoad(form.service ? (signal) => jaeger.operations(form.service, signal) : null, [form.service]);
  // Pick the first service when none is chosen, as Jaeger's UI does.
  useEffect(() => {
    if (!service && services.data?.length && tab === 'search') set({ service: services.data[0] }, { replace: true });
  }, [services.data, service, tab]);

  const bad = badTags(tags);
  const results = useLoad(
    service && range && tab === 'search' && !bad.length
      ? async (signal) =>
          (await jaeger.search({ service, operation, tags: parseTags(tags), minDuration, maxDuration, limit, start: range.start, end: range.end }, signal))
            .map(summarize)
            .sort((a, b) => b.start - a.start)
      : null,
    [service, operation, tags, minDuration, maxDuration, limit, range?.start, range?.end, tick, tab],
  );

  const submit = (e: Event) => {
    e.preventDefault();
    set({ ...form, operation: form.operation, limit: form.limit === '20' ? null : form.limit });
  };
  const upd = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });

  return (
    <div class="page">
      <div class="page-head">
        <h1>Traces</h1>
      </div>
      <Tabs
        label="Traces views"
        current={tab}
        tabs={[
          { id: 'search', label: 'Search', href: withRange('/traces', { service }) },
          { id: 'dependencies', label: 'Service graph', href: withRange('/traces', { tab: 'dependencies' }) },
        ]}
      />
      {tab === 'dependencies' ? (
        <ServiceGraph />
      ) : (
        <>
          <form class="panel row" onSubmit={submit} aria-label="Search traces">
            <label>
              Service
              <select value={form.service} onChange={upd('service')}>
                {!services.data?.length && <option value="">(no services)</option>}
                {services.data?.map((s) => (
                  <option key={s}>{s}</option>
                ))}
              </select>
            </label>
            <label>
              Operation
              <select value={form.operation} onChange={upd('operation')}>
                <option value="">all</option>
                {ops.data?.map((o) => (
                  <option key={o}>{o}</option>
                ))}
              </select>
            </label>
            <label class="grow">
              Tags
              <input value={form.tags} onInput={upd('tags')} placeholder='http.status_code=500 error=true' />
            </label>
            <label>
              Min duration
              <input size={8} value={form.minDuration} onInput={upd('minDuration')} placeholder="100ms" />
            </label>
            <label>
              Max duration
              <input size={8} value={form.maxDuration} onInput={upd('maxDuration')} placeholder="2s" />
            </label>
            <label>
              Limit
              <input size={4} type="number" min={1} max={1500} value={form.limit} onInput={upd('limit')} />
            </label>
            <button class="btn primary" type="submit">
              Find traces
            </button>
            <Loading on={results.loading} />
          </form>
          <ErrorBox error={services.error} title="Services" />
          <ErrorBox error={results.error} />
          <ErrorBox error={bad.length ? `tags: ${bad.map((b) => JSON.stringify(b)).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not key=value (write error=true or msg="a b")` : null} />
          {services.data && services.data.length === 0 && (
            <Empty title="No traces yet">
              <SendHelp signal="traces" />
            </Empty>
          )}
          {results.data && results.data.length === 0 && <Empty title="No traces match in this time range">Widen the time range or relax the filters.</Empty>}
          {results.data && results.data.length > 0 && (
            <>
              <Scatter
                points={results.data.map((r) => ({ id: r.id, x: r.start / 1000, y: r.duration / 1000, error: r.errors > 0, title: `${r.name} ${fmtMicros(r.duration)}` }))}
                onPick={(id) => navigate(withRange(`/traces/${id}`))}
              />
              <table class="table results" aria-label="Traces found">
                <thead>
                  <tr>
                    <th>Trace</th>
                    <th>Services</th>
                    <th class="num">Spans</th>
                    <th class="num">Duration</th>
                    <th>Started</th>
                  </tr>
                </thead>
                <tbody>
                  {results.data.map((r) => (
                    <tr key={r.id}>
                      <td>
                        <Link href={withRange(`/traces/${r.id}`)}>{r.name}</Link>{' '}
                        <span class="muted mono">{r.id.slice(0, 8)}</span>
                        {r.errors > 0 && <span class="badge error"> {r.errors} errors</span>}
                      </td>
                      <td>
                        <div class="labels">
                          {r.services.map((s) => (
                            <span key={s.name} class="label" style={{ borderLeft: `4px solid ${serviceColor(s.name)}` }}>
                              {s.name} ({s.count})
                            </span>
                          ))}
                        </div>
                      </td>
                      <td class="num">{r.spans}</td>
                      <td class="num">{fmtMicros(r.duration)}</td>
                      <td>{fmtTime(r.start / 1000)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}
    </div>
  );
}
