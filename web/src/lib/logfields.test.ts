import { describe, expect, it } from 'vitest';
import { levelOf, parseFields, parseLogfmt, selectorOf, traceIDOf } from './logfields';

describe('parseFields', () => {
  it('reads JSON, flattening nested objects', () => {
    expect(parseFields('{"level":"warn","msg":"slow","http":{"status":503},"ok":false}')).toEqual({
      level: 'warn',
      msg: 'slow',
      http_status: '503',
      ok: 'false',
    });
  });
  it('reads logfmt with quoted values', () => {
    expect(parseFields('level=info msg="GET /x done" dur=12ms')).toEqual({ level: 'info', msg: 'GET /x done', dur: '12ms' });
  });
  it('leaves prose alone', () => {
    expect(parseFields('connection reset by peer')).toEqual({});
    expect(parseLogfmt('failed to dial: x=1 and then gave up entirely after retries')).toEqual({});
    expect(parseFields('{not json')).toEqual({});
  });
});

describe('levelOf', () => {
  const f = (labels: Record<string, string>, line: string, want: string) =>
    expect(levelOf(labels, parseFields(line), line), line).toBe(want);
  it('takes labels, then fields, then words', () => {
    f({ level: 'ERROR' }, 'whatever', 'error');
    f({ detected_level: 'warning' }, 'x', 'warn');
    f({}, 'level=debug msg=hi', 'debug');
    f({}, '{"severity":"CRITICAL"}', 'critical');
    f({}, '2026-01-02 WARN disk almost full', 'warn');
    f({}, 'all good', '');
  });
});

describe('traceIDOf', () => {
  it('finds trace IDs in metadata, fields and text', () => {
    const id = '0af7651916cd43dd8448eb211c80319c';
    expect(traceIDOf({ trace_id: id }, {}, '')).toBe(id);
    expect(traceIDOf({}, parseFields(`msg=x traceID=${id.toUpperCase()}`), '')).toBe(id);
    expect(traceIDOf({}, {}, `done trace_id: "${id}" in 3ms`)).toBe(id);
    expect(traceIDOf({}, {}, 'no trace here')).toBe('');
  });
});

describe('selectorOf', () => {
  it('writes sorted, quoted matchers', () => {
    expect(selectorOf({ job: 'a"b', app: 'x' })).toBe('{app="x", job="a\\"b"}');
    // Metadata and parsed labels are not stream labels: a selector on them matches nothing.
    expect(selectorOf({ job: 'demo', detected_level: 'info', trace_id: 'ab', level: 'info' }, ['job', 'level', 'service_name'])).toBe('{job="demo", level="info"}');
  });
});
