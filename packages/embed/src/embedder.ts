import { InvalidArgumentError, type LongRunOptions } from '@cbtm/core';
import type { DocSource } from './doc-source.js';

/**
 * Options of {@link Embedder.embed}.
 *
 * @example
 * ```ts
 * for await (const v of embedder.embed(docs, { batchSize: 64, signal })) use(v);
 * ```
 */
export interface EmbedOptions extends LongRunOptions {
  /** Documents per batch: the unit of work, of progress and of abort checks. @default 256 */
  readonly batchSize?: number;
}

/**
 * Turns documents into L2-normalized vectors. c-BTM clusters these vectors to discover domains,
 * and routes a context to experts by embedding it the same way. Every adapter (tf-idf + SVD,
 * transformers.js) passes the same contract suite.
 *
 * A document with nothing to embed (e.g. only stop words) gets the zero vector.
 *
 * @example
 * ```ts
 * const embedder = await loadEmbedder('runs/demo/embedder');
 * for await (const vector of embedder.embed(readCorpus('train.jsonl.gz'))) console.log(vector.length);
 * ```
 */
export interface Embedder {
  /** `'tfidf-svd'` or `'transformers'`; {@link loadEmbedder} dispatches on it. */
  readonly kind: string;
  /** Length of every vector. */
  readonly dimension: number;
  /** Embeds a stream of documents in order, one `Float32Array` per document. */
  embed(docs: DocSource, options?: EmbedOptions): AsyncIterable<Float32Array>;
  /** Embeds one text. */
  embedText(text: string): Promise<Float32Array>;
}

/**
 * The embedding of a growing text, updated as text arrives: what routing needs per generated
 * token. `vector()` always equals embedding the whole text pushed so far from scratch.
 *
 * @example
 * ```ts
 * const state = embedder.prefix();
 * for (const piece of [' The', ' cat', ' sat']) { state.push(piece); route(state.vector()); }
 * ```
 */
export interface PrefixEmbedding {
  /** Appends text (any piece: a word, a subword, punctuation, several words). */
  push(text: string): void;
  /**
   * The embedding of everything pushed so far: a fresh array, or `out` (length `dimension`)
   * overwritten, for loops that route every token without allocating.
   */
  vector(out?: Float32Array): Float32Array;
  /** An independent copy (e.g. one per beam). */
  clone(): PrefixEmbedding;
}

/**
 * Scales `v` to unit L2 norm in float64 and returns it as float32 (in `out` when given); zero
 * stays zero.
 */
export function l2NormalizeToFloat32(
  v: ArrayLike<number>,
  out: Float32Array = new Float32Array(v.length),
): Float32Array {
  if (out.length !== v.length) {
    throw new InvalidArgumentError(
      `The output vector has length ${out.length}; it must have the embedding dimension ${v.length}.`,
    );
  }
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  if (s === 0) return out.fill(0);
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * inv;
  return out;
}
