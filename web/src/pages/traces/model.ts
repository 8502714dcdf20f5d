// The trace page's view of a Jaeger trace: spans with their service,
// error flag and kind, in a tree with the critical path.
import { isError, tag, type Span, type Trace } from '../../api/jaeger';
import { buildTree, criticalBySpan, criticalPath, type Section, type Tree } from '../../lib/tracetree';

export interface VSpan {
  spanID: string;
  references: Span['references'];
  startTime: number;
  duration: number;
  service: string;
  op: string;
  error: boolean;
  kind: string;
  raw: Span;
}

export interface TraceModel {
  trace: Trace;
  tree: Tree<VSpan>;
  critical: Map<string, Section[]>;
  services: string[];
  errors: number;
  root?: VSpan;
}

export function model(trace: Trace): TraceModel {
  const spans: VSpan[] = trace.spans.map((s) => ({
    spanID: s.spanID,
    references: s.references ?? [],
    startTime: s.startTime,
    duration: s.duration,
    service: trace.processes[s.processID]?.serviceName ?? s.processID,
    op: s.operationName,
    error: isError(s),
    kind: String(tag(s, 'span.kind') ?? ''),
    raw: s,
  }));
  const tree = buildTree(spans);
  const services = [...new Set(spans.map((s) => s.service))].sort();
  const root = tree.roots.reduce<VSpan | undefined>((b, r) => (!b || r.span.duration > b.duration ? r.span : b), undefined);
  return { trace, tree, critical: criticalBySpan(criticalPath(tree)), services, errors: spans.filter((s) => s.error).length, root };
}

/** serviceColor: one stable colour per service name. */
const colors = ['#4263eb', '#f76707', '#2f9e44', '#ae3ec9', '#0c8599', '#d6336c', '#74b816', '#f59f00', '#1c7ed6', '#099268', '#e8590c', '#7048e8'];
export function serviceColor(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
  return colors[Math.abs(h) % colors.length];
}

/** badTags lists the words of the tags field that are not key=value, for an error where they were typed. */
export function badTags(s: string): string[] {
  const rest = s.replace(/([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g, ' ');
  return rest.split(/\s+/).filter(Boolean);
}

/** parseTags reads "k=v k2=\"v 2\"" (the search form's tags) into a map. */
export function parseTags(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    out[m[1]] = m[2].startsWith('"') ? JSON.parse(m[2]) : m[2];
  }
  return out;
}
