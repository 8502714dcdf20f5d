import { Link } from 'wouter-preact';
import * as prom from '../../api/prometheus';
import { Empty, ErrorBox, Loading } from '../../components/Status';
import { fmtAgo, fmtNum } from '../../lib/format';
import { formatDuration } from '../../lib/timerange';
import { useLoad } from '../../lib/load';
import { useTime } from '../../lib/time';
import { metricsHref } from '../../lib/links';
import { Labels } from './Labels';

export function RulesTab() {
  const { tick } = useTime();
  const r = useLoad((signal) => prom.rules(signal), [tick]);
  if (r.error) return <ErrorBox error={r.error} />;
  if (!r.data) return <Loading on />;
  if (r.data.length === 0)
    return (
      <Empty title="No rules loaded">
        <p>
          Add Prometheus rule files to the configuration (<code>alerting.rule_files</code>) and reload (<code>POST /-/reload</code> or SIGHUP).
        </p>
      </Empty>
    );
  return (
    <>
      {r.data.map((g) => (
        <section class="panel" key={g.file + g.name} aria-label={`Rule group ${g.name}`}>
          <div class="panel-head">
            <h2>{g.name}</h2>
            <span class="muted">
              {g.file} · every {formatDuration(g.interval * 1000)} · evaluated {g.lastEvaluation ? fmtAgo(Date.parse(g.lastEvaluation)) : 'never'} in{' '}
              {fmtNum(g.evaluationTime * 1000)} ms
            </span>
          </div>
          <table class="table">
            <thead>
              <tr>
                <th>Rule</th>
                <th>State</th>
                <th>Expression</th>
                <th>Last evaluation</th>
              </tr>
            </thead>
            <tbody>
              {g.rules.map((rule) => (
                <tr key={rule.name + rule.query}>
                  <td>
                    <strong>{rule.name}</strong> <span class="muted">{rule.type === 'recording' ? 'record' : rule.duration ? `for ${formatDuration(rule.duration * 1000)}` : ''}</span>
                    {rule.labels && <Labels labels={rule.labels} />}
                  </td>
                  <td>
                    {rule.type === 'alerting' && <span class={`badge ${rule.state === 'inactive' ? 'ok' : rule.state}`}>{rule.state}</span>}{' '}
                    <span class={`badge ${rule.health}`}>{rule.health}</span>
                    {rule.alerts?.length ? <div class="hint">{rule.alerts.length} alerts</div> : null}
                  </td>
                  <td>
                    <Link class="mono" href={metricsHref([rule.query])}>
                      {rule.query}
                    </Link>
                    {rule.lastError && <div class="error">{rule.lastError}</div>}
                  </td>
                  <td class="muted">
                    {rule.lastEvaluation ? fmtAgo(Date.parse(rule.lastEvaluation)) : 'never'} ({fmtNum(rule.evaluationTime * 1000)} ms)
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </>
  );
}
