// Alertmanager API v2 (/alertmanager/api/v2/...), as Vigil serves it.
import { getJSON, sendJSON } from './http';

export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual?: boolean;
}
export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  updatedAt?: string;
  createdBy: string;
  comment: string;
  status: { state: 'active' | 'pending' | 'expired' };
}
export interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  generatorURL?: string;
  fingerprint: string;
  receivers: { name: string }[];
  status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] };
}

const base = '/alertmanager/api/v2';

/** filter builds Alertmanager's filter=... matchers ("name=\"value\""). */
export function filterParams(ms: Matcher[]): string[] {
  return ms.map((m) => `${m.name}${m.isEqual === false ? '!' : ''}${m.isRegex ? '=~' : '='}${JSON.stringify(m.value)}`);
}

export async function alerts(q: { filter?: Matcher[]; silenced?: boolean; inhibited?: boolean; active?: boolean } = {}, signal?: AbortSignal) {
  return getJSON<GettableAlert[]>(
    `${base}/alerts`,
    { filter: filterParams(q.filter ?? []), silenced: q.silenced, inhibited: q.inhibited, active: q.active },
    signal,
  );
}

export async function silences(signal?: AbortSignal) {
  return getJSON<Silence[]>(`${base}/silences`, {}, signal);
}

export interface PostableSilence {
  id?: string;
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}
export async function createSilence(s: PostableSilence, signal?: AbortSignal) {
  const r = await sendJSON<{ silenceID: string }>('POST', `${base}/silences`, s, signal);
  return r?.silenceID ?? '';
}

export async function expireSilence(id: string, signal?: AbortSignal) {
  await sendJSON('DELETE', `${base}/silence/${encodeURIComponent(id)}`, undefined, signal);
}

export async function status(signal?: AbortSignal) {
  return getJSON<{ versionInfo?: Record<string, string>; uptime: string; config?: { original: string } }>(`${base}/status`, {}, signal);
}
