import { InvalidArgumentError } from '@cbtm/core';
import type { Analyzer } from './analyzer.js';
import { numpyArgsort } from './numpy-argsort.js';
import { TermTable } from './term-table.js';
import { compareCodePoints } from './unicode.js';

/**
 * A document-frequency threshold, as scikit-learn's `min_df`/`max_df`: an integer is a count of
 * documents, a non-integer a fraction of them. `{ fraction: 1 }` spells scikit-learn's `1.0`
 * (JS has no separate float 1.0); `{ count: n }` is the explicit count form.
 *
 * @example
 * ```ts
 * const minDf: DfThreshold = 2;               // in at least 2 documents
 * const maxDf: DfThreshold = { fraction: 0.5 }; // in at most half of them
 * ```
 */
export type DfThreshold = number | { readonly count: number } | { readonly fraction: number };

/** The document count a threshold stands for, as scikit-learn computes it. */
export function dfLimit(t: DfThreshold, nDocs: number, name: string): number {
  if (typeof t === 'number') {
    if (!Number.isFinite(t) || t < 0)
      throw new InvalidArgumentError(`${name} must be ≥ 0, got ${t}.`);
    if (Number.isInteger(t)) return t;
    if (t > 1) throw new InvalidArgumentError(`${name} as a fraction must be in [0, 1], got ${t}.`);
    return t * nDocs;
  }
  if (t !== null && typeof t === 'object') {
    if ('fraction' in t && typeof t.fraction === 'number') {
      if (!(t.fraction >= 0 && t.fraction <= 1)) {
        throw new InvalidArgumentError(`${name}.fraction must be in [0, 1], got ${t.fraction}.`);
      }
      return t.fraction * nDocs;
    }
    if ('count' in t && typeof t.count === 'number') {
      if (!Number.isInteger(t.count) || t.count < 0) {
        throw new InvalidArgumentError(`${name}.count must be an integer ≥ 0, got ${t.count}.`);
      }
      return t.count;
    }
  }
  throw new InvalidArgumentError(
    `${name} must be a number, { count } or { fraction }, got ${JSON.stringify(t)}.`,
  );
}

/** One document's distinct terms (provisional ids) and their counts. */
export interface DocTerms {
  readonly ids: Int32Array;
  readonly counts: Int32Array;
}

/** The fitted vocabulary: terms in column order, document frequencies, and the id remap. */
export interface FinishedVocabulary {
  /** Terms in column order (sorted by code point, as scikit-learn sorts). */
  readonly terms: string[];
  /** Document frequency of each column. */
  readonly df: Float64Array;
  /** Provisional id → column, or -1 for terms that were pruned. */
  readonly remap: Int32Array;
  /** Number of documents counted. */
  readonly nDocs: number;
  /** Terms removed by minDf/maxDf/maxFeatures (scikit-learn's `stop_words_`). */
  readonly pruned: number;
}

/**
 * Counts terms over a stream of documents with memory bounded by the vocabulary: per term, a
 * document frequency and a total count; no per-document state survives a document.
 */
export class VocabularyBuilder {
  readonly #analyzer: Analyzer;
  readonly #table = new TermTable(4096);
  #df = new Int32Array(1024);
  #tf = new Float64Array(1024);
  #lastDoc = new Int32Array(1024).fill(-1);
  #docCount = new Int32Array(1024);
  #touched = new Int32Array(256);
  #nTouched = 0;
  #nDocs = 0;

  constructor(analyzer: Analyzer) {
    this.#analyzer = analyzer;
  }

  /** Documents counted so far. */
  get nDocs(): number {
    return this.#nDocs;
  }

  /** Distinct terms seen so far. */
  get size(): number {
    return this.#table.size;
  }

  /** Counts one document. */
  add(text: string): void {
    this.#nTouched = 0;
    this.#analyzer.forEachTermId(text, this.#table, true, this.#count);
    this.#nDocs += 1;
  }

  readonly #count = (id: number): void => {
    if (id >= this.#df.length) this.#grow();
    this.#tf[id]! += 1;
    if (this.#lastDoc[id] !== this.#nDocs) {
      this.#lastDoc[id] = this.#nDocs;
      this.#df[id]! += 1;
      this.#docCount[id] = 1;
      if (this.#nTouched === this.#touched.length) {
        const t = new Int32Array(this.#touched.length * 2);
        t.set(this.#touched);
        this.#touched = t;
      }
      this.#touched[this.#nTouched++] = id;
    } else {
      this.#docCount[id]! += 1;
    }
  };

  /** The distinct terms of the document last passed to {@link add}, with their counts. */
  lastDocTerms(): DocTerms {
    const ids = this.#touched.slice(0, this.#nTouched);
    const counts = new Int32Array(ids.length);
    for (let k = 0; k < ids.length; k++) counts[k] = this.#docCount[ids[k]!]!;
    return { ids, counts };
  }

  #grow(): void {
    const n = this.#df.length * 2;
    const df = new Int32Array(n);
    df.set(this.#df);
    this.#df = df;
    const tf = new Float64Array(n);
    tf.set(this.#tf);
    this.#tf = tf;
    const last = new Int32Array(n).fill(-1);
    last.set(this.#lastDoc);
    this.#lastDoc = last;
    const dc = new Int32Array(n);
    dc.set(this.#docCount);
    this.#docCount = dc;
  }

  /**
   * Applies scikit-learn's `_sort_features` and `_limit_features`: sort terms, keep those with
   * `minDf ≤ df ≤ maxDf`, then the `maxFeatures` most frequent (numpy's argsort tie order).
   */
  finish(limits: { minDf: number; maxDf: number; maxFeatures: number | null }): FinishedVocabulary {
    const n = this.#table.size;
    if (n === 0) {
      throw new InvalidArgumentError(
        'Empty vocabulary: the documents contain only stop words or no tokens at all. Check tokenPattern and stopWords, or pass more text.',
      );
    }
    const { minDf, maxDf, maxFeatures } = limits;
    if (maxDf < minDf) {
      throw new InvalidArgumentError(
        `maxDf corresponds to fewer documents (${maxDf}) than minDf (${minDf}); raise maxDf or lower minDf.`,
      );
    }
    const order = Array.from({ length: n }, (_, i) => i);
    const terms = this.#table.terms;
    order.sort((a, b) => compareCodePoints(terms[a]!, terms[b]!));
    let keep = order.filter((id) => this.#df[id]! <= maxDf && this.#df[id]! >= minDf);
    if (maxFeatures !== null && keep.length > maxFeatures) {
      const negTf = Float64Array.from(keep, (id) => -this.#tf[id]!);
      const chosen = numpyArgsort(negTf).subarray(0, maxFeatures);
      const mask = new Uint8Array(keep.length);
      for (const k of chosen) mask[k] = 1;
      keep = keep.filter((_, k) => mask[k] === 1);
    }
    if (keep.length === 0) {
      throw new InvalidArgumentError(
        'After pruning, no terms remain. Try a lower minDf or a higher maxDf.',
      );
    }
    const remap = new Int32Array(n).fill(-1);
    const df = new Float64Array(keep.length);
    const out: string[] = new Array(keep.length);
    keep.forEach((id, col) => {
      remap[id] = col;
      df[col] = this.#df[id]!;
      out[col] = terms[id]!;
    });
    return { terms: out, df, remap, nDocs: this.#nDocs, pruned: n - keep.length };
  }
}
