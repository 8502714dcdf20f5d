// State in the URL: every view can be shared by copying the address.
import { useCallback, useMemo } from 'preact/hooks';
import { useLocation, useSearch } from 'wouter-preact';

export type Patch = Record<string, string | string[] | null | undefined>;

/** applyPatch returns a query string with keys set, repeated (arrays) or removed (null/''). */
export function applyPatch(search: string, patch: Patch): string {
  const q = new URLSearchParams(search);
  for (const [k, v] of Object.entries(patch)) {
    q.delete(k);
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else if (v !== null && v !== undefined && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * useSearchParams reads the query string and returns a setter that merges a
 * patch into it. replace: true for state that should not add history
 * entries (typing, panning).
 */
export function useSearchParams(): [URLSearchParams, (patch: Patch, opts?: { replace?: boolean; path?: string }) => void] {
  const search = useSearch();
  const [loc, navigate] = useLocation();
  const params = useMemo(() => new URLSearchParams(search), [search]);
  const set = useCallback(
    (patch: Patch, opts: { replace?: boolean; path?: string } = {}) => {
      navigate((opts.path ?? loc) + applyPatch(opts.path ? '' : location.search, patch), { replace: opts.replace });
    },
    [loc, navigate],
  );
  return [params, set];
}

/** href builds a link that keeps the shared time range. */
export function withRange(path: string, extra: Record<string, string> = {}): string {
  const cur = new URLSearchParams(typeof location === 'undefined' ? '' : location.search);
  const q = new URLSearchParams();
  for (const k of ['from', 'to', 'refresh']) {
    const v = cur.get(k);
    if (v) q.set(k, v);
  }
  for (const [k, v] of Object.entries(extra)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
