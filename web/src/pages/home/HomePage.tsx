// Home: what is flowing in, how full the stores are, what is firing, and
// the services seen in traces with their RED metrics (from span metrics).
import { Link } from 'wouter-preact';
import { useEffect, useState } from 'preact/hooks';
import * as prom from '../../api/prometheus';
import * as jaeger from '../../api/jaeger';
import * as vigil from '../../api/vigil';
import * as oncall from '../../api/oncall';
import { ErrorBox, Empty, Loading, SendHelp } from '../../components/Status';
import { prefix } from '../../api/http';
import { fmtBytes, fmtNum } from '../../lib/format';
import { useLoad } from '../../lib/load';
import { useTime } from '../../lib/time';
import { withRange } from '../../lib/url';
import { metricsHref, redQuery, serverSpans as server } from '../../lib/links';

const flow = {
  samples: 'sum(rate(prometheus_tsdb_head_samples_appended_total[5m]))',
  spans: 'sum(rate(vigil_traces_spans_accepted_total[5m]))',
  logs: 'sum(rate(vigil_logs_records_accepted_total[5m]))',
  series: 'sum(prometheus_tsdb_head_series)',
  tsdb: 'sum(prometheus_tsdb_storage_blocks_bytes) + sum(prometheus_tsdb_wal_storage_size_bytes) + sum(prometheus_tsdb_head_chunks_storage_size_bytes)',
  tsdbLimit: 'max(prometheus_tsdb_retention_limit_bytes)',
  tsdbAge: 'max(prometheus_tsdb_retention_limit_seconds)',
  telemetry: 'sum by (domain) (vigil_telemetrydb_disk_bytes)',
  telemetryLimit: 'max by (domain) (vigil_telemetrydb_retention_limit_bytes)',
  telemetryAge: 'max by (domain) (vigil_telemetrydb_retention_limit_seconds)',
  up: 'up{job="vigil"}',
};

const red = {
  rate: `sum by (service_name) (rate(traces_span_metrics_calls_total{${server}}[5m]))`,
  errors: `sum by (service_name) (rate(traces_span_metrics_calls_total{${server},status_code="STATUS_CODE_ERROR"}[5m])) / sum by (service_name) (rate(traces_span_metrics_calls_total{${server}}[5m]))`,
  p95: `histogram_quantile(0.95, sum by (service_name, le) (rate(traces_span_metrics_duration_seconds_bucket{${server}}[5m])))`,
};

function first(v: prom.VectorSample[] | undefined): number | null {
  const s = v?.[0]?.value?.[1];
  return s === undefined ? null : Number(s);
}

function byService(v: prom.VectorSample[] | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of v ?? []) if (s.value) m.set(s.metric.service_name ?? '', Number(s.value[1]));
  return m;
}

function byDomain(v: prom.VectorSample[] | undefined): Map<string, number> {
  return new Map((v ?? []).map((s) => [s.metric.domain ?? '', Number(s.value?.[1] ?? 0)]));
}

