import { describe, expect, it } from 'vitest';
import { align } from './align';

describe('align', () => {
  it('puts each sample on its step and leaves gaps as null', () => {
    const a = align(
      [
        { metric: { __name__: 'up', job: 'a' }, values: [[10, '1'], [30, '0']] },
        { metric: { job: 'b' }, values: [[20, '2.5']] },
      ],
      10_000,
      30_000,
      10_000,
    );
    expect(a.xs).toEqual([10, 20, 30]);
    expect(a.series[0]).toMatchObject({ label: 'up{job="a"}', values: [1, null, 0] });
    expect(a.series[1]).toMatchObject({ label: '{job="b"}', values: [null, 2.5, null] });
  });
});
