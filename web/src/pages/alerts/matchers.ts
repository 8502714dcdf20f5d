// Matchers as people write them (alertname="X", env=~"prod|stage") and as
// the Alertmanager API takes them.
import type { Matcher } from '../../api/alertmanager';

export const ops = ['=', '!=', '=~', '!~'] as const;
export type Op = (typeof ops)[number];

export function opOf(m: Matcher): Op {
  return m.isRegex ? (m.isEqual === false ? '!~' : '=~') : m.isEqual === false ? '!=' : '=';
}

export function matcher(name: string, op: Op, value: string): Matcher {
  return { name, value, isRegex: op.endsWith('~'), isEqual: !op.startsWith('!') };
}

/** parseMatcher reads name="value" (quotes optional); null when it is not one. */
export function parseMatcher(s: string): Matcher | null {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/.exec(s);
  if (!m) return null;
  let v = m[3];
  if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) {
    try {
      v = JSON.parse(v);
    } catch {
      v = v.slice(1, -1);
    }
  }
  return matcher(m[1], m[2] as Op, v);
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${opOf(m)}${JSON.stringify(m.value)}`;
}

/** matches: does a label set satisfy every matcher (Alertmanager's semantics, anchored regexps)? */
export function matches(ms: Matcher[], labels: Record<string, string>): boolean {
  return ms.every((m) => {
    const v = labels[m.name] ?? '';
    let ok: boolean;
    if (m.isRegex) {
      try {
        ok = new RegExp(`^(?:${m.value})$`).test(v);
      } catch {
        return false;
      }
    } else ok = v === m.value;
    return m.isEqual === false ? !ok : ok;
  });
}

/** validate names the first problem with a matcher list, or ''. */
export function validate(ms: Matcher[]): string {
  if (ms.length === 0) return 'a silence needs at least one matcher';
  for (const m of ms) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(m.name)) return `invalid label name "${m.name}": letters, digits and _ , not starting with a digit`;
    if (m.isRegex) {
      try {
        new RegExp(m.value);
      } catch (e) {
        return `invalid regular expression for ${m.name}: ${(e as Error).message}`;
      }
    }
  }
  if (ms.every((m) => matches([m], {}))) return 'every matcher matches an empty label set: the silence would silence every alert';
  return '';
}
