// One query: editor, graph or table, stats, exemplars.
import { useMemo, useState } from 'preact/hooks';
import { Link, useLocation } from 'wouter-preact';
import * as prom from '../../api/prometheus';
import { Chart, type ChartExemplar } from '../../components/Chart';
import { QueryEditor } from '../../components/editor/QueryEditor';
import { ErrorBox, Empty, Loading, SendHelp } from '../../components/Status';
import { fmtNum, labelString } from '../../lib/format';
import { useLoad } from '../../lib/load';
import { useTime } from '../../lib/time';
import { withRange } from '../../lib/url';
import { align } from './align';
import { panelStep, type PanelState } from './panels';

export type { PanelState };

const traceIDKeys = ['trace_id', 'traceID', 'traceId', 'TraceID'];

export function QueryPanel({
  index,
  state,
  onChange,
  onRemove,
  onBrowse,
}: {
  index: number;
  state: PanelState;
  onChange: (p: Partial<PanelState>, replace?: boolean) => void;
  onRemove?: () => void;
  onBrowse: () => void;
}) {
  const { range, tick, setRange } = useTime();
  const [text, setText] = useState(state.expr);
  const [, navigate] = useLocation();
  const [lastExpr, setLastExpr] = useState(state.expr);
  if (state.expr !== lastExpr) {
    // The URL changed under us (history, a link): show its query.
    setLastExpr(state.expr);
    setText(state.expr);
  }
  const run = () => onChange({ expr: text.trim() });

  const { step, stepErr } = panelStep(state, range);
  const graph = useLoad(
    state.expr && range && state.tab === 'graph' && !stepErr
      ? async (signal) => {
          const t0 = performance.now();
          const r = await prom.queryRange(state.expr, range.start, range.end, step, signal);
          const ms = performance.now() - t0;
          if (r.data.resultType !== 'matrix') throw new Error(`the query returns a ${r.data.resultType}: only range vectors and scalars can be graphed; use the table`);
          return { ...r, ms, aligned: align(r.data.result, range.start, range.end, step) };
        }
      : null,
    [state.expr, state.tab, range?.start, range?.end, step, tick],
  );
  const table = useLoad(
    state.expr && range && state.tab === 'table'
      ? async (signal) => {
          const t0 = performance.now();
          const r = await prom.query(state.expr, range.end, signal);
          return { ...r, ms: performance.now() - t0 };
        }
      : null,
    [state.expr, state.tab, range?.end, tick],
  );
  const ex = useLoad(
    state.expr && range && state.tab === 'graph' && state.exemplars
      ? (signal) => prom.exemplars(state.expr, range.start, range.end, signal)
      : null,
    [state.expr, state.tab, state.exemplars, range?.start, range?.end, tick],
  );

  const exemplars: ChartExemplar[] = useMemo(() => {
    const out: ChartExemplar[] = [];
    for (const s of ex.data ?? []) {
      for (const e of s.exemplars) {
        const key = traceIDKeys.find((k) => e.labels[k]);
        out.push({ x: e.timestamp, y: parseFloat(e.value), title: `${labelString(s.seriesLabels)} ${labelString(e.labels)}`, traceID: key ? e.labels[key] : undefined });
      }
    }
    return out;
  }, [ex.data]);

  const cur = state.tab === 'graph' ? graph : table;
  const stats = cur.data?.data.stats;
  const seriesCount = state.tab === 'graph' ? graph.data?.aligned.series.length : Array.isArray(table.data?.data.result) && table.data?.data.resultType !== 'scalar' ? (table.data.data.result as unknown[]).length : table.data ? 1 : undefined;

  return (
    <section class="query-panel" aria-label={`Query ${index + 1}`}>
      <div class="query-row">
        <QueryEditor lang="promql" waitFor="chart" value={text} onChange={setText} onRun={run} placeholder="Expression (press Enter to run, Shift+Enter for a new line)" label={`PromQL expression ${index + 1}`} error={cur.error?.message ?? null} />
        <button class="btn primary" onClick={run}>
          Execute
        </button>
        <button class="btn" onClick={onBrowse} title="Metric and label browser">
          Browse
        </button>
        {onRemove && (
          <button class="btn icon" onClick={onRemove} aria-label={`Remove query ${index + 1}`} title="Remove this query">
            ✕
          </button>
        )}
      </div>
      <div class="row" style={{ margin: '8px 0', alignItems: 'center' }}>
        <div class="tabs" role="tablist" aria-label="View" style={{ margin: 0, border: 0 }}>
          {(['graph', 'table'] as const).map((t) => (
            <button key={t} role="tab" aria-selected={state.tab === t} class={state.tab === t ? 'btn small primary' : 'btn small'} onClick={() => onChange({ tab: t })}>
              {t === 'graph' ? 'Graph' : 'Table'}
            </button>
          ))}
        </div>
        {state.tab === 'graph' && (
          <>
            <label class="check">
              <input type="checkbox" checked={state.stacked} onChange={(e) => onChange({ stacked: (e.target as HTMLInputElement).checked })} /> Stacked
            </label>
            <label class="check">
              Step
              <input
                size={5}
                value={state.step}
                placeholder="auto"
                aria-label="Resolution (step)"
                onChange={(e) => onChange({ step: (e.target as HTMLInputElement).value.trim() })}
              />
            </label>
            <label class="check">
              <input type="checkbox" checked={state.exemplars} onChange={(e) => onChange({ exemplars: (e.target as HTMLInputElement).checked })} /> Exemplars
            </label>
          </>
        )}
        <Loading on={cur.loading} />
        {cur.data && (
          <span class="stats" data-testid="stats">
            <span>{seriesCount} series</span>
            {stats?.samples?.totalQueryableSamples !== undefined && <span>{fmtNum(stats.samples.totalQueryableSamples)} samples</span>}
            {state.tab === 'graph' && <span>step {step / 1000}s</span>}
            <span>{Math.round(cur.data.ms)} ms</span>
            {stats?.timings?.execTotalTime !== undefined && <span>(server {Math.round(stats.timings.execTotalTime * 1000)} ms)</span>}
          </span>
        )}
      </div>
      <ErrorBox error={stepErr || cur.error} />
      {cur.data?.warnings.map((w) => (
        <div class="warning" key={w}>
          ⚠ {w}
        </div>
      ))}
      <ErrorBox error={ex.error} title="Exemplars" />
      {!state.expr && <p class="hint">Type a PromQL expression, e.g. <code>rate(vigil_http_requests_total[5m])</code>, or browse the metrics.</p>}
      {state.tab === 'graph' && graph.data && graph.data.aligned.series.length === 0 && (
        <Empty title="The query returned no series">
          <p>Check the metric name and labels (Browse), widen the time range, or send data:</p>
          <SendHelp signal="metrics" />
        </Empty>
      )}
      {state.tab === 'graph' && graph.data && graph.data.aligned.series.length > 0 && (
        <Chart
          xs={graph.data.aligned.xs}
          series={graph.data.aligned.series}
          stacked={state.stacked}
          exemplars={state.exemplars ? exemplars : undefined}
          onExemplar={(e) => e.traceID && navigate(withRange(`/traces/${e.traceID}`))}
          onZoom={(a, b) => setRange({ start: a, end: b })}
          label={`Graph of ${state.expr}`}
        />
      )}
      {state.tab === 'graph' && state.exemplars && ex.data && (
        <details class="hint" data-testid="exemplars">
          <summary>
            {exemplars.length} exemplars{exemplars.length ? ': click a diamond, or one of these, to open its trace' : ''}
          </summary>
          <ul>
            {exemplars.slice(0, 100).map((e, i) => (
              <li key={i}>
                {e.traceID ? <Link href={withRange(`/traces/${e.traceID}`)}>{fmtNum(e.y)} at {new Date(e.x * 1000).toLocaleTimeString()}</Link> : `${fmtNum(e.y)} (no trace ID)`}{' '}
                <span class="mono">{e.title}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
      {state.tab === 'table' && table.data && <ResultTable r={table.data.data} />}
    </section>
  );
}

function ResultTable({ r }: { r: prom.QueryResult }) {
  if (r.resultType === 'scalar' || r.resultType === 'string') {
    return (
      <table class="table">
        <tbody>
          <tr>
            <td>{r.resultType}</td>
            <td class="num">{r.result[1]}</td>
          </tr>
        </tbody>
      </table>
    );
  }
  if (r.result.length === 0) return <Empty title="The query returned no series" />;
  return (
    <table class="table" aria-label="Query result">
      <thead>
        <tr>
          <th>Series</th>
          <th class="num">Value</th>
        </tr>
      </thead>
      <tbody>
        {r.resultType === 'vector'
          ? r.result.slice(0, 10000).map((s, i) => (
              <tr key={i}>
                <td class="mono">{labelString(s.metric)}</td>
                <td class="num mono">{s.value ? s.value[1] : s.histogram ? `count ${s.histogram[1].count}, sum ${s.histogram[1].sum}` : ''}</td>
              </tr>
            ))
          : r.result.slice(0, 10000).map((s, i) => (
              <tr key={i}>
                <td class="mono">{labelString(s.metric)}</td>
                <td class="num mono">
                  {(s.values ?? []).map(([t, v]) => (
                    <div key={t}>
                      {v} @{t}
                    </div>
                  ))}
                </td>
              </tr>
            ))}
      </tbody>
    </table>
  );
}
