import { InvalidArgumentError } from '@cbtm/core';
import type { Embedder } from './embedder.js';
import { numpyArgsort } from './numpy-argsort.js';
import { TfidfSvdEmbedder } from './tfidf-svd-embedder.js';

/**
 * The term space behind a tf-idf → SVD embedding: the vocabulary and the SVD components, what
 * {@link topTerms} maps a centroid back through.
 *
 * @example
 * ```ts
 * const space: TermSpace = { featureNames: ['cat', 'dog'], dimension: 1, componentsByFeature: Float32Array.of(0.6, 0.8) };
 * ```
 */
export interface TermSpace {
  /** The vectorizer's terms, by column. */
  readonly featureNames: readonly string[];
  /** SVD components (embedding dimension). */
  readonly dimension: number;
  /** The components feature-major: nFeatures × dimension, row f = the projection of term f. */
  readonly componentsByFeature: Float32Array;
}

/**
 * Options of {@link topTerms}.
 *
 * @example
 * ```ts
 * const opts: TopTermsOptions = { count: 5 };
 * ```
 */
export interface TopTermsOptions {
  /** Terms per centroid. @default 10 (what the official c-BTM code prints) */
  readonly count?: number;
}

/**
 * Default {@link TopTermsOptions}.
 *
 * @example
 * ```ts
 * topTerms(space, centroids, k, defaultTopTermsOptions);
 * ```
 */
export const defaultTopTermsOptions = Object.freeze({ count: 10 }) satisfies TopTermsOptions;

/**
 * The term space of an embedder, or null when it has none (a transformers embedder has no
 * vocabulary to map a centroid back to).
 *
 * @example
 * ```ts
 * const space = termSpaceOf(await loadEmbedder('runs/demo/embedder'));
 * if (space) console.log(topTerms(space, model.centroids, model.k));
 * ```
 */
export function termSpaceOf(embedder: Embedder): TermSpace | null {
  if (!(embedder instanceof TfidfSvdEmbedder)) return null;
  return {
    featureNames: embedder.vectorizer.featureNames,
    dimension: embedder.svd.nComponents,
    componentsByFeature: embedder.svd.componentsByFeature,
  };
}

/**
 * The top terms of each cluster centroid, as the official c-BTM code prints them: the centroid,
 * a point of the SVD space, goes back to term space through the SVD components
 * (`svd.inverse_transform`, i.e. centroid × components), and the terms are sorted by that
 * weight, largest first (`argsort()[:, ::-1]`, numpy's tie order included).
 *
 * @param centroids k × dimension, row-major.
 * @returns k lists of `count` terms (fewer when the vocabulary is smaller).
 *
 * @example
 * ```ts
 * const space = { featureNames: ['cat', 'dog', 'law'], dimension: 1, componentsByFeature: Float32Array.of(0.2, 0.5, -0.9) };
 * topTerms(space, Float32Array.of(1, -1), 2, { count: 2 }); // [['dog', 'cat'], ['law', 'cat']]
 * ```
 */
export function topTerms(
  space: TermSpace,
  centroids: ArrayLike<number>,
  k: number,
  options: TopTermsOptions = {},
): string[][] {
  const count = options.count ?? defaultTopTermsOptions.count;
  const { featureNames, dimension: d, componentsByFeature: byFeature } = space;
  const nFeatures = featureNames.length;
  if (!(Number.isInteger(count) && count >= 1)) {
    throw new InvalidArgumentError(`count must be an integer ≥ 1, got ${count}.`);
  }
  if (!(Number.isInteger(k) && k >= 0)) {
    throw new InvalidArgumentError(`k must be a non-negative integer, got ${k}.`);
  }
  if (byFeature.length !== nFeatures * d) {
    throw new InvalidArgumentError(
      `The components hold ${byFeature.length} values; ${nFeatures} terms × ${d} dimensions need ${nFeatures * d}.`,
    );
  }
  if (centroids.length !== k * d) {
    throw new InvalidArgumentError(
      `centroids hold ${centroids.length} values; k = ${k} centroids of dimension ${d} need ${k * d}.`,
    );
  }
  const scores = new Float64Array(nFeatures);
  const out: string[][] = [];
  for (let j = 0; j < k; j++) {
    const o = j * d;
    for (let f = 0; f < nFeatures; f++) {
      let s = 0;
      const r = f * d;
      for (let c = 0; c < d; c++) s += centroids[o + c]! * byFeature[r + c]!;
      scores[f] = s;
    }
    // numpy's ascending order, read from the end: the official code's `argsort()[:, ::-1]`.
    const order = numpyArgsort(scores);
    const terms: string[] = [];
    for (let q = nFeatures - 1; q >= 0 && terms.length < count; q--)
      terms.push(featureNames[order[q]!]!);
    out.push(terms);
  }
  return out;
}
