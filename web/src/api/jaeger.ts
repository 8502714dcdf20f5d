// Jaeger query API (/jaeger/api/...), as Vigil serves it.
import { getJSON } from './http';
import type { Ref } from '../lib/tracetree';

interface Envelope<T> {
  data: T;
  total?: number;
  errors?: { code: number; msg: string; traceID?: string }[] | null;
}

export interface KeyValue {
  key: string;
  type: 'string' | 'bool' | 'int64' | 'float64' | 'binary';
  value: string | number | boolean;
}
export interface SpanLog {
  timestamp: number; // µs
  fields: KeyValue[];
}
export interface Span {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Ref[];
  startTime: number; // µs
  duration: number; // µs
  tags: KeyValue[];
  logs: SpanLog[];
  processID: string;
  warnings?: string[] | null;
  flags?: number;
}
export interface Process {
  serviceName: string;
  tags: KeyValue[];
}
export interface Trace {
  traceID: string;
  spans: Span[];
  processes: Record<string, Process>;
  warnings?: string[] | null;
}

export async function services(signal?: AbortSignal) {
  return ((await getJSON<Envelope<string[] | null>>('/jaeger/api/services', {}, signal)).data ?? []).sort();
}

export async function operations(service: string, signal?: AbortSignal) {
  return ((await getJSON<Envelope<string[] | null>>(`/jaeger/api/services/${encodeURIComponent(service)}/operations`, {}, signal)).data ?? []).sort();
}

export interface Search {
  service: string;
  operation?: string;
  tags?: Record<string, string>;
  minDuration?: string;
  maxDuration?: string;
  limit?: number;
  start: number; // ms
  end: number; // ms
}

export async function search(q: Search, signal?: AbortSignal) {
  const r = await getJSON<Envelope<Trace[] | null>>(
    '/jaeger/api/traces',
    {
      service: q.service,
      operation: q.operation,
      tags: q.tags && Object.keys(q.tags).length ? JSON.stringify(q.tags) : undefined,
      minDuration: q.minDuration,
      maxDuration: q.maxDuration,
      limit: q.limit ?? 20,
      start: Math.floor(q.start * 1000),
      end: Math.ceil(q.end * 1000),
    },
    signal,
  );
  return r.data ?? [];
}

export async function trace(id: string, signal?: AbortSignal): Promise<Trace | null> {
  const r = await getJSON<Envelope<Trace[] | null>>(`/jaeger/api/traces/${encodeURIComponent(id)}`, {}, signal);
  return r.data?.[0] ?? null;
}

export interface Dependency {
  parent: string;
  child: string;
  callCount: number;
}
export async function dependencies(end: number, lookback: number, signal?: AbortSignal) {
  return (await getJSON<Envelope<Dependency[] | null>>('/jaeger/api/dependencies', { endTs: end, lookback }, signal)).data ?? [];
}

/** tag finds a tag's value on a span. */
export function tag(s: { tags: KeyValue[] }, key: string): KeyValue['value'] | undefined {
  return s.tags.find((t) => t.key === key)?.value;
}

/** isError: OpenTelemetry status ERROR (otel.status_code) or the error tag. */
export function isError(s: Span): boolean {
  const e = tag(s, 'error');
  return e === true || e === 'true' || tag(s, 'otel.status_code') === 'ERROR';
}
