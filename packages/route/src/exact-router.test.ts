import { InvalidArgumentError } from '@cbtm/core';
import { describe, expect, it } from 'vitest';
import { ExactRouter } from './exact-router.js';
import { bruteForce, randomUnitRows } from './test-utils/random.js';

describe('ExactRouter', () => {
  it('routes a hand-computed two-centroid example', () => {
    // c0 = (0,0), c1 = (1,0); q = (0.25, 0): d² = [0.0625, 0.5625]; T = 0.1.
    const router = new ExactRouter(new Float32Array([0, 0, 1, 0]), 2, 2);
    const r = router.route(new Float32Array([0.25, 0]));
    expect(r.experts).toEqual([0, 1]);
    expect(Array.from(r.distances)).toEqual([0.0625, 0.5625]);
    const w1 = Math.exp(-0.5 / 0.1) / (1 + Math.exp(-0.5 / 0.1));
    expect(r.weights[0]).toBeCloseTo(1 - w1, 6);
    expect(r.weights[1]).toBeCloseTo(w1, 6);
    const top1 = router.route(new Float32Array([0.9, 0]), { topK: 1 });
    expect(top1.experts).toEqual([1]);
    expect(Array.from(top1.weights)).toEqual([1]);
  });

  it('defaults to all experts at T = 0.1 and matches brute force on random queries', () => {
    const k = 37;
    const d = 12;
    const centroids = randomUnitRows(k, d, 1);
    const queries = randomUnitRows(500, d, 2);
    const router = new ExactRouter(centroids, k, d);
    for (let q = 0; q < 500; q++) {
      const query = queries.subarray(q * d, q * d + d);
      const ref = bruteForce(query, centroids, k, d);
      const r = router.route(query);
      expect(r.experts).toEqual(ref.map((x) => x.index));
      const min = ref[0]!.d2;
      const z = ref.reduce((s, x) => s + Math.exp(-(x.d2 - min) / 0.1), 0);
      ref.forEach((x, i) => {
        expect(r.distances[i]).toBeCloseTo(x.d2, 5);
        expect(r.weights[i]).toBeCloseTo(Math.exp(-(x.d2 - min) / 0.1) / z, 6);
      });
      const r3 = router.route(query, { topK: 3, temperature: 0.5 });
      expect(r3.experts).toEqual(ref.slice(0, 3).map((x) => x.index));
    }
  });

  it('clamps topK above k to all and validates its inputs', () => {
    const router = new ExactRouter(new Float32Array([0, 1, 2]), 3, 1);
    expect(router.route([1.2], { topK: 99 }).experts).toEqual([1, 2, 0]);
    expect(() => router.route([1, 2])).toThrow(/dimensions/);
    expect(() => router.route([Number.NaN])).toThrow(/non-finite/);
    expect(() => router.route([1], { topK: 0 })).toThrow(InvalidArgumentError);
    expect(() => router.route([1], { topK: 1.5 })).toThrow(/topK/);
    expect(() => router.route([1], { temperature: -1 })).toThrow(/temperature/);
    expect(() => new ExactRouter(new Float32Array(5), 2, 3)).toThrow(/k × dimension/);
  });

  it('copies its centroids', () => {
    const c = new Float32Array([0, 1]);
    const router = new ExactRouter(c, 2, 1);
    c[0] = 5;
    expect(Array.from(router.centroids())).toEqual([0, 1]);
  });
});
