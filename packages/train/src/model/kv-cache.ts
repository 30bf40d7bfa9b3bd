import { InvalidArgumentError } from '@cbtm/core';
import * as tf from '@tensorflow/tfjs-core';
import { causalSoftmax } from '../ops/causal-softmax.js';
import { gelu } from '../ops/gelu.js';
import { layerNorm } from '../ops/layer-norm.js';
import type { GptConfig } from './gpt-config.js';
import type { GptParams } from './gpt-forward.js';

/** Keys and values of one layer for the positions cached so far: each [B·H, length, dh]. */
interface LayerKv {
  readonly k: tf.Tensor3D;
  readonly v: tf.Tensor3D;
}

// Lets the forward pass below swap a cache's tensors without making them public.
let swapLayers: (cache: GptKvCache, layers: LayerKv[], length: number) => void;
let layersOf: (cache: GptKvCache) => readonly LayerKv[];

/**
 * The keys and values of every attention layer for the positions a model has already read, so
 * the next tokens attend to them without recomputing them (incremental decoding). It holds
 * `batch` rows of equal length, at most the model's `contextLength` positions; make one with
 * `GptModel.createCache` and extend it with `GptModel.forwardIncremental`.
 *
 * @example
 * ```ts
 * const cache = model.createCache();
 * await model.forwardIncremental(cache, new Int32Array([0, 17, 4])); // prefill 3 positions
 * cache.length; // 3
 * cache.dispose();
 * ```
 */
export class GptKvCache {
  /** Rows decoded together. */
  readonly batch: number;
  /** Most positions the cache can hold (the model's context length). */
  readonly capacity: number;
  readonly #nLayer: number;
  #layers: LayerKv[] = [];
  #length = 0;

  static {
    swapLayers = (cache, layers, length) => {
      for (const l of cache.#layers) {
        l.k.dispose();
        l.v.dispose();
      }
      cache.#layers = layers;
      cache.#length = length;
    };
    layersOf = (cache) => cache.#layers;
  }

  /** Use `GptModel.createCache`; a cache belongs to the model shape it was made for. */
  constructor(config: GptConfig, batch = 1) {
    if (!Number.isInteger(batch) || batch < 1) {
      throw new InvalidArgumentError(`A cache's batch must be an integer ≥ 1, got ${batch}.`);
    }
    this.batch = batch;
    this.capacity = config.contextLength;
    this.#nLayer = config.nLayer;
  }

  /** Positions cached per row. */
  get length(): number {
    return this.#length;
  }

  /** Positions that can still be appended before the context is full. */
  get remaining(): number {
    return this.capacity - this.#length;
  }

  /** Forgets every position (frees the tensors); the cache can be filled again. */
  reset(): void {
    swapLayers(this, [], 0);
  }

  /** Frees the tensors. Same as {@link GptKvCache.reset}; safe to call twice. */
  dispose(): void {
    this.reset();
  }

  /** Layers expected by the forward pass (a check against a cache of another model). */
  get layerCount(): number {
    return this.#nLayer;
  }
}

/** x [rows, k] · w [k, n] + b [n] (as in gpt-forward.ts). */
function linear(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.fused.matMul({ a: x, b: w as tf.Tensor2D, bias: b }) as tf.Tensor2D;
}

/** Additive mask [n, P + n] for n new queries after P cached positions: −1e9 where j > P + i. */
function offsetCausalMask(n: number, past: number): tf.Tensor2D {
  const T = past + n;
  const m = new Float32Array(n * T);
  for (let i = 0; i < n; i++) for (let j = past + i + 1; j < T; j++) m[i * T + j] = -1e9;
  return tf.tensor2d(m, [n, T]);
}

/**
 * Which rows of the new positions get logits: every one, the last of each batch row, or none
 * (a prefill whose predictions are not needed).
 *
 * @example
 * ```ts
 * await model.forwardIncremental(cache, ids, { rows: 'last' });
 * ```
 */
export type IncrementalRows = 'all' | 'last' | 'none';

/**
 * The incremental forward pass: appends `ids` [B, n] to `cache` (which holds P positions per
 * row, P + n ≤ contextLength) and returns logits [B·rows, V] of the new positions' next
 * tokens, or null for `rows: 'none'`. `wteT` is the tied embedding transposed, [d, V],
 * kept by the caller between steps. Must run inside `tf.tidy`; the new keys and values
 * are kept and the cache's old ones disposed. The same arithmetic as `gptHidden` without
 * dropout, with attention over the cached keys: exact up to float rounding.
 */
