// Time ranges shared by every page: "now-1h" to "now" (relative, moves
// with the clock) or two absolute instants. The URL holds them as the user
// wrote them (from=now-1h&to=now, or RFC 3339 / epoch milliseconds), and
// each query resolves them against one `now`.

const units: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/**
 * parseDuration reads a Prometheus duration ("1h30m", "5m", "250ms", "2d").
 * It throws an Error naming the problem on anything else.
 */
export function parseDuration(s: string): number {
  const str = s.trim();
  if (str === '') throw new Error('empty duration: want e.g. 5m, 1h30m, 2d');
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(str)) !== null) {
    total += parseFloat(m[1]) * units[m[2]];
    pos = re.lastIndex;
  }
  if (pos !== str.length) {
    throw new Error(`invalid duration "${s}": want a number and a unit (ms, s, m, h, d, w, y), e.g. 5m or 1h30m`);
  }
  return total;
}

/** formatDuration writes ms the way parseDuration reads it ("1h30m"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.abs(ms);
  let out = ms < 0 ? '-' : '';
  for (const u of ['y', 'w', 'd', 'h', 'm', 's', 'ms']) {
    const n = Math.floor(rest / units[u]);
    if (n > 0) {
      out += n + u;
      rest -= n * units[u];
    }
  }
  return out;
}

/**
 * parseTime resolves one end of a range: "now", "now-1h", "now+5m", an
 * RFC 3339 / ISO date, epoch milliseconds (13 digits) or epoch seconds.
 */
export function parseTime(s: string, now: number): number {
  const str = s.trim();
  if (str === 'now') return now;
  const rel = /^now\s*([+-])\s*(.+)$/.exec(str);
  if (rel) {
    const d = parseDuration(rel[2]);
    return rel[1] === '-' ? now - d : now + d;
  }
  if (/^\d+(\.\d+)?$/.test(str)) {
    const n = parseFloat(str);
    // Epoch seconds have 10 digits until 2286; milliseconds have 13.
    return str.split('.')[0].length > 11 ? n : n * 1000;
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(str)) {
    const t = Date.parse(str);
    if (!Number.isNaN(t)) return t;
  }
  throw new Error(`invalid time "${s}": want now, now-1h, an RFC 3339 date (2026-01-02T15:04:05Z) or epoch milliseconds`);
}

export interface RangeSpec {
  from: string;
  to: string;
}

export interface Range {
  start: number; // ms
  end: number; // ms
}

export const defaultRange: RangeSpec = { from: 'now-1h', to: 'now' };

/** resolveRange turns a spec into instants; it throws when start >= end. */
export function resolveRange(spec: RangeSpec, now: number): Range {
  const start = parseTime(spec.from, now);
  const end = parseTime(spec.to, now);
  if (start >= end) {
    throw new Error(`the range starts (${new Date(start).toISOString()}) at or after it ends (${new Date(end).toISOString()})`);
  }
  return { start, end };
}

/** isRelative: the range moves with the clock (auto-refresh makes sense). */
export function isRelative(spec: RangeSpec): boolean {
  return spec.to.trim().startsWith('now');
}

export const presets: { label: string; from: string }[] = [
  { label: 'Last 5 minutes', from: 'now-5m' },
  { label: 'Last 15 minutes', from: 'now-15m' },
  { label: 'Last 30 minutes', from: 'now-30m' },
  { label: 'Last 1 hour', from: 'now-1h' },
  { label: 'Last 3 hours', from: 'now-3h' },
  { label: 'Last 6 hours', from: 'now-6h' },
  { label: 'Last 12 hours', from: 'now-12h' },
  { label: 'Last 24 hours', from: 'now-1d' },
  { label: 'Last 2 days', from: 'now-2d' },
  { label: 'Last 7 days', from: 'now-7d' },
];

const unitNames: [string, string][] = [
  ['y', 'year'],
  ['w', 'week'],
  ['d', 'day'],
  ['h', 'hour'],
  ['m', 'minute'],
  ['s', 'second'],
];

/** describeRange: "Last 1 hour", "Last 90 minutes" or the two instants. */
export function describeRange(spec: RangeSpec): string {
  const p = presets.find((p) => p.from === spec.from && spec.to === 'now');
  if (p) return p.label;
  const rel = /^now-(\d+)([a-z]+)$/.exec(spec.from.trim());
  if (rel && spec.to.trim() === 'now') {
    const name = unitNames.find(([u]) => u === rel[2])?.[1];
    if (name) return `Last ${rel[1]} ${name}${rel[1] === '1' ? '' : 's'}`;
  }
  return `${spec.from} to ${spec.to}`;
}

/** formatInstant: local "2026-01-02 15:04:05" for absolute inputs. */
export function formatInstant(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const niceSteps = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800,
].map((s) => s * 1000);

/**
 * stepFor picks a query_range step (ms) that gives about `points` points
 * over the range, rounded up to a step people recognise (15s, 1m, 5m...).
 * It never goes under 1s nor gives more than 11,000 points (Prometheus's
 * limit).
 */
export function stepFor(r: Range, points = 250): number {
  const span = r.end - r.start;
  const raw = Math.max(span / points, span / 11000, 1000);
  return niceSteps.find((s) => s >= raw) ?? Math.ceil(raw / 86_400_000) * 86_400_000;
}

/** shiftRange moves an absolute range by a fraction of its width (keyboard). */
export function shiftRange(r: Range, fraction: number): Range {
  const d = (r.end - r.start) * fraction;
  return { start: Math.round(r.start + d), end: Math.round(r.end + d) };
}

/** zoomRange widens (factor > 1) or narrows a range around its middle. */
export function zoomRange(r: Range, factor: number): Range {
  const mid = (r.start + r.end) / 2;
  const half = ((r.end - r.start) * factor) / 2;
  return { start: Math.round(mid - half), end: Math.round(mid + half) };
}

export const refreshChoices = ['off', '5s', '10s', '30s', '1m', '5m', '15m'];
