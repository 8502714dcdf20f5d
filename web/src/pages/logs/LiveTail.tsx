// Live tail over /loki/api/v1/tail: new lines on top, pause keeps them
// coming into a buffer, the rate is lines per second over the last 10 s.
import { useEffect, useRef, useState } from 'preact/hooks';
import * as loki from '../../api/loki';
import { ErrorBox } from '../../components/Status';
import { fmtNum } from '../../lib/format';
import { LogList } from './LogList';
import { linesOf, type Line } from './model';

const MAX = 10_000;

export function LiveTail({ query }: { query: string }) {
  const [lines, setLines] = useState<Line[]>([]);
  const [paused, setPaused] = useState(false);
  const [state, setState] = useState<'connecting' | 'live' | 'closed'>('connecting');
  const [err, setErr] = useState<string | null>(null);
  const [rate, setRate] = useState(0);
  const [dropped, setDropped] = useState(0);
  const buf = useRef<Line[]>([]);
  const pausedRef = useRef(false);
  pausedRef.current = paused;
  const stamps = useRef<number[]>([]);

  useEffect(() => {
    setLines([]);
    buf.current = [];
    setErr(null);
    setState('connecting');
    let seq = 0;
    let ws: WebSocket;
    try {
      ws = new WebSocket(loki.tailURL(query, Date.now() - 5000));
    } catch (e) {
      setErr((e as Error).message);
      return;
    }
    ws.onopen = () => setState('live');
    ws.onmessage = (ev) => {
      let msg: loki.TailMessage;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg.dropped_entries?.length) setDropped((d) => d + msg.dropped_entries!.length);
      const ls = linesOf(msg.streams ?? [], seq);
      seq += ls.length;
      const now = Date.now();
      for (let i = 0; i < ls.length; i++) stamps.current.push(now);
      buf.current = ls.concat(buf.current).slice(0, MAX);
      if (!pausedRef.current) setLines(buf.current);
    };
    ws.onerror = () => setErr('the live tail connection failed: check the query and that Vigil is reachable');
    ws.onclose = (ev) => {
      setState('closed');
      if (ev.code !== 1000 && ev.code !== 1005 && ev.reason) setErr(ev.reason);
    };
    const id = setInterval(() => {
      const cut = Date.now() - 10_000;
      stamps.current = stamps.current.filter((t) => t >= cut);
      setRate(stamps.current.length / 10);
    }, 1000);
    return () => {
      clearInterval(id);
      ws.close(1000);
    };
  }, [query]);

  useEffect(() => {
    if (!paused) setLines(buf.current);
  }, [paused]);

  const waiting = buf.current.length - lines.length;
  return (
    <div>
      <div class="tail-bar" role="status">
        <span class={`live-dot${paused || state !== 'live' ? ' paused' : ''}`} aria-hidden="true" />
        <span>{state === 'live' ? (paused ? 'paused' : 'live') : state}</span>
        <span data-testid="tail-rate">{fmtNum(rate)} lines/s</span>
        <span>{lines.length} shown</span>
        {paused && waiting > 0 && <span>{waiting} new while paused</span>}
        {dropped > 0 && <span class="warning">{dropped} dropped by the server (too fast)</span>}
        <button class="btn small" onClick={() => setPaused(!paused)} aria-pressed={paused}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button
          class="btn small"
          onClick={() => {
            buf.current = [];
            setLines([]);
          }}
        >
          Clear
        </button>
      </div>
      <ErrorBox error={err} />
      {lines.length === 0 && !err && <p class="hint">Waiting for lines matching <code>{query}</code>…</p>}
      {lines.length > 0 && <LogList lines={lines} />}
    </div>
  );
}
