// The service graph from /jaeger/api/dependencies: services in columns by
// call depth, edges labelled with their call counts.
import { Link } from 'wouter-preact';
import * as jaeger from '../../api/jaeger';
import { ErrorBox, Empty, Loading, SendHelp } from '../../components/Status';
import { fmtNum } from '../../lib/format';
import { useLoad } from '../../lib/load';
import { useTime } from '../../lib/time';
import { withRange } from '../../lib/url';
import { serviceColor } from './model';

/** layers gives each service a column: longest call chain from a caller-less service. */
export function layers(deps: jaeger.Dependency[]): Map<string, number> {
  const nodes = new Set<string>();
  for (const d of deps) nodes.add(d.parent).add(d.child);
  const level = new Map<string, number>([...nodes].map((n) => [n, 0]));
  // Bellman-Ford style relaxation bounded by the node count (cycles stop).
  for (let i = 0; i < nodes.size; i++) {
    let changed = false;
    for (const d of deps) {
      if (d.parent === d.child) continue;
      const want = level.get(d.parent)! + 1;
      if (want > level.get(d.child)! && want < nodes.size) {
        level.set(d.child, want);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return level;
}

export function ServiceGraph() {
  const { range, tick } = useTime();
  const deps = useLoad(range ? (signal) => jaeger.dependencies(range.end, range.end - range.start, signal) : null, [range?.start, range?.end, tick]);
  if (deps.error) return <ErrorBox error={deps.error} />;
  if (!deps.data) return <Loading on />;
  if (deps.data.length === 0)
    return (
      <Empty title="No calls between services in this time range">
        <p>The graph is drawn from parent-child spans across services.</p>
        <SendHelp signal="traces" />
      </Empty>
    );
  const lv = layers(deps.data);
  const cols = new Map<number, string[]>();
  for (const [n, l] of [...lv.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (!cols.has(l)) cols.set(l, []);
    cols.get(l)!.push(n);
  }
  const W = 1000;
  const colW = W / Math.max(1, cols.size);
  const rows = Math.max(...[...cols.values()].map((c) => c.length));
  const H = Math.max(200, rows * 70 + 40);
  const pos = new Map<string, { x: number; y: number }>();
  for (const [l, ns] of cols) ns.forEach((n, i) => pos.set(n, { x: colW * l + colW / 2, y: ((i + 1) * H) / (ns.length + 1) }));
  return (
    <>
      <svg class="svc-graph" viewBox={`0 0 ${W} ${H}`} style={{ height: H }} role="group" aria-label="Service graph">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="var(--fg-muted)" />
          </marker>
        </defs>
        {deps.data.map((d) => {
          const a = pos.get(d.parent)!;
          const b = pos.get(d.child)!;
          const self = d.parent === d.child;
          return (
            <g key={`${d.parent}>${d.child}`} data-edge={`${d.parent}>${d.child}`}>
              {self ? (
                <path d={`M ${a.x - 10} ${a.y - 16} c -30 -40 50 -40 20 0`} fill="none" stroke="var(--fg-muted)" marker-end="url(#arrow)" />
              ) : (
                <line x1={a.x + 60} y1={a.y} x2={b.x - 62} y2={b.y} stroke="var(--fg-muted)" stroke-width={1.5} marker-end="url(#arrow)" />
              )}
              <text x={(a.x + b.x) / 2} y={(a.y + b.y) / 2 - (self ? 40 : 6)} text-anchor="middle">
                {fmtNum(d.callCount)}
              </text>
            </g>
          );
        })}
        {[...pos.entries()].map(([n, p]) => (
          <g key={n} data-node={n}>
            <rect x={p.x - 60} y={p.y - 16} width={120} height={32} rx={6} fill="var(--bg-alt)" stroke={serviceColor(n)} stroke-width={2} />
            <text x={p.x} y={p.y + 4} text-anchor="middle">
              {n.length > 16 ? n.slice(0, 15) + '…' : n}
            </text>
          </g>
        ))}
      </svg>
      <table class="table" aria-label="Calls between services">
        <thead>
          <tr>
            <th>Caller</th>
            <th>Callee</th>
            <th class="num">Calls</th>
          </tr>
        </thead>
        <tbody>
          {deps.data.map((d) => (
            <tr key={`${d.parent}>${d.child}`}>
              <td>
                <Link href={withRange('/traces', { service: d.parent })}>{d.parent}</Link>
              </td>
              <td>
                <Link href={withRange('/traces', { service: d.child })}>{d.child}</Link>
              </td>
              <td class="num">{d.callCount}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
