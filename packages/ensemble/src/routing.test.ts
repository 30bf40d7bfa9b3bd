import { ExactRouter } from '@cbtm/route/node';
import { describe, expect, it } from 'vitest';
import { routeOrPrior } from './routing.js';

// Three centroids in 2-D with different norms: ‖c‖² = 0.25, 1, 0.64.
const router = new ExactRouter(Float32Array.of(0.5, 0, 0, 1, -0.8, 0), 3, 2);

describe('routeOrPrior', () => {
  it('gives an empty context (the zero vector) equal weights instead of centroid-norm weights', () => {
    const plain = router.route([0, 0], { temperature: 0.1 });
    // Plain routing: exp(−‖c_j‖²/T) favours the smallest centroid, 0.25 vs 0.64 vs 1.
    const z = Math.exp(-0.25 / 0.1) + Math.exp(-0.64 / 0.1) + Math.exp(-1 / 0.1);
    expect(plain.experts[0]).toBe(0);
    expect(plain.weights[0]).toBeCloseTo(Math.exp(-0.25 / 0.1) / z, 6);
    const prior = routeOrPrior(router, [0, 0], { temperature: 0.1 });
    expect(prior.experts).toEqual(plain.experts);
    expect(Array.from(prior.weights)).toEqual([1 / 3, 1 / 3, 1 / 3].map(Math.fround));
  });

  it('keeps top-k: the selected experts share the weight equally', () => {
    const prior = routeOrPrior(router, [0, 0], { topK: 2, temperature: 0.1 });
    expect(prior.experts).toEqual([0, 2]);
    expect(Array.from(prior.weights)).toEqual([0.5, 0.5]);
  });

  it('routes a non-empty context by distance, exp(−d²/T)', () => {
    const r = routeOrPrior(router, [0, 0.5], { temperature: 0.1 });
    // d² = 0.25+0.25 = 0.5, 0.25, 0.64+0.25 = 0.89.
    const e = [0.5, 0.25, 0.89].map((d) => Math.exp(-d / 0.1));
    const z = e[0]! + e[1]! + e[2]!;
    expect(r.experts).toEqual([1, 0, 2]);
    expect(r.weights[0]).toBeCloseTo(e[1]! / z, 6);
    expect(r.weights[1]).toBeCloseTo(e[0]! / z, 6);
    expect(r.weights[2]).toBeCloseTo(e[2]! / z, 6);
  });
});
