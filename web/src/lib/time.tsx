// The time range every page shares: read from the URL (from, to,
// refresh), resolved against one `now` that moves on each refresh.
import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { defaultRange, isRelative, parseDuration, resolveRange, type Range, type RangeSpec } from './timerange';
import { useSearchParams } from './url';

export interface TimeState {
  spec: RangeSpec;
  /** range: resolved at the last refresh; null when the spec is invalid. */
  range: Range | null;
  error: string | null;
  refresh: string;
  /** tick changes on every refresh: effects that load data depend on it. */
  tick: number;
  setSpec(spec: RangeSpec): void;
  setRange(r: Range): void;
  setRefresh(r: string): void;
  reload(): void;
}

const Ctx = createContext<TimeState | null>(null);

/**
 * bootNow is "now" when the application started. The first range is
 * resolved against it, so the early requests (boot.ts), sent before the
 * page rendered, ask for exactly the range the page then asks for.
 */
export const bootNow = Date.now();
let booted = false;

export function specOf(params: URLSearchParams): RangeSpec {
  return { from: params.get('from') || defaultRange.from, to: params.get('to') || defaultRange.to };
}

/** initialRange: the range the page opened at (search) will show first, or null if invalid. */
export function initialRange(params: URLSearchParams): Range | null {
  try {
    return resolveRange(specOf(params), bootNow);
  } catch {
    return null;
  }
}

export function TimeProvider({ children }: { children: ComponentChildren }) {
  const [params, set] = useSearchParams();
  const spec = specOf(params);
  const refresh = params.get('refresh') || 'off';
  const [tick, setTick] = useState(0);

  const { range, error } = useMemo(() => {
    const now = booted ? Date.now() : bootNow;
    booted = true;
    try {
      return { range: resolveRange(spec, now), error: null };
    } catch (e) {
      return { range: null, error: (e as Error).message };
    }
    // tick: a refresh resolves "now" again.
  }, [spec.from, spec.to, tick]);

  useEffect(() => {
    if (refresh === 'off' || !isRelative(spec)) return;
    let ms: number;
    try {
      ms = parseDuration(refresh);
    } catch {
      return;
    }
    const id = setInterval(() => {
      if (document.visibilityState === 'visible') setTick((t) => t + 1);
    }, Math.max(ms, 1000));
    return () => clearInterval(id);
  }, [refresh, spec.from, spec.to]);

  const state: TimeState = {
    spec,
    range,
    error,
    refresh,
    tick,
    setSpec: (s) => set({ from: s.from === defaultRange.from ? null : s.from, to: s.to === defaultRange.to ? null : s.to }),
    setRange: (r) => set({ from: String(Math.round(r.start)), to: String(Math.round(r.end)) }),
    setRefresh: (r) => set({ refresh: r === 'off' ? null : r }),
    reload: () => setTick((t) => t + 1),
  };
  return <Ctx.Provider value={state}>{children}</Ctx.Provider>;
}

export function useTime(): TimeState {
  const s = useContext(Ctx);
  if (!s) throw new Error('useTime outside TimeProvider');
  return s;
}
