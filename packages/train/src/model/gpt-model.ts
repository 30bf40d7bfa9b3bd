import { CbtmError, InvalidArgumentError, Rng } from '@cbtm/core';
import * as tf from '@tensorflow/tfjs-core';
import { ensureBackend } from '../backend/select-backend.js';
import {
  type GptConfig,
  gptFlopsPerToken,
  gptParamCount,
  gptParamSpecs,
  type ParamSpec,
  resolveGptConfig,
} from './gpt-config.js';
import { GptDecoder, type GptDecoderOptions } from './gpt-decoder.js';
import { type GptParams, gptHidden, gptLogits } from './gpt-forward.js';
import {
  appendOneToEach,
  appendToCache,
  GptKvCache,
  type IncrementalRows,
  logSoftmaxRows,
} from './kv-cache.js';
import { readModelFiles, writeModelFiles } from './model-files.js';

/**
 * Options of {@link GptModel.create}.
 *
 * @example
 * ```ts
 * await GptModel.create({ vocabSize: 4096 }, { seed: 7 });
 * ```
 */
export interface CreateGptOptions {
  /** Seed of the initial weights. @default 0 */
  readonly seed?: number;
}

/**
 * Default {@link CreateGptOptions}.
 *
 * @example
 * ```ts
 * await GptModel.create(config, defaultCreateGptOptions);
 * ```
 */
export const defaultCreateGptOptions = { seed: 0 } as const satisfies CreateGptOptions;

/**
 * Options of {@link GptModel.forwardIncremental}.
 *
 * @example
 * ```ts
 * await model.forwardIncremental(cache, ids, { rows: 'last' });
 * ```
 */
export interface ForwardIncrementalOptions {
  /**
   * Which new positions get log-probabilities: `'all'`, the `'last'` of each batch row (what
   * generation needs; the vocabulary projection of the others is skipped), or `'none'`.
   * @default 'all'
   */
  readonly rows?: IncrementalRows;
}

/** Rows of windows scored together by {@link GptModel.logProbs}. */
const WINDOWS_PER_BATCH = 8;

/** GPT-2 initial weights: N(0, 0.02), residual projections scaled by 1/√(2·layers). */
function initialWeights(config: GptConfig, seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  const residualStd = 0.02 / Math.sqrt(2 * config.nLayer);
  for (const s of gptParamSpecs(config)) {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const w = new Float32Array(size);
    if (s.name.endsWith('.gamma')) w.fill(1);
    else if (s.shape.length >= 2) {
      const std = s.name.endsWith('attn.wo') || s.name.endsWith('mlp.w2') ? residualStd : 0.02;
      for (let i = 0; i < size; i++) w[i] = rng.normal() * std;
    }
    out.set(s.name, w);
  }
  return out;
}

/**
 * A decoder-only transformer language model in TensorFlow.js (see {@link GptConfig}). It saves
 * to and loads from TF.js's format (model.json + one weights shard), so a browser can load it.
 *
 * @example
 * ```ts
 * const model = await GptModel.create({ vocabSize: 64, dModel: 16, nHead: 2, nLayer: 1, contextLength: 16 });
 * const lp = await model.logProbs(new Int32Array([1, 2, 3])); // 3 rows of 64 log-probabilities
 * await model.save('runs/a/experts/0');
 * model.dispose();
 * ```
 */
export class GptModel {
  /** The model's shape. */
  readonly config: GptConfig;
  readonly #specs: ParamSpec[];
  #vars: Map<string, tf.Variable>;
  /** wteᵀ for incremental decoding, and the data of `wte` it was made from. */
  #wteT: { readonly of: object; readonly t: tf.Tensor2D } | null = null;

  private constructor(config: GptConfig, weights: ReadonlyMap<string, Float32Array>) {
    this.config = config;
    this.#specs = gptParamSpecs(config);
    this.#vars = new Map();
    for (const s of this.#specs) {
      const w = weights.get(s.name)!;
      const t = tf.tensor(w, [...s.shape], 'float32');
      this.#vars.set(s.name, tf.variable(t, true, `cbtm/${s.name}/${nextId()}`));
      t.dispose();
    }
  }

  /** A freshly initialised model (GPT-2 initialisation, seeded). */
  static async create(
    config: Partial<GptConfig> & Pick<GptConfig, 'vocabSize'>,
    options: CreateGptOptions = {},
  ): Promise<GptModel> {
    await ensureBackend();
    const resolved = resolveGptConfig(config);
    return new GptModel(
      resolved,
      initialWeights(resolved, options.seed ?? defaultCreateGptOptions.seed),
    );
  }

