import { Rng } from '@cbtm/core';
import { describe, expect, it } from 'vitest';
import { selectNearest, squaredDistanceToRow } from './distance.js';

describe('squaredDistanceToRow', () => {
  it('computes squared Euclidean distance to a row', () => {
    const m = new Float32Array([0, 0, 3, 4]);
    expect(squaredDistanceToRow([0, 0], m, 1, 2)).toBe(25);
    expect(squaredDistanceToRow([3, 4], m, 1, 2)).toBe(0);
  });
});

describe('selectNearest', () => {
  it('orders by distance, then by index on ties', () => {
    const d = new Float64Array([2, 1, 1, 0, 2]);
    expect(selectNearest(d, 5).indices).toEqual([3, 1, 2, 0, 4]);
    expect(selectNearest(d, 3)).toEqual({ indices: [3, 1, 2], distances: [0, 1, 1] });
  });

  it('agrees between its small-top-k and sort paths on random data', () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 50; trial++) {
      const n = 20 + rng.int(0, 200);
      // Coarse values so ties happen.
      const d = Float64Array.from({ length: n }, () => rng.int(0, 30));
      const reference = Array.from({ length: n }, (_, j) => j).sort(
        (a, b) => d[a]! - d[b]! || a - b,
      );
      for (const k of [1, 2, 3, Math.floor(n / 2), n]) {
        expect(selectNearest(d, k).indices).toEqual(reference.slice(0, k));
      }
    }
  });

  it('restricts the choice to the given candidates', () => {
    const d = new Float64Array([0, 5, 3, 1]);
    expect(selectNearest(d, 2, [1, 2, 3]).indices).toEqual([3, 2]);
  });
});
