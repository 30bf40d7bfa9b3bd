import { describe, expect, it } from 'vitest';
import { logSumExp, mixDistributions, mixLogProb, mixSequence, topLogProbs } from './mixture.js';

describe('mixLogProb', () => {
  it('matches a hand-computed two-expert example', () => {
    // p1(x) = 0.5, p2(x) = 0.1, w = (0.75, 0.25): 0.375 + 0.025 = 0.4.
    expect(mixLogProb([Math.log(0.5), Math.log(0.1)], [0.75, 0.25])).toBeCloseTo(Math.log(0.4), 14);
    // p1(y) = 0.2, p2(y) = 0.6: 0.15 + 0.15 = 0.3.
    expect(mixLogProb([Math.log(0.2), Math.log(0.6)], [0.75, 0.25])).toBeCloseTo(Math.log(0.3), 14);
  });

  it('stays finite where the probabilities underflow', () => {
    // p = e^-1000 and e^-1001, w = 1/2 each: log((e^-1000 + e^-1001)/2).
    const expected = -1000 + Math.log((1 + Math.exp(-1)) / 2);
    expect(mixLogProb([-1000, -1001], [0.5, 0.5])).toBeCloseTo(expected, 10);
    expect(Math.log(0.5 * Math.exp(-1000) + 0.5 * Math.exp(-1001))).toBe(Number.NEGATIVE_INFINITY);
  });

  it('ignores zero-weight experts, even with −∞ log-probabilities', () => {
    expect(mixLogProb([Math.log(0.3), Number.NEGATIVE_INFINITY], [1, 0])).toBeCloseTo(
      Math.log(0.3),
      14,
    );
    expect(mixLogProb([Math.log(0.3), Number.NEGATIVE_INFINITY], [0.5, 0.5])).toBeCloseTo(
      Math.log(0.15),
      14,
    );
  });

  it('rejects mismatched or negative weights', () => {
    expect(() => mixLogProb([0, 0], [1])).toThrow(/weights/);
    expect(() => mixLogProb([0], [-1])).toThrow(/≥ 0/);
  });
});

describe('mixSequence', () => {
  it('mixes each position with its own route', () => {
    const lp = new Map([
      [0, Float64Array.of(Math.log(0.5), Math.log(0.2), Math.log(0.9))],
      [2, Float64Array.of(Math.log(0.1), Math.log(0.6), Math.log(0.3))],
    ]);
    const out = mixSequence(lp, [
      { experts: [0, 2], weights: [0.75, 0.25] },
      { experts: [2, 0], weights: [0.5, 0.5] },
      { experts: [2], weights: [1] },
    ]);
    expect(out[0]).toBeCloseTo(Math.log(0.4), 14);
    expect(out[1]).toBeCloseTo(Math.log(0.4), 14);
    expect(out[2]).toBeCloseTo(Math.log(0.3), 14);
  });

  it('fails loudly when a routed expert was not run', () => {
    expect(() => mixSequence(new Map(), [{ experts: [1], weights: [1] }])).toThrow(/not run/);
  });
});

describe('mixDistributions', () => {
  it('returns a normalized mixture of full distributions', () => {
    const a = Float32Array.from([0.5, 0.25, 0.25], Math.log);
    const b = Float32Array.from([0.1, 0.1, 0.8], Math.log);
    const mixed = mixDistributions([a, b], [0.6, 0.4]);
    const p = Array.from(mixed, Math.exp);
    expect(p[0]).toBeCloseTo(0.34, 6);
    expect(p[1]).toBeCloseTo(0.19, 6);
    expect(p[2]).toBeCloseTo(0.47, 6);
    expect(p.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 6);
  });
});

describe('logSumExp', () => {
  it('handles empty, −∞ and large inputs', () => {
    expect(logSumExp([])).toBe(Number.NEGATIVE_INFINITY);
    expect(logSumExp([Number.NEGATIVE_INFINITY])).toBe(Number.NEGATIVE_INFINITY);
    expect(logSumExp([1000, 1000])).toBeCloseTo(1000 + Math.LN2, 12);
  });
});

describe('topLogProbs', () => {
  it('matches a hand-computed example, ties keeping the lower id first', () => {
    expect(topLogProbs(Float64Array.of(-2, -0.5, -1, -0.5), 2)).toEqual([
      [1, -0.5],
      [3, -0.5],
    ]);
    expect(topLogProbs([-1, -3], 5)).toEqual([
      [0, -1],
      [1, -3],
    ]);
    expect(topLogProbs([-1], 0)).toEqual([]);
    expect(() => topLogProbs([-1], -1)).toThrow(/n ≥ 0/);
  });

  it('agrees with a full sort on random rows with ties', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let trial = 0; trial < 50; trial++) {
      // Values on a coarse grid, so that ties are common.
      const row = Array.from({ length: 40 }, () => -Math.round(rand() * 8) / 2);
      const n = Math.floor(rand() * 12);
      const sorted = row.map((x, v) => [v, x]).sort((a, b) => b[1]! - a[1]! || a[0]! - b[0]!);
      expect(topLogProbs(row, n)).toEqual(sorted.slice(0, n));
    }
  });
});
