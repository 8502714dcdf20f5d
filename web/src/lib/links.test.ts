import { describe, expect, it } from 'vitest';
import { metricsHref, redQuery } from './links';
import { applyPatch } from './url';

describe('links', () => {
  it('puts one query per panel', () => {
    const u = new URL('http://x' + metricsHref(['up', 'rate(x[5m])']));
    expect(u.pathname).toBe('/query');
    expect(u.searchParams.get('g0.expr')).toBe('up');
    expect(u.searchParams.get('g1.expr')).toBe('rate(x[5m])');
  });
  it('quotes service names in RED queries', () => {
    expect(redQuery('a"b').rate).toContain('service_name="a\\"b"');
  });
  it('patches query strings: set, repeat, remove', () => {
    expect(applyPatch('?a=1&b=2', { a: null, c: ['x', 'y'], b: '3' })).toBe('?c=x&c=y&b=3');
    expect(applyPatch('?a=1', { a: '' })).toBe('');
  });
});
