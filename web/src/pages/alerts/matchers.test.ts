import { describe, expect, it } from 'vitest';
import { formatMatcher, matcher, matches, parseMatcher, validate } from './matchers';

describe('matchers', () => {
  it('parses and formats the four operators', () => {
    for (const s of ['alertname="Down"', 'env!="dev"', 'job=~"api|web"', 'sev!~"info"']) {
      expect(formatMatcher(parseMatcher(s)!)).toBe(s);
    }
    expect(parseMatcher('job=api')).toEqual(matcher('job', '=', 'api'));
    expect(parseMatcher('1bad="x"')).toBeNull();
  });
  it('matches as Alertmanager does: anchored regexps, missing labels are empty', () => {
    const ls = { alertname: 'Down', job: 'api-2' };
    expect(matches([matcher('job', '=~', 'api.*')], ls)).toBe(true);
    expect(matches([matcher('job', '=~', 'api')], ls)).toBe(false);
    expect(matches([matcher('env', '!=', 'prod')], ls)).toBe(true);
    expect(matches([matcher('alertname', '=', 'Down'), matcher('job', '!~', 'api.*')], ls)).toBe(false);
  });
  it('refuses lists that would silence everything or do not parse', () => {
    expect(validate([])).toMatch(/at least one/);
    expect(validate([matcher('job', '=~', '.*')])).toMatch(/every alert/);
    expect(validate([matcher('job', '=~', '(')])).toMatch(/regular expression/);
    expect(validate([matcher('alertname', '=', 'Down')])).toBe('');
  });
});
