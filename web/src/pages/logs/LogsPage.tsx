// Log explorer: LogQL editor, volume by level, lines coloured by level
// with expandable fields and context, live tail over the websocket, and
// logs by trace ID (?trace=). URL: query, limit, live, trace.
import { useMemo, useState } from 'preact/hooks';
import * as loki from '../../api/loki';
import * as vigil from '../../api/vigil';
import { Chart } from '../../components/Chart';
import { QueryEditor } from '../../components/editor/QueryEditor';
import { ErrorBox, Empty, Loading, SendHelp } from '../../components/Status';
import { labelString } from '../../lib/format';
import { useLoad } from '../../lib/load';
import { useTime } from '../../lib/time';
import { stepFor } from '../../lib/timerange';
import { useSearchParams, withRange } from '../../lib/url';
import { Link } from 'wouter-preact';
import { align } from '../metrics/align';
import { LogList } from './LogList';
import { LiveTail } from './LiveTail';
import { linesOf, mergeLines, traceLineQueries, type Line } from './model';
import { isMetricQuery, linesQuery, logsStateOf } from './requests';
import { Volume } from './Volume';

export default function LogsPage() {
  const [q, set] = useSearchParams();
  const { range, tick, setRange } = useTime();
  const st = logsStateOf(q);
  const { query, trace, live, limit } = st;
  const [text, setText] = useState(query);
  const [last, setLast] = useState(query);
  if (query !== last) {
    setLast(query);
    setText(query);
  }
  const source = useMemo(
    () => ({
      labelNames: () => (range ? loki.labels(range.start, range.end) : Promise.resolve([])),
      labelValues: (n: string) => (range ? loki.labelValues(n, range.start, range.end) : Promise.resolve([])),
    }),
    [],
  );
  const labels = useLoad(range ? (signal) => loki.labels(range.start, range.end, signal) : null, [tick]);

  const run = () => set({ query: text.trim(), trace: null });
  const metric = query && isMetricQuery(query);

  const result = useLoad(
    query && range && !live && !trace
      ? async (signal) => {
          const t0 = performance.now();
          const r = await linesQuery(st, range, signal);
          return { r, ms: performance.now() - t0 };
        }
      : null,
    [query, range?.start, range?.end, limit, live, trace, tick],
  );
  // A trace's logs: the records carrying its ID as metadata (OTLP logs,
  // Loki pushes with structured metadata); when there are none, the lines
  // in the range that contain it, as Grafana's derived fields find them.
  const byTrace = useLoad(
    trace && range
      ? async (signal) => {
          const recs = await vigil.logsByTrace(trace, signal);
          if (recs.length) return { recs, text: null };
          const queries = traceLineQueries(trace, await loki.labels(range.start, range.end, signal));
          const results = await Promise.all(queries.map((query) => loki.queryRange({ query, start: range.start, end: range.end, limit, direction: 'backward' }, signal)));
          return { recs, text: { queries, lines: mergeLines(results.map((r, i) => (r.resultType === 'streams' ? linesOf(r.result, i * 1_000_000) : []))) } };
        }
      : null,
    [trace, tick, range?.start, range?.end, limit],
  );

  const lines: Line[] = useMemo(() => {
    if (trace && byTrace.data) {
      if (byTrace.data.text) return byTrace.data.text.lines;
      return byTrace.data.recs
        .map((r, i) => ({
          key: `${r.timestamp}:${i}`,
          ns: BigInt(r.timestamp),
          ms: Number(BigInt(r.timestamp) / 1_000_000n),
          line: r.line,
          labels: r.labels,
          meta: r.metadata ?? {},
          level: r.level,
        }))
        .sort((a, b) => (a.ns > b.ns ? -1 : 1));
    }
    const r = result.data?.r;
    return r && r.resultType === 'streams' ? linesOf(r.result) : [];
  }, [result.data, byTrace.data, trace]);

  const matrix = result.data?.r.resultType === 'matrix' && range ? align(result.data.r.result, range.start, range.end, stepFor(range)) : null;

  return (
    <div class="page">
      <div class="page-head">
        <h1>Logs</h1>
        {trace && (
          <span>
            of trace <Link class="mono" href={withRange(`/traces/${trace}`)}>{trace}</Link>{' '}
            <button class="btn small" onClick={() => set({ trace: null })}>
              Back to query
            </button>
          </span>
        )}
      </div>
      <div class="query-panel">
        <div class="query-row">
          <QueryEditor lang="logql" waitFor={isMetricQuery(query) ? 'chart' : 'logs'} logqlSource={source} value={text} onChange={setText} onRun={run} placeholder='{service_name="api"} |= "error" (Enter to run)' label="LogQL query" error={result.error?.message ?? null} />
          <button class="btn primary" onClick={run}>
            Run
          </button>
          <button class={live ? 'btn primary' : 'btn'} aria-pressed={live} onClick={() => set({ live: live ? null : '1', query: text.trim() || query, trace: null })} disabled={!(text.trim() || query) || !!metric}>
            {live ? 'Stop live' : 'Live tail'}
          </button>
        </div>
        {labels.data && labels.data.length > 0 && (
          <p class="hint">
            Labels:{' '}
            {labels.data.slice(0, 30).map((l) => (
              <button key={l} class="label link" onClick={() => setText(text ? text : `{${l}=""}`)}>
                {l}
              </button>
            ))}
          </p>
        )}
        {labels.data && labels.data.length === 0 && (
          <Empty title="No logs yet">
            <SendHelp signal="logs" />
          </Empty>
        )}
      </div>
      {live ? (
        <LiveTail query={query} />
      ) : (
        <>
          {/* The volume after the lines: both scan the same lines, and the lines are what the page is for. */}
          {query && !metric && !trace && range && (result.data || result.error) && <Volume query={query} range={range} quiet={!!result.error} onZoom={(a, b) => setRange({ start: a, end: b })} />}
          <ErrorBox error={result.error || byTrace.error} />
          <Loading on={result.loading || byTrace.loading} />
          {result.data && (
            <p class="stats">
              {metric ? `${result.data.r.result.length} series` : `${lines.length} lines${lines.length >= limit ? ` (the limit; narrow the range or raise it)` : ''}`} · {Math.round(result.data.ms)} ms
              {!metric && lines.length >= limit && (
                <button class="btn small" onClick={() => set({ limit: String(limit * 5) })}>
                  Show {limit * 5}
                </button>
              )}
            </p>
          )}
          {matrix && matrix.series.length > 0 && <Chart xs={matrix.xs} series={matrix.series} label={`Graph of ${query}`} onZoom={(a, b) => setRange({ start: a, end: b })} />}
          {matrix && matrix.series.length === 0 && <Empty title="The query returned no series" />}
          {trace && byTrace.data?.text && lines.length > 0 && (
            <p class="hint" data-testid="trace-text-search">
              No record carries this trace ID as metadata; these are the lines in the time range that contain it (
              {byTrace.data.text.queries.map((qq, i) => (
                <span key={qq}>
                  {i > 0 && ', '}
                  <button class="link mono" onClick={() => set({ query: qq, trace: null })}>
                    {qq}
                  </button>
                </span>
              ))}
              ).
            </p>
          )}
          {(result.data || byTrace.data) && !metric && lines.length === 0 && (
            <Empty title={trace ? 'No logs carry this trace ID' : 'No lines match in this time range'}>
              {trace
                ? 'Logs are linked to traces by their trace_id (OTLP logs carry it; Loki pushes can add it as structured metadata), or found by lines that contain it: none in this time range.'
                : 'Widen the time range or loosen the filters.'}
            </Empty>
          )}
          {!metric && lines.length > 0 && <LogList lines={lines} />}
          {!query && !trace && <p class="hint">Write a LogQL query, e.g. <code>{'{service_name="api"} |= "error"'}</code>; labels complete as you type.</p>}
          {metric && result.data && result.data.r.resultType === 'vector' && (
            <table class="table">
              <tbody>
                {result.data.r.result.map((s, i) => (
                  <tr key={i}>
                    <td class="mono">{labelString(s.metric)}</td>
                    <td class="num">{s.value[1]}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </div>
  );
}
