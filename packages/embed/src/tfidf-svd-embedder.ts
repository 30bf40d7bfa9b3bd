import {
  CbtmError,
  deriveSeed,
  type LongRunOptions,
  progressReporter,
  Rng,
  throwIfAborted,
} from '@cbtm/core';
import { stripUndefined } from './analyzer.js';
import { batchTexts, type DocSource } from './doc-source.js';
import {
  type Embedder,
  type EmbedOptions,
  l2NormalizeToFloat32,
  type PrefixEmbedding,
} from './embedder.js';
import { TfidfPrefixEmbedding } from './tfidf-prefix-embedding.js';
import {
  cbtmTfidfOptions,
  fitTfidf,
  TfidfVectorizer,
  type TfidfVectorizerOptions,
} from './tfidf-vectorizer.js';
import {
  defaultTruncatedSvdOptions,
  TruncatedSvd,
  type TruncatedSvdOptions,
} from './truncated-svd.js';
import type { DocTerms } from './vocabulary-builder.js';

/**
 * Options of {@link TfidfSvdEmbedder.fit}.
 *
 * @example
 * ```ts
 * const options: Partial<TfidfSvdEmbedderOptions> = { nComponents: 64, svdSampleSize: 20_000, seed: 1 };
 * ```
 */
export interface TfidfSvdEmbedderOptions extends TruncatedSvdOptions {
  /** Tf-idf options, over the c-BTM preset. @default cbtmTfidfOptions */
  readonly tfidf: Partial<TfidfVectorizerOptions>;
  /**
   * The SVD is fitted on the tf-idf rows of a uniform sample (seeded reservoir) of at most this
   * many documents; tf-idf itself sees every document. @default 50000
   */
  readonly svdSampleSize: number;
}

/**
 * Defaults of {@link TfidfSvdEmbedderOptions}: the c-BTM reference (scikit-learn tf-idf with
 * English stop words and `#NUMBER`, `TruncatedSVD(100)`).
 *
 * @example
 * ```ts
 * const e = await TfidfSvdEmbedder.fit(docs, { ...defaultTfidfSvdEmbedderOptions, nComponents: 32 });
 * ```
 */
export const defaultTfidfSvdEmbedderOptions: TfidfSvdEmbedderOptions = Object.freeze({
  ...defaultTruncatedSvdOptions,
  tfidf: cbtmTfidfOptions,
  svdSampleSize: 50_000,
});

/**
 * Options of {@link TfidfSvdEmbedder.fit}: embedder options plus abort and progress.
 *
 * @example
 * ```ts
 * const options: TfidfSvdFitOptions = { nComponents: 32, signal: ac.signal, onProgress: console.log };
 * ```
 */
export type TfidfSvdFitOptions = Partial<TfidfSvdEmbedderOptions> & LongRunOptions;

const KIND = 'tfidf-svd';

/**
 * The c-BTM document embedder: scikit-learn-exact tf-idf, truncated SVD, L2 normalization.
 * It also embeds a growing prefix incrementally ({@link prefix}), in O(dimension) per word,
 * where the reference re-embeds every prefix.
 *
 * @example
 * ```ts
 * const embedder = await TfidfSvdEmbedder.fit(readCorpus('train.jsonl.gz'), { nComponents: 100 });
 * await embedder.save('runs/demo/embedder');
 * const v = await embedder.embedText('In the beginning God created the heaven and the earth.');
 * ```
 */
export class TfidfSvdEmbedder implements Embedder {
  readonly kind = KIND;
  readonly vectorizer: TfidfVectorizer;
  readonly svd: TruncatedSvd;

  constructor(vectorizer: TfidfVectorizer, svd: TruncatedSvd) {
    if (vectorizer.nFeatures !== svd.nFeatures) {
      throw new CbtmError(
        'E_MODEL',
        `The SVD expects ${svd.nFeatures} features but the vectorizer has ${vectorizer.nFeatures}; fit them together.`,
      );
    }
    this.vectorizer = vectorizer;
    this.svd = svd;
  }

  /** Output dimension (the number of SVD components). */
  get dimension(): number {
    return this.svd.nComponents;
  }

