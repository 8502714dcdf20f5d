// Duration against start time of the traces found: one dot per trace,
// red when it has errors; a click opens the trace.
import { useEffect, useRef, useState } from 'preact/hooks';
import { fmtMicros, fmtTime } from '../../lib/format';

export interface Point {
  id: string;
  x: number; // ms
  y: number; // ms
  error: boolean;
  title: string;
}

export function Scatter({ points, onPick }: { points: Point[]; onPick: (id: string) => void }) {
  const box = useRef<HTMLElement>(null);
  const [W, setW] = useState(1000);
  useEffect(() => {
    const el = box.current!;
    const ro = new ResizeObserver(() => el.clientWidth && setW(el.clientWidth - 10));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const H = 160;
  const pad = { l: 60, r: 10, t: 10, b: 24 };
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  const y1 = Math.max(...ys, 1) * 1.1;
  const px = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const py = (y: number) => H - pad.b - (y / y1) * (H - pad.t - pad.b);
  return (
    <figure class="panel" ref={box} style={{ padding: '4px', margin: '0 0 12px' }} aria-label="Trace durations over time">
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="group" aria-label="Duration scatter plot">
        <line x1={pad.l} y1={H - pad.b} x2={W - pad.r} y2={H - pad.b} stroke="var(--border)" />
        <line x1={pad.l} y1={pad.t} x2={pad.l} y2={H - pad.b} stroke="var(--border)" />
        <text x={4} y={pad.t + 10} font-size="11" fill="var(--fg-muted)">
          {fmtMicros(y1 * 1000)}
        </text>
        <text x={4} y={H - pad.b} font-size="11" fill="var(--fg-muted)">
          0
        </text>
        <text x={pad.l} y={H - 6} font-size="11" fill="var(--fg-muted)">
          {fmtTime(x0).slice(11, 19)}
        </text>
        <text x={W - pad.r} y={H - 6} font-size="11" fill="var(--fg-muted)" text-anchor="end">
          {fmtTime(x1).slice(11, 19)}
        </text>
        {points.map((p) => (
          <circle
            key={p.id}
            cx={px(p.x)}
            cy={py(p.y)}
            r={5}
            fill={p.error ? 'var(--danger)' : 'var(--accent)'}
            fill-opacity={0.7}
            style={{ cursor: 'pointer' }}
            onClick={() => onPick(p.id)}
          >
            <title>{p.title}</title>
          </circle>
        ))}
      </svg>
    </figure>
  );
}
