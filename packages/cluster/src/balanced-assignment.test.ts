import { InvalidArgumentError, Rng } from '@cbtm/core';
import { describe, expect, it } from 'vitest';
import { balancedAssignment, sizeBounds } from './balanced-assignment.js';
import { balancedOptimumByBruteForce, balancedOptimumByHungarian } from './test-utils/hungarian.js';

function randomCosts(rng: Rng, n: number, k: number, kind: 'float' | 'int' | 'dup' | 'signed') {
  const c = new Float64Array(n * k);
  const distinct = Math.max(1, Math.floor(n / 3));
  for (let i = 0; i < n; i++) {
    // 'dup': many identical rows, as duplicate points give identical distances.
    const src = kind === 'dup' ? rng.int(0, distinct - 1) : i;
    for (let j = 0; j < k; j++) {
      if (kind === 'dup') c[i * k + j] = ((src * 7919 + j * 104729) % 23) + 1;
      else if (kind === 'int') c[i * k + j] = rng.int(0, 9);
      else if (kind === 'signed') c[i * k + j] = rng.float() * 20 - 10;
      else c[i * k + j] = rng.float() * 10;
    }
  }
  return c;
}

function checkBalanced(
  sizes: ArrayLike<number>,
  assignments: ArrayLike<number>,
  n: number,
  k: number,
) {
  const lower = Math.floor(n / k);
  const extra = n - lower * k;
  const counted = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) counted[assignments[i]!]! += 1;
  expect(Array.from(sizes)).toEqual(counted);
  for (const s of counted) expect(s === lower || s === lower + 1).toBe(true);
  expect(counted.filter((s) => s === lower + 1).length).toBe(extra);
}

/** LP duality: argmin under the prices and the price order of big/small clusters prove optimality. */
function checkCertificate(
  costs: ArrayLike<number>,
  n: number,
  k: number,
  r: { assignments: Int32Array; prices: Float64Array; sizes: Int32Array },
  lower = Math.floor(n / k),
  upper = Math.ceil(n / k),
) {
  const tol = 1e-7;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const a = r.assignments[i]!;
    const mine = costs[i * k + a]! - r.prices[a]!;
    for (let j = 0; j < k; j++) worst = Math.max(worst, mine - (costs[i * k + j]! - r.prices[j]!));
  }
  expect(worst).toBeLessThanOrEqual(tol);
  // A cluster above its lower bound could give a point away; one below its upper bound could
  // take one. Neither trade may pay: prices of the first kind ≤ prices of the second.
  let maxBig = Number.NEGATIVE_INFINITY;
  let minSmall = Number.POSITIVE_INFINITY;
  for (let j = 0; j < k; j++) {
    if (r.sizes[j]! > lower) maxBig = Math.max(maxBig, r.prices[j]!);
    if (r.sizes[j]! < upper) minSmall = Math.min(minSmall, r.prices[j]!);
  }
  expect(maxBig).toBeLessThanOrEqual(minSmall + tol);
}

