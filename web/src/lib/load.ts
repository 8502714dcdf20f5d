// useLoad runs an API call when its inputs change, cancels the previous
// one, and keeps the last good data while a new request is in flight.
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Loaded<T> {
  data: T | undefined;
  error: Error | null;
  loading: boolean;
}

export function useLoad<T>(fn: ((signal: AbortSignal) => Promise<T>) | null, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: undefined, error: null, loading: !!fn });
  const seq = useRef(0);
  useEffect(() => {
    if (!fn) {
      setState({ data: undefined, error: null, loading: false });
      return;
    }
    const ac = new AbortController();
    const n = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    fn(ac.signal).then(
      (data) => n === seq.current && setState({ data, error: null, loading: false }),
      (error: Error) => {
        if (error.name === 'AbortError' || n !== seq.current) return;
        setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
    return () => ac.abort();
  }, deps);
  return state;
}
