import { describe, expect, it } from 'vitest';
import { niceScale } from './scale';

describe('niceScale', () => {
  const f = (max: number, top: number, ticks?: number[]) => {
    const s = niceScale(max);
    expect(s.top, `top for ${max}`).toBe(top);
    if (max > 0) expect(s.top).toBeGreaterThanOrEqual(max);
    expect(s.ticks[0]).toBe(0);
    expect(s.ticks[s.ticks.length - 1]).toBe(s.top);
    if (ticks) expect(s.ticks, `ticks for ${max}`).toEqual(ticks);
  };
  it('fits sub-millisecond durations without a floor', () => {
    // 492 µs traces, in ms: the axis must not start at 1 ms.
    f(0.492, 0.6, [0, 0.2, 0.4, 0.6]);
    f(0.0123, 0.015, [0, 0.005, 0.01, 0.015]);
  });
  it('uses 1, 2, 2.5 and 5 steps', () => {
    f(4, 4, [0, 1, 2, 3, 4]);
    f(7, 8, [0, 2, 4, 6, 8]);
    f(10, 10, [0, 2.5, 5, 7.5, 10]);
    f(17, 20, [0, 5, 10, 15, 20]);
    f(3200, 4000, [0, 1000, 2000, 3000, 4000]);
    f(0.3, 0.3, [0, 0.1, 0.2, 0.3]);
  });
  it('keeps the largest point in the top part of the axis', () => {
    for (const max of [0.001, 0.0123, 0.492, 1, 1.1, 3.3, 99, 101, 12345, 9.9e6]) {
      const s = niceScale(max);
      expect(max / s.top, String(max)).toBeGreaterThan(0.4);
      expect(s.ticks.length).toBeGreaterThanOrEqual(3);
      expect(s.ticks.length).toBeLessThanOrEqual(6);
    }
  });
  it('gives a unit axis for no data', () => {
    f(0, 1);
    f(NaN, 1);
    f(-3, 1);
  });
});
