import { describe, expect, it } from 'vitest';
import { numpyArgsort } from './numpy-argsort.js';
import { loadSklearnFixture } from './test-utils/sklearn-fixture.js';

describe('numpyArgsort', () => {
  it("reproduces numpy's quicksort tie order", () => {
    for (const c of loadSklearnFixture().argsort) {
      expect(Array.from(numpyArgsort(Float64Array.from(c.values)))).toEqual(c.order);
    }
  });

  it('sorts ascending on adversarial (organ-pipe) input', () => {
    const n = 5000;
    const values = Float64Array.from({ length: n }, (_, i) => (i < n / 2 ? i : n - i) % 97);
    const order = numpyArgsort(values);
    expect(new Set(order).size).toBe(n);
    for (let i = 1; i < n; i++)
      expect(values[order[i]!]!).toBeGreaterThanOrEqual(values[order[i - 1]!]!);
  });
});
