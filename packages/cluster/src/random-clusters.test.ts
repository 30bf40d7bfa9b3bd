import { deriveSeed, Rng } from '@cbtm/core';
import { describe, expect, it } from 'vitest';
import { RandomClusters, randomClusters } from './random-clusters.js';

describe('randomClusters', () => {
  it('deals a seeded shuffle of the documents to the clusters in turn', () => {
    // The algorithm spelled out: existing random-cluster baselines depend on it bit for bit.
    const order = Array.from({ length: 10 }, (_, i) => i);
    new Rng(deriveSeed(5, 'random-clusters')).shuffle(order);
    const expected = new Int32Array(10);
    order.forEach((row, i) => {
      expected[row] = i % 3;
    });
    expect(randomClusters(3, 5).assignments(10)).toEqual(expected);
    // Pinned, so a change to Rng or deriveSeed cannot move it unnoticed.
    expect(Array.from(randomClusters(3, 5).assignments(10))).toMatchInlineSnapshot(`
      [
        2,
        0,
        1,
        0,
        1,
        2,
        2,
        1,
        0,
        0,
      ]
    `);
  });

  it('is balanced and reproducible per seed', () => {
    const a = randomClusters(6, 42).assignments(6 * 50 + 4);
    const sizes = new Array<number>(6).fill(0);
    for (const c of a) sizes[c]! += 1;
    expect(sizes).toEqual([51, 51, 51, 51, 50, 50]);
    expect(Array.from(randomClusters(6, 42).assignments(304))).toEqual(Array.from(a));
    expect(Array.from(randomClusters(6, 43).assignments(304))).not.toEqual(Array.from(a));
  });

  it('validates k and the count', () => {
    expect(() => new RandomClusters(0)).toThrow(/k must be/);
    expect(() => randomClusters(2).assignments(-1)).toThrow(/count must be/);
    expect(randomClusters(1).assignments(3)).toEqual(Int32Array.from([0, 0, 0]));
    expect(randomClusters(4).assignments(0)).toEqual(new Int32Array(0));
  });
});
