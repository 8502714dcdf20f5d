// Numbers, durations, sizes and times as people read them.

export function fmtNum(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e15 || a < 1e-4) return v.toExponential(2);
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [d, u] of units) if (a >= d) return +(v / d).toPrecision(digits) + u;
  return String(+v.toPrecision(digits));
}

export function fmtBytes(b: number): string {
  if (!Number.isFinite(b)) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(b) >= 1024 && i < u.length - 1) {
    b /= 1024;
    i++;
  }
  return `${+b.toPrecision(3)} ${u[i]}`;
}

/** fmtMicros: a span duration, µs in, "1.23ms" out. */
export function fmtMicros(us: number): string {
  if (us < 1000) return `${+us.toFixed(0)}µs`;
  if (us < 1e6) return `${+(us / 1000).toPrecision(3)}ms`;
  if (us < 60e6) return `${+(us / 1e6).toPrecision(3)}s`;
  const m = Math.floor(us / 60e6);
  return `${m}m${Math.round((us - m * 60e6) / 1e6)}s`;
}

export function fmtTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export function fmtAgo(ms: number, now = Date.now()): string {
  const d = Math.round((now - ms) / 1000);
  if (Math.abs(d) < 60) return d >= 0 ? `${d}s ago` : `in ${-d}s`;
  const m = Math.round(d / 60);
  if (Math.abs(m) < 60) return m >= 0 ? `${m}m ago` : `in ${-m}m`;
  const h = Math.round(m / 60);
  if (Math.abs(h) < 48) return h >= 0 ? `${h}h ago` : `in ${-h}h`;
  const days = Math.round(h / 24);
  return days >= 0 ? `${days}d ago` : `in ${-days}d`;
}

/** labelString: {a="b", c="d"} as PromQL writes it, __name__ first. */
export function labelString(ls: Record<string, string>): string {
  const name = ls.__name__ ?? '';
  const rest = Object.keys(ls)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${JSON.stringify(ls[k])}`);
  return rest.length ? `${name}{${rest.join(', ')}}` : name || '{}';
}
