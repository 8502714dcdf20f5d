import { describe, expect, it } from 'vitest';
import { badTags, parseTags } from './model';

describe('tags', () => {
  it('reads key=value pairs, quoted values with spaces', () => {
    expect(parseTags('http.status_code=500 error=true msg="a b"')).toEqual({ 'http.status_code': '500', error: 'true', msg: 'a b' });
  });
  it('names the words that are not key=value', () => {
    expect(badTags('error=true bogus msg="a b" =x')).toEqual(['bogus', '=x']);
    expect(badTags('  ')).toEqual([]);
  });
});
