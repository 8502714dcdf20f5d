import { describe, expect, it } from 'vitest';
import { listenAddr, sendAddresses } from './addresses';

describe('listenAddr', () => {
  const f = (addr: string, host: string, want: string) => expect(listenAddr(addr, host)).toBe(want);
  it('keeps a host that was set', () => {
    f('127.0.0.1:14317', 'vigil.example', '127.0.0.1:14317');
    f('otel.internal:4317', '127.0.0.1', 'otel.internal:4317');
    f('[::1]:4318', 'localhost', '[::1]:4318');
  });
  it('puts the browser host in place of an unspecified one', () => {
    f(':4317', 'vigil.example', 'vigil.example:4317');
    f('0.0.0.0:4318', '10.0.0.5', '10.0.0.5:4318');
    f('[::]:4318', 'vigil.example', 'vigil.example:4318');
    f(':4317', '::1', '[::1]:4317');
    f(':4317', '[::1]', '[::1]:4317');
  });
  it('leaves what has no port alone', () => {
    f('vigil.example', 'x', 'vigil.example');
  });
});

describe('sendAddresses', () => {
  const loc = { origin: 'http://vigil.example:9797', hostname: 'vigil.example' };
  it('uses the listeners Vigil reports', () => {
    expect(sendAddresses({ 'otlp.grpc_addr': '127.0.0.1:14317', 'otlp.http_addr': '0.0.0.0:14318', 'otlp.disabled': 'false' }, loc, '/obs')).toEqual({
      http: 'http://vigil.example:9797/obs',
      otlpGRPC: '127.0.0.1:14317',
      otlpHTTP: 'http://vigil.example:14318',
    });
  });
  it('falls back to the default ports while the flags are not known', () => {
    expect(sendAddresses(null, loc)).toEqual({ http: 'http://vigil.example:9797', otlpGRPC: 'vigil.example:4317', otlpHTTP: 'http://vigil.example:4318' });
  });
  it('says nothing of OTLP when it is off', () => {
    expect(sendAddresses({ 'otlp.disabled': 'true', 'otlp.grpc_addr': ':4317' }, loc)).toMatchObject({ otlpGRPC: null, otlpHTTP: null });
  });
});
