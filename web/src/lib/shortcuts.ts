// Keyboard shortcuts, one table for the handler and the help dialog.
export interface Shortcut {
  keys: string;
  what: string;
}

export const shortcuts: Shortcut[] = [
  { keys: 'g h', what: 'go to Home' },
  { keys: 'g m', what: 'go to Metrics' },
  { keys: 'g t', what: 'go to Traces' },
  { keys: 'g l', what: 'go to Logs' },
  { keys: 'g a', what: 'go to Alerting' },
  { keys: 'g i', what: 'go to Incidents' },
  { keys: 'g o', what: 'go to On-call' },
  { keys: 'g u', what: 'go to Uptime' },
  { keys: 't', what: 'open the time range picker' },
  { keys: 'r', what: 'refresh now' },
  { keys: '[ / ]', what: 'move the time range back / forward by half its width' },
  { keys: '- / +', what: 'zoom the time range out / in' },
  { keys: 'Enter', what: 'run the query (in an editor; Shift+Enter for a new line)' },
  { keys: 'd', what: 'toggle dark theme' },
  { keys: '?', what: 'show this help' },
];

export const goKeys: Record<string, string> = { h: '/', m: '/query', t: '/traces', l: '/logs', a: '/alerting', i: '/incidents', o: '/oncall', u: '/uptime' };

/** typing: the key goes to a text field, not to the shortcuts. */
export function typing(e: KeyboardEvent): boolean {
  const el = e.target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName) || !!el.closest?.('.cm-editor');
}
