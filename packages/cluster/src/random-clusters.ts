import { deriveSeed, InvalidArgumentError, Rng } from '@cbtm/core';

/**
 * The paper's random-cluster baseline: documents go to clusters at random, seeded. The N
 * documents are shuffled (one seeded Fisher–Yates pass) and dealt to the k clusters in turn,
 * so every cluster ends with ⌊N/k⌋ or ⌈N/k⌉ documents, like the balanced clusters it is
 * compared with. Dealing needs N up front: pass the corpus size.
 *
 * @example
 * ```ts
 * const baseline = randomClusters(8, 1234);
 * baseline.assignments(1000); // the cluster of each of 1000 documents, in corpus order
 * ```
 */
export class RandomClusters {
  readonly kind = 'random' as const;
  readonly k: number;
  readonly seed: number;

  constructor(k: number, seed = 0) {
    if (!(Number.isInteger(k) && k >= 1))
      throw new InvalidArgumentError(`k must be an integer ≥ 1, got ${k}.`);
    if (!Number.isFinite(seed))
      throw new InvalidArgumentError(`seed must be a finite number, got ${seed}.`);
    this.k = k;
    this.seed = seed;
  }

  /**
   * The clusters of `count` documents, in corpus order. The same seed and count give the same
   * assignment.
   *
   * @example
   * ```ts
   * randomClusters(3, 7).assignments(6); // e.g. Int32Array [2, 0, 1, 1, 2, 0]
   * ```
   */
  assignments(count: number): Int32Array {
    if (!(Number.isInteger(count) && count >= 0))
      throw new InvalidArgumentError(`count must be an integer ≥ 0, got ${count}.`);
    const order = Array.from({ length: count }, (_, i) => i);
    new Rng(deriveSeed(this.seed, 'random-clusters')).shuffle(order);
    const clusters = new Int32Array(count);
    order.forEach((row, i) => {
      clusters[row] = i % this.k;
    });
    return clusters;
  }
}

/**
 * Creates the random-cluster baseline with k clusters (see {@link RandomClusters}).
 *
 * @example
 * ```ts
 * await assignCorpus(readCorpus(path), randomClusters(8, 1), 'runs/random-8', { total: 5000 });
 * ```
 */
export function randomClusters(k: number, seed = 0): RandomClusters {
  return new RandomClusters(k, seed);
}
