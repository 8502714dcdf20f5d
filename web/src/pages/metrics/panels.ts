// The metrics page's state as the URL holds it (g0.expr, g0.tab,
// g0.stacked, g0.exemplars, g0.step_input, as Prometheus' graph page), and
// the step each graph asks for. Shared by the page and by boot.ts, which
// sends the page's queries before the page's code has loaded.
import { parseDuration, stepFor, type Range } from '../../lib/timerange';

export interface PanelState {
  expr: string;
  tab: 'graph' | 'table';
  stacked: boolean;
  exemplars: boolean;
  /** step: the resolution as typed ("15s"); '' picks one for the width. */
  step: string;
}

export function panelsOf(q: URLSearchParams): PanelState[] {
  const out: PanelState[] = [];
  for (let i = 0; i < 20; i++) {
    const expr = q.get(`g${i}.expr`);
    if (expr === null && i > 0) break;
    out.push({
      expr: expr ?? '',
      tab: q.get(`g${i}.tab`) === 'table' ? 'table' : 'graph',
      stacked: q.get(`g${i}.stacked`) === '1',
      exemplars: q.get(`g${i}.exemplars`) === '1',
      step: q.get(`g${i}.step_input`) ?? '',
    });
  }
  return out;
}

/** panelStep: the graph's step (ms) over the range, or why the typed one cannot be used. */
export function panelStep(state: PanelState, range: Range | null): { step: number; stepErr: string } {
  let step = range ? stepFor(range) : 0;
  let stepErr = '';
  if (state.step) {
    try {
      step = parseDuration(state.step);
      if (range && (range.end - range.start) / step > 11000) stepErr = `step ${state.step} gives more than 11,000 points over this range (Prometheus's limit)`;
    } catch (e) {
      stepErr = (e as Error).message;
    }
  }
  return { step, stepErr };
}
