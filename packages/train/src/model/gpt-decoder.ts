import { InvalidArgumentError, slidingWindowStart } from '@cbtm/core';
import type { GptKvCache } from './kv-cache.js';

// The window policy lives in @cbtm/core, so @cbtm/ensemble's pure entry uses the same function
// without loading TensorFlow.js.
export { slidingWindowStart };

/**
 * Options of {@link GptDecoder} (`GptModel.createDecoder`).
 *
 * @example
 * ```ts
 * const decoder = model.createDecoder({ slideStride: 32 });
 * ```
 */
export interface GptDecoderOptions {
  /**
   * How the window slides once the text is longer than the context (see
   * {@link slidingWindowStart}). Learned positions tie every cached key to its position, so a
   * slide re-reads (re-prefills) the whole window. 1 slides by one token at every step: exact
   * (the same as re-reading the last `contextLength` tokens), but every step past the context
   * is a full window's work. N > 1 re-reads once every N steps and steps incrementally in
   * between; the model then sees at least contextLength − N + 1 tokens.
   * @default 1
   */
  readonly slideStride?: number;
}

/**
 * Defaults of {@link GptDecoderOptions}.
 *
 * @example
 * ```ts
 * model.createDecoder({ ...defaultGptDecoderOptions });
 * ```
 */
export const defaultGptDecoderOptions = Object.freeze({ slideStride: 1 });

/**
 * What a {@link GptDecoder} needs from its model; `GptModel` is one.
 *
 * @example
 * ```ts
 * const source: IncrementalModel = await GptModel.load('runs/demo/experts/0');
 * const decoder = new GptDecoder(source);
 * ```
 */
export interface IncrementalModel {
  readonly config: { readonly contextLength: number; readonly vocabSize: number };
  createCache(batch?: number): GptKvCache;
  forwardIncremental(
    cache: GptKvCache,
    ids: Int32Array,
    options?: { readonly rows?: 'all' | 'last' | 'none' },
  ): Promise<Float32Array | null>;
  forwardStepMany(caches: readonly GptKvCache[], ids: Int32Array): Promise<Float32Array[]>;
}

/**
 * Counts of a decoder's work, for tests and benchmarks.
 *
 * @example
 * ```ts
 * decoder.stats; // { calls: 40, prefills: 1, positions: 60 }
 * ```
 */
export interface GptDecoderStats {
  /** Calls of {@link GptDecoder.next}. */
  readonly calls: number;
  /** Times the window was read from its start (first call, a slide, or a different text). */
  readonly prefills: number;
  /** Positions run through the model in all. */
  readonly positions: number;
}

/**
 * Next-token log-probabilities of a growing text, with a key/value cache: each call reads only
 * the tokens added since the last one (any number: a caller that skips steps catches up in one
 * pass), and re-reads the window when it slides (see {@link GptDecoderOptions.slideStride}) or
 * when the text is not a continuation of the one cached. With the default stride of 1 the rows
 * equal, within float rounding, those of `model.logProbs` on the last `contextLength` tokens.
 *
 * @example
 * ```ts
 * const decoder = model.createDecoder();
 * const ids = [0, 17, 4];
 * const row = await decoder.next(ids); // log p(· | ids), vocabSize values
 * ids.push(argmax(row));
 * await decoder.next(ids); // reads one new position
 * decoder.dispose();
 * ```
 */
export class GptDecoder {
  /** The stride the window slides by. */
  readonly slideStride: number;
  readonly #model: IncrementalModel;
  readonly #cache: GptKvCache;
  /** Text offset of the cache's first position, and the tokens it holds. */
  #start = 0;
  #tokens: number[] = [];
  #lastRow: Float32Array | null = null;
  #calls = 0;
  #prefills = 0;
  #positions = 0;

  constructor(model: IncrementalModel, options: GptDecoderOptions = {}) {
    const C = model.config.contextLength;
    this.slideStride = options.slideStride ?? defaultGptDecoderOptions.slideStride;
    slidingWindowStart(0, C, this.slideStride);
    this.#model = model;
    this.#cache = model.createCache(1);
  }

