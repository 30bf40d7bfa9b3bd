import {
  assertUnreachable,
  CbtmError,
  InvalidArgumentError,
  type LongRunOptions,
  progressReporter,
  throwIfAborted,
} from '@cbtm/core';
import {
  Analyzer,
  type AnalyzerOptions,
  defaultAnalyzerOptions,
  stripUndefined,
} from './analyzer.js';
import { batchTexts, type DocInput, type DocSource, textOf } from './doc-source.js';
import type { CsrMatrix } from './sparse-matrix.js';
import { CBTM_STOP_WORDS } from './stop-words.js';
import { TermTable } from './term-table.js';
import {
  type DfThreshold,
  type DocTerms,
  dfLimit,
  VocabularyBuilder,
} from './vocabulary-builder.js';

/**
 * A sparse vector: sorted column `indices` and their `values`.
 *
 * @example
 * ```ts
 * const v: SparseVector = { indices: Int32Array.of(0, 7), values: Float32Array.of(0.6, 0.8) };
 * ```
 */
export interface SparseVector {
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

/**
 * Row normalization of tf-idf vectors, as scikit-learn's `norm`.
 *
 * @example
 * ```ts
 * const norm: TfidfNorm = 'l1';
 * ```
 */
export type TfidfNorm = 'l2' | 'l1' | null;

/**
 * Options of {@link TfidfVectorizer}: scikit-learn's `TfidfVectorizer` parameters under their
 * camelCase names, with the same defaults.
 *
 * @example
 * ```ts
 * const options: Partial<TfidfVectorizerOptions> = { stopWords: 'english', minDf: 2, sublinearTf: true };
 * ```
 */
export interface TfidfVectorizerOptions extends AnalyzerOptions {
  /** Ignore terms in fewer documents than this (count, or fraction when not an integer). @default 1 */
  readonly minDf: DfThreshold;
  /** Ignore terms in more documents than this. @default { fraction: 1 } (scikit-learn's 1.0) */
  readonly maxDf: DfThreshold;
  /** Keep only the this many most frequent terms (over the corpus). @default null */
  readonly maxFeatures: number | null;
  /** Weight terms by inverse document frequency. @default true */
  readonly useIdf: boolean;
  /** Add one to document frequencies, as if one extra document held every term. @default true */
  readonly smoothIdf: boolean;
  /** Use `1 + ln(tf)` instead of the raw count. @default false */
  readonly sublinearTf: boolean;
  /** Normalize each row. @default 'l2' */
  readonly norm: TfidfNorm;
}

/**
 * scikit-learn's `TfidfVectorizer()` defaults.
 *
 * @example
 * ```ts
 * const v = new TfidfVectorizer({ ...defaultTfidfVectorizerOptions, ngramRange: [1, 2] });
 * ```
 */
export const defaultTfidfVectorizerOptions: TfidfVectorizerOptions = Object.freeze({
  ...defaultAnalyzerOptions,
  minDf: 1,
  maxDf: Object.freeze({ fraction: 1 }),
  maxFeatures: null,
  useIdf: true,
  smoothIdf: true,
  sublinearTf: false,
  norm: 'l2' as TfidfNorm,
});

/**
 * The c-BTM reference's tf-idf: scikit-learn's defaults, English stop words, and every token
 * that starts with a digit turned into `#NUMBER`, itself a stop word (so numbers are dropped).
 * {@link TfidfSvdEmbedder} uses it by default.
 *
 * @example
 * ```ts
 * const v = new TfidfVectorizer(cbtmTfidfOptions);
 * ```
 */
export const cbtmTfidfOptions: TfidfVectorizerOptions = Object.freeze({
  ...defaultTfidfVectorizerOptions,
  stopWords: CBTM_STOP_WORDS,
  numberNormalize: true,
});

/**
 * The JSON form of a fitted {@link TfidfVectorizer}.
 *
 * @example
 * ```ts
 * const json: TfidfVectorizerJson = vectorizer.toJSON();
 * ```
 */
export interface TfidfVectorizerJson {
  readonly format: 'cbtm-tfidf';
  readonly version: 1;
  readonly options: TfidfVectorizerOptions;
  /** Terms in column order. */
  readonly featureNames: readonly string[];
  /** idf of each column (empty when `useIdf` is false). */
  readonly idf: readonly number[];
  readonly nDocuments: number;
}

/**
 * Counts and term ids of one document, before weighting.
 *
 * @example
 * ```ts
 * const { indices, counts }: TermCounts = vectorizer.counts('the cat saw the cat');
 * ```
 */
export interface TermCounts {
  /** Sorted column indices. */
  readonly indices: Int32Array;
  /** Raw counts. */
  readonly counts: Float64Array;
}

/**
 * Term frequency–inverse document frequency features that agree with scikit-learn's
 * `TfidfVectorizer`: the same tokens (Python `re` Unicode semantics), vocabulary order, idf and
 * values. `fit` streams: memory grows with the vocabulary, not with the number of documents.
 *
 * @example
 * ```ts
 * const v = await new TfidfVectorizer({ stopWords: 'english' }).fit(['the cat sat', 'the dog ran']);
 * v.vocabulary.get('cat'); // 0
 * v.transform('a cat and a dog'); // { indices: [0, 1], values: [0.707.., 0.707..] }
 * ```
 */
export class TfidfVectorizer {
  /** The options, with defaults filled in. */
  readonly options: TfidfVectorizerOptions;
  /** The analyzer (tokenizer, stop words, n-grams) these options describe. */
  readonly analyzer: Analyzer;
  #featureNames: readonly string[] | null = null;
  #table: TermTable | null = null;
  #vocabulary: Map<string, number> | null = null;
  #idf: Float64Array | null = null;
  #nDocuments = 0;
  // Scratch space for transform, sized to the vocabulary.
  #scratch: Float64Array = new Float64Array(0);

