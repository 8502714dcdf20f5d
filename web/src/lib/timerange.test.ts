import { describe, expect, it } from 'vitest';
import {
  describeRange,
  formatDuration,
  isRelative,
  parseDuration,
  parseTime,
  resolveRange,
  shiftRange,
  stepFor,
  zoomRange,
} from './timerange';

const now = Date.UTC(2026, 0, 2, 15, 4, 5);

describe('parseDuration', () => {
  const f = (s: string, want: number) => expect(parseDuration(s), s).toBe(want);
  it('reads Prometheus durations', () => {
    f('5m', 300_000);
    f('1h30m', 5_400_000);
    f('250ms', 250);
    f('2d', 172_800_000);
    f('1w', 604_800_000);
    f('1.5h', 5_400_000);
    f(' 10s ', 10_000);
  });
  it('rejects what is not one', () => {
    for (const s of ['', 'm', '5', '5x', '5m3', '1h 30m', '-5m', 'now']) {
      expect(() => parseDuration(s), s).toThrow(/duration/);
    }
  });
  it('round-trips through formatDuration', () => {
    for (const s of ['5m', '1h30m', '2d', '1w1d', '1s500ms']) {
      expect(formatDuration(parseDuration(s))).toBe(s);
    }
    expect(formatDuration(0)).toBe('0s');
  });
});

describe('parseTime', () => {
  const f = (s: string, want: number) => expect(parseTime(s, now), s).toBe(want);
  it('reads relative and absolute times', () => {
    f('now', now);
    f('now-1h', now - 3_600_000);
    f('now - 15m', now - 900_000);
    f('now+5m', now + 300_000);
    f('2026-01-02T15:04:05Z', now);
    f('2026-01-02T16:04:05+01:00', now);
    f(String(now), now); // epoch ms
    f(String(now / 1000), now); // epoch s
    f('1767366245.5', now + 500);
  });
  it('names the problem', () => {
    for (const s of ['', 'yesterday', 'now-', 'now-1x', '2026-13-45', 'now*2']) {
      expect(() => parseTime(s, now), s).toThrow(/invalid (time|duration)/);
    }
  });
});

describe('resolveRange', () => {
  it('resolves against one now', () => {
    expect(resolveRange({ from: 'now-1h', to: 'now' }, now)).toEqual({ start: now - 3_600_000, end: now });
  });
  it('rejects an empty or inverted range', () => {
    expect(() => resolveRange({ from: 'now', to: 'now-1h' }, now)).toThrow(/at or after/);
    expect(() => resolveRange({ from: 'now', to: 'now' }, now)).toThrow(/at or after/);
  });
  it('knows relative ranges', () => {
    expect(isRelative({ from: 'now-1h', to: 'now' })).toBe(true);
    expect(isRelative({ from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' })).toBe(false);
  });
});

describe('describeRange', () => {
  it('names presets and other relative ranges', () => {
    expect(describeRange({ from: 'now-1h', to: 'now' })).toBe('Last 1 hour');
    expect(describeRange({ from: 'now-90m', to: 'now' })).toBe('Last 90 minutes');
    expect(describeRange({ from: 'now-2h', to: 'now-1h' })).toBe('now-2h to now-1h');
  });
});

describe('stepFor', () => {
  it('gives about 250 points on a recognisable step', () => {
    expect(stepFor({ start: 0, end: 3_600_000 })).toBe(15_000); // 1h / 250 = 14.4s
    expect(stepFor({ start: 0, end: 86_400_000 })).toBe(600_000); // 345.6s -> 10m
    expect(stepFor({ start: 0, end: 60_000 })).toBe(1000); // never below 1s
  });
  it('stays within 11,000 points', () => {
    const r = { start: 0, end: 365 * 86_400_000 };
    expect((r.end - r.start) / stepFor(r, 100_000)).toBeLessThanOrEqual(11_000);
  });
});

describe('shift and zoom', () => {
  it('keeps the width when shifting and the middle when zooming', () => {
    expect(shiftRange({ start: 1000, end: 2000 }, -0.5)).toEqual({ start: 500, end: 1500 });
    expect(zoomRange({ start: 1000, end: 2000 }, 2)).toEqual({ start: 500, end: 2500 });
  });
});
