import { InvalidArgumentError, Rng } from '@cbtm/core';

/**
 * The paper's random-cluster baseline: documents go to clusters at random, seeded. Each
 * consecutive block of k documents receives a random permutation of the k clusters, so the
 * assignment streams (no corpus size needed) and every cluster ends with ⌊N/k⌋ or ⌈N/k⌉
 * documents, like the balanced clusters it is compared with.
 *
 * @example
 * ```ts
 * const baseline = randomClusters(8, 1234);
 * const next = baseline.assigner();
 * next(); next(); // cluster of the 1st and 2nd document
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
   * A fresh assigner: call it once per document, in corpus order; it returns that document's
   * cluster. Two assigners from the same seed give the same sequence.
   */
  assigner(): () => number {
    const rng = new Rng(this.seed);
    const block = Array.from({ length: this.k }, (_, j) => j);
    let used = this.k;
    return () => {
      if (used === this.k) {
        rng.shuffle(block);
        used = 0;
      }
      return block[used++]!;
    };
  }

  /**
   * The clusters of the first `count` documents.
   *
   * @example
   * ```ts
   * randomClusters(3, 7).assignments(6); // e.g. Int32Array [2, 0, 1, 1, 2, 0]
   * ```
   */
  assignments(count: number): Int32Array {
    const next = this.assigner();
    return Int32Array.from({ length: count }, () => next());
  }
}

/**
 * Creates the random-cluster baseline with k clusters (see {@link RandomClusters}).
 *
 * @example
 * ```ts
 * await assignCorpus(readCorpus(path), randomClusters(8, 1), 'runs/random-8');
 * ```
 */
export function randomClusters(k: number, seed = 0): RandomClusters {
  return new RandomClusters(k, seed);
}
