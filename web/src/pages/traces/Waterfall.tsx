// The waterfall: one virtualised row per visible span. Bars sit on the
// trace's time axis (or the mini-map's window of it); the critical path is
// the dark line under the bars.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { VirtualList } from '../../components/VirtualList';
import { fmtMicros } from '../../lib/format';
import { drawn } from '../../lib/drawn';
import { descendants, flatten } from '../../lib/tracetree';
import { serviceColor, type TraceModel } from './model';

const ROW = 26;

export function Waterfall({ m, view, selected, onSelect }: { m: TraceModel; view: [number, number]; selected: string; onSelect: (id: string) => void }) {
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const rows = useMemo(() => flatten(m.tree, collapsed), [m, collapsed]);
  const total = Math.max(1, m.tree.end - m.tree.start);
  const v0 = m.tree.start + view[0] * total;
  const vw = Math.max(1, (view[1] - view[0]) * total);
  const pct = (t: number) => ((t - v0) / vw) * 100;
  const toggle = (id: string) => {
    const next = new Set(collapsed);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setCollapsed(next);
  };
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const selIndex = rows.findIndex((r) => r.span.spanID === selected);
  // The benchmark (bench/ui) reads this mark: trace opened and drawn.
  useEffect(() => {
    drawn('waterfall');
  }, [m]);
  return (
    <div>
      <div class="row" style={{ marginBottom: '6px', alignItems: 'center' }}>
        <button class="btn small" onClick={() => setCollapsed(new Set())}>
          Expand all
        </button>
        <button class="btn small" onClick={() => setCollapsed(new Set(m.tree.roots.flatMap((r) => r.children).map((c) => c.span.spanID)))}>
          Collapse to depth 1
        </button>
        <span class="hint">
          <span style={{ display: 'inline-block', width: '18px', height: '3px', background: 'var(--critical)', verticalAlign: 'middle' }} /> critical path ·{' '}
          <span class="wf-err">!</span> error · {rows.length} of {m.tree.byID.size} rows shown
        </span>
      </div>
      <div class="wf-axis" aria-hidden="true">
        <div>Service: operation</div>
        <div class="ticks">
          {ticks.map((f) => (
            <span key={f} style={{ left: `${f * 100}%`, transform: f === 0 ? 'none' : f === 1 ? 'translateX(-100%)' : undefined }}>
              {fmtMicros(v0 - m.tree.start + f * vw)}
            </span>
          ))}
        </div>
      </div>
      <VirtualList
        class="waterfall"
        label="Spans"
        count={rows.length}
        rowHeight={ROW}
        height="calc(100vh - 300px)"
        scrollToIndex={selIndex >= 0 ? selIndex : undefined}
        render={(i) => {
          const n = rows[i];
          const s = n.span;
          const left = pct(s.startTime);
          const width = Math.max(0.1, (s.duration / vw) * 100);
          const cp = m.critical.get(s.spanID);
          const isCollapsed = collapsed.has(s.spanID);
          return (
            <div class={`wf-row${s.spanID === selected ? ' selected' : ''}`} onClick={() => onSelect(s.spanID)} data-span={s.spanID}>
              <div class="wf-name" style={{ paddingLeft: `${Math.min(n.depth, 40) * 12 + 4}px` }}>
                {n.children.length > 0 ? (
                  <button
                    class="wf-toggle"
                    aria-label={isCollapsed ? `Expand ${s.op}` : `Collapse ${s.op}`}
                    aria-expanded={!isCollapsed}
                    onClick={(e) => {
                      e.stopPropagation();
                      toggle(s.spanID);
                    }}
                  >
                    {isCollapsed ? '▸' : '▾'}
                  </button>
                ) : (
                  <span style={{ width: '18px', display: 'inline-block' }} />
                )}
                {s.error && (
                  <span class="wf-err" title="error">
                    !
                  </span>
                )}
                <span class="svc">
                  <span class="swatch" style={{ background: serviceColor(s.service) }} aria-hidden="true" />
                  {s.service}
                </span>
                <button
                  class="link op"
                  onClick={(e) => {
                    e.stopPropagation();
                    onSelect(s.spanID);
                  }}
                  title={s.op}
                >
                  {s.op}
                </button>
                {isCollapsed && <span class="badge">+{descendants(n)}</span>}
              </div>
              <div class="wf-bar-area">
                <div class={`wf-bar${s.error ? ' error' : ''}`} style={{ left: `${left}%`, width: `${width}%`, background: serviceColor(s.service) }} />
                {cp?.map((c, j) => (
                  <div key={j} class="wf-cp" style={{ left: `${pct(c.start)}%`, width: `${Math.max(0.1, ((c.end - c.start) / vw) * 100)}%` }} />
                ))}
                <span class="wf-dur" style={left + width > 85 ? { right: `${100 - left + 0.5}%` } : { left: `${left + width + 0.5}%` }}>
                  {fmtMicros(s.duration)}
                </span>
              </div>
            </div>
          );
        }}
      />
    </div>
  );
}
