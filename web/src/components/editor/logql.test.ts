import { describe, expect, it } from 'vitest';
import { completionContext } from './logql';

describe('completionContext', () => {
  it('knows label names, label values, pipes and functions', () => {
    expect(completionContext('{')).toEqual({ kind: 'labelName', prefix: '' });
    expect(completionContext('{job="a", ser')).toEqual({ kind: 'labelName', prefix: 'ser' });
    expect(completionContext('{job=~"ap')).toEqual({ kind: 'labelValue', prefix: 'ap', label: 'job' });
    expect(completionContext('{job="a"} | js')).toEqual({ kind: 'pipe', prefix: 'js' });
    expect(completionContext('count_ov')).toEqual({ kind: 'function', prefix: 'count_ov' });
    expect(completionContext('{job="a"} |= "x"')).toBeNull();
  });
});