describe('balancedAssignment', () => {
  it('solves the documented example', () => {
    const costs = Float64Array.from([0, 5, 0, 4, 0, 9]);
    const r = balancedAssignment(costs, 3, 2);
    expect(Array.from(r.assignments)).toEqual([0, 1, 0]);
    expect(r.cost).toBe(4);
    expect(Array.from(r.sizes)).toEqual([2, 1]);
  });

  it('chooses optimally which clusters get the extra point', () => {
    // n = 5, k = 2: one cluster holds 3. Cluster 1 is far cheaper for everyone, so it must be
    // the big one, not cluster 0 (the reference dumps leftovers into cluster 0).
    const costs = Float64Array.from([5, 0, 5, 0, 5, 0, 5, 0, 5, 0]);
    const r = balancedAssignment(costs, 5, 2);
    expect(Array.from(r.sizes)).toEqual([2, 3]);
    expect(r.cost).toBe(10);
  });

  it('matches brute force on tiny instances', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 150; trial++) {
      const n = rng.int(1, 7);
      const k = rng.int(1, 4);
      const kind = (['float', 'int', 'dup'] as const)[trial % 3]!;
      const costs = randomCosts(rng, n, k, kind);
      const r = balancedAssignment(costs, n, k);
      checkBalanced(r.sizes, r.assignments, n, k);
      expect(r.cost).toBeCloseTo(balancedOptimumByBruteForce(costs, n, k), 9);
    }
  });

  it('matches the Hungarian method on an expanded cost matrix', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 120; trial++) {
      const k = rng.int(1, 6);
      // Cover N < k, N < 2k, N divisible by k and not.
      const n = trial % 4 === 0 ? rng.int(1, 2 * k) : rng.int(1, 36);
      const kind = (['float', 'int', 'dup', 'signed'] as const)[trial % 4]!;
      const costs = randomCosts(rng, n, k, kind);
      const r = balancedAssignment(costs, n, k);
      checkBalanced(r.sizes, r.assignments, n, k);
      checkCertificate(costs, n, k, r);
      expect(r.cost).toBeCloseTo(balancedOptimumByHungarian(costs, n, k), 7);
    }
  });

  it('holds balance and the optimality certificate on larger random instances', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 12; trial++) {
      const k = rng.int(2, 40);
      const n = rng.int(1, 1500);
      const costs = randomCosts(rng, n, k, trial % 2 === 0 ? 'float' : 'dup');
      const r = balancedAssignment(costs, n, k);
      checkBalanced(r.sizes, r.assignments, n, k);
      checkCertificate(costs, n, k, r);
    }
  });

  it('gives the same optimal cost from any warm-start prices', () => {
    const rng = new Rng(5);
    const n = 200;
    const k = 7;
    const costs = randomCosts(rng, n, k, 'float');
    const cold = balancedAssignment(costs, n, k);
    const warm = balancedAssignment(costs, n, k, { prices: cold.prices });
    const wild = balancedAssignment(costs, n, k, {
      prices: Array.from({ length: k }, (_, j) => 50 * j),
    });
    expect(warm.cost).toBeCloseTo(cold.cost, 9);
    expect(wild.cost).toBeCloseTo(cold.cost, 9);
    // Optimal prices leave only boundary ties to resolve.
    expect(warm.stats.augmentations).toBeLessThanOrEqual(k);
  });

  it('reads rows with a stride and accepts Float32 costs', () => {
    const rng = new Rng(9);
    const n = 23;
    const k = 5;
    const dense = randomCosts(rng, n, k, 'float');
    const strided = new Float32Array(n * 8);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) strided[i * 8 + j] = dense[i * k + j]!;
    const asF32 = new Float64Array(n * k);
    for (let i = 0; i < n * k; i++) asF32[i] = Math.fround(dense[i]!);
    const r = balancedAssignment(strided, n, k, { stride: 8 });
    expect(r.cost).toBeCloseTo(balancedOptimumByHungarian(asF32, n, k), 5);
  });

  it('handles the empty and single-cluster cases', () => {
    expect(balancedAssignment(new Float64Array(0), 0, 3).cost).toBe(0);
    const r = balancedAssignment(Float64Array.from([1, 2, 3]), 3, 1);
    expect(Array.from(r.assignments)).toEqual([0, 0, 0]);
    expect(r.cost).toBe(6);
  });

  it('keeps sizes within [minSize, maxSize] at the optimal cost (hand-computed)', () => {
    // Everyone prefers cluster 0; bounds [1, 3] let it keep 3 of the 4 points. The cheapest
    // point to send away is point 2 (cost 1 − 0 = 1 extra): total 0 + 0 + 1 + 0 = 1.
    const costs = Float64Array.from([0, 5, 0, 4, 0, 1, 0, 9]);
    const r = balancedAssignment(costs, 4, 2, { minSize: 1, maxSize: 3 });
    expect(Array.from(r.assignments)).toEqual([0, 0, 1, 0]);
    expect(Array.from(r.sizes)).toEqual([3, 1]);
    expect(r.cost).toBe(1);
    // Exact balance must move two points: 1 + 4 = 5.
    expect(balancedAssignment(costs, 4, 2).cost).toBe(5);
  });

  it('matches brute force and the Hungarian method under size bounds', () => {
    const rng = new Rng(21);
    for (let trial = 0; trial < 160; trial++) {
      const k = rng.int(1, 5);
      const n = rng.int(1, trial < 60 ? 7 : 30);
      const lower = rng.int(0, Math.floor(n / k));
      const upper = rng.int(Math.ceil(n / k), n);
      const kind = (['float', 'int', 'dup', 'signed'] as const)[trial % 4]!;
      const costs = randomCosts(rng, n, k, kind);
      const r = balancedAssignment(costs, n, k, { minSize: lower, maxSize: upper });
      const counted = new Array<number>(k).fill(0);
      for (const a of r.assignments) counted[a]! += 1;
      expect(Array.from(r.sizes)).toEqual(counted);
      for (const size of counted) {
        expect(size).toBeGreaterThanOrEqual(lower);
        expect(size).toBeLessThanOrEqual(upper);
      }
      checkCertificate(costs, n, k, r, lower, upper);
      const optimum =
        trial < 60
          ? balancedOptimumByBruteForce(costs, n, k, lower, upper)
          : balancedOptimumByHungarian(costs, n, k, lower, upper);
      expect(r.cost).toBeCloseTo(optimum, 7);
    }
  });

  it('holds the bounds and the certificate with a slack on larger instances', () => {
    const rng = new Rng(13);
    for (let trial = 0; trial < 10; trial++) {
      const k = rng.int(2, 40);
      const n = rng.int(k, 2000);
      const { minSize, maxSize } = sizeBounds(n, k, [0.05, 0.1, 0.3, 1][trial % 4]!);
      const costs = randomCosts(rng, n, k, trial % 2 === 0 ? 'float' : 'dup');
      const r = balancedAssignment(costs, n, k, { minSize, maxSize });
      for (const size of r.sizes) {
        expect(size).toBeGreaterThanOrEqual(minSize);
        expect(size).toBeLessThanOrEqual(maxSize);
      }
      checkCertificate(costs, n, k, r, minSize, maxSize);
    }
  });

  it('computes the size bounds of a slack', () => {
    expect(sizeBounds(6209, 7, 0)).toEqual({ minSize: 887, maxSize: 887 });
    expect(sizeBounds(6210, 7, 0)).toEqual({ minSize: 887, maxSize: 888 });
    // 0.9 × 887 = 798.3 and 1.1 × 887 = 975.7.
    expect(sizeBounds(6209, 7, 0.1)).toEqual({ minSize: 798, maxSize: 976 });
    // 1.1 × 1000 is 1100.0000000000002 in floating point; the bound stays 1100.
    expect(sizeBounds(8000, 8, 0.1)).toEqual({ minSize: 900, maxSize: 1100 });
    expect(sizeBounds(10, 3, 5)).toEqual({ minSize: 0, maxSize: 10 });
    expect(() => sizeBounds(10, 3, -0.1)).toThrow(InvalidArgumentError);
    expect(() => sizeBounds(10, 3, Number.NaN)).toThrow(/slack/);
    expect(() => sizeBounds(10, 0, 0.1)).toThrow(/k ≥ 1/);
  });

  it('rejects bad arguments with InvalidArgumentError', () => {
    expect(() => balancedAssignment(new Float64Array(6), 3, 2, { minSize: 2 })).toThrow(
      /k × minSize ≤ n ≤ k × maxSize/,
    );
    expect(() => balancedAssignment(new Float64Array(6), 3, 2, { maxSize: 1 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => balancedAssignment(new Float64Array(6), 3, 2, { minSize: 0.5 })).toThrow(
      /minSize must be an integer/,
    );
    expect(() => balancedAssignment(new Float64Array(4), 2, 0)).toThrow(InvalidArgumentError);
    expect(() => balancedAssignment(new Float64Array(3), 2, 2)).toThrow(/n × stride/);
    expect(() => balancedAssignment(Float64Array.from([0, Number.NaN]), 1, 2)).toThrow(/finite/);
    expect(() => balancedAssignment(new Float64Array(4), 2, 2, { prices: [1] })).toThrow(/prices/);
  });
});
