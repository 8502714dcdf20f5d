import { describe, expect, it } from 'vitest';
import { barClass, bars, barStep, seriesOf } from './uptime';

describe('barStep', () => {
  it('cuts the range into n whole-second periods', () => {
    expect(barStep(0, 300_000, 30)).toBe(10_000);
    expect(barStep(0, 301_000, 30)).toBe(11_000);
    expect(barStep(0, 5_000, 30)).toBe(1000);
  });
});

describe('seriesOf', () => {
  const s: { metric: Record<string, string>; v: number }[] = [
    { metric: { job: 'probes', instance: 'http://a/' }, v: 1 },
    { metric: { job: 'probes', instance: 'http://a/', module: 'post' }, v: 2 },
    { metric: { __name__: 'probe_success', job: 'probes', instance: 'http://b/' }, v: 3 },
  ];
  it('matches the label set exactly, ignoring the name', () => {
    expect(seriesOf(s, { job: 'probes', instance: 'http://a/' })?.v).toBe(1);
    expect(seriesOf(s, { job: 'probes', instance: 'http://a/', module: 'post' })?.v).toBe(2);
    expect(seriesOf(s, { job: 'probes', instance: 'http://b/' })?.v).toBe(3);
    expect(seriesOf(s, { job: 'other', instance: 'http://a/' })).toBeUndefined();
    expect(seriesOf(undefined, { job: 'probes' })).toBeUndefined();
  });
});

describe('bars', () => {
  it('puts each sample in the period that ends at its time, and marks periods without one', () => {
    const end = 1_000_000;
    const got = bars([[970, '1'], [990, '0.5'], [1000, '0']], end, 10_000, 4);
    expect(got).toEqual([
      { start: 960_000, end: 970_000, uptime: 1 },
      { start: 970_000, end: 980_000, uptime: null },
      { start: 980_000, end: 990_000, uptime: 0.5 },
      { start: 990_000, end: 1_000_000, uptime: 0 },
    ]);
    expect(bars(undefined, end, 10_000, 2).map((b) => b.uptime)).toEqual([null, null]);
  });
  it('classes', () => {
    expect([null, 1, 0.99, 0].map(barClass)).toEqual(['none', 'up', 'partial', 'down']);
  });
});
