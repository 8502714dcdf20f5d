// What a log line carries beyond its text: fields parsed from JSON or
// logfmt, its level, its trace ID.

/** parseFields reads a JSON object or logfmt line; other lines give {}. */
export function parseFields(line: string): Record<string, string> {
  const s = line.trim();
  if (s.startsWith('{')) {
    try {
      const j = JSON.parse(s);
      if (j && typeof j === 'object' && !Array.isArray(j)) {
        const out: Record<string, string> = {};
        flattenInto(out, '', j);
        return out;
      }
    } catch {
      /* not JSON: try logfmt */
    }
  }
  return parseLogfmt(s);
}

function flattenInto(out: Record<string, string>, prefix: string, v: unknown) {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flattenInto(out, prefix ? `${prefix}_${k}` : k, x);
  } else {
    out[prefix] = typeof v === 'string' ? v : JSON.stringify(v);
  }
}

/** parseLogfmt: key=value pairs, values bare or double-quoted; needs two pairs or one and nothing else. */
export function parseLogfmt(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z_][\w.\-/]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)/g;
  let m: RegExpExecArray | null;
  let covered = 0;
  while ((m = re.exec(s)) !== null) {
    let v = m[2];
    if (v.startsWith('"')) {
      try {
        v = JSON.parse(v);
      } catch {
        v = v.slice(1, -1);
      }
    }
    out[m[1]] = v;
    covered += m[0].length;
  }
  const n = Object.keys(out).length;
  // "error: x=1 happened" is prose with one pair, not logfmt.
  if (n === 0 || (n === 1 && covered < s.length * 0.5)) return {};
  return out;
}

const levels: [RegExp, string][] = [
  [/^(fatal|crit|critical|emerg|emergency|alert|panic)$/i, 'critical'],
  [/^(err|error|eror)$/i, 'error'],
  [/^(warn|warning)$/i, 'warn'],
  [/^(info|information|informational|notice)$/i, 'info'],
  [/^(debug|dbug)$/i, 'debug'],
  [/^(trace|trce)$/i, 'trace'],
];

export function normLevel(v: string | undefined): string {
  if (!v) return '';
  for (const [re, l] of levels) if (re.test(v.trim())) return l;
  return '';
}

/**
 * levelOf: the level label (level, detected_level, severity...), then the
 * parsed fields, then a level word early in the line; '' when unknown.
 */
export function levelOf(labels: Record<string, string>, fields: Record<string, string>, line: string): string {
  for (const k of ['level', 'detected_level', 'severity', 'severity_text', 'lvl', 'loglevel']) {
    const l = normLevel(labels[k]) || normLevel(fields[k]);
    if (l) return l;
  }
  const m = /\b(FATAL|CRIT(?:ICAL)?|ERROR|ERR|WARN(?:ING)?|INFO|DEBUG|TRACE)\b/i.exec(line.slice(0, 120));
  return m ? normLevel(m[1]) : '';
}

/** traceIDOf: a 32-hex trace ID from metadata, fields or the line. */
export function traceIDOf(meta: Record<string, string>, fields: Record<string, string>, line: string): string {
  for (const k of ['trace_id', 'traceID', 'traceId', 'TraceID', 'trace.id']) {
    const v = meta[k] || fields[k];
    if (v && /^[0-9a-fA-F]{16,32}$/.test(v)) return v.toLowerCase();
  }
  const m = /trace[_.]?id["']?\s*[=:]\s*["']?([0-9a-fA-F]{32})\b/i.exec(line);
  return m ? m[1].toLowerCase() : '';
}

/**
 * selectorOf: the stream selector of a result's labels. A query result's
 * labels are the stream's plus structured metadata (detected_level,
 * trace_id) and parsed fields, as Loki 3 returns them; `streamLabels` (the
 * label names /labels lists) keeps only the stream's, since a selector on
 * the others matches nothing.
 */
export function selectorOf(labels: Record<string, string>, streamLabels?: string[]): string {
  const keep = streamLabels && new Set(streamLabels);
  return `{${Object.keys(labels)
    .filter((k) => !keep || keep.has(k))
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ')}}`;
}
