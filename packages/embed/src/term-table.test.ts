import { describe, expect, it } from 'vitest';
import { hashRange, TermTable } from './term-table.js';

describe('TermTable', () => {
  it('interns and finds terms by string or by a range of a larger string, across rehashes', () => {
    const t = new TermTable(4);
    const words = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}é𝐀`);
    for (const [i, w] of words.entries()) expect(t.internString(w)).toBe(i);
    expect(t.size).toBe(5000);
    for (const [i, w] of words.entries()) expect(t.findString(w)).toBe(i);
    const text = `xx ${words[1234]} yy`;
    const start = 3;
    const end = 3 + words[1234]!.length;
    expect(t.find(text, start, end, hashRange(text, start, end))).toBe(1234);
    expect(t.find(text, start, end - 1, hashRange(text, start, end - 1))).toBe(-1);
    expect(t.findString('absent')).toBe(-1);
    expect(t.intern(text, start, end, hashRange(text, start, end))).toBe(1234);
    expect(t.terms[1234]).toBe(words[1234]);
  });

  it('keeps the index order of TermTable.from', () => {
    const t = TermTable.from(['b', 'a', 'c']);
    expect([t.findString('a'), t.findString('b'), t.findString('c')]).toEqual([1, 0, 2]);
  });
});
