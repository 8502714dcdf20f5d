import { describe, expect, it } from 'vitest';
import { metadataFor } from './metadata';

const m = (type: string, help = type) => [{ type, help, unit: '' }];
const all = {
  http_requests: m('counter', 'Requests served.'),
  http_requests_total: m('counter', 'own entry'),
  rpc_seconds: m('histogram'),
  gc_seconds: m('summary'),
  queue_length: m('gauge'),
  build: m('info'),
};

describe('metadataFor', () => {
  const f = (name: string, want: string | undefined) => expect(metadataFor(name, all)?.help).toBe(want);
  it('finds a name with its own entry', () => {
    f('queue_length', 'gauge');
    f('http_requests_total', 'own entry');
  });
  it("finds a series name's family by its suffix", () => {
    f('rpc_seconds_bucket', 'histogram');
    f('rpc_seconds_count', 'histogram');
    f('rpc_seconds_sum', 'histogram');
    f('gc_seconds_count', 'summary');
    f('build_info', 'info');
    expect(metadataFor('http_requests_created', { http_requests: m('counter', 'c') })?.help).toBe('c');
  });
  it('does not take a family whose type the suffix does not fit', () => {
    f('queue_length_total', undefined);
    f('gc_seconds_bucket', undefined);
    f('rpc_seconds_total', undefined);
  });
  it('has nothing for an unknown name, or before the metadata came', () => {
    f('nope', undefined);
    expect(metadataFor('queue_length', undefined)).toBeUndefined();
  });
});
