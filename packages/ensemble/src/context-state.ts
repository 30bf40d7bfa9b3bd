import type { ContextEmbedder, EnsembleTokenizer, PrefixEmbeddingLike } from './types.js';

/**
 * Turns a growing token sequence into the text of its *complete* words, causally: after
 * tokens t_0..t_{n−1} it knows only what those tokens say. A word is complete once the next
 * word has started (a token for which `tokenStartsWord` holds) or once a token ends in
 * whitespace; a special token (end of document) also closes a word. Special tokens add no text.
 *
 * The routing for position n therefore depends on t_<n alone: the weights never peek at the
 * token they predict, so the mixture is a proper distribution.
 *
 * @example
 * ```ts
 * const words = new CompletedWords(tokenizer);
 * for (const id of tokenizer.encode('the cat sat')) {
 *   const done = words.append(id); // '' until a word completes, then e.g. 'the'
 * }
 * ```
 */
export class CompletedWords {
  readonly #tokenizer: EnsembleTokenizer;
  readonly #ids: number[] = [];
  #completeUpTo = 0;
  #completedWords = 0;

  constructor(tokenizer: EnsembleTokenizer) {
    this.#tokenizer = tokenizer;
  }

  /** Tokens seen so far. */
  get length(): number {
    return this.#ids.length;
  }

  /** How many of the tokens seen so far belong to complete words. */
  get completeTokens(): number {
    return this.#completeUpTo;
  }

  /** How many chunks (words) have completed. */
  get completedWords(): number {
    return this.#completedWords;
  }

  /**
   * Appends one token and returns the text that just became complete, or `''` when none did.
   */
  append(id: number): string {
    const tok = this.#tokenizer;
    const prev = this.#ids.length > 0 ? this.#ids[this.#ids.length - 1] : undefined;
    this.#ids.push(id);
    const n = this.#ids.length;
    let text = '';
    if (this.#completeUpTo < n - 1 && tok.tokenStartsWord(id, prev)) {
      text += this.#take(n - 1);
    }
    if (tok.isSpecial(id) || /\s$/u.test(tok.decode([id]))) {
      text += this.#take(n);
    }
    return text;
  }

  #take(end: number): string {
    const tok = this.#tokenizer;
    const ids = this.#ids.slice(this.#completeUpTo, end).filter((x) => !tok.isSpecial(x));
    this.#completeUpTo = end;
    this.#completedWords++;
    return ids.length > 0 ? tok.decode(ids) : '';
  }
}

/**
 * The reference for {@link CompletedWords}, computed from scratch: how many leading tokens of
 * `ids[0..n)` form complete words.
 *
 * @example
 * ```ts
 * completeTokenCount(tokenizer, ids, 5); // e.g. 3
 * ```
 */
export function completeTokenCount(
  tokenizer: EnsembleTokenizer,
  ids: readonly number[],
  n: number,
): number {
  let complete = 0;
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    if (i > 0 && tokenizer.tokenStartsWord(id, ids[i - 1])) complete = Math.max(complete, i);
    if (tokenizer.isSpecial(id) || /\s$/u.test(tokenizer.decode([id]))) complete = i + 1;
  }
  return complete;
}

/**
 * The embedding of the complete-word prefix of a text, fed chunk by chunk. An empty prefix
 * (nothing complete yet, or no word the embedder knows) is the zero vector, so routing then
 * goes by centroid norms, ‖0 − c_j‖² = ‖c_j‖².
 *
 * @example
 * ```ts
 * const ctx = createContextState(embedder, 8);
 * ctx.push('In the beginning');
 * const vec = await ctx.vector();
 * ```
 */
export interface ContextState {
  push(text: string): void;
  vector(): Promise<Float32Array>;
  /** True when {@link vector} may differ from its last answer. */
  readonly dirty: boolean;
}

class IncrementalContext implements ContextState {
  readonly #prefix: PrefixEmbeddingLike;
  readonly #dimension: number;
  #empty = true;
  dirty = true;

  constructor(prefix: PrefixEmbeddingLike, dimension: number) {
    this.#prefix = prefix;
    this.#dimension = dimension;
  }

  push(text: string): void {
    if (text.length === 0) return;
    this.#prefix.push(text);
    this.#empty = false;
    this.dirty = true;
  }

  async vector(): Promise<Float32Array> {
    this.dirty = false;
    if (this.#empty) return new Float32Array(this.#dimension);
    return finiteOrZero(this.#prefix.vector(), this.#dimension);
  }
}

class ReembedContext implements ContextState {
  readonly #embedder: ContextEmbedder;
  readonly #stride: number;
  #text = '';
  #chunks = 0;
  #embeddedAt = 0;
  #cached: Float32Array;
  dirty = true;

  constructor(embedder: ContextEmbedder, stride: number) {
    this.#embedder = embedder;
    this.#stride = stride;
    this.#cached = new Float32Array(embedder.dimension);
  }

  push(text: string): void {
    if (text.length === 0) return;
    this.#text += text;
    this.#chunks++;
    if (this.#embeddedAt === 0 || this.#chunks - this.#embeddedAt >= this.#stride)
      this.dirty = true;
  }

  async vector(): Promise<Float32Array> {
    if (this.dirty && this.#chunks > 0) {
      this.#cached = finiteOrZero(
        await this.#embedder.embedText(this.#text),
        this.#embedder.dimension,
      );
      this.#embeddedAt = this.#chunks;
    }
    this.dirty = false;
    return this.#cached;
  }
}

function finiteOrZero(vec: Float32Array, dimension: number): Float32Array {
  for (let i = 0; i < vec.length; i++) {
    if (!Number.isFinite(vec[i]!)) return new Float32Array(dimension);
  }
  return vec;
}

/**
 * A {@link ContextState} for `embedder`: incremental when it offers `prefix()`, otherwise
 * re-embedding the whole prefix at most once every `reembedStride` completed words.
 *
 * @example
 * ```ts
 * const ctx = createContextState(embedder, 8);
 * ```
 */
export function createContextState(embedder: ContextEmbedder, reembedStride: number): ContextState {
  if (typeof embedder.prefix === 'function') {
    return new IncrementalContext(embedder.prefix(), embedder.dimension);
  }
  return new ReembedContext(embedder, reembedStride);
}
