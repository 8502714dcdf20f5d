// The mini-map: every span as a thin line (rows squeezed to the map's
// height), drawn once on a canvas; drag to choose the window the
// waterfall shows, double-click to reset.
import { useEffect, useRef, useState } from 'preact/hooks';
import { flatten } from '../../lib/tracetree';
import { serviceColor, type TraceModel } from './model';

export function MiniMap({ m, view, onView }: { m: TraceModel; view: [number, number]; onView: (v: [number, number]) => void }) {
  const cv = useRef<HTMLCanvasElement>(null);
  const [drag, setDrag] = useState<[number, number] | null>(null);
  useEffect(() => {
    const c = cv.current!;
    const w = (c.width = c.clientWidth * devicePixelRatio);
    const h = (c.height = c.clientHeight * devicePixelRatio);
    const ctx = c.getContext('2d')!;
    ctx.clearRect(0, 0, w, h);
    const rows = flatten(m.tree);
    const total = Math.max(1, m.tree.end - m.tree.start);
    const rh = h / Math.max(rows.length, 1);
    rows.forEach((n, i) => {
      ctx.fillStyle = n.span.error ? '#e03131' : serviceColor(n.span.service);
      const x = ((n.span.startTime - m.tree.start) / total) * w;
      ctx.fillRect(x, i * rh, Math.max(1, (n.span.duration / total) * w), Math.max(1, rh));
    });
  }, [m]);
  const frac = (e: MouseEvent) => {
    const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
    return Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
  };
  const shown = drag ? [Math.min(drag[0], drag[1]), Math.max(drag[0], drag[1])] : view;
  return (
    <div
      class="minimap"
      onMouseDown={(e) => setDrag([frac(e), frac(e)])}
      onMouseMove={(e) => drag && setDrag([drag[0], frac(e)])}
      onMouseUp={() => {
        if (drag) {
          const a = Math.min(drag[0], drag[1]);
          const b = Math.max(drag[0], drag[1]);
          onView(b - a > 0.005 ? [a, b] : [0, 1]);
        }
        setDrag(null);
      }}
      onDblClick={() => onView([0, 1])}
      title="Drag to zoom the waterfall, double-click to reset"
    >
      <canvas ref={cv} aria-label="Trace mini-map" role="img" />
      {(shown[0] > 0 || shown[1] < 1) && <div class="win" style={{ left: `${shown[0] * 100}%`, width: `${(shown[1] - shown[0]) * 100}%` }} />}
    </div>
  );
}
