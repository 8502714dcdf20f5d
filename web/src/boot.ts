// Early requests: the first thing the application does is send the data
// request of the page being opened, so it runs on the server while the
// browser loads and renders the page's code (a page's own effects run
// only after its chunk has loaded and it has painted once, 100-200 ms
// later). The page's identical request then takes that answer
// (api/http.ts, startEarly). The parameters come from the same functions
// the pages use, so the requests are the same; a miss only costs a
// second request.
import * as jaeger from './api/jaeger';
import { prefix, startEarly } from './api/http';
import * as prom from './api/prometheus';
import { initialRange } from './lib/time';
import { panelsOf, panelStep } from './pages/metrics/panels';
import { linesQuery, logsStateOf } from './pages/logs/requests';
import * as loki from './api/loki';

/** earlyCalls: the API calls the page at path (without the prefix) makes first. */
export function earlyCalls(path: string, search: string): (() => Promise<unknown>)[] {
  const q = new URLSearchParams(search);
  const range = initialRange(q);
  const calls: (() => Promise<unknown>)[] = [];
  const trace = /^\/traces\/([^/]+)$/.exec(path);
  if (trace) {
    const id = decodeURIComponent(trace[1]);
    calls.push(() => jaeger.trace(id));
  } else if (path === '/query' && range) {
    for (const p of panelsOf(q)) {
      const expr = p.expr.trim();
      if (!expr) continue;
      if (p.tab === 'table') {
        calls.push(() => prom.query(expr, range.end));
        continue;
      }
      const { step, stepErr } = panelStep(p, range);
      if (stepErr) continue;
      calls.push(() => prom.queryRange(expr, range.start, range.end, step));
      if (p.exemplars) calls.push(() => prom.exemplars(expr, range.start, range.end));
    }
  } else if (path === '/logs' && range) {
    const s = logsStateOf(q);
    if (s.query && !s.live && !s.trace) {
      // Not the volume: the page asks for it after the lines (LogsPage).
      calls.push(() => linesQuery(s, range));
    }
    calls.push(() => loki.labels(range.start, range.end));
  }
  return calls;
}

export function boot() {
  if (typeof location === 'undefined' || !location.pathname.startsWith(prefix)) return;
  startEarly(earlyCalls(location.pathname.slice(prefix.length) || '/', location.search));
}
