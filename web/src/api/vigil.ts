// Vigil's own API (/vigil/api/v1/...).
import { APIError, getJSON, getText, sendJSON } from './http';

interface Envelope<T> {
  status: string;
  data: T;
}

/** ready: /readyz's answer; false with the reason while stores open. */
export async function ready(signal?: AbortSignal): Promise<{ ok: boolean; text: string }> {
  try {
    return { ok: true, text: (await getText('/readyz', {}, signal)).trim() };
  } catch (e) {
    if (e instanceof APIError && e.status === 503) return { ok: false, text: e.message };
    throw e;
  }
}

export interface Notification {
  id: number;
  createdAt: string;
  updatedAt: string;
  receiver: string;
  integration: string;
  groupKey: string;
  status: 'pending' | 'delivered' | 'failed' | 'superseded';
  attempts: number;
  nextAttemptAt: string;
  giveUpAt: string;
  lastError?: string;
  alerts: string[];
}

export async function notifications(status = '', limit = 200, signal?: AbortSignal) {
  return (await getJSON<Envelope<Notification[] | null>>('/vigil/api/v1/notifications', { status, limit }, signal)).data ?? [];
}

export async function retryNotification(id: number, signal?: AbortSignal) {
  await sendJSON('POST', `/vigil/api/v1/notifications/${id}/retry`, undefined, signal);
}

export interface LedgerEvent {
  id: number;
  time: string;
  fingerprint: string;
  alertname: string;
  kind: string;
  receiver?: string;
  integration?: string;
  groupKey?: string;
  notificationId?: number;
  detail: string;
  labels: Record<string, string>;
}

export async function alertHistory(fingerprint: string, q: { start?: number; end?: number; limit?: number } = {}, signal?: AbortSignal) {
  const path = fingerprint ? `/vigil/api/v1/alerts/${encodeURIComponent(fingerprint)}/history` : '/vigil/api/v1/alerts/history';
  return (
    (await getJSON<Envelope<LedgerEvent[] | null>>(path, { start: q.start && q.start / 1000, end: q.end && q.end / 1000, limit: q.limit }, signal))
      .data ?? []
  );
}

export interface TraceLog {
  timestamp: string;
  labels: Record<string, string>;
  metadata: Record<string, string>;
  level: string;
  line: string;
}

/** logsByTrace: every log record carrying a trace ID. */
export async function logsByTrace(traceID: string, signal?: AbortSignal) {
  return (await getJSON<Envelope<TraceLog[] | null>>('/vigil/api/v1/logs', { trace_id: traceID }, signal)).data ?? [];
}