  /** A model from weights by name (as returned by {@link GptModel.getWeights}). */
  static async fromWeights(
    config: GptConfig,
    weights: ReadonlyMap<string, Float32Array>,
  ): Promise<GptModel> {
    await ensureBackend();
    const resolved = resolveGptConfig(config);
    for (const s of gptParamSpecs(resolved)) {
      const w = weights.get(s.name);
      if (!w || w.length !== s.shape.reduce((a, b) => a * b, 1)) {
        throw new InvalidArgumentError(
          `Weight ${s.name} is missing or has the wrong size for this config.`,
        );
      }
    }
    return new GptModel(resolved, weights);
  }

  /** Loads a model saved by {@link GptModel.save} (model.json + group1-shard1of1.bin). */
  static async load(dir: string): Promise<GptModel> {
    const { config, weights } = await readModelFiles(dir);
    await ensureBackend();
    return new GptModel(config, weights);
  }

  /** Writes model.json and the weights shard into `dir`, atomically. */
  async save(dir: string): Promise<void> {
    await writeModelFiles(dir, this.config, this.getWeights());
  }

  /** Number of weights. */
  paramCount(): number {
    return gptParamCount(this.config);
  }

  /** Training FLOPs per token (forward + backward), see `gptFlopsPerToken`. */
  flopsPerToken(): number {
    return gptFlopsPerToken(this.config);
  }

  /** The weights' names, shapes and decay flags, in file order. */
  paramSpecs(): readonly ParamSpec[] {
    return this.#specs;
  }

