// On-call API (/vigil/api/v1/oncall/...) and probes (/vigil/api/v1/probes).
import { getJSON, sendJSON } from './http';

interface Envelope<T> {
  status: string;
  data: T;
}

export interface IncidentAlert {
  fingerprint: string;
  status: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}
export interface TimelineEvent {
  id: number;
  time: string;
  kind: string;
  actor?: string;
  user?: string;
  channel?: string;
  detail?: string;
}
export interface Incident {
  id: number;
  key: string;
  source: string;
  receiver?: string;
  title: string;
  severity?: string;
  priority?: string;
  team?: string;
  service?: string;
  escalation_policy?: string;
  state: 'triggered' | 'acknowledged' | 'resolved' | string;
  assignee?: string;
  created_at: string;
  updated_at: string;
  acknowledged_at?: string;
  acknowledged_by?: string;
  resolved_at?: string;
  resolved_by?: string;
  snoozed_until?: string;
  escalation: { loop: number; step: number };
  labels?: Record<string, string>;
  alerts?: IncidentAlert[];
  timeline?: TimelineEvent[];
  url: string;
}

const base = '/vigil/api/v1/oncall';

export async function incidents(q: { state?: string; team?: string; service?: string; limit?: number } = {}, signal?: AbortSignal) {
  return (await getJSON<Envelope<Incident[] | null>>(`${base}/incidents`, q, signal)).data ?? [];
}
export async function incident(id: string | number, signal?: AbortSignal) {
  return (await getJSON<Envelope<Incident>>(`${base}/incidents/${encodeURIComponent(String(id))}`, {}, signal)).data;
}
export type Action = 'acknowledge' | 'resolve' | 'reassign' | 'notes' | 'snooze';
export async function act(id: number, action: Action, body: { assignee?: string; text?: string; duration?: string } = {}) {
  return sendJSON<Envelope<Incident>>('POST', `${base}/incidents/${id}/${action}`, body);
}
export async function openIncident(m: { title: string; assignee?: string; escalation_policy?: string; severity?: string }) {
  return (await sendJSON<Envelope<Incident>>('POST', `${base}/incidents`, m))?.data;
}

export interface OnCallNow {
  schedule: string;
  user?: string;
  layer: number;
  at: string;
}
export async function now(signal?: AbortSignal) {
  return (await getJSON<Envelope<OnCallNow[] | null>>(`${base}/now`, {}, signal)).data ?? [];
}
export interface ScheduleSpec {
  name: string;
  time_zone: string;
  team?: string;
  source?: 'config' | 'api' | string;
  layers: { name?: string; start: string; handoff?: string; end?: string; shift: string; users: string[]; restrictions?: { days?: string[]; from: string; to: string }[] }[];
  overrides?: { id?: number; user: string; start: string; end: string }[];
}
export interface PolicySpec {
  name: string;
  team?: string;
  repeat?: number;
  source?: string;
  steps: { targets: { user?: string; schedule?: string; team?: string }[]; delay?: string }[];
}
export interface Shift {
  user: string;
  start: string;
  end: string;
  /** the layer's index; -1 for an override */
  layer: number;
}
/** shifts: a schedule's final shifts over [start, end) (ms), or layer `layer`'s own. */
export async function shifts(schedule: string, start: number, end: number, layer?: number, signal?: AbortSignal) {
  const q = { start: new Date(start).toISOString(), end: new Date(end).toISOString(), layer };
  return (await getJSON<Envelope<Shift[] | null>>(`${base}/schedules/${encodeURIComponent(schedule)}/shifts`, q, signal)).data ?? [];
}

/** objects: the schedules or escalation policies, each as written (spec) with where it comes from. */
async function objects<T>(kind: string, signal?: AbortSignal): Promise<(T & { source?: string })[]> {
  const rows = (await getJSON<Envelope<{ source: string; spec: T }[] | null>>(`${base}/${kind}`, {}, signal)).data ?? [];
  return rows.map((r) => ({ ...r.spec, source: r.source }));
}
export const schedules = (signal?: AbortSignal) => objects<ScheduleSpec>('schedules', signal);
export const policies = (signal?: AbortSignal) => objects<PolicySpec>('escalation_policies', signal);

export interface Probe {
  name: string;
  target: string;
  module: string;
  prober: string;
  group?: string;
  interval: string;
  timeout: string;
  labels: Record<string, string>;
  last: null | { success: boolean; duration_seconds: number; start: string; reason?: string; error?: string; [k: string]: unknown };
}
export async function probes(signal?: AbortSignal) {
  return (await getJSON<Envelope<Probe[] | null>>('/vigil/api/v1/probes', {}, signal)).data ?? [];
}
/** runProbe: run a probe now (write scope); the answer is the probe with this run's result. */
export async function runProbe(name: string, signal?: AbortSignal) {
  return (await sendJSON<Envelope<Probe>>('POST', `/vigil/api/v1/probes/${encodeURIComponent(name)}/run`, undefined, signal))?.data;
}
