import { describe, expect, it } from 'vitest';
import { buildTree, criticalPath, descendants, flatten, type TreeSpan } from './tracetree';

const span = (spanID: string, parent: string | null, start: number, end: number, refType = 'CHILD_OF'): TreeSpan => ({
  spanID,
  startTime: start,
  duration: end - start,
  references: parent ? [{ refType, traceID: 't', spanID: parent }] : [],
});

const ids = (ns: { span: TreeSpan }[]) => ns.map((n) => n.span.spanID);
const cp = (spans: TreeSpan[]) => criticalPath(buildTree(spans)).map((s) => `${s.spanID}:${s.start}-${s.end}`);

describe('buildTree', () => {
  it('links children in start order and flattens pre-order', () => {
    const t = buildTree([span('c', 'a', 50, 90), span('a', null, 0, 100), span('b', 'a', 10, 40), span('d', 'c', 60, 80)]);
    expect(ids(t.roots)).toEqual(['a']);
    expect(ids(flatten(t))).toEqual(['a', 'b', 'c', 'd']);
    expect(t.byID.get('d')!.depth).toBe(2);
    expect(t.maxDepth).toBe(2);
    expect([t.start, t.end]).toEqual([0, 100]);
    expect(descendants(t.byID.get('a')!)).toBe(3);
  });
  it('hides the descendants of collapsed spans', () => {
    const t = buildTree([span('a', null, 0, 100), span('b', 'a', 10, 40), span('c', 'b', 20, 30), span('d', 'a', 50, 60)]);
    expect(ids(flatten(t, new Set(['b'])))).toEqual(['a', 'b', 'd']);
    expect(ids(flatten(t, new Set(['a'])))).toEqual(['a']);
  });
  it('makes roots of orphans and of cycles, and keeps the first of duplicate IDs', () => {
    const t = buildTree([
      span('a', null, 0, 10),
      span('o', 'missing', 5, 6),
      span('x', 'y', 1, 2),
      span('y', 'x', 2, 3),
      span('a', null, 99, 100),
    ]);
    expect(t.orphans).toBe(1);
    expect(t.byID.size).toBe(4);
    expect(flatten(t)).toHaveLength(4);
    const roots = t.roots.map((r) => r.span.spanID).sort();
    expect(roots.slice(0, 2)).toEqual(['a', 'o']);
    expect(roots[2]).toMatch(/^[xy]$/);
  });
  it('prefers CHILD_OF over FOLLOWS_FROM and marks follows-from links', () => {
    const s: TreeSpan = {
      spanID: 'c',
      startTime: 1,
      duration: 1,
      references: [
        { refType: 'FOLLOWS_FROM', traceID: 't', spanID: 'a' },
        { refType: 'CHILD_OF', traceID: 't', spanID: 'b' },
      ],
    };
    const t = buildTree([span('a', null, 0, 10), span('b', 'a', 0, 5), s, span('f', 'a', 6, 9, 'FOLLOWS_FROM')]);
    expect(t.byID.get('c')!.parent!.span.spanID).toBe('b');
    expect(t.byID.get('f')!.followsFrom).toBe(true);
  });
  it('flattens a 20,000-span chain without recursion', () => {
    const spans = Array.from({ length: 20_000 }, (_, i) => span(`s${i}`, i ? `s${i - 1}` : null, i, 40_000 - i));
    const t = buildTree(spans);
    expect(flatten(t)).toHaveLength(20_000);
    expect(t.maxDepth).toBe(19_999);
    expect(criticalPath(t).length).toBeGreaterThan(0);
  });
});

describe('criticalPath', () => {
  it('walks back from the end through the last-finishing children', () => {
    expect(cp([span('a', null, 0, 100), span('b', 'a', 10, 40), span('c', 'a', 50, 90), span('d', 'c', 60, 80)])).toEqual([
      'a:90-100',
      'c:80-90',
      'd:60-80',
      'c:50-60',
      'a:40-50',
      'b:10-40',
      'a:0-10',
    ]);
  });
  it('takes the child that finished last when children overlap', () => {
    // b (10-70) and c (20-60) run in parallel: c is not waited for.
    expect(cp([span('a', null, 0, 100), span('b', 'a', 10, 70), span('c', 'a', 20, 60)])).toEqual(['a:70-100', 'b:10-70', 'a:0-10']);
  });
  it('clips children to their parent and skips those outside it', () => {
    expect(cp([span('a', null, 0, 100), span('e', 'a', 95, 120), span('c', 'a', 50, 90), span('z', 'a', 150, 160)])).toEqual([
      'e:95-100',
      'a:90-95',
      'c:50-90',
      'a:0-50',
    ]);
  });
  it('follows back-to-back sequential children', () => {
    expect(cp([span('a', null, 0, 40), span('b', 'a', 0, 10), span('c', 'a', 10, 20), span('d', 'a', 20, 30), span('e', 'a', 30, 40)])).toEqual([
      'e:30-40',
      'd:20-30',
      'c:10-20',
      'b:0-10',
    ]);
  });
  it('terminates on zero-length children', () => {
    expect(cp([span('a', null, 0, 10), span('z', 'a', 5, 5), span('y', 'a', 5, 5)])).toEqual(['a:5-10', 'a:0-5']);
  });
  it('leaves FOLLOWS_FROM children out', () => {
    expect(cp([span('a', null, 0, 100), span('f', 'a', 10, 90, 'FOLLOWS_FROM')])).toEqual(['a:0-100']);
  });
  it('gives a lone span all of its time, and nothing for an empty trace', () => {
    expect(cp([span('a', null, 5, 10)])).toEqual(['a:5-10']);
    expect(cp([])).toEqual([]);
  });
  it('covers the root span exactly once end to end', () => {
    const spans = [span('a', null, 0, 1000)];
    for (let i = 0; i < 50; i++) spans.push(span(`c${i}`, 'a', (i * 37) % 900, ((i * 37) % 900) + 20 + (i % 7) * 13));
    const sections = criticalPath(buildTree(spans));
    let total = 0;
    for (let i = 0; i < sections.length; i++) {
      total += sections[i].end - sections[i].start;
      if (i > 0) expect(sections[i].end).toBeLessThanOrEqual(sections[i - 1].start);
    }
    expect(total).toBe(1000);
  });
});