  /** The live weights (TF.js variables) by name, for training code. */
  params(): GptParams {
    this.#assertLive();
    return Object.fromEntries(this.#vars);
  }

  /** The live variables in spec order. */
  variables(): tf.Variable[] {
    this.#assertLive();
    return this.#specs.map((s) => this.#vars.get(s.name)!);
  }

  /** Copies of every weight by name. */
  getWeights(): Map<string, Float32Array> {
    this.#assertLive();
    const out = new Map<string, Float32Array>();
    for (const s of this.#specs)
      out.set(s.name, this.#vars.get(s.name)!.dataSync() as Float32Array);
    return out;
  }

  /**
   * Replaces weights by name with fresh tensors (never in place: the wasm backend caches packed
   * matrices by tensor id).
   */
  setWeights(weights: ReadonlyMap<string, Float32Array>): void {
    this.#assertLive();
    for (const s of this.#specs) {
      const w = weights.get(s.name);
      if (!w) continue;
      const t = tf.tensor(w, [...s.shape], 'float32');
      this.#vars.get(s.name)!.assign(t);
      t.dispose();
    }
  }

  /**
   * log p(x_{t+1} | x_0..x_t) for every position t of `ids`, as a row-major
   * [ids.length, vocabSize] array. Longer inputs than the context are scored with a sliding
   * window of stride contextLength/2, so every position after the first window sees at least
   * half a context.
   *
   * @example
   * ```ts
   * const lp = await model.logProbs(new Int32Array(ids));
   * const nll = -lp[t * model.config.vocabSize + ids[t + 1]];
   * ```
   */
  async logProbs(ids: Int32Array): Promise<Float32Array> {
    this.#assertLive();
    const { contextLength: C, vocabSize: V } = this.config;
    const L = ids.length;
    const out = new Float32Array(L * V);
    if (L === 0) return out;
    for (let i = 0; i < L; i++) {
      if (!(ids[i]! >= 0 && ids[i]! < V))
        throw new InvalidArgumentError(
          `Token id ${ids[i]} at ${i} is outside the vocabulary [0, ${V}).`,
        );
    }
    // Windows: [start, start + len) whose predictions for positions [from, start + len) are kept.
    const windows: { start: number; from: number }[] = [];
    if (L <= C) windows.push({ start: 0, from: 0 });
    else {
      const stride = Math.max(1, Math.floor(C / 2));
      windows.push({ start: 0, from: 0 });
      let covered = C;
      while (covered < L) {
        const start = Math.min(covered + stride - C, L - C);
        windows.push({ start, from: covered });
        covered = start + C;
      }
    }
    const len = Math.min(L, C);
    const params = this.params();
    for (let w0 = 0; w0 < windows.length; w0 += WINDOWS_PER_BATCH) {
      const group = windows.slice(w0, w0 + WINDOWS_PER_BATCH);
      const batch = new Int32Array(group.length * len);
      for (const [b, w] of group.entries())
        batch.set(ids.subarray(w.start, w.start + len), b * len);
      const lp = tf.tidy(() => {
        const x = tf.tensor2d(batch, [group.length, len], 'int32');
        return tf.logSoftmax(gptLogits(params, gptHidden(this.config, params, x)));
      });
      // Read outside tidy: reads inside a scope are slow on wasm.
      const values = (await lp.data()) as Float32Array;
      lp.dispose();
      group.forEach((w, b) => {
        const rows = w.start + len - w.from;
        const src = (b * len + (w.from - w.start)) * V;
        out.set(values.subarray(src, src + rows * V), w.from * V);
      });
    }
    return out;
  }

  /**
   * An empty key/value cache for {@link GptModel.forwardIncremental}: `batch` rows that grow
   * together, up to `contextLength` positions. The caller disposes it.
   *
   * @example
   * ```ts
   * const cache = model.createCache();
   * const lp = await model.forwardIncremental(cache, new Int32Array([0, 5, 9]));
   * cache.dispose();
   * ```
   */
  createCache(batch = 1): GptKvCache {
    this.#assertLive();
    return new GptKvCache(this.config, batch);
  }

  /**
   * Incremental decoding: reads `ids` (row-major [batch, n], n ≥ 1 new tokens per row) after
   * the positions already in `cache`, appends their keys and values to it, and returns
   * log p(next token) for the new positions as a row-major [batch · rows, vocabSize] array (rows
   * = n, 1 or 0 as `options.rows` says; null for `'none'`). Position P + i of the cache gets
   * the same values, within float rounding, as position P + i of one full forward pass over the
   * whole sequence (see {@link GptModel.logProbs}). It never slides: when P + n would pass
   * `contextLength` it throws, and the caller re-reads a window into a reset cache;
   * {@link GptModel.createDecoder} does that for a growing text.
   *
   * @example
   * ```ts
   * const cache = model.createCache();
   * await model.forwardIncremental(cache, new Int32Array([0, 17, 4]), { rows: 'none' }); // prefill
   * const row = await model.forwardIncremental(cache, new Int32Array([9])); // vocabSize values
   * cache.dispose();
   * ```
   */
  async forwardIncremental(
    cache: GptKvCache,
    ids: Int32Array,
    options: ForwardIncrementalOptions = {},
  ): Promise<Float32Array | null> {
    this.#assertLive();
    const { contextLength: C, vocabSize: V } = this.config;
    const rows = options.rows ?? 'all';
    if (cache.capacity !== C || cache.layerCount !== this.config.nLayer) {
      throw new InvalidArgumentError('This cache was made for a model of another shape.');
    }
    const B = cache.batch;
    const n = ids.length / B;
    if (!Number.isInteger(n) || n < 1) {
      throw new InvalidArgumentError(
        `forwardIncremental needs n ≥ 1 tokens for each of the cache's ${B} rows, got ${ids.length} ids.`,
      );
    }
    if (cache.length + n > C) {
      throw new InvalidArgumentError(
        `The cache holds ${cache.length} positions and ${n} more would pass the context length ${C}; reset it and re-read the last window (or use createDecoder).`,
      );
    }
    for (let i = 0; i < ids.length; i++) {
      if (!(ids[i]! >= 0 && ids[i]! < V))
        throw new InvalidArgumentError(
          `Token id ${ids[i]} at ${i} is outside the vocabulary [0, ${V}).`,
        );
    }
    const params = this.params();
    const wteT = this.#transposedEmbedding();
    const kept: tf.Tensor2D[] = [];
    tf.tidy(() => {
      const x = tf.tensor2d(ids, [B, n], 'int32');
      const out = appendToCache(this.config, params, wteT, cache, x, rows);
      if (out) kept.push(tf.keep(out));
    });
    const logits = kept[0];
    if (!logits) return null;
    // Read outside tidy: reads inside a scope are slow on wasm.
    const values = (await logits.data()) as Float32Array;
    logits.dispose();
    return logSoftmaxRows(values, V);
  }

  /**
   * One decoding step for several texts at once: appends `ids[i]` to `caches[i]` (each a batch-1
   * cache of this model, of any length below the context) and returns each one's next-token
   * log-probabilities, vocabSize values per cache. The weight products run once for all rows,
   * so concurrent generations that share this model share its cost; each row equals a
   * {@link GptModel.forwardIncremental} step on its own cache, within float rounding.
   *
   * @example
   * ```ts
   * const [a, b] = await model.forwardStepMany([cacheA, cacheB], Int32Array.of(17, 4));
   * ```
   */
  async forwardStepMany(caches: readonly GptKvCache[], ids: Int32Array): Promise<Float32Array[]> {
    this.#assertLive();
    const { contextLength: C, vocabSize: V } = this.config;
    if (caches.length !== ids.length || caches.length === 0) {
      throw new InvalidArgumentError(
        `forwardStepMany needs one new token per cache, got ${ids.length} for ${caches.length}.`,
      );
    }
    if (new Set(caches).size !== caches.length) {
      throw new InvalidArgumentError('forwardStepMany got the same cache twice.');
    }
    for (const [i, c] of caches.entries()) {
      if (c.capacity !== C || c.layerCount !== this.config.nLayer || c.batch !== 1) {
        throw new InvalidArgumentError(`Cache ${i} is not a batch-1 cache of this model's shape.`);
      }
      if (c.length + 1 > C) {
        throw new InvalidArgumentError(
          `Cache ${i} holds ${c.length} positions; one more would pass the context length ${C}.`,
        );
      }
      if (!(ids[i]! >= 0 && ids[i]! < V)) {
        throw new InvalidArgumentError(
          `Token id ${ids[i]} at ${i} is outside the vocabulary [0, ${V}).`,
        );
      }
    }
    const params = this.params();
    const wteT = this.#transposedEmbedding();
    const kept: tf.Tensor2D[] = [];
    tf.tidy(() => {
      kept.push(tf.keep(appendOneToEach(this.config, params, wteT, caches, ids)));
    });
    const logits = kept[0]!;
    const values = (await logits.data()) as Float32Array;
    logits.dispose();
    logSoftmaxRows(values, V);
    return caches.map((_, i) => values.slice(i * V, (i + 1) * V));
  }

  /**
   * A {@link GptDecoder}: next-token log-probabilities of a growing text through a key/value
   * cache, sliding its window as {@link GptDecoderOptions} says. The caller disposes it.
   *
   * @example
   * ```ts
   * const decoder = model.createDecoder();
   * const row = await decoder.next([0, 17, 4]);
   * decoder.dispose();
   * ```
   */
  createDecoder(options: GptDecoderOptions = {}): GptDecoder {
    this.#assertLive();
    return new GptDecoder(this, options);
  }

  /**
   * wteᵀ [d, V], kept between decoding steps: transposing the tied embedding at every step cost
   * about as much as the rest of a one-token step. `assign` gives a variable new data, so
   * training or `setWeights` invalidates it.
   */
  #transposedEmbedding(): tf.Tensor2D {
    const wte = this.#vars.get('wte')!;
    if (this.#wteT?.of !== wte.dataId) {
      this.#wteT?.t.dispose();
      this.#wteT = { of: wte.dataId as object, t: tf.tidy(() => tf.transpose(wte)) as tf.Tensor2D };
    }
    return this.#wteT.t;
  }

  /**
   * {@link GptDecoder.nextMany}: one step of several decoders (e.g. one per concurrent
   * generation), with the one-token steps of this model's decoders run as one batch.
   *
   * @example
   * ```ts
   * const [rowA, rowB] = await model.decodeMany([{ decoder: a, text: textA }, { decoder: b, text: textB }]);
   * ```
   */
  decodeMany(
    requests: readonly { readonly decoder: GptDecoder; readonly text: ArrayLike<number> }[],
  ): Promise<Float32Array[]> {
    this.#assertLive();
    return GptDecoder.nextMany(requests);
  }

  /** Frees the weights. The model cannot be used afterwards. */
  dispose(): void {
    this.#wteT?.t.dispose();
    this.#wteT = null;
    for (const v of this.#vars.values()) v.dispose();
    this.#vars = new Map();
  }

  #assertLive(): void {
    if (this.#vars.size === 0)
      throw new CbtmError('E_MODEL', 'This GptModel was disposed; load or create it again.');
  }
}

let idCounter = 0;
function nextId(): number {
  idCounter += 1;
  return idCounter;
}
