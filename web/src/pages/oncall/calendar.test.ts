import { describe, expect, it } from 'vitest';
import { colorMap, current, isoDate, parseDate, period, place, step, userColor } from './calendar';

// Vitest runs in the machine's zone; these hold in any zone because they
// are written in local dates.
const local = (y: number, mo: number, d: number, h = 0) => new Date(y, mo - 1, d, h).getTime();

describe('period', () => {
  it('is the week from Monday holding the instant', () => {
    const p = period('week', local(2026, 12, 2, 15)); // a Wednesday
    expect(isoDate(p.start)).toBe('2026-11-30');
    expect(isoDate(p.end)).toBe('2026-12-07');
    expect(p.days.map((d) => new Date(d.start).getDay())).toEqual([1, 2, 3, 4, 5, 6, 0]);
    // Sunday belongs to the week before it.
    expect(isoDate(period('week', local(2026, 12, 6, 23)).start)).toBe('2026-11-30');
    expect(isoDate(period('week', local(2026, 12, 7)).start)).toBe('2026-12-07');
  });
  it('is the calendar month', () => {
    const p = period('month', local(2026, 2, 14));
    expect(isoDate(p.start)).toBe('2026-02-01');
    expect(isoDate(p.end)).toBe('2026-03-01');
    expect(p.days).toHaveLength(28);
    expect(period('month', local(2028, 2, 29)).days).toHaveLength(29);
    expect(period('month', local(2026, 12, 31)).days).toHaveLength(31);
  });
  it('moves by weeks and months across years', () => {
    const w = period('week', local(2026, 12, 30));
    expect(isoDate(step(w, 1).start)).toBe('2027-01-04');
    expect(isoDate(step(w, -1).start)).toBe('2026-12-21');
    const m = period('month', local(2026, 12, 30));
    expect(isoDate(step(m, 1).start)).toBe('2027-01-01');
    expect(isoDate(step(m, -12).start)).toBe('2025-12-01');
  });
  it('has days that tile the period', () => {
    for (const p of [period('week', local(2026, 3, 29)), period('month', local(2026, 10, 10))]) {
      expect(p.days[0].start).toBe(p.start);
      expect(p.days[p.days.length - 1].end).toBe(p.end);
      for (let i = 1; i < p.days.length; i++) expect(p.days[i].start).toBe(p.days[i - 1].end);
    }
  });
});

describe('dates in the URL', () => {
  it('round-trip', () => {
    expect(parseDate('2026-03-09')).toBe(local(2026, 3, 9));
    expect(isoDate(parseDate('2026-03-09')!)).toBe('2026-03-09');
  });
  it('reject what is not a date', () => {
    for (const s of ['', '2026-3-9', '2026-02-30', '2026-13-01', 'tomorrow', '1741478400']) expect(parseDate(s), s).toBeNull();
  });
});

describe('place', () => {
  const p = period('week', local(2026, 3, 11));
  const day = (d: number, h = 0) => local(2026, 3, d, h);
  it('puts a shift at its share of the period', () => {
    const r = place(p, day(10), day(11))!;
    expect(r.left).toBeCloseTo(100 / 7);
    expect(r.width).toBeCloseTo(100 / 7);
  });
  it('clips shifts that start before or end after it', () => {
    const r = place(p, day(1), day(10))!;
    expect(r.left).toBe(0);
    expect(r.width).toBeCloseTo(100 / 7);
    const s = place(p, day(15, 12), day(30))!;
    expect(s.left + s.width).toBeCloseTo(100);
  });
  it('leaves out what is outside', () => {
    expect(place(p, day(1), day(2))).toBeNull();
    expect(place(p, day(16), day(17))).toBeNull();
    expect(place(p, day(12), day(12))).toBeNull();
  });
});

describe('current', () => {
  const sh = (user: string, a: string, b: string) => ({ user, start: a, end: b, layer: 0 });
  const list = [sh('alice', '2026-03-02T08:00:00Z', '2026-03-09T08:00:00Z'), sh('bob', '2026-03-09T08:00:00Z', '2026-03-16T08:00:00Z')];
  it('finds who is on and who is next', () => {
    expect(current(list, Date.parse('2026-03-05T00:00:00Z'))).toEqual({ cur: list[0], next: list[1] });
    expect(current(list, Date.parse('2026-03-09T08:00:00Z'))).toEqual({ cur: list[1], next: undefined });
  });
  it('finds the next one in a gap', () => {
    expect(current(list, Date.parse('2026-03-01T00:00:00Z'))).toEqual({ next: list[0] });
  });
});

describe('userColor', () => {
  it('is stable', () => {
    expect(userColor('alice')).toBe(userColor('alice'));
    expect(userColor('')).toMatch(/^#[0-9a-f]{6}$/);
  });
});

describe('colorMap', () => {
  it('gives each user of a page its own colour', () => {
    const c = colorMap(['dave', 'bob', 'carol', 'alice', 'bob']);
    const got = ['alice', 'bob', 'carol', 'dave'].map(c);
    expect(new Set(got).size).toBe(4);
    expect(c('zed')).toBe(userColor('zed'));
  });
});
