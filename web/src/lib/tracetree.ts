// Trace trees for the waterfall: parent links from the spans' references,
// children in start order, rows flattened without recursion (a 10,000-span
// chain must not overflow the stack), and the critical path as Jaeger's UI
// computes it (packages/jaeger-ui/src/components/TracePage/CriticalPath).

export interface Ref {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM' | string;
  traceID: string;
  spanID: string;
}

/** Span is what the tree needs of a Jaeger span (times in microseconds). */
export interface TreeSpan {
  spanID: string;
  references?: Ref[];
  startTime: number;
  duration: number;
}

export interface Node<S extends TreeSpan = TreeSpan> {
  span: S;
  parent?: Node<S>;
  children: Node<S>[];
  depth: number;
  /** followsFrom: linked to its parent by FOLLOWS_FROM, not CHILD_OF. */
  followsFrom: boolean;
}

export interface Tree<S extends TreeSpan = TreeSpan> {
  roots: Node<S>[];
  byID: Map<string, Node<S>>;
  start: number; // µs, earliest span start
  end: number; // µs, latest span end
  maxDepth: number;
  /** orphans: spans whose parent is not in the trace (shown as roots). */
  orphans: number;
}

const byStart = (a: Node, b: Node) => a.span.startTime - b.span.startTime || (a.span.spanID < b.span.spanID ? -1 : 1);

function parentRef(s: TreeSpan, ids: Map<string, unknown>): Ref | undefined {
  // A loop, not filter/find: this runs once per span of 10,000-span traces.
  let first: Ref | undefined;
  for (const r of s.references ?? []) {
    if (r.spanID === s.spanID || !ids.has(r.spanID)) continue;
    if (r.refType === 'CHILD_OF') return r;
    first ??= r;
  }
  return first;
}

/**
 * buildTree links spans to their parents. A span whose parent is missing,
 * or whose parent chain loops, becomes a root; spans with duplicate IDs
 * keep the first.
 */
export function buildTree<S extends TreeSpan>(spans: S[]): Tree<S> {
  const byID = new Map<string, Node<S>>();
  for (const s of spans) {
    if (!byID.has(s.spanID)) byID.set(s.spanID, { span: s, children: [], depth: 0, followsFrom: false });
  }
  let orphans = 0;
  const roots: Node<S>[] = [];
  const nodes = [...byID.values()];
  for (const n of nodes) {
    const ref = parentRef(n.span, byID);
    if (ref) {
      n.parent = byID.get(ref.spanID);
      n.followsFrom = ref.refType !== 'CHILD_OF';
    } else if ((n.span.references ?? []).some((r) => r.spanID !== n.span.spanID)) {
      orphans++;
    }
  }
  // Break cycles: walk up from each node; a node that meets itself is cut
  // from its parent and becomes a root. state: 1 visiting, 2 done (by the
  // node's index; a Map keyed by node cost a third of the build).
  const index = new Map<Node<S>, number>();
  nodes.forEach((n, i) => index.set(n, i));
  const state = new Uint8Array(nodes.length);
  const path: number[] = [];
  for (let i = 0; i < nodes.length; i++) {
    path.length = 0;
    let n: Node<S> | undefined = nodes[i];
    let k = i;
    while (n && state[k] === 0) {
      state[k] = 1;
      path.push(k);
      n = n.parent;
      if (n) k = index.get(n)!;
    }
    if (n && state[k] === 1) {
      n.parent = undefined; // n closes the loop
    }
    for (const p of path) state[p] = 2;
  }
  for (const n of nodes) {
    if (n.parent) n.parent.children.push(n);
    else roots.push(n);
  }
  let start = Infinity;
  let end = -Infinity;
  let maxDepth = 0;
  roots.sort(byStart);
  const stack = [...roots];
  for (const r of roots) r.depth = 0;
  while (stack.length) {
    const n = stack.pop()!;
    const s = n.span.startTime;
    if (s < start) start = s;
    if (s + n.span.duration > end) end = s + n.span.duration;
    if (n.depth > maxDepth) maxDepth = n.depth;
    if (n.children.length > 1) n.children.sort(byStart);
    for (const c of n.children) {
      c.depth = n.depth + 1;
      stack.push(c);
    }
  }
  if (byID.size === 0) start = end = 0;
  return { roots, byID, start, end, maxDepth, orphans };
}

