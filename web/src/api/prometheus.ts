// Prometheus HTTP API (/api/v1/...), as Vigil serves it.
import { data, getJSON, postForm } from './http';

interface Envelope<T> {
  status: string;
  data: T;
  warnings?: string[];
  infos?: string[];
}

export type Labels = Record<string, string>;
export type SamplePair = [number, string]; // seconds, value
export interface Histogram {
  count: string;
  sum: string;
  buckets?: [number, string, string, string][];
}

export interface MatrixSeries {
  metric: Labels;
  values?: SamplePair[];
  histograms?: [number, Histogram][];
}
export interface VectorSample {
  metric: Labels;
  value?: SamplePair;
  histogram?: [number, Histogram];
}

export type QueryResult =
  | { resultType: 'matrix'; result: MatrixSeries[] }
  | { resultType: 'vector'; result: VectorSample[] }
  | { resultType: 'scalar'; result: SamplePair }
  | { resultType: 'string'; result: [number, string] };

export interface QueryStats {
  timings?: Record<string, number>;
  samples?: { totalQueryableSamples?: number; peakSamples?: number };
}

export interface QueryData {
  resultType: string;
  result: unknown;
  stats?: QueryStats;
}

export interface Answer<T> {
  data: T;
  warnings: string[];
  infos: string[];
}

function answer<T>(e: Envelope<T>): Answer<T> {
  return { data: e.data, warnings: e.warnings ?? [], infos: e.infos ?? [] };
}

export async function query(expr: string, time: number, signal?: AbortSignal) {
  const e = await postForm<Envelope<QueryResult & { stats?: QueryStats }>>(
    '/api/v1/query',
    { query: expr, time: time / 1000, stats: 'all' },
    signal,
  );
  return answer(e);
}

export async function queryRange(expr: string, start: number, end: number, step: number, signal?: AbortSignal) {
  const e = await postForm<Envelope<QueryResult & { stats?: QueryStats }>>(
    '/api/v1/query_range',
    { query: expr, start: start / 1000, end: end / 1000, step: step / 1000, stats: 'all' },
    signal,
  );
  return answer(e);
}

export async function labels(match: string[] = [], start?: number, end?: number, signal?: AbortSignal) {
  return data(
    await getJSON<Envelope<string[]>>('/api/v1/labels', { 'match[]': match, start: start && start / 1000, end: end && end / 1000 }, signal),
  );
}

/** labelValues: a label's values (sorted); limit caps how many the server sends (0: all). */
export async function labelValues(name: string, match: string[] = [], start?: number, end?: number, signal?: AbortSignal, limit = 0) {
  return data(
    await getJSON<Envelope<string[]>>(
      `/api/v1/label/${encodeURIComponent(name)}/values`,
      { 'match[]': match, start: start && start / 1000, end: end && end / 1000, limit: limit || undefined },
      signal,
    ),
  );
}

export async function series(match: string[], start?: number, end?: number, signal?: AbortSignal) {
  return data(
    await getJSON<Envelope<Labels[]>>('/api/v1/series', { 'match[]': match, start: start && start / 1000, end: end && end / 1000 }, signal),
  );
}

export interface Metadata {
  type: string;
  help: string;
  unit: string;
}
export async function metadata(metric?: string, signal?: AbortSignal) {
  return data(await getJSON<Envelope<Record<string, Metadata[]>>>('/api/v1/metadata', { metric }, signal));
}

export interface Exemplar {
  labels: Labels;
  value: string;
  timestamp: number; // seconds
}
export interface ExemplarSeries {
  seriesLabels: Labels;
  exemplars: Exemplar[];
}
export async function exemplars(expr: string, start: number, end: number, signal?: AbortSignal) {
  return data(
    await postForm<Envelope<ExemplarSeries[]>>('/api/v1/query_exemplars', { query: expr, start: start / 1000, end: end / 1000 }, signal),
  );
}

export interface Alert {
  labels: Labels;
  annotations: Labels;
  state: 'firing' | 'pending' | 'inactive';
  activeAt?: string;
  value: string;
  keepFiringSince?: string;
}
export interface Rule {
  name: string;
  query: string;
  type: 'alerting' | 'recording';
  health: 'ok' | 'err' | 'unknown';
  lastError?: string;
  evaluationTime: number;
  lastEvaluation: string;
  labels?: Labels;
  annotations?: Labels;
  duration?: number;
  keepFiringFor?: number;
  state?: 'firing' | 'pending' | 'inactive';
  alerts?: Alert[];
}
export interface RuleGroup {
  name: string;
  file: string;
  interval: number;
  rules: Rule[];
  evaluationTime: number;
  lastEvaluation: string;
}
export async function rules(signal?: AbortSignal) {
  return data(await getJSON<Envelope<{ groups: RuleGroup[] }>>('/api/v1/rules', {}, signal)).groups;
}
export async function alerts(signal?: AbortSignal) {
  return data(await getJSON<Envelope<{ alerts: Alert[] }>>('/api/v1/alerts', {}, signal)).alerts;
}

export async function buildInfo(signal?: AbortSignal) {
  return data(await getJSON<Envelope<{ version: string; revision: string; goVersion: string }>>('/api/v1/status/buildinfo', {}, signal));
}

/** flags: /api/v1/status/flags, Vigil's effective settings by name (otlp.grpc_addr, ...). */
export async function flags(signal?: AbortSignal) {
  return data(await getJSON<Envelope<Record<string, string>>>('/api/v1/status/flags', {}, signal));
}

export interface TSDBStatus {
  headStats: { numSeries: number; numLabelPairs: number; chunkCount: number; minTime: number; maxTime: number };
  seriesCountByMetricName: { name: string; value: number }[];
}
export async function tsdbStatus(signal?: AbortSignal) {
  return data(await getJSON<Envelope<TSDBStatus>>('/api/v1/status/tsdb', {}, signal));
}

/** scalarValue: the first sample's value of an instant query, or null. */
export async function instant(expr: string, time: number, signal?: AbortSignal): Promise<VectorSample[]> {
  const r = await query(expr, time, signal);
  if (r.data.resultType === 'vector') return r.data.result;
  if (r.data.resultType === 'scalar') return [{ metric: {}, value: r.data.result }];
  return [];
}
