import { InvalidArgumentError, slidingWindowStart } from '@cbtm/core';
import type { ExpertStepBatcher } from './expert-step-batcher.js';
import type { ExpertDecoder, ExpertModel } from './types.js';

/**
 * Where an expert's window starts in a text of `length` tokens: `@cbtm/core`'s
 * `slidingWindowStart`, the policy `@cbtm/train`'s decoders follow too (0 while the text fits,
 * else the smallest multiple of `slideStride` that leaves at most `contextLength` tokens).
 *
 * @example
 * ```ts
 * windowStart(130, 128, 1); // 2
 * ```
 */
export const windowStart: (length: number, contextLength: number, slideStride?: number) => number =
  slidingWindowStart;

/**
 * Options of {@link ExpertDecoders}.
 *
 * @example
 * ```ts
 * new ExpertDecoders({ cache: false }); // every step re-reads the window (the reference path)
 * ```
 */
export interface ExpertDecodersOptions {
  /**
   * Use each expert's key/value cache (`createDecoder`) when it has one.
   * @default true
   */
  readonly cache?: boolean;
  /**
   * How the window slides past the context length (see {@link windowStart}); 1 reads the last
   * `contextLength` tokens at every step.
   * @default 1
   */
  readonly slideStride?: number;
  /** Runs cached steps together with other generations' (see {@link ExpertStepBatcher}). */
  readonly batcher?: ExpertStepBatcher;
}

/**
 * Defaults of {@link ExpertDecodersOptions}.
 *
 * @example
 * ```ts
 * const { cache, slideStride } = defaultExpertDecodersOptions; // true, 1
 * ```
 */
export const defaultExpertDecodersOptions = Object.freeze({ cache: true, slideStride: 1 });

/**
 * The next-token rows of one growing text (one generation), per expert. With the cache on,
 * each expert keeps a decoder that reads only the tokens added since that expert last ran, so
 * an expert that routing leaves out for a few steps catches up in one pass when it comes back.
 * A decoder belongs to one loaded model: when the expert pool evicts and reloads an expert, its
 * decoder starts again on the new instance. Rows equal, within float rounding, those of the
 * uncached path (the model's `logProbs` over the same window).
 *
 * @example
 * ```ts
 * const decoders = new ExpertDecoders();
 * const row = await pool.use(2, (m) => decoders.next(2, m, [eos, ...ids]));
 * decoders.dispose();
 * ```
 */
export class ExpertDecoders {
  /** Whether key/value caches are used. */
  readonly cache: boolean;
  /** How the windows slide. */
  readonly slideStride: number;
  readonly #decoders = new Map<number, { model: ExpertModel; decoder: ExpertDecoder }>();
  readonly #batcher: ExpertStepBatcher | undefined;

  constructor(options: ExpertDecodersOptions = {}) {
    this.cache = options.cache ?? defaultExpertDecodersOptions.cache;
    this.slideStride = options.slideStride ?? defaultExpertDecodersOptions.slideStride;
    this.#batcher = options.batcher;
    if (!Number.isInteger(this.slideStride) || this.slideStride < 1) {
      throw new InvalidArgumentError(
        `slideStride must be an integer ≥ 1, got ${this.slideStride}.`,
      );
    }
  }

  /** log p(next token | text) under `model` (expert `expert`), vocabSize values. */
  async next(expert: number, model: ExpertModel, text: readonly number[]): Promise<Float32Array> {
    if (this.cache && model.createDecoder) {
      let entry = this.#decoders.get(expert);
      if (entry?.model !== model) {
        entry?.decoder.dispose();
        entry = { model, decoder: model.createDecoder({ slideStride: this.slideStride }) };
        this.#decoders.set(expert, entry);
      }
      return this.#batcher
        ? this.#batcher.next(model, entry.decoder, text)
        : entry.decoder.next(text);
    }
    const { contextLength: C, vocabSize: V } = model.config;
    const start = windowStart(text.length, C, this.slideStride);
    const window = Int32Array.from(text.slice(start));
    const rows = await model.logProbs(window);
    return rows.slice((window.length - 1) * V, window.length * V);
  }

  /** Frees every decoder's cache. */
  dispose(): void {
    for (const { decoder } of this.#decoders.values()) decoder.dispose();
    this.#decoders.clear();
  }
}
