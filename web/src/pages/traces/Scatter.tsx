// Duration against start time of the traces found: one dot per trace,
// red when it has errors; a click opens the trace. The y axis runs from 0
// to a nice value just above the longest trace (niceScale), with ticks, so
// sub-millisecond traces fill the plot as 2 s ones do.
import { useEffect, useRef, useState } from 'preact/hooks';
import { fmtMicros, fmtTime } from '../../lib/format';
import { niceScale } from '../../lib/scale';

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
  let x0 = Infinity;
  let x1 = -Infinity;
  let ymax = 0;
  for (const p of points) {
    x0 = Math.min(x0, p.x);
    x1 = Math.max(x1, p.x);
    ymax = Math.max(ymax, p.y);
  }
  if (!(x1 > x0)) {
    // One instant: put it in the middle.
    x0 = (Number.isFinite(x0) ? x0 : Date.now()) - 500;
    x1 = x0 + 1000;
  }
  const y = niceScale(ymax);
  // Dots keep clear of the y axis and the right edge.
  const inset = 8;
  const px = (x: number) => pad.l + inset + ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r - 2 * inset);
  const py = (v: number) => H - pad.b - (v / y.top) * (H - pad.t - pad.b);
  const muted = 'var(--fg-muted)';
  return (
    <figure class="panel" ref={box} style={{ padding: '4px', margin: '0 0 12px' }} aria-label="Trace durations over time">
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="group" aria-label="Duration scatter plot" data-ytop={y.top}>
        {y.ticks.map((t) => (
          <g key={t} class="tick">
            <line x1={pad.l} y1={py(t)} x2={W - pad.r} y2={py(t)} stroke="var(--border)" stroke-dasharray={t === 0 ? undefined : '2 3'} />
            <text x={pad.l - 6} y={py(t) + 4} font-size="11" fill={muted} text-anchor="end">
              {t === 0 ? '0' : fmtMicros(t * 1000)}
            </text>
          </g>
        ))}
        <line x1={pad.l} y1={pad.t} x2={pad.l} y2={H - pad.b} stroke="var(--border)" />
        <text x={pad.l} y={H - 6} font-size="11" fill={muted}>
          {fmtTime(x0).slice(11, 19)}
        </text>
        <text x={W - pad.r} y={H - 6} font-size="11" fill={muted} text-anchor="end">
          {fmtTime(x1).slice(11, 19)}
        </text>
        {points.map((p) => (
          <circle
            key={p.id}
            cx={px(p.x)}
            cy={py(p.y)}
            r={5}
            data-y={p.y}
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
