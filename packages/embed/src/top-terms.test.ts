import { Rng } from '@cbtm/core';
import { describe, expect, it } from 'vitest';
import type { Embedder } from './embedder.js';
import { TfidfSvdEmbedder } from './tfidf-svd-embedder.js';
import { type TermSpace, termSpaceOf, topTerms } from './top-terms.js';

describe('topTerms', () => {
  it('maps centroids back to term space, largest weight first (hand-computed)', () => {
    // 4 terms, 2 dimensions; feature-major rows: cat (1, 0), dog (0.5, 0.5), law (0, 1), sun (-1, 0.2).
    const space: TermSpace = {
      featureNames: ['cat', 'dog', 'law', 'sun'],
      dimension: 2,
      componentsByFeature: Float32Array.of(1, 0, 0.5, 0.5, 0, 1, -1, 0.2),
    };
    // Centroid (1, 0): cat 1, dog 0.5, law 0, sun -1.
    // Centroid (0.2, 1): cat 0.2, dog 0.6, law 1, sun 0.
    // Centroid (-1, 0.1): cat -1, dog -0.45, law 0.1, sun 1.02.
    const centroids = Float32Array.of(1, 0, 0.2, 1, -1, 0.1);
    expect(topTerms(space, centroids, 3, { count: 3 })).toEqual([
      ['cat', 'dog', 'law'],
      ['law', 'dog', 'cat'],
      ['sun', 'law', 'dog'],
    ]);
    // Asking for more terms than the vocabulary has gives all of them.
    expect(topTerms(space, centroids.subarray(0, 2), 1, { count: 9 })).toEqual([
      ['cat', 'dog', 'law', 'sun'],
    ]);
  });

  it('agrees with a brute-force sort of centroid × components on random data', () => {
    const rng = new Rng(7);
    const nFeatures = 300;
    const d = 6;
    const k = 4;
    const featureNames = Array.from({ length: nFeatures }, (_, f) => `t${f}`);
    const byFeature = Float32Array.from({ length: nFeatures * d }, () => rng.float() * 2 - 1);
    const centroids = Float32Array.from({ length: k * d }, () => rng.float() * 2 - 1);
    const got = topTerms(
      { featureNames, dimension: d, componentsByFeature: byFeature },
      centroids,
      k,
    );
    for (let j = 0; j < k; j++) {
      const scores = featureNames.map((_, f) => {
        let s = 0;
        for (let c = 0; c < d; c++) s += centroids[j * d + c]! * byFeature[f * d + c]!;
        return s;
      });
      const want = featureNames
        .map((_, f) => f)
        .sort((a, b) => scores[b]! - scores[a]!)
        .slice(0, 10)
        .map((f) => featureNames[f]);
      expect(got[j]).toEqual(want);
    }
  });

  it('ties come out in reverse numpy argsort order, as `argsort()[:, ::-1]` gives', () => {
    // Every term scores 0 against a zero centroid. numpy's quicksort keeps 0..n-1 in order for
    // n ≤ 16 (insertion sort), so the reversed order is n-1..0.
    const featureNames = ['a', 'b', 'c', 'd'];
    const space = { featureNames, dimension: 1, componentsByFeature: Float32Array.of(1, 2, 3, 4) };
    expect(topTerms(space, Float32Array.of(0), 1)).toEqual([['d', 'c', 'b', 'a']]);
  });

  it('names what is wrong with its input', () => {
    const space = {
      featureNames: ['a', 'b'],
      dimension: 2,
      componentsByFeature: new Float32Array(4),
    };
    expect(() => topTerms(space, new Float32Array(3), 2)).toThrow(
      /k = 2 centroids of dimension 2 need 4/,
    );
    expect(() =>
      topTerms({ ...space, componentsByFeature: new Float32Array(3) }, new Float32Array(2), 1),
    ).toThrow(/2 terms × 2 dimensions need 4/);
    expect(() => topTerms(space, new Float32Array(2), 1, { count: 0 })).toThrow(/count must be/);
  });
});

describe('termSpaceOf', () => {
  it('reads a fitted tf-idf → SVD embedder; its top terms are the cluster words', async () => {
    const docs = [
      'the court held the contract void',
      'the court and the judge ruled on the contract',
      'a judge of the court signed the contract',
      'the cat chased the mouse',
      'a cat and a dog and a mouse',
      'the dog chased the cat',
    ];
    const embedder = await TfidfSvdEmbedder.fit(docs, { nComponents: 2, seed: 1 });
    const space = termSpaceOf(embedder)!;
    expect(space.featureNames).toEqual(embedder.vectorizer.featureNames);
    expect(space.dimension).toBe(2);
    // The centroid of each group of documents: its top terms are that group's words.
    const mean = async (texts: string[]) => {
      const c = new Float32Array(2);
      for (const t of texts) {
        const v = await embedder.embedText(t);
        c[0]! += v[0]! / texts.length;
        c[1]! += v[1]! / texts.length;
      }
      return c;
    };
    const centroids = Float32Array.from([
      ...(await mean(docs.slice(0, 3))),
      ...(await mean(docs.slice(3))),
    ]);
    const [law, pets] = topTerms(space, centroids, 2, { count: 3 });
    const lawWords = new Set(['court', 'held', 'contract', 'void', 'judge', 'ruled', 'signed']);
    const petWords = new Set(['cat', 'chased', 'mouse', 'dog']);
    expect(law!.every((t) => lawWords.has(t))).toBe(true);
    expect(pets!.every((t) => petWords.has(t))).toBe(true);
    expect([law![0], pets![0]]).toEqual(['court', 'cat']);
  });

  it('is null for an embedder without terms', () => {
    const other: Embedder = {
      kind: 'transformers',
      dimension: 4,
      embed: async function* () {},
      embedText: async () => new Float32Array(4),
    };
    expect(termSpaceOf(other)).toBeNull();
  });
});
