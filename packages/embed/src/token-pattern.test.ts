import { describe, expect, it } from 'vitest';
import { loadSklearnFixture } from './test-utils/sklearn-fixture.js';
import { compileTokenPattern } from './token-pattern.js';

function findall(pattern: string, text: string): string[] {
  const { regex, group } = compileTokenPattern(pattern);
  return Array.from(text.matchAll(regex), (m) => m[group] ?? '');
}

describe('compileTokenPattern', () => {
  it("matches Python's re.findall on Unicode text", () => {
    const cases = loadSklearnFixture().regex;
    expect(cases.length).toBeGreaterThan(40);
    for (const c of cases)
      expect(findall(c.pattern, c.text), `${c.pattern} on ${JSON.stringify(c.text)}`).toEqual(
        c.findall,
      );
  });

  it('recognizes word-run patterns for the fast scanner', () => {
    expect(compileTokenPattern('(?u)\\b\\w\\w+\\b').wordRunMinLength).toBe(2);
    expect(compileTokenPattern('\\b\\w+\\b').wordRunMinLength).toBe(1);
    expect(compileTokenPattern('\\w\\w\\w+').wordRunMinLength).toBe(3);
    expect(compileTokenPattern('\\b\\w{4,}\\b').wordRunMinLength).toBe(4);
    expect(compileTokenPattern('\\b\\w\\w\\b').wordRunMinLength).toBeNull();
    expect(compileTokenPattern('\\w*').wordRunMinLength).toBeNull();
    expect(compileTokenPattern('(?a)\\b\\w\\w+\\b').wordRunMinLength).toBeNull();
  });

  it('rejects what it cannot translate, and more than one group, with a clear message', () => {
    expect(() => compileTokenPattern('(\\w)(\\w)')).toThrow(/2 capturing groups/);
    expect(() => compileTokenPattern('(?x)\\w+')).toThrow(/inline flag \(\?x\)/);
    expect(() => compileTokenPattern('\\N{DASH}')).toThrow(/escape \\N/);
    expect(() => compileTokenPattern('[\\W\\S]')).toThrow(/more than one/);
    expect(() => compileTokenPattern('[abc')).toThrow(/unterminated/);
  });
});