  constructor(options: Partial<TfidfVectorizerOptions> = {}) {
    const o: TfidfVectorizerOptions = {
      ...defaultTfidfVectorizerOptions,
      ...stripUndefined(options),
    };
    this.analyzer = new Analyzer(o);
    if (o.maxFeatures !== null && (!Number.isInteger(o.maxFeatures) || o.maxFeatures < 1)) {
      throw new InvalidArgumentError(
        `maxFeatures must be a positive integer or null, got ${o.maxFeatures}.`,
      );
    }
    if (o.norm !== null && o.norm !== 'l1' && o.norm !== 'l2') {
      throw new InvalidArgumentError(
        `norm must be 'l2', 'l1' or null, got ${JSON.stringify(o.norm)}.`,
      );
    }
    dfLimit(o.minDf, 1, 'minDf');
    dfLimit(o.maxDf, 1, 'maxDf');
    this.options = Object.freeze({ ...o, ...this.analyzer.options });
  }

  /**
   * Builds a fitted vectorizer from its parts (what {@link toJSON} stores).
   *
   * @example
   * ```ts
   * const v = TfidfVectorizer.fromParts({}, ['cat', 'dog'], Float64Array.of(1.4, 1.4), 2);
   * ```
   */
  static fromParts(
    options: Partial<TfidfVectorizerOptions>,
    featureNames: readonly string[],
    idf: Float64Array | null,
    nDocuments: number,
  ): TfidfVectorizer {
    const v = new TfidfVectorizer(options);
    if (v.options.useIdf && (idf === null || idf.length !== featureNames.length)) {
      throw new CbtmError(
        'E_FORMAT',
        `idf has ${idf?.length ?? 0} values for ${featureNames.length} terms; the saved vectorizer is corrupt. Fit it again.`,
      );
    }
    v.#setFitted(featureNames, v.options.useIdf ? idf : null, nDocuments);
    return v;
  }

