import { InvalidArgumentError } from '@cbtm/core';
import type { Embedder, PrefixEmbedding } from './embedder.js';

/**
 * The embedding of a growing context, for any {@link Embedder}: exact and O(dimension) per
 * word for embedders with an incremental `prefix()` (tf-idf + SVD); otherwise the context is
 * re-embedded from scratch once every `stride` words and the last vector is reused in between.
 *
 * @example
 * ```ts
 * const ctx = createPrefixEmbedding(embedder, { stride: 8 });
 * ctx.push(' The cat'); const v = await ctx.vector();
 * ```
 */
export interface AsyncPrefixEmbedding {
  /** Appends text. */
  push(text: string): void;
  /** The embedding of the context (possibly up to `stride − 1` words stale, see above). */
  vector(): Promise<Float32Array>;
  /** An independent copy. */
  clone(): AsyncPrefixEmbedding;
  /** Whether `vector()` is exact after every push (incremental embedders). */
  readonly incremental: boolean;
}

/**
 * Options of {@link createPrefixEmbedding}.
 *
 * @example
 * ```ts
 * const ctx = createPrefixEmbedding(embedder, { stride: 16 } satisfies PrefixEmbeddingOptions);
 * ```
 */
export interface PrefixEmbeddingOptions {
  /**
   * Re-embed every this many words for embedders without an incremental mode; defaults to the
   * embedder's `options.prefixStride` when it has one, else 1.
   */
  readonly stride?: number;
}

interface WithPrefix {
  prefix(): PrefixEmbedding;
}

function hasPrefix(e: Embedder): e is Embedder & WithPrefix {
  return typeof (e as Partial<WithPrefix>).prefix === 'function';
}

/**
 * Creates an {@link AsyncPrefixEmbedding} for `embedder`.
 *
 * @example
 * ```ts
 * const ctx = createPrefixEmbedding(await loadEmbedder(dir));
 * for (const piece of pieces) { ctx.push(piece); router.route(await ctx.vector()); }
 * ```
 */
export function createPrefixEmbedding(
  embedder: Embedder,
  options: PrefixEmbeddingOptions = {},
): AsyncPrefixEmbedding {
  if (hasPrefix(embedder)) return new IncrementalPrefix(embedder.prefix());
  const fromEmbedder = (embedder as { options?: { prefixStride?: unknown } }).options?.prefixStride;
  const stride = options.stride ?? (typeof fromEmbedder === 'number' ? fromEmbedder : 1);
  if (!Number.isInteger(stride) || stride < 1) {
    throw new InvalidArgumentError(`stride must be a positive integer, got ${stride}.`);
  }
  return new StridedPrefix(embedder, stride);
}

class IncrementalPrefix implements AsyncPrefixEmbedding {
  readonly incremental = true;
  readonly #state: PrefixEmbedding;

  constructor(state: PrefixEmbedding) {
    this.#state = state;
  }

  push(text: string): void {
    this.#state.push(text);
  }

  async vector(): Promise<Float32Array> {
    return this.#state.vector();
  }

  clone(): AsyncPrefixEmbedding {
    return new IncrementalPrefix(this.#state.clone());
  }
}

class StridedPrefix implements AsyncPrefixEmbedding {
  readonly incremental = false;
  readonly #embedder: Embedder;
  readonly #stride: number;
  #text = '';
  #words = 0;
  #inWord = false;
  #embeddedAt = -1;
  #cached: Float32Array | null = null;

  constructor(embedder: Embedder, stride: number) {
    this.#embedder = embedder;
    this.#stride = stride;
  }

  push(text: string): void {
    this.#text += text;
    for (let i = 0; i < text.length; i++) {
      const space = /\s/.test(text[i]!);
      if (!space && !this.#inWord) this.#words += 1;
      this.#inWord = !space;
    }
  }

  async vector(): Promise<Float32Array> {
    if (this.#cached === null || this.#words - this.#embeddedAt >= this.#stride) {
      this.#cached = await this.#embedder.embedText(this.#text);
      this.#embeddedAt = this.#words;
    }
    return this.#cached.slice();
  }

  clone(): AsyncPrefixEmbedding {
    const c = new StridedPrefix(this.#embedder, this.#stride);
    c.#text = this.#text;
    c.#words = this.#words;
    c.#inWord = this.#inWord;
    c.#embeddedAt = this.#embeddedAt;
    c.#cached = this.#cached;
    return c;
  }
}
