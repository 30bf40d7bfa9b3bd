import { Rng } from '@cbtm/core';
import { describe, expect, it } from 'vitest';
import { sampleToken } from './sampling.js';

const lp = Float64Array.from([0.1, 0.4, 0.3, 0.2], Math.log);

function frequencies(opts: Parameters<typeof sampleToken>[1], n: number, seed = 1): number[] {
  const rng = new Rng(seed);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) counts[sampleToken(lp, opts, rng)]!++;
  return counts.map((c) => c / n);
}

describe('sampleToken', () => {
  it('is greedy at temperature 0 and with topK = 1', () => {
    expect(sampleToken(lp, { temperature: 0 }, new Rng(1))).toBe(1);
    expect(frequencies({ topK: 1 }, 200)).toEqual([0, 1, 0, 0]);
  });

  it('samples in proportion to the probabilities', () => {
    const f = frequencies({}, 20_000);
    // Binomial standard error at n = 20,000 is at most 0.0036; allow 4 SE.
    [0.1, 0.4, 0.3, 0.2].forEach((p, i) => {
      expect(Math.abs(f[i]! - p)).toBeLessThan(0.015);
    });
  });

  it('keeps only the top-k and the top-p nucleus', () => {
    const k2 = frequencies({ topK: 2 }, 20_000);
    expect(k2[0]).toBe(0);
    expect(k2[3]).toBe(0);
    expect(Math.abs(k2[1]! - 4 / 7)).toBeLessThan(0.015);
    // Sorted: 0.4, 0.3 (cum 0.7 ≥ 0.6) → nucleus {1, 2}.
    const p6 = frequencies({ topP: 0.6 }, 20_000);
    expect(p6[0]).toBe(0);
    expect(p6[3]).toBe(0);
    expect(Math.abs(p6[2]! - 3 / 7)).toBeLessThan(0.015);
  });

  it('sharpens with a low temperature', () => {
    // T = 0.5 squares the probabilities: 0.16/(0.01+0.16+0.09+0.04) = 0.5333.
    const f = frequencies({ temperature: 0.5 }, 20_000);
    expect(Math.abs(f[1]! - 0.16 / 0.3)).toBeLessThan(0.015);
  });

  it('gives the same draws for the same seed', () => {
    const a = frequencies({ topP: 0.9 }, 50, 7);
    const b = frequencies({ topP: 0.9 }, 50, 7);
    expect(a).toEqual(b);
  });

  it('validates its options', () => {
    expect(() => sampleToken(lp, { topP: 0 }, new Rng(1))).toThrow(/topP/);
    expect(() => sampleToken(lp, { temperature: -1 }, new Rng(1))).toThrow(/temperature/);
    expect(() => sampleToken(lp, { topK: 1.5 }, new Rng(1))).toThrow(/topK/);
  });
});