  /**
   * Restores a vectorizer saved with {@link toJSON}.
   *
   * @example
   * ```ts
   * const copy = TfidfVectorizer.fromJSON(JSON.parse(JSON.stringify(v)));
   * ```
   */
  static fromJSON(json: TfidfVectorizerJson): TfidfVectorizer {
    if (json?.format !== 'cbtm-tfidf' || json.version !== 1) {
      throw new CbtmError(
        'E_FORMAT',
        'Not a cbtm tf-idf vectorizer (format "cbtm-tfidf", version 1).',
      );
    }
    return TfidfVectorizer.fromParts(
      json.options,
      json.featureNames,
      Float64Array.from(json.idf),
      json.nDocuments,
    );
  }

  #setFitted(featureNames: readonly string[], idf: Float64Array | null, nDocuments: number): void {
    const table = TermTable.from(featureNames);
    if (table.size !== featureNames.length) {
      throw new CbtmError(
        'E_FORMAT',
        'The vocabulary has duplicate terms; the saved vectorizer is corrupt.',
      );
    }
    this.#featureNames = Object.freeze([...featureNames]);
    this.#table = table;
    this.#vocabulary = null;
    this.#idf = idf;
    this.#nDocuments = nDocuments;
    this.#scratch = new Float64Array(featureNames.length);
  }

  /** Whether {@link fit} (or a loader) has run. */
  get fitted(): boolean {
    return this.#table !== null;
  }

