import { describe, expect, it } from 'vitest';
import { RandomClusters, randomClusters } from './random-clusters.js';

describe('randomClusters', () => {
  it('is balanced after every block of k documents and reproducible per seed', () => {
    const a = randomClusters(6, 42).assignments(6 * 50 + 4);
    for (let b = 0; b < 50; b++) {
      expect(Array.from(a.subarray(b * 6, b * 6 + 6)).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    }
    const sizes = new Array<number>(6).fill(0);
    for (const c of a) sizes[c]! += 1;
    expect(sizes.sort()).toEqual([50, 50, 51, 51, 51, 51]);
    expect(Array.from(randomClusters(6, 42).assignments(304))).toEqual(Array.from(a));
    expect(Array.from(randomClusters(6, 43).assignments(304))).not.toEqual(Array.from(a));
  });

  it('validates k', () => {
    expect(() => new RandomClusters(0)).toThrow(/k must be/);
    expect(randomClusters(1).assignments(3)).toEqual(Int32Array.from([0, 0, 0]));
  });
});