  /** Work done so far. */
  get stats(): GptDecoderStats {
    return { calls: this.#calls, prefills: this.#prefills, positions: this.#positions };
  }

  /**
   * log p(next token | text), vocabSize values, for the window of `text` that
   * {@link slidingWindowStart} picks. The returned array is the caller's.
   */
  async next(text: ArrayLike<number>): Promise<Float32Array> {
    const from = this.#prepare(text);
    if (from === text.length && this.#lastRow) return this.#lastRow.slice();
    return this.#read(text, from);
  }

  /**
   * {@link GptDecoder.next} for several decoders at once, e.g. one per concurrent generation.
   * The decoders of one model that each need exactly one new token run as one batched step
   * (`forwardStepMany`); the others (a first read, a catch-up, a slide) run on their own. Each
   * result equals what `decoder.next(text)` gives, within float rounding.
   *
   * @example
   * ```ts
   * const [rowA, rowB] = await GptDecoder.nextMany([
   *   { decoder: a, text: textA },
   *   { decoder: b, text: textB },
   * ]);
   * ```
   */
  static async nextMany(
    requests: readonly { readonly decoder: GptDecoder; readonly text: ArrayLike<number> }[],
  ): Promise<Float32Array[]> {
    if (new Set(requests.map((r) => r.decoder)).size !== requests.length) {
      throw new InvalidArgumentError('nextMany got the same decoder twice; call it once per step.');
    }
    const out: Float32Array[] = new Array(requests.length);
    const steps = new Map<IncrementalModel, number[]>();
    for (const [i, { decoder, text }] of requests.entries()) {
      const from = decoder.#prepare(text);
      if (from === text.length && decoder.#lastRow) out[i] = decoder.#lastRow.slice();
      else if (text.length - from === 1 && decoder.#tokens.length > 0) {
        const group = steps.get(decoder.#model) ?? [];
        group.push(i);
        steps.set(decoder.#model, group);
      } else out[i] = await decoder.#read(text, from);
    }
    for (const [model, group] of steps) {
      const caches = group.map((i) => requests[i]!.decoder.#cache);
      const ids = Int32Array.from(group, (i) => {
        const { text } = requests[i]!;
        return text[text.length - 1]!;
      });
      const rows = await model.forwardStepMany(caches, ids);
      group.forEach((i, g) => {
        out[i] = requests[i]!.decoder.#commit(ids.subarray(g, g + 1), rows[g]!);
      });
    }
    return out;
  }

  /** Counts the call, resets the cache unless `text` continues it; the first text offset to read. */
  #prepare(text: ArrayLike<number>): number {
    const L = text.length;
    if (L < 1) throw new InvalidArgumentError('A decoder needs at least one token of text.');
    this.#calls++;
    const start = slidingWindowStart(L, this.#model.config.contextLength, this.slideStride);
    let from = start + this.#tokens.length;
    const continues =
      start === this.#start && from <= L && this.#tokens.every((t, i) => text[start + i] === t);
    if (!continues) {
      this.#cache.reset();
      this.#tokens = [];
      this.#lastRow = null;
      this.#start = start;
      from = start;
    }
    if (this.#tokens.length === 0) this.#prefills++;
    return from;
  }

  /** Reads text[from..] into the cache; the last position's row. */
  async #read(text: ArrayLike<number>, from: number): Promise<Float32Array> {
    const fresh = Int32Array.from({ length: text.length - from }, (_, i) => text[from + i]!);
    const row = await this.#model.forwardIncremental(this.#cache, fresh, { rows: 'last' });
    return this.#commit(fresh, row!);
  }

  /** Records tokens just read and the row they gave; returns the caller's copy of the row. */
  #commit(fresh: ArrayLike<number>, row: Float32Array): Float32Array {
    for (let i = 0; i < fresh.length; i++) this.#tokens.push(fresh[i]!);
    this.#positions += fresh.length;
    this.#lastRow = row;
    return row.slice();
  }

  /** Frees the cache. */
  dispose(): void {
    this.#cache.dispose();
    this.#tokens = [];
    this.#lastRow = null;
  }
}
