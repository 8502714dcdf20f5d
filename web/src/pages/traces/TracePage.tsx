// One trace: header, mini-map, waterfall (collapsible tree, bars on a time
// axis, errors marked, critical path drawn under the bars) and the
// selected span's detail. URL: /traces/{id}?span=<spanID>.
import { useMemo, useState } from 'preact/hooks';
import { Link, useParams } from 'wouter-preact';
import * as jaeger from '../../api/jaeger';
import { url } from '../../api/http';
import { ErrorBox, Empty, Loading } from '../../components/Status';
import { fmtMicros, fmtTime } from '../../lib/format';
import { useLoad } from '../../lib/load';
import { useSearchParams, withRange } from '../../lib/url';
import { metricsHref, redQuery } from '../../lib/links';
import { model } from './model';
import { MiniMap } from './MiniMap';
import { SpanDetail } from './SpanDetail';
import { Waterfall } from './Waterfall';

export default function TracePage() {
  const { id } = useParams<{ id: string }>();
  const [q, set] = useSearchParams();
  const selected = q.get('span') ?? '';
  const t = useLoad((signal) => jaeger.trace(id, signal), [id]);
  const m = useMemo(() => (t.data ? model(t.data) : null), [t.data]);
  const [view, setView] = useState<[number, number]>([0, 1]);

  if (t.error) return <div class="page"><h1>Trace {id}</h1><ErrorBox error={t.error} /></div>;
  if (!t.data && t.loading) return <div class="page"><h1>Trace {id}</h1><Loading on /></div>;
  if (!m) {
    return (
      <div class="page">
        <h1>Trace {id}</h1>
        <Empty title="No trace with this ID">
          It may be older than the traces' retention, or not sent yet. <Link href={withRange('/traces')}>Search traces</Link>
        </Empty>
      </div>
    );
  }
  const { tree, root } = m;
  const sel = selected ? tree.byID.get(selected)?.span : undefined;
  const red = root ? redQuery(root.service) : null;
  return (
    <div class="page">
      <h1>
        {root ? `${root.service}: ${root.op}` : 'Trace'} <span class="muted mono" style={{ fontSize: '13px' }}>{id}</span>
      </h1>
      <div class="trace-head">
        <span>{fmtTime(tree.start / 1000)}</span>
        <span>
          duration <strong>{fmtMicros(tree.end - tree.start)}</strong>
        </span>
        <span>
          <strong data-testid="span-count">{tree.byID.size}</strong> spans
        </span>
        <span>{m.services.length} services</span>
        <span>depth {tree.maxDepth + 1}</span>
        {m.errors > 0 && <span class="badge error">{m.errors} errors</span>}
        {tree.orphans > 0 && <span class="badge warn" title="spans whose parent is not in the trace">{tree.orphans} orphans</span>}
        <Link href={withRange('/logs', { trace: id })}>Logs of this trace</Link>
        {red && <Link href={metricsHref([red.rate, red.errors, red.p95])}>RED metrics of {root!.service}</Link>}
        <a href={url(`/jaeger/api/traces/${id}`)} target="_blank" rel="noreferrer">
          JSON
        </a>
      </div>
      {t.data?.warnings?.map((w) => <div class="warning" key={w}>⚠ {w}</div>)}
      <MiniMap m={m} view={view} onView={setView} />
      <div class={sel ? 'split' : ''}>
        <Waterfall m={m} view={view} selected={selected} onSelect={(s) => set({ span: s === selected ? null : s }, { replace: true })} />
        {sel && <SpanDetail span={sel} trace={m.trace} tree={m.tree} onClose={() => set({ span: null }, { replace: true })} onSelect={(s) => set({ span: s }, { replace: true })} />}
      </div>
    </div>
  );
}
