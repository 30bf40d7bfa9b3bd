import { InvalidArgumentError } from '@cbtm/core';
import { describe, expect, it } from 'vitest';
import { routingWeights } from './routing-weights.js';

describe('routingWeights', () => {
  it('is exp(−d²/T) renormalized, with d² used as given (not squared again)', () => {
    // d² = [0.1, 0.2], T = 0.1: w ∝ [e^-1, e^-2] → [1/(1+e^-1), e^-1/(1+e^-1)].
    const w = routingWeights([0.1, 0.2], 0.1);
    const e = Math.exp(-1);
    expect(w[0]).toBeCloseTo(1 / (1 + e), 12);
    expect(w[1]).toBeCloseTo(e / (1 + e), 12);
    // The reference code's bug would give exp(−d⁴/T): [e^-0.1, e^-0.4] → 0.574 vs our 0.731.
    const buggy = Math.exp(-0.01 / 0.1) / (Math.exp(-0.01 / 0.1) + Math.exp(-0.04 / 0.1));
    expect(Math.abs(w[0]! - buggy)).toBeGreaterThan(0.1);
  });

  it('matches a hand-computed three-way example', () => {
    // d² = [1, 1 + ln 2 · T, 1 + ln 4 · T] → w ∝ [1, 1/2, 1/4] → [4/7, 2/7, 1/7].
    const T = 0.3;
    const w = routingWeights([1, 1 + Math.LN2 * T, 1 + 2 * Math.LN2 * T], T);
    expect(Array.from(w)).toEqual([4 / 7, 2 / 7, 1 / 7].map((x) => expect.closeTo(x, 12)));
  });

  it('is stable when every exp(−d²/T) would underflow', () => {
    const w = routingWeights([5000, 5000 + 1e-4 * Math.LN2], 1e-4);
    expect(w[0]).toBeCloseTo(2 / 3, 7);
    expect(w[1]).toBeCloseTo(1 / 3, 7);
  });

  it('gives equal weights to equal distances and sums to 1', () => {
    const w = routingWeights([0.7, 0.7, 0.7, 0.7], 0.1);
    expect(Array.from(w)).toEqual([0.25, 0.25, 0.25, 0.25]);
    const v = routingWeights([0.3, 1.9, 0.01, 2.5, 0.8], 0.5);
    expect(v.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
  });

  it('rejects bad temperatures and NaN distances', () => {
    expect(() => routingWeights([1], 0)).toThrow(InvalidArgumentError);
    expect(() => routingWeights([1], Number.NaN)).toThrow(/temperature/);
    expect(() => routingWeights([Number.NaN], 0.1)).toThrow(/NaN/);
  });
});
