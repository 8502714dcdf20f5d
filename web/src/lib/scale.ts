// Axis scales for the hand-drawn SVG plots (the trace scatter plot): a
// linear axis from zero to a "nice" top (1, 2, 2.5 or 5 times a power of
// ten) with evenly spaced ticks, whatever the magnitude of the data.

export interface Scale {
  /** top of the axis: the largest tick, at least max */
  top: number;
  /** ticks from 0 to top inclusive */
  ticks: number[];
}

/** niceScale covers [0, max] with about n intervals. max <= 0 or not a number gives [0, 1]. */
export function niceScale(max: number, n = 4): Scale {
  if (!(max > 0) || !Number.isFinite(max)) return { top: 1, ticks: [0, 0.25, 0.5, 0.75, 1] };
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  // Rounding: 0.1 + 0.2 is not 0.3; ticks are read by people.
  const round = (v: number) => +v.toPrecision(12);
  const k = Math.ceil(round(max / step));
  const ticks = Array.from({ length: k + 1 }, (_, i) => round(i * step));
  return { top: ticks[ticks.length - 1], ticks };
}