/**
 * flatten lists the visible rows in tree order (pre-order, children by
 * start time), skipping the descendants of collapsed spans.
 */
export function flatten<S extends TreeSpan>(tree: Tree<S>, collapsed: ReadonlySet<string> = new Set()): Node<S>[] {
  const out: Node<S>[] = [];
  const stack = [...tree.roots].reverse();
  while (stack.length) {
    const n = stack.pop()!;
    out.push(n);
    if (collapsed.has(n.span.spanID)) continue;
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
  }
  return out;
}

/** descendants counts the spans under n (for "+12" on a collapsed row). */
export function descendants(n: Node): number {
  let count = 0;
  const stack = [...n.children];
  while (stack.length) {
    const c = stack.pop()!;
    count++;
    stack.push(...c.children);
  }
  return count;
}

/** Section: a stretch of one span's time that lies on the critical path. */
export interface Section {
  spanID: string;
  start: number; // µs
  end: number; // µs
}

interface CPSpan {
  id: string;
  start: number;
  end: number;
  parent?: CPSpan;
  // CHILD_OF children clipped to this span, by end time, latest first.
  children: CPSpan[];
}

/**
 * criticalPath is the chain of work that decided the trace's duration:
 * from the end of the root span, step back into the child that finished
 * last before the current point; where no child was running, the span
 * itself was the work. Children are first clipped to their parent's time
 * (clock skew), children wholly outside it and FOLLOWS_FROM children are
 * left out, as in Jaeger's UI. Unlike Jaeger's UI, a child that ends exactly
 * when its successor starts counts as waited for (sequential calls are
 * often recorded back to back). Sections come latest first; empty ones
 * are left out.
 */
export function criticalPath(tree: Tree): Section[] {
  const root = tree.roots.reduce<Node | undefined>(
    (best, r) => (!best || r.span.duration > best.span.duration ? r : best),
    undefined,
  );
  if (!root) return [];
  // Clip top-down, so a grandchild is clipped to its clipped parent.
  const top: CPSpan = { id: root.span.spanID, start: root.span.startTime, end: root.span.startTime + root.span.duration, children: [] };
  const stack: [Node, CPSpan][] = [[root, top]];
  let count = 1;
  while (stack.length) {
    const [n, c] = stack.pop()!;
    for (const child of n.children) {
      if (child.followsFrom) continue;
      const s = child.span.startTime;
      const e = s + child.span.duration;
      if (s > c.end || e < c.start) continue;
      const cc: CPSpan = { id: child.span.spanID, start: Math.max(s, c.start), end: Math.min(e, c.end), parent: c, children: [] };
      c.children.push(cc);
      stack.push([child, cc]);
      count++;
    }
    c.children.sort((a, b) => b.end - a.end);
  }
  const out: Section[] = [];
  const push = (id: string, start: number, end: number) => end > start && out.push({ spanID: id, start, end });
  const visited = new Set<CPSpan>([top]);
  let cur: CPSpan = top;
  let returning: number | undefined;
  // Each step descends into an unvisited child that ends by `returning`
  // (a child ending exactly when the next one starts was waited for too),
  // or climbs to the parent with `returning` at this span's start; each
  // span is entered once, so 3n steps bound the walk.
  for (let guard = 3 * count + 3; guard > 0; guard--) {
    const limit = returning;
    const lfc = cur.children.find((c) => !visited.has(c) && (limit === undefined || c.end <= limit));
    const sectionEnd = limit ?? cur.end;
    if (lfc) {
      push(cur.id, lfc.end, sectionEnd);
      visited.add(lfc);
      cur = lfc;
      returning = undefined;
      continue;
    }
    push(cur.id, cur.start, sectionEnd);
    if (!cur.parent) break;
    returning = cur.start;
    cur = cur.parent;
  }
  return out;
}

/** criticalBySpan groups sections by span, for drawing them on the bars. */
export function criticalBySpan(sections: Section[]): Map<string, Section[]> {
  const m = new Map<string, Section[]>();
  for (const s of sections) {
    const l = m.get(s.spanID);
    if (l) l.push(s);
    else m.set(s.spanID, [s]);
  }
  return m;
}
