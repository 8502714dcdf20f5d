// Loki API (/loki/api/v1/...), as Vigil serves it.
import { getJSON, wsURL } from './http';

interface Envelope<T> {
  status: string;
  data: T;
}

export type Labels = Record<string, string>;
/** Entry: [nanoseconds as a string, line, structured metadata?]. */
export type Entry = [string, string, Labels?] | [string, string];
export interface Stream {
  stream: Labels;
  values: Entry[];
}
export interface MatrixSeries {
  metric: Labels;
  values: [number, string][];
}

export type Result =
  | { resultType: 'streams'; result: Stream[]; stats?: unknown }
  | { resultType: 'matrix'; result: MatrixSeries[]; stats?: unknown }
  | { resultType: 'vector'; result: { metric: Labels; value: [number, string] }[]; stats?: unknown };

export async function queryRange(
  q: { query: string; start: number; end: number; limit?: number; direction?: 'backward' | 'forward'; step?: number },
  signal?: AbortSignal,
): Promise<Result> {
  const r = await getJSON<Envelope<Result>>(
    '/loki/api/v1/query_range',
    {
      query: q.query,
      start: String(BigInt(Math.floor(q.start)) * 1_000_000n),
      end: String(BigInt(Math.ceil(q.end)) * 1_000_000n),
      limit: q.limit,
      direction: q.direction,
      step: q.step ? q.step / 1000 : undefined,
    },
    signal,
  );
  return r.data;
}

export async function labels(start: number, end: number, signal?: AbortSignal) {
  return (await getJSON<Envelope<string[] | null>>('/loki/api/v1/labels', { start: start * 1e6, end: end * 1e6 }, signal)).data ?? [];
}

export async function labelValues(name: string, start: number, end: number, signal?: AbortSignal) {
  return (
    (await getJSON<Envelope<string[] | null>>(`/loki/api/v1/label/${encodeURIComponent(name)}/values`, { start: start * 1e6, end: end * 1e6 }, signal))
      .data ?? []
  );
}

/** tailURL: the websocket of /loki/api/v1/tail for a query. */
export function tailURL(query: string, startMs: number, limit = 100): string {
  return wsURL('/loki/api/v1/tail', { query, start: String(BigInt(Math.floor(startMs)) * 1_000_000n), limit });
}

/** TailMessage is one websocket frame of /tail. */
export interface TailMessage {
  streams: Stream[] | null;
  dropped_entries?: { labels: Labels; timestamp: string }[] | null;
}

/** volumeQuery: the log-volume query Grafana sends, counting lines by level. */
export function volumeQuery(selector: string, stepMs: number): string {
  return `sum by (level, detected_level) (count_over_time(${selector}[${Math.max(1, Math.round(stepMs / 1000))}s]))`;
}
