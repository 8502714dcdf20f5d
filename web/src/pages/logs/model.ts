// Log lines as the page shows them: one flat list from Loki's streams,
// newest first, with level, fields and trace ID worked out once.
import type { Stream } from '../../api/loki';
import { levelOf, parseFields, traceIDOf } from '../../lib/logfields';

export interface Line {
  key: string;
  ns: bigint;
  ms: number;
  line: string;
  labels: Record<string, string>;
  meta: Record<string, string>;
  level: string;
  /** fields and traceID are parsed when a line is first shown. */
  fields?: Record<string, string>;
  traceID?: string;
}

export function linesOf(streams: Stream[], seq = 0): Line[] {
  const out: Line[] = [];
  for (const s of streams) {
    for (const e of s.values) {
      const ns = BigInt(e[0]);
      const meta = (e[2] as Record<string, string> | undefined) ?? {};
      const labels = s.stream;
      out.push({
        key: `${e[0]}:${seq++}`,
        ns,
        ms: Number(ns / 1_000_000n),
        line: e[1],
        labels,
        meta,
        level: levelOf({ ...labels, ...meta }, {}, e[1]),
      });
    }
  }
  return out.sort((a, b) => (a.ns === b.ns ? 0 : a.ns > b.ns ? -1 : 1));
}

/** detail parses a line's fields and trace ID (once, on demand). */
export function detail(l: Line): Line {
  if (!l.fields) {
    l.fields = parseFields(l.line);
    l.traceID = traceIDOf(l.meta, l.fields, l.line);
    if (!l.level) l.level = levelOf(l.labels, l.fields, l.line);
  }
  return l;
}

export { isMetricQuery } from './requests';

/**
 * Labels to find a trace's lines by, in order: a LogQL selector needs a
 * matcher, and no one label is on every stream (OTLP logs have
 * service_name; Loki pushes often only job or app).
 */
const traceSearchLabels = ['service_name', 'job', 'app', 'service', 'namespace'];

/**
 * traceLineQueries: the LogQL queries that find the lines containing a
 * trace ID, for logs that carry it in their text rather than as metadata
 * (Grafana's derived-field habit): one per known label, the streams of all
 * of them together covering every stream that has any of these labels.
 */
export function traceLineQueries(traceID: string, known: string[]): string[] {
  const id = traceID.toLowerCase().replace(/[^0-9a-f]/g, '');
  if (!id) return [];
  return traceSearchLabels.filter((l) => known.includes(l)).map((l) => `{${l}=~".+"} |= ${JSON.stringify(id)}`);
}

/** mergeLines joins the lines of several queries, each line once, newest first. */
export function mergeLines(lists: Line[][]): Line[] {
  const seen = new Set<string>();
  const out: Line[] = [];
  for (const l of lists.flat()) {
    const k = `${l.ns}\u0000${l.line}\u0000${Object.entries(l.labels).sort().join(',')}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(l);
  }
  return out.sort((a, b) => (a.ns === b.ns ? 0 : a.ns > b.ns ? -1 : 1));
}
