// The on-call calendar's arithmetic: the period shown (a week from Monday
// or a calendar month, in the browser's time zone), its days, moving it,
// and where a shift's bar goes. Pure, so Vitest covers it.

export type View = 'week' | 'month';

export interface Period {
  view: View;
  start: number; // ms, local midnight
  end: number; // ms, exclusive
  /** the days, each from local midnight (23 or 25 h long across DST) */
  days: { start: number; end: number }[];
}

const pad = (n: number) => String(n).padStart(2, '0');

/** isoDate: a local date as YYYY-MM-DD (the URL's `start`). */
export function isoDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** parseDate reads YYYY-MM-DD as local midnight; null when it is not one. */
export function parseDate(s: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s.trim());
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]) - 1, Number(m[3])];
  const t = new Date(y, mo, d);
  if (t.getFullYear() !== y || t.getMonth() !== mo || t.getDate() !== d) return null;
  return t.getTime();
}

/** period is the week (Monday to Monday) or month holding `at`. */
export function period(view: View, at: number): Period {
  const d = new Date(at);
  let s: Date;
  let e: Date;
  if (view === 'month') {
    s = new Date(d.getFullYear(), d.getMonth(), 1);
    e = new Date(d.getFullYear(), d.getMonth() + 1, 1);
  } else {
    const back = (d.getDay() + 6) % 7; // Monday is 0
    s = new Date(d.getFullYear(), d.getMonth(), d.getDate() - back);
    e = new Date(s.getFullYear(), s.getMonth(), s.getDate() + 7);
  }
  const days = [];
  for (let x = s; x < e; ) {
    const n = new Date(x.getFullYear(), x.getMonth(), x.getDate() + 1);
    days.push({ start: x.getTime(), end: n.getTime() });
    x = n;
  }
  return { view, start: s.getTime(), end: e.getTime(), days };
}

/** step moves a period by n weeks or months. */
export function step(p: Period, n: number): Period {
  const d = new Date(p.start);
  const at = p.view === 'month' ? new Date(d.getFullYear(), d.getMonth() + n, 1) : new Date(d.getFullYear(), d.getMonth(), d.getDate() + 7 * n);
  return period(p.view, at.getTime());
}

/**
 * place gives a bar's left and width in percent of the period, clipped to
 * it, or null when [start, end) is outside. Positions are by elapsed time,
 * so a day of 23 hours is narrower, as the day columns are.
 */
export function place(p: Period, start: number, end: number): { left: number; width: number } | null {
  const a = Math.max(start, p.start);
  const b = Math.min(end, p.end);
  if (!(b > a)) return null;
  const w = p.end - p.start;
  return { left: ((a - p.start) / w) * 100, width: ((b - a) / w) * 100 };
}

/** Colours dark enough for white text (WCAG AA), neighbours of distinct hues. */
const colors = ['#364fc7', '#a34700', '#087f5b', '#862e9c', '#c92a2a', '#0b7285', '#495057', '#c2255c', '#5f3dc4', '#1864ab', '#a61e4d', '#7048e8'];

/** userColor: one stable colour per user name (a hash: two users may share one). */
export function userColor(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
  return colors[Math.abs(h) % colors.length];
}

/** colorMap gives the users of a page distinct colours (sorted, in palette order) while there are enough. */
export function colorMap(users: Iterable<string>): (user: string) => string {
  const m = new Map([...new Set(users)].sort().map((u, i) => [u, colors[i % colors.length]]));
  return (u) => m.get(u) ?? userColor(u);
}

export interface Shift {
  user: string;
  start: string;
  end: string;
  layer: number;
}

/** current is the shift holding `now` and the one after it, from a sorted list. */
export function current(shifts: Shift[], now: number): { cur?: Shift; next?: Shift } {
  const i = shifts.findIndex((s) => Date.parse(s.start) <= now && now < Date.parse(s.end));
  if (i < 0) return { next: shifts.find((s) => Date.parse(s.start) > now) };
  return { cur: shifts[i], next: shifts[i + 1] };
}
