// Time-series chart on uPlot (about 50 KB, draws 100,000 points in a few
// milliseconds): lines or stacked areas, a legend with the values under
// the cursor, exemplars as diamonds that open their trace, drag to zoom.
import { useEffect, useRef } from 'preact/hooks';
import uPlot, { type AlignedData, type Options } from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { fmtNum } from '../lib/format';
import { drawn } from '../lib/drawn';

export const palette = [
  '#4263eb', '#f76707', '#2f9e44', '#e03131', '#7048e8', '#0c8599', '#d6336c', '#74b816',
  '#f59f00', '#1c7ed6', '#ae3ec9', '#099268', '#e8590c', '#5c7cfa', '#66a80f', '#c2255c',
];

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color?: string;
}

export interface ChartExemplar {
  x: number; // seconds
  y: number;
  title: string;
  traceID?: string;
}

export interface ChartProps {
  xs: number[]; // seconds
  series: ChartSeries[];
  stacked?: boolean;
  height?: number;
  bars?: boolean;
  exemplars?: ChartExemplar[];
  onExemplar?: (e: ChartExemplar) => void;
  onZoom?: (startMs: number, endMs: number) => void;
  label: string;
  yFormat?: (v: number) => string;
  legend?: boolean;
}

function cssVar(name: string, fallback: string) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** stack turns series into cumulative sums (nulls count as 0 below others). */
export function stack(series: (number | null)[][]): (number | null)[][] {
  const out: (number | null)[][] = [];
  let acc: number[] | null = null;
  for (const s of series) {
    const base: number[] = acc ?? new Array(s.length).fill(0);
    const row = s.map((v, i) => (v === null ? null : base[i] + v));
    out.push(row);
    acc = s.map((v, i) => base[i] + (v ?? 0));
  }
  return out;
}

export function Chart(p: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const props = useRef(p);
  props.current = p;

  useEffect(() => {
    const root = el.current!;
    const width = root.clientWidth || 800;
    const axis = cssVar('--fg-muted', '#666');
    const grid = cssVar('--border', '#ddd');
    const raw = p.series.map((s) => s.values);
    const shown = p.stacked ? stack(raw) : raw;
    const yFmt = p.yFormat ?? ((v: number) => fmtNum(v));
    const opts: Options = {
      width,
      height: p.height ?? 300,
      legend: { show: p.legend !== false, live: true },
      cursor: { drag: { x: true, y: false }, points: { size: 6 }, focus: { prox: 24 } },
      focus: { alpha: 0.35 },
      select: { show: true, left: 0, top: 0, width: 0, height: 0 },
      scales: { x: { time: true } },
      axes: [
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, values: (_u, vs) => vs.map((v) => yFmt(v)), size: 60 },
      ],
      series: [
        { label: 'Time' },
        ...p.series.map((s, i) => {
          const color = s.color ?? palette[i % palette.length];
          return {
            label: s.label,
            stroke: color,
            width: 1.5,
            fill: p.stacked || p.bars ? color + '55' : undefined,
            points: { show: false },
            spanGaps: false,
            paths: p.bars ? uPlot.paths.bars!({ size: [0.9, 40] }) : undefined,
            // The legend shows each series' own value, not the stacked sum.
            value: (_u: uPlot, _v: number | null, _si: number, idx: number | null) => {
              if (idx === null) return '–';
              const v = raw[i][idx];
              return v === null || v === undefined ? '–' : yFmt(v);
            },
          };
        }),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 5) return;
            const a = u.posToVal(u.select.left, 'x');
            const b = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            props.current.onZoom?.(a * 1000, b * 1000);
          },
        ],
        draw: [
          // The y scale's top as drawn: tests tell stacked areas (the top
          // fits the sum) from lines (it fits the largest series).
          (u) => {
            root.dataset.ymax = String(u.scales.y.max);
          },
          (u) => {
            const ex = props.current.exemplars;
            if (!ex?.length) return;
            const ctx = u.ctx;
            ctx.save();
            ctx.fillStyle = cssVar('--exemplar', '#e8590c');
            ctx.strokeStyle = cssVar('--bg', '#fff');
            const r = 4 * devicePixelRatio;
            for (const e of ex) {
              const x = u.valToPos(e.x, 'x', true);
              const y = u.valToPos(e.y, 'y', true);
              if (x < u.bbox.left || x > u.bbox.left + u.bbox.width || y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
              ctx.beginPath();
              ctx.moveTo(x, y - r);
              ctx.lineTo(x + r, y);
              ctx.lineTo(x, y + r);
              ctx.lineTo(x - r, y);
              ctx.closePath();
              ctx.fill();
              ctx.stroke();
            }
            ctx.restore();
          },
        ],
      },
    };
    const data = [p.xs, ...shown] as AlignedData;
    performance.mark('vigil:chart-start');
    const u = new uPlot(opts, data, root);
    plot.current = u;
    root.dataset.drawn = String(Number(root.dataset.drawn ?? 0) + 1);
    // The benchmark (bench/ui) reads this mark: navigation to drawn chart
    // (the frame after uPlot drew).
    drawn('chart');
    // Exemplars: a click near a diamond opens its trace.
    const over = u.over;
    const click = (e: MouseEvent) => {
      const ex = props.current.exemplars;
      if (!ex?.length || !props.current.onExemplar) return;
      const rect = over.getBoundingClientRect();
      const cx = e.clientX - rect.left;
      const cy = e.clientY - rect.top;
      let best: ChartExemplar | null = null;
      let bestD = 64;
      for (const x of ex) {
        const dx = u.valToPos(x.x, 'x') - cx;
        const dy = u.valToPos(x.y, 'y') - cy;
        const d = dx * dx + dy * dy;
        if (d < bestD) {
          bestD = d;
          best = x;
        }
      }
      if (best) props.current.onExemplar(best);
    };
    over.addEventListener('click', click);
    const ro = new ResizeObserver(() => {
      const w = root.clientWidth;
      if (w && Math.abs(w - u.width) > 2) u.setSize({ width: w, height: u.height });
    });
    ro.observe(root);
    return () => {
      ro.disconnect();
      over.removeEventListener('click', click);
      u.destroy();
      plot.current = null;
    };
  }, [p.xs, p.series, p.stacked, p.bars, p.height, p.exemplars]);

  return <figure class="chart" ref={el} aria-label={p.label} data-series={p.series.length} data-points={p.xs.length} data-stacked={p.stacked ? '1' : '0'} />;
}