export function appendToCache(
  config: GptConfig,
  p: GptParams,
  wteT: tf.Tensor2D,
  cache: GptKvCache,
  ids: tf.Tensor2D,
  rows: IncrementalRows,
): tf.Tensor2D | null {
  const [B, n] = ids.shape;
  const { dModel: d, nHead: H } = config;
  const dh = d / H;
  const P = cache.length;
  const past = layersOf(cache);
  const tok = tf.gather(p.wte!, tf.reshape(ids, [B * n]));
  const pos = tf.slice(p.wpe!, [P, 0], [n, d]);
  let x = tf.reshape(tf.add(tf.reshape(tok, [B, n, d]), pos), [B * n, d]) as tf.Tensor2D;
  const mask = P > 0 && n > 1 ? offsetCausalMask(n, P) : null;
  const present: LayerKv[] = [];
  // Rows whose hidden state is still needed: all of them until the last layer; there, only
  // its keys and values are needed for every position, and the rest only where logits are.
  let m = n;
  for (let i = 0; i < config.nLayer; i++) {
    const w = (name: string) => p[`h.${i}.${name}`]!;
    const h1 = layerNorm(x, w('ln1.gamma'), w('ln1.beta')) as tf.Tensor2D;
    const qkv = linear(h1, w('attn.wqkv'), w('attn.bqkv'));
    const heads = tf.transpose(tf.reshape(qkv, [B, n, 3, H, dh]), [2, 0, 3, 1, 4]);
    const [qAll, kNew, vNew] = tf
      .unstack(heads, 0)
      .map((t) => tf.reshape(t, [B * H, n, dh]) as tf.Tensor3D);
    let q = qAll!;
    const k = P > 0 ? (tf.concat([past[i]!.k, kNew!], 1) as tf.Tensor3D) : kNew!;
    const v = P > 0 ? (tf.concat([past[i]!.v, vNew!], 1) as tf.Tensor3D) : vNew!;
    present.push({ k: tf.keep(k), v: tf.keep(v) });
    const last = i === config.nLayer - 1;
    if (last && rows === 'none') break;
    if (last && rows === 'last' && n > 1) {
      // The last query attends to every key: no mask.
      m = 1;
      q = tf.slice(q, [0, n - 1, 0], [B * H, 1, dh]);
      x = tf.reshape(tf.slice(tf.reshape(x, [B, n, d]), [0, n - 1, 0], [B, 1, d]), [B, d]);
    }
    const scores = tf.matMul(q, k, false, true);
    const scale = 1 / Math.sqrt(dh);
    // A prefill is the full forward's square causal attention; one query sees every key.
    const att =
      P === 0 && m === n
        ? causalSoftmax(scores, scale)
        : tf.softmax(mask && m === n ? tf.add(tf.mul(scores, scale), mask) : tf.mul(scores, scale));
    const mixed = tf.matMul(att as tf.Tensor3D, v);
    const merged = tf.reshape(tf.transpose(tf.reshape(mixed, [B, H, m, dh]), [0, 2, 1, 3]), [
      B * m,
      d,
    ]) as tf.Tensor2D;
    x = tf.add(x, linear(merged, w('attn.wo'), w('attn.bo')));
    const h2 = layerNorm(x, w('ln2.gamma'), w('ln2.beta')) as tf.Tensor2D;
    const up = gelu(linear(h2, w('mlp.w1'), w('mlp.b1'))) as tf.Tensor2D;
    x = tf.add(x, linear(up, w('mlp.w2'), w('mlp.b2')));
  }
  swapLayers(cache, present, P + n);
  if (rows === 'none') return null;
  const h = layerNorm(x, p['lnf.gamma']!, p['lnf.beta']!) as tf.Tensor2D;
  // Through FusedMatMul: on wasm it keeps the packed right operand by tensor id, and wteT lives
  // across steps (BatchMatMul would pack the whole [d, V] matrix again for every token).
  return tf.fused.matMul({ a: h, b: wteT }) as tf.Tensor2D;
}

/**
 * Row-wise log-softmax in place, in float64 arithmetic. For the few rows of a decoding step
 * this is cheaper in JS than tfjs's composite op (six kernels, two reductions on wasm).
 */
