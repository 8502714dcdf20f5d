// Metrics explorer: several PromQL queries, each with graph and table.
// URL: g0.expr, g0.tab, g0.stacked, g0.exemplars (as Prometheus' graph page).
import { useState } from 'preact/hooks';
import { useSearchParams } from '../../lib/url';
import { MetricBrowser } from './MetricBrowser';
import { panelsOf, type PanelState } from './panels';
import { QueryPanel } from './QueryPanel';

function patchOf(panels: PanelState[], old: number) {
  const p: Record<string, string | null> = {};
  for (let i = 0; i < Math.max(panels.length, old); i++) {
    const s = panels[i];
    p[`g${i}.expr`] = s ? s.expr || (i === 0 ? null : '') : null;
    p[`g${i}.tab`] = s && s.tab === 'table' ? 'table' : null;
    p[`g${i}.stacked`] = s?.stacked ? '1' : null;
    p[`g${i}.exemplars`] = s?.exemplars ? '1' : null;
    p[`g${i}.step_input`] = s?.step || null;
  }
  return p;
}

export default function MetricsPage() {
  const [params, set] = useSearchParams();
  const panels = panelsOf(params);
  const [browse, setBrowse] = useState<number | null>(null);
  const update = (next: PanelState[], replace = false) => {
    const p = patchOf(next, panels.length);
    // An empty expression of a later panel must stay in the URL to keep it.
    for (let i = 1; i < next.length; i++) if (!next[i].expr) p[`g${i}.expr`] = ' ';
    set(p, { replace });
  };
  return (
    <div class="page">
      <div class="page-head">
        <h1>Metrics</h1>
        <button class="btn" onClick={() => update([...panels, { expr: '', tab: 'graph', stacked: false, exemplars: false, step: '' }])}>
          Add query
        </button>
      </div>
      {panels.map((p, i) => (
        <QueryPanel
          key={i}
          index={i}
          state={{ ...p, expr: p.expr.trim() }}
          onChange={(c, replace) => update(panels.map((x, j) => (j === i ? { ...x, ...c } : x)), replace)}
          onRemove={panels.length > 1 ? () => update(panels.filter((_, j) => j !== i)) : undefined}
          onBrowse={() => setBrowse(i)}
        />
      ))}
      {browse !== null && (
        <MetricBrowser
          onClose={() => setBrowse(null)}
          onPick={(sel) => {
            update(panels.map((x, j) => (j === browse ? { ...x, expr: sel } : x)));
            setBrowse(null);
          }}
        />
      )}
    </div>
  );
}