/** fmtAge: a retention age in seconds, as the config writes it. */
function fmtAge(s: number): string {
  if (s % 86400 === 0) return `${s / 86400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  return `${Math.round(s / 60)}m`;
}

/**
 * Store: a store's size on disk against its size limit (a meter when it has
 * one), and how long it keeps data. null: not known (yet).
 */
function Store({ name, used, limit, age, unknown }: { name: string; used: number | null; limit: number | null; age: number | null; unknown?: boolean }) {
  const share = used !== null && limit ? used / limit : null;
  const kept = age ? `kept ${fmtAge(age)}` : age === 0 ? 'kept forever' : '';
  return (
    <div class="card" data-store={name}>
      <div class="v">{used !== null ? fmtBytes(used) : unknown ? '–' : '…'}</div>
      <div class="k">
        {name}
        {limit ? ` of ${fmtBytes(limit)} (${fmtNum((share ?? 0) * 100, 2)}%)` : limit === 0 ? ', no size limit' : ''}
      </div>
      {limit ? (
        <div
          class={`bar${share !== null && share > 0.9 ? ' full' : ''}`}
          role="meter"
          aria-label={`${name} size against its limit`}
          aria-valuenow={Math.round((share ?? 0) * 100)}
          aria-valuemin={0}
          aria-valuemax={100}
        >
          <span style={{ width: `${Math.min(100, (share ?? 0) * 100)}%` }} />
        </div>
      ) : null}
      {kept && <div class="hint">{kept}</div>}
    </div>
  );
}

function Card({ k, v, href, sub }: { k: string; v: string; href?: string; sub?: preact.ComponentChildren }) {
  const body = (
    <>
      <div class="v">{v}</div>
      <div class="k">{k}</div>
      {sub}
    </>
  );
  return <div class="card">{href ? <Link href={href}>{body}</Link> : body}</div>;
}

export default function HomePage() {
  const { tick } = useTime();
  // again: bumped every 5 s while Vigil's own metrics are missing, so the
  // page fills in once the first self-scrape lands (auto-refresh is off by default).
  const [again, setAgain] = useState(0);
  const flowQ = useLoad(
    async (signal) => {
      const now = Date.now();
      const entries = await Promise.all(Object.entries(flow).map(async ([k, q]) => [k, await prom.instant(q, now, signal)] as const));
      return Object.fromEntries(entries) as Record<keyof typeof flow, prom.VectorSample[]>;
    },
    [tick, again],
  );
  const alertsQ = useLoad((signal) => prom.alerts(signal), [tick]);
  const build = useLoad((signal) => prom.buildInfo(signal), []);
  const ready = useLoad((signal) => vigil.ready(signal), [tick]);
  const open = useLoad(async (signal) => {
    const [t, a] = await Promise.all([oncall.incidents({ state: 'triggered', limit: 1000 }, signal), oncall.incidents({ state: 'acknowledged', limit: 1000 }, signal)]);
    return { triggered: t.length, acknowledged: a.length };
  }, [tick]);
  const services = useLoad((signal) => jaeger.services(signal), [tick]);
  const redQ = useLoad(
    async (signal) => {
      const now = Date.now();
      const [rate, errors, p95] = await Promise.all([red.rate, red.errors, red.p95].map((q) => prom.instant(q, now, signal)));
      return { rate: byService(rate), errors: byService(errors), p95: byService(p95) };
    },
    [tick],
  );

  const f = flowQ.data;
  const firing = alertsQ.data?.filter((a) => a.state === 'firing').length;
  const pending = alertsQ.data?.filter((a) => a.state === 'pending').length;
  const tsdb = first(f?.tsdb);
  const tele = byDomain(f?.telemetry);
  const teleLimit = byDomain(f?.telemetryLimit);
  const teleAge = byDomain(f?.telemetryAge);
  const get = (m: Map<string, number>, k: string) => (f ? (m.get(k) ?? null) : null);
  const up = first(f?.up);
  // Every figure here comes from Vigil's scrape of its own /metrics: with no
  // job "vigil" (a scrape configuration that leaves Vigil out, or before the
  // first scrape) they are unknown, not zero.
  const unscraped = !!f && up === null;
  const nothing = f && !unscraped && !first(f.samples) && !first(f.spans) && !first(f.logs);
  useEffect(() => {
    if (!unscraped) return;
    const t = setTimeout(() => setAgain((n) => n + 1), 5000);
    return () => clearTimeout(t);
  }, [unscraped, f]);
  const rate = (v: prom.VectorSample[] | undefined) => (!f ? '…' : unscraped ? '–' : fmtNum(first(v) ?? 0));

  return (
    <div class="page">
      <div class="page-head">
        <h1>Home</h1>
        <span class="muted">
          {build.data ? `Vigil ${build.data.version}` : ''}
          {up !== null && (up === 1 ? ' · scraping itself' : ' · self-scrape down')}
        </span>
        {ready.data && <span class={`badge ${ready.data.ok ? 'ok' : 'warn'}`}>{ready.data.ok ? 'ready' : ready.data.text}</span>}
        <ErrorBox error={ready.error} title="Health" />
        <Loading on={flowQ.loading && !f} />
      </div>
      <ErrorBox error={flowQ.error} title="Ingest rates" />
      <h2>Flowing in (last 5 minutes)</h2>
      <div class="cards">
        <Card k="samples / s" v={rate(f?.samples)} href={metricsHref([flow.samples])} />
        <Card k="spans / s" v={rate(f?.spans)} href={withRange('/traces')} />
        <Card k="log lines / s" v={rate(f?.logs)} href={withRange('/logs')} />
        <Card k="active series" v={rate(f?.series)} href={metricsHref([flow.series])} />
        <Card
          k="firing alerts"
          v={alertsQ.data ? String(firing) : '…'}
          href={withRange('/alerting/alerts')}
          sub={pending ? <div class="hint">{pending} pending</div> : null}
        />
        <Card
          k="open incidents"
          v={open.data ? String(open.data.triggered + open.data.acknowledged) : open.error ? '–' : '…'}
          href={withRange('/incidents')}
          sub={open.data?.acknowledged ? <div class="hint">{open.data.acknowledged} acknowledged</div> : null}
        />
      </div>
      {unscraped && (
        <div class="notice" role="note" data-testid="self-scrape-missing">
          <strong>Vigil's own metrics are not scraped (yet).</strong> The rates and store sizes on this page come from Vigil scraping its own{' '}
          <code>/metrics</code> as job <code>vigil</code>, and no such series exists. Leave <code>scrape_configs</code> out of the configuration and Vigil
          scrapes itself every 15 s; with your own <code>scrape_configs</code>, add a job named <code>vigil</code> that scrapes{' '}
          <code>
            {location.host}
            {prefix}/metrics
          </code>{' '}
          (with a read token when authentication is on).
        </div>
      )}
      {nothing && (
        <Empty title="Nothing is flowing in yet">
          <SendHelp signal="metrics" />
          <SendHelp signal="traces" />
          <SendHelp signal="logs" />
        </Empty>
      )}
      <h2>Storage</h2>
      <div class="cards" role="group" aria-label="Storage">
        <Store unknown={unscraped} name="metrics (TSDB)" used={tsdb} limit={f ? first(f.tsdbLimit) : null} age={f ? first(f.tsdbAge) : null} />
        <Store unknown={unscraped} name="traces (DuckDB)" used={get(tele, 'traces')} limit={get(teleLimit, 'traces')} age={get(teleAge, 'traces')} />
        <Store unknown={unscraped} name="logs (DuckDB)" used={get(tele, 'logs')} limit={get(teleLimit, 'logs')} age={get(teleAge, 'logs')} />
      </div>
      <h2>Services</h2>
      <ErrorBox error={services.error || redQ.error} title="Services" />
      {services.data && services.data.length === 0 && (
        <Empty title="No traces yet">
          <SendHelp signal="traces" />
        </Empty>
      )}
      {services.data && services.data.length > 0 && (
        <table class="table" aria-label="Services">
          <thead>
            <tr>
              <th>Service</th>
              <th class="num">Requests / s</th>
              <th class="num">Errors</th>
              <th class="num">p95</th>
              <th>Open</th>
            </tr>
          </thead>
          <tbody>
            {services.data.map((s) => {
              const r = redQuery(s);
              const rate = redQ.data?.rate.get(s);
              const err = redQ.data?.errors.get(s);
              const p95 = redQ.data?.p95.get(s);
              return (
                <tr key={s}>
                  <td>{s}</td>
                  <td class="num">{rate === undefined ? '–' : fmtNum(rate)}</td>
                  <td class="num">{err === undefined || Number.isNaN(err) ? '–' : `${fmtNum(err * 100)}%`}</td>
                  <td class="num">{p95 === undefined || Number.isNaN(p95) ? '–' : `${fmtNum(p95 * 1000)} ms`}</td>
                  <td>
                    <Link href={withRange('/traces', { service: s })}>traces</Link> ·{' '}
                    <Link href={withRange('/logs', { query: `{service_name=${JSON.stringify(s)}}` })}>logs</Link> ·{' '}
                    <Link href={metricsHref([r.rate, r.errors, r.p95])}>metrics</Link>
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