  /**
   * Fits tf-idf on every document (one streaming pass) and the SVD on a seeded sample of their
   * tf-idf rows.
   *
   * @example
   * ```ts
   * const e = await TfidfSvdEmbedder.fit(docs, { nComponents: 16, onProgress: console.log });
   * ```
   */
  static async fit(docs: DocSource, options: TfidfSvdFitOptions = {}): Promise<TfidfSvdEmbedder> {
    const { signal, onProgress, ...rest } = options;
    const o: TfidfSvdEmbedderOptions = {
      ...defaultTfidfSvdEmbedderOptions,
      ...stripUndefined(rest),
    };
    if (!Number.isInteger(o.svdSampleSize) || o.svdSampleSize < 1) {
      throw new CbtmError(
        'E_INVALID_ARGUMENT',
        `svdSampleSize must be a positive integer, got ${o.svdSampleSize}.`,
      );
    }
    const vectorizer = new TfidfVectorizer({ ...cbtmTfidfOptions, ...stripUndefined(o.tfidf) });
    // Reservoir sample of per-document term counts (provisional ids), in document order.
    const rng = new Rng(deriveSeed(o.seed, 'svd-sample'));
    const sample: { doc: number; terms: DocTerms }[] = [];
    const fitted = await fitTfidf(vectorizer, docs, { signal, onProgress }, (builder) => {
      const doc = builder.nDocs - 1;
      if (sample.length < o.svdSampleSize) sample.push({ doc, terms: builder.lastDocTerms() });
      else {
        const slot = rng.int(0, doc);
        if (slot < o.svdSampleSize) sample[slot] = { doc, terms: builder.lastDocTerms() };
      }
    });
    sample.sort((a, b) => a.doc - b.doc);
    const fittedVectorizer = TfidfVectorizer.fromParts(
      vectorizer.options,
      fitted.featureNames,
      fitted.idf,
      fitted.nDocuments,
    );
    throwIfAborted(signal);
    const matrix = fittedVectorizer.countsToMatrix(
      sample.map((x) => x.terms),
      fitted.remap,
    );
    const svd = await TruncatedSvd.fit(
      matrix,
      { nComponents: o.nComponents, nIter: o.nIter, nOversamples: o.nOversamples, seed: o.seed },
      { signal, onProgress },
    );
    return new TfidfSvdEmbedder(fittedVectorizer, svd);
  }

  /**
   * Embeds one text synchronously: tf-idf row, SVD projection, L2 normalization.
   *
   * @example
   * ```ts
   * const v = embedder.embedSync('a short text');
   * ```
   */
  embedSync(text: string): Float32Array {
    const { indices, counts } = this.vectorizer.counts(text);
    const values = this.vectorizer.weigh(indices, counts);
    return l2NormalizeToFloat32(this.svd.transform({ indices, values }));
  }

  async embedText(text: string): Promise<Float32Array> {
    return this.embedSync(text);
  }

  async *embed(docs: DocSource, options: EmbedOptions = {}): AsyncGenerator<Float32Array> {
    const progress = progressReporter('embed', options.onProgress, { task: 'embed', unit: 'docs' });
    let done = 0;
    progress.start();
    for await (const batch of batchTexts(docs, options.batchSize ?? 256)) {
      throwIfAborted(options.signal);
      const vectors = batch.map((t) => this.embedSync(t));
      done += batch.length;
      progress.update(done);
      yield* vectors;
    }
    progress.done();
  }

  /**
   * A fresh incremental embedding of an empty prefix (see {@link PrefixEmbedding}).
   *
   * @example
   * ```ts
   * const p = embedder.prefix();
   * p.push('The cat'); p.push(' sat');
   * p.vector(); // equals await embedder.embedText('The cat sat')
   * ```
   */
  prefix(): PrefixEmbedding {
    const v = this.vectorizer;
    return new TfidfPrefixEmbedding({
      analyzer: v.analyzer,
      table: v.termTable,
      idf: v.idf,
      sublinearTf: v.options.sublinearTf,
      dimension: this.svd.nComponents,
      byFeature: this.svd.componentsByFeature,
      embedSync: (t) => this.embedSync(t),
    });
  }
}