  /** Term → column, as scikit-learn's `vocabulary_`. */
  get vocabulary(): ReadonlyMap<string, number> {
    const { featureNames } = this.#need();
    if (this.#vocabulary === null) this.#vocabulary = new Map(featureNames.map((t, i) => [t, i]));
    return this.#vocabulary;
  }

  /** @internal The vocabulary as a {@link TermTable} (index = column), for the tokenizer's fast path. */
  get termTable(): TermTable {
    return this.#need().table;
  }

  /** Terms in column order, as scikit-learn's `get_feature_names_out()`. */
  get featureNames(): readonly string[] {
    return this.#need().featureNames;
  }

  /** Inverse document frequencies in column order (scikit-learn's `idf_`), or `null` without `useIdf`. */
  get idf(): Float64Array | null {
    this.#need();
    return this.#idf;
  }

  /** Number of columns. */
  get nFeatures(): number {
    return this.#need().featureNames.length;
  }

  /** Number of documents the vectorizer was fitted on. */
  get nDocuments(): number {
    return this.#nDocuments;
  }

  #need(): { table: TermTable; featureNames: readonly string[] } {
    if (this.#table === null || this.#featureNames === null) {
      throw new CbtmError(
        'E_MODEL',
        'The TfidfVectorizer is not fitted yet; call fit(docs) first.',
      );
    }
    return { table: this.#table, featureNames: this.#featureNames };
  }

  /**
   * Learns the vocabulary and idf from a stream of documents (scikit-learn's `fit`). Memory is
   * bounded by the vocabulary size.
   *
   * @example
   * ```ts
   * await vectorizer.fit(readCorpus('train.jsonl.gz'), { onProgress: console.log });
   * ```
   */
  async fit(docs: DocSource, run: LongRunOptions = {}): Promise<this> {
    const fitted = await fitTfidf(this, docs, run);
    this.#setFitted(fitted.featureNames, fitted.idf, fitted.nDocuments);
    return this;
  }

  /**
   * Learns the vocabulary and idf and returns the tf-idf matrix of the same documents, in one
   * pass over them (scikit-learn's `fit_transform`). Memory grows with the matrix, unlike
   * {@link fit}.
   *
   * @example
   * ```ts
   * const matrix = await new TfidfVectorizer(cbtmTfidfOptions).fitTransform(texts);
   * matrix.nRows === texts.length; // true
   * ```
   */
  async fitTransform(docs: DocSource, run: LongRunOptions = {}): Promise<CsrMatrix> {
    const rows: DocTerms[] = [];
    const fitted = await fitTfidf(this, docs, run, (builder) => rows.push(builder.lastDocTerms()));
    this.#setFitted(fitted.featureNames, fitted.idf, fitted.nDocuments);
    return this.countsToMatrix(rows, fitted.remap);
  }

  /**
   * @internal The weighted CSR matrix of per-document counts over provisional term ids, remapped
   * to columns (-1 = pruned).
   */
  countsToMatrix(rows: readonly DocTerms[], remap: Int32Array): CsrMatrix {
    const nCols = this.nFeatures;
    const indptr = new Int32Array(rows.length + 1);
    let nnz = 0;
    rows.forEach((r, i) => {
      for (let k = 0; k < r.ids.length; k++) if (remap[r.ids[k]!]! >= 0) nnz++;
      indptr[i + 1] = nnz;
    });
    const indices = new Int32Array(nnz);
    const values = new Float64Array(nnz);
    const countOf = this.#scratch;
    rows.forEach((r, i) => {
      const start = indptr[i]!;
      let at = start;
      for (let k = 0; k < r.ids.length; k++) {
        const col = remap[r.ids[k]!]!;
        if (col < 0) continue;
        indices[at++] = col;
        countOf[col] = r.counts[k]!;
      }
      const cols = indices.subarray(start, at).sort();
      const counts = new Float64Array(cols.length);
      for (let k = 0; k < cols.length; k++) {
        counts[k] = countOf[cols[k]!]!;
        countOf[cols[k]!] = 0;
      }
      values.set(this.weigh(cols, counts), start);
    });
    return { nRows: rows.length, nCols, indptr, indices, values };
  }

  /**
   * The terms of one document as scikit-learn's analyzer produces them.
   *
   * @example
   * ```ts
   * new TfidfVectorizer(cbtmTfidfOptions).analyze('In 1984 the Party'); // ['party']
   * ```
   */
  analyze(doc: DocInput): string[] {
    return this.analyzer.analyze(textOf(doc));
  }

  /**
   * Column counts of one document (the `CountVectorizer` row), sorted by column.
   *
   * @example
   * ```ts
   * vectorizer.counts('cat cat dog'); // { indices: [0, 1], counts: [2, 1] }
   * ```
   */
  counts(doc: DocInput): TermCounts {
    const { table } = this.#need();
    this.#nTouched = 0;
    this.analyzer.forEachTermId(textOf(doc), table, false, this.#countTerm);
    const indices = this.#touched.slice(0, this.#nTouched).sort();
    const counts = new Float64Array(indices.length);
    const scratch = this.#scratch;
    for (let k = 0; k < indices.length; k++) {
      const j = indices[k]!;
      counts[k] = scratch[j]!;
      scratch[j] = 0;
    }
    return { indices, counts };
  }

  #touched = new Int32Array(256);
  #nTouched = 0;
  readonly #countTerm = (j: number): void => {
    const scratch = this.#scratch;
    if (scratch[j] === 0) {
      if (this.#nTouched === this.#touched.length) {
        const t = new Int32Array(this.#touched.length * 2);
        t.set(this.#touched);
        this.#touched = t;
      }
      this.#touched[this.#nTouched++] = j;
    }
    scratch[j]! += 1;
  };

  /**
   * Tf-idf weights (float64) for sorted column `indices` with raw `counts`, normalized per
   * `norm`. Exactly scikit-learn's `TfidfTransformer.transform` arithmetic.
   */
  weigh(indices: Int32Array, counts: Float64Array): Float64Array {
    const values = new Float64Array(counts.length);
    const idf = this.#idf;
    const sublinear = this.options.sublinearTf;
    for (let k = 0; k < counts.length; k++) {
      const c = counts[k]!;
      const tf = sublinear ? Math.log(c) + 1 : c;
      values[k] = idf === null ? tf : tf * idf[indices[k]!]!;
    }
    normalizeInPlace(values, this.options.norm);
    return values;
  }

  /**
   * The tf-idf row of one document: sorted indices, float32 values (scikit-learn's `transform`
   * for one document).
   *
   * @example
   * ```ts
   * const { indices, values } = vectorizer.transform('the cat sat on the mat');
   * ```
   */
  transform(doc: DocInput): SparseVector {
    const { indices, counts } = this.counts(doc);
    return { indices, values: Float32Array.from(this.weigh(indices, counts)) };
  }

  /**
   * Plain-JSON form (options, vocabulary, idf). Large vocabularies are better saved in binary by
   * {@link TfidfSvdEmbedder.save}.
   *
   * @example
   * ```ts
   * await writeFile('tfidf.json', JSON.stringify(vectorizer));
   * ```
   */
  toJSON(): TfidfVectorizerJson {
    const { featureNames } = this.#need();
    return {
      format: 'cbtm-tfidf',
      version: 1,
      options: this.options,
      featureNames,
      idf: this.#idf === null ? [] : Array.from(this.#idf),
      nDocuments: this.#nDocuments,
    };
  }
}

/** What {@link fitTfidf} learns. */
export interface FittedTfidf {
  readonly featureNames: string[];
  readonly idf: Float64Array | null;
  readonly nDocuments: number;
  /** Provisional term id (as seen by `onDocument`) → column, or -1 when pruned. */
  readonly remap: Int32Array;
}

/**
 * The streaming fit behind {@link TfidfVectorizer.fit}. `onDocument` sees the counting state
 * after each document (the embedder keeps a sample of per-document counts from it).
 */
export async function fitTfidf(
  vectorizer: TfidfVectorizer,
  docs: DocSource,
  run: LongRunOptions = {},
  onDocument?: (builder: VocabularyBuilder) => void,
): Promise<FittedTfidf> {
  const options = vectorizer.options;
  const builder = new VocabularyBuilder(vectorizer.analyzer);
  const progress = progressReporter('embed', run.onProgress, { task: 'tfidf', unit: 'docs' });
  progress.start('counting terms');
  for await (const batch of batchTexts(docs, 512)) {
    throwIfAborted(run.signal);
    for (const text of batch) {
      builder.add(text);
      onDocument?.(builder);
    }
    progress.update(builder.nDocs, { metrics: { terms: builder.size } });
  }
  throwIfAborted(run.signal);
  const nDocs = builder.nDocs;
  const vocab = builder.finish({
    minDf: dfLimit(options.minDf, nDocs, 'minDf'),
    maxDf: dfLimit(options.maxDf, nDocs, 'maxDf'),
    maxFeatures: options.maxFeatures,
  });
  let idf: Float64Array | null = null;
  if (options.useIdf) {
    // scikit-learn: idf = ln((n + smooth) / (df + smooth)) + 1, in float64.
    const smooth = options.smoothIdf ? 1 : 0;
    idf = new Float64Array(vocab.df.length);
    for (let j = 0; j < idf.length; j++)
      idf[j] = Math.log((nDocs + smooth) / (vocab.df[j]! + smooth)) + 1;
  }
  progress.done({ metrics: { terms: vocab.terms.length, pruned: vocab.pruned } });
  return { featureNames: vocab.terms, idf, nDocuments: nDocs, remap: vocab.remap };
}

/** scikit-learn's `normalize(X, norm)` for one row, in place. */
export function normalizeInPlace(values: Float64Array, norm: TfidfNorm): void {
  if (norm === null) return;
  let s = 0;
  switch (norm) {
    case 'l2':
      for (let k = 0; k < values.length; k++) s += values[k]! * values[k]!;
      s = Math.sqrt(s);
      break;
    case 'l1':
      for (let k = 0; k < values.length; k++) s += Math.abs(values[k]!);
      break;
    default:
      assertUnreachable(norm, 'norm');
  }
  if (s === 0) return;
  for (let k = 0; k < values.length; k++) values[k]! /= s;
}