export function logSoftmaxRows(logits: Float32Array, V: number): Float32Array {
  for (let r = 0; r < logits.length; r += V) {
    let max = Number.NEGATIVE_INFINITY;
    for (let v = r; v < r + V; v++) if (logits[v]! > max) max = logits[v]!;
    let sum = 0;
    for (let v = r; v < r + V; v++) sum += Math.exp(logits[v]! - max);
    const shift = max + Math.log(sum);
    for (let v = r; v < r + V; v++) logits[v] = logits[v]! - shift;
  }
  return logits;
}

/**
 * One decoding step for several batch-1 caches of different lengths at once: appends `ids[i]`
 * to `caches[i]` (P_i positions, P_i < contextLength) and returns logits [S, V]. The rows share
 * every weight product; attention runs over each row's keys padded to the longest row, with
 * the padding masked out (exp(−1e9) is 0, so each row equals its own one-row step up to float
 * rounding). Must run inside `tf.tidy`.
 */
export function appendOneToEach(
  config: GptConfig,
  p: GptParams,
  wteT: tf.Tensor2D,
  caches: readonly GptKvCache[],
  ids: Int32Array,
): tf.Tensor2D {
  const S = caches.length;
  const { dModel: d, nHead: H } = config;
  const dh = d / H;
  const lengths = caches.map((c) => c.length);
  const T = Math.max(...lengths) + 1;
  const positions = tf.tensor1d(Int32Array.from(lengths), 'int32');
  let x = tf.add(tf.gather(p.wte!, tf.tensor1d(ids, 'int32')), tf.gather(p.wpe!, positions));
  const maskValues = new Float32Array(S * H * T);
  for (let i = 0; i < S; i++)
    for (let h = 0; h < H; h++)
      maskValues.fill(-1e9, (i * H + h) * T + lengths[i]! + 1, (i * H + h + 1) * T);
  const mask = tf.tensor3d(maskValues, [S * H, 1, T]);
  const present: LayerKv[][] = caches.map(() => []);
  for (let l = 0; l < config.nLayer; l++) {
    const w = (name: string) => p[`h.${l}.${name}`]!;
    const h1 = layerNorm(x, w('ln1.gamma'), w('ln1.beta')) as tf.Tensor2D;
    const qkv = linear(h1, w('attn.wqkv'), w('attn.bqkv'));
    const heads = tf.transpose(tf.reshape(qkv, [S, 3, H, dh]), [1, 0, 2, 3]);
    const [q, kNew, vNew] = tf.unstack(heads, 0).map((t) => tf.reshape(t, [S * H, 1, dh]));
    const ks: tf.Tensor[] = [];
    const vs: tf.Tensor[] = [];
    caches.forEach((cache, i) => {
      const P = lengths[i]!;
      const kRow = tf.slice(kNew!, [i * H, 0, 0], [H, 1, dh]);
      const vRow = tf.slice(vNew!, [i * H, 0, 0], [H, 1, dh]);
      const past = layersOf(cache)[l];
      const k = past ? tf.concat([past.k, kRow], 1) : kRow;
      const v = past ? tf.concat([past.v, vRow], 1) : vRow;
      present[i]!.push({ k: tf.keep(k) as tf.Tensor3D, v: tf.keep(v) as tf.Tensor3D });
      const pad: [number, number][] = [
        [0, 0],
        [0, T - P - 1],
        [0, 0],
      ];
      ks.push(P + 1 < T ? tf.pad(k, pad) : k);
      vs.push(P + 1 < T ? tf.pad(v, pad) : v);
    });
    const K = tf.concat(ks, 0) as tf.Tensor3D;
    const V = tf.concat(vs, 0) as tf.Tensor3D;
    const scores = tf.matMul(q as tf.Tensor3D, K, false, true);
    const att = tf.softmax(tf.add(tf.mul(scores, 1 / Math.sqrt(dh)), mask));
    const merged = tf.reshape(tf.matMul(att as tf.Tensor3D, V), [S, d]) as tf.Tensor2D;
    x = tf.add(x, linear(merged, w('attn.wo'), w('attn.bo')));
    const h2 = layerNorm(x, w('ln2.gamma'), w('ln2.beta')) as tf.Tensor2D;
    const up = gelu(linear(h2, w('mlp.w1'), w('mlp.b1'))) as tf.Tensor2D;
    x = tf.add(x, linear(up, w('mlp.w2'), w('mlp.b2')));
  }
  caches.forEach((cache, i) => {
    swapLayers(cache, present[i]!, lengths[i]! + 1);
  });
  const h = layerNorm(x, p['lnf.gamma']!, p['lnf.beta']!) as tf.Tensor2D;
  return tf.fused.matMul({ a: h, b: wteT }) as tf.Tensor2D;
}
