import { describe, expect, it } from 'vitest';
import { linesOf, mergeLines, traceLineQueries } from './model';

describe('traceLineQueries', () => {
  it('asks each stream label that exists for lines holding the ID', () => {
    expect(traceLineQueries('0AF7651916CD43DD8448EB211C80319C', ['level', 'job', 'service_name'])).toEqual([
      '{service_name=~".+"} |= "0af7651916cd43dd8448eb211c80319c"',
      '{job=~".+"} |= "0af7651916cd43dd8448eb211c80319c"',
    ]);
  });
  it('asks nothing without a label to select by or an ID', () => {
    expect(traceLineQueries('abc', ['level'])).toEqual([]);
    expect(traceLineQueries('"}', ['job'])).toEqual([]);
  });
});

describe('mergeLines', () => {
  it('keeps each line once, newest first', () => {
    const a = linesOf([{ stream: { job: 'a', service_name: 's' }, values: [['3', 'x'], ['1', 'y']] }]);
    const b = linesOf([{ stream: { service_name: 's', job: 'a' }, values: [['3', 'x']] }, { stream: { job: 'b' }, values: [['2', 'x']] }], 10);
    expect(mergeLines([a, b]).map((l) => `${l.ns}:${l.line}:${l.labels.job}`)).toEqual(['3:x:a', '2:x:b', '1:y:a']);
  });
});
