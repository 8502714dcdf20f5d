// The selected span: timing, status, attributes, resource, events, links.
import { Link } from 'wouter-preact';
import { tag, type KeyValue, type Trace } from '../../api/jaeger';
import { fmtMicros, fmtTime } from '../../lib/format';
import type { Tree } from '../../lib/tracetree';
import { withRange } from '../../lib/url';
import type { VSpan } from './model';

function KV({ items, label }: { items: KeyValue[]; label: string }) {
  if (!items.length) return <p class="hint">none</p>;
  return (
    <table class="kv" aria-label={label}>
      <tbody>
        {items.map((t, i) => (
          <tr key={i}>
            <td>{t.key}</td>
            <td>{String(t.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function SpanDetail({ span, trace, tree, onClose, onSelect }: { span: VSpan; trace: Trace; tree: Tree<VSpan>; onClose: () => void; onSelect: (id: string) => void }) {
  const s = span.raw;
  const proc = trace.processes[s.processID];
  const parent = tree.byID.get(span.spanID)?.parent?.span;
  const status = tag(s, 'otel.status_code');
  const statusMsg = tag(s, 'otel.status_description');
  const links = (s.references ?? []).filter((r) => r.spanID !== parent?.spanID || r.traceID !== s.traceID);
  return (
    <aside class="detail" aria-label="Span detail">
      <div class="panel-head">
        <h2 style={{ wordBreak: 'break-all' }}>{span.op}</h2>
        <button class="btn icon" style={{ marginLeft: 'auto' }} onClick={onClose} aria-label="Close span detail">
          ✕
        </button>
      </div>
      <table class="kv">
        <tbody>
          <tr><td>service</td><td>{span.service}</td></tr>
          <tr><td>duration</td><td>{fmtMicros(span.duration)}</td></tr>
          <tr><td>start</td><td>{fmtTime(span.startTime / 1000)} (+{fmtMicros(span.startTime - tree.start)})</td></tr>
          <tr><td>span ID</td><td class="mono">{span.spanID}</td></tr>
          <tr>
            <td>parent</td>
            <td>{parent ? <button class="link" onClick={() => onSelect(parent.spanID)}>{parent.service}: {parent.op}</button> : 'none (root)'}</td>
          </tr>
          {span.kind && <tr><td>kind</td><td>{span.kind}</td></tr>}
          <tr>
            <td>status</td>
            <td>
              {span.error ? <span class="badge error">error</span> : <span class="badge">{String(status ?? 'unset')}</span>} {statusMsg ? String(statusMsg) : ''}
            </td>
          </tr>
        </tbody>
      </table>
      <p>
        <Link href={withRange('/logs', { trace: s.traceID })}>Logs of this trace</Link>
      </p>
      <h3>Attributes</h3>
      <KV items={s.tags.filter((t) => !['otel.status_code', 'otel.status_description', 'span.kind'].includes(t.key))} label="Span attributes" />
      <h3>Resource</h3>
      <KV items={proc?.tags ?? []} label="Resource attributes" />
      <h3>Events ({s.logs?.length ?? 0})</h3>
      {(s.logs ?? []).map((l, i) => (
        <div key={i} style={{ marginBottom: '6px' }}>
          <div class="muted">+{fmtMicros(l.timestamp - s.startTime)}</div>
          <KV items={l.fields} label="Event fields" />
        </div>
      ))}
      {links.length > 0 && (
        <>
          <h3>Links</h3>
          <ul>
            {links.map((r, i) => (
              <li key={i}>
                {r.refType}:{' '}
                {r.traceID === s.traceID ? (
                  <button class="link mono" onClick={() => onSelect(r.spanID)}>{r.spanID}</button>
                ) : (
                  <Link class="mono" href={withRange(`/traces/${r.traceID}`, { span: r.spanID })}>
                    {r.traceID.slice(0, 16)}…/{r.spanID}
                  </Link>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
      {s.warnings?.length ? (
        <>
          <h3>Warnings</h3>
          {s.warnings.map((w) => <div class="warning" key={w}>{w}</div>)}
        </>
      ) : null}
    </aside>
  );
}
