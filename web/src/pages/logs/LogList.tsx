// The lines, virtualised; a click opens the line's fields, labels,
// structured metadata, trace link and context.
import { useEffect, useState } from 'preact/hooks';
import { Link } from 'wouter-preact';
import * as loki from '../../api/loki';
import { ErrorBox, Loading } from '../../components/Status';
import { VirtualList } from '../../components/VirtualList';
import { fmtTime } from '../../lib/format';
import { drawn } from '../../lib/drawn';
import { useLoad } from '../../lib/load';
import { selectorOf } from '../../lib/logfields';
import { withRange } from '../../lib/url';
import { detail, linesOf, type Line } from './model';

const ROW = 22;

export function LogList({ lines, height = 'calc(100vh - 420px)' }: { lines: Line[]; height?: string }) {
  const [open, setOpen] = useState<Line | null>(null);
  // The benchmark (bench/ui) reads this mark: lines rendered.
  useEffect(() => {
    drawn('logs');
  }, [lines]);
  return (
    <>
      {open && <LineDetail l={detail(open)} onClose={() => setOpen(null)} />}
      <VirtualList
        class="loglist"
        label="Log lines"
        count={lines.length}
        rowHeight={ROW}
        height={height}
        render={(i) => {
          const l = lines[i];
          return (
            <button type="button" class={`log-row lvl-${l.level || 'unknown'}`} onClick={() => setOpen(l === open ? null : l)} aria-expanded={l === open}>
              <span class="ts">{fmtTime(l.ms)}</span>
              <span class="lvl">{l.level || ''}</span>
              <span class="line">{l.line}</span>
            </button>
          );
        }}
      />
    </>
  );
}

function LineDetail({ l, onClose }: { l: Line; onClose: () => void }) {
  const [ctx, setCtx] = useState(false);
  const fields = Object.entries(l.fields ?? {});
  return (
    <div class="log-detail" aria-label="Log line detail">
      <div class="panel-head">
        <strong>{fmtTime(l.ms)}</strong>
        {l.level && <span class={`badge ${l.level}`}>{l.level}</span>}
        {l.traceID && <Link href={withRange(`/traces/${l.traceID}`)}>Open trace {l.traceID.slice(0, 8)}…</Link>}
        <button class="btn small" onClick={() => setCtx(!ctx)} aria-pressed={ctx}>
          {ctx ? 'Hide context' : 'Show context'}
        </button>
        <button class="btn icon" style={{ marginLeft: 'auto' }} onClick={onClose} aria-label="Close line detail">
          ✕
        </button>
      </div>
      <pre>{l.line}</pre>
      <table class="kv">
        <tbody>
          {Object.entries(l.labels).map(([k, v]) => (
            <tr key={'l' + k}>
              <td>{k}</td>
              <td>
                {v} <span class="badge">label</span>
              </td>
            </tr>
          ))}
          {Object.entries(l.meta).map(([k, v]) => (
            <tr key={'m' + k}>
              <td>{k}</td>
              <td>
                {v} <span class="badge">metadata</span>
              </td>
            </tr>
          ))}
          {fields.map(([k, v]) => (
            <tr key={'f' + k}>
              <td>{k}</td>
              <td>
                {v} <span class="badge">parsed</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {ctx && <Context l={l} />}
    </div>
  );
}

/** Context: the lines just before and after this one in its own stream. */
function Context({ l }: { l: Line }) {
  const [sel, setSel] = useState('');
  const c = useLoad(
    async (signal) => {
      const ms = l.ms;
      const sel = selectorOf(l.labels, await loki.labels(ms - 3600_000, ms + 3600_000, signal));
      setSel(sel);
      const [before, after] = await Promise.all([
        loki.queryRange({ query: sel, start: ms - 3600_000, end: ms + 1, limit: 11, direction: 'backward' }, signal),
        loki.queryRange({ query: sel, start: ms, end: ms + 3600_000, limit: 11, direction: 'forward' }, signal),
      ]);
      const all = [...(before.resultType === 'streams' ? linesOf(before.result) : []), ...(after.resultType === 'streams' ? linesOf(after.result, 1e6) : [])];
      const seen = new Set<string>();
      return all.filter((x) => {
        const k = `${x.ns}:${x.line}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      }).sort((a, b) => (a.ns > b.ns ? -1 : a.ns < b.ns ? 1 : 0));
    },
    [l.key],
  );
  return (
    <div>
      <h3>{sel && <>Context in <code>{sel}</code></>}</h3>
      <ErrorBox error={c.error} />
      <Loading on={c.loading} />
      {c.data?.map((x) => (
        <div key={x.key} class={`log-row lvl-${x.level || 'unknown'}`} style={{ height: '22px', fontWeight: x.ns === l.ns && x.line === l.line ? 700 : 400 }}>
          <span class="ts">{fmtTime(x.ms)}</span>
          <span class="line">{x.line}</span>
        </div>
      ))}
    </div>
  );
}
