import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { expertLimit, parseTopK, parseTopKList } from './top-k-flag.js';

describe('the --top-k parser', () => {
  it('reads integers ≥ 1 and "all"', () => {
    expect(parseTopK('1')).toBe(1);
    expect(parseTopK(' 12 ')).toBe(12);
    expect(parseTopK('all')).toBe('all');
  });

  it.each(['0', '-1', '1.5', '2e1', '', 'ALL', 'two', '99999999999999999999'])(
    'refuses %j with the accepted forms in the message',
    (bad) => {
      expect(() => parseTopK(bad)).toThrow(InvalidArgumentError);
      expect(() => parseTopK(bad)).toThrow(`expected an integer ≥ 1 or "all", got "${bad}".`);
    },
  );

  it('reads lists, keeping each setting once in order', () => {
    expect(parseTopKList('1,2,all')).toEqual([1, 2, 'all']);
    expect(parseTopKList('all, 4 ,4,1')).toEqual(['all', 4, 1]);
    expect(() => parseTopKList('1,,2')).toThrow('got "1,,2"');
    expect(() => parseTopKList('1,0')).toThrow('such as 1,2,all');
  });

  it('maps "all" to no limit', () => {
    expect(expertLimit('all')).toBeUndefined();
    expect(expertLimit(undefined)).toBeUndefined();
    expect(expertLimit(3)).toBe(3);
  });
});
