import { describe, expect, it } from 'vitest';
import { errorOffset, errorPosition } from './errpos';

describe('errorPosition', () => {
  const f = (msg: string, want: { line: number; col: number } | null) => expect(errorPosition(msg), msg).toEqual(want);
  it('reads LogQL and PromQL positions', () => {
    f(`invalid LogQL query: parse error at line 1, col 26: unexpected '('`, { line: 1, col: 26 });
    f('1:15: parse error: unclosed left parenthesis', { line: 1, col: 15 });
    f('invalid parameter "query": 2:3: parse error: unexpected', { line: 2, col: 3 });
  });
  it('finds none where there is none', () => {
    f('query timed out', null);
    f('series limit 10:20 reached', null);
    f('parse error at line 0, col 0: x', null);
  });
});

describe('errorOffset', () => {
  it('counts lines and clamps', () => {
    expect(errorOffset('abc', { line: 1, col: 2 })).toBe(1);
    expect(errorOffset('ab\ncd', { line: 2, col: 2 })).toBe(4);
    expect(errorOffset('ab', { line: 1, col: 99 })).toBe(2);
    expect(errorOffset('ab', { line: 5, col: 1 })).toBe(2);
  });
});
