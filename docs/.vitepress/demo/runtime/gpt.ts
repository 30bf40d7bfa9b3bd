/**
 * The forward pass of a cbtm GPT expert (`model.json` with `format: "cbtm-gpt"`, written by
 * `@cbtm/train`) with plain TensorFlow.js ops, so it runs on any backend in the browser:
 * pre-LayerNorm blocks, GELU (tanh form), learned positions, tied embeddings. The docs-check
 * tests assert it gives the same log-probabilities as `GptModel.logProbs` in Node.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The model's shape, as `model.json`'s `modelTopology.config` stores it. */
export interface WebGptConfig {
  readonly vocabSize: number;
  readonly nLayer: number;
  readonly dModel: number;
  readonly nHead: number;
  readonly contextLength: number;
  readonly mlpRatio: number;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

/** `model.json` of a cbtm GPT. */
export interface WebGptModelJson {
  format: 'cbtm-gpt';
  version: number;
  modelTopology: { config: WebGptConfig };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

const GELU_K = 2 * Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;
const LN_EPSILON = 1e-5;

function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, 1, true);
  return tf.add(
    tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, LN_EPSILON))), gamma),
    beta,
  );
}

function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(tf.mul(GELU_K, tf.add(x, tf.mul(GELU_C, tf.mul(x, tf.mul(x, x)))))));
}

function linear(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.add(tf.matMul(x, w as tf.Tensor2D), b);
}

/** One expert: its weights as tensors, and a next-token distribution for a context. */
export class WebGpt {
  readonly config: WebGptConfig;
  readonly #w: Map<string, tf.Tensor>;
  readonly #wteT: tf.Tensor2D;
  readonly #masks = new Map<number, tf.Tensor2D>();

  constructor(
    config: WebGptConfig,
    weights: Map<string, Float32Array>,
    shapes: Map<string, number[]>,
  ) {
    this.config = config;
    this.#w = new Map();
    for (const [name, data] of weights)
      this.#w.set(name, tf.tensor(data, shapes.get(name)!, 'float32'));
    this.#wteT = tf.transpose(this.#w.get('wte')!) as tf.Tensor2D;
  }

  /** Parses `model.json` plus the bytes of its weight files (in manifest order). */
  static fromArtifacts(json: WebGptModelJson, files: Map<string, ArrayBuffer>): WebGpt {
    if (json.format !== 'cbtm-gpt' || json.version !== 1)
      throw new Error('model.json is not a cbtm GPT (version 1)');
    const weights = new Map<string, Float32Array>();
    const shapes = new Map<string, number[]>();
    for (const group of json.weightsManifest) {
      const parts = group.paths.map((p) => {
        const buf = files.get(p);
        if (!buf) throw new Error(`missing weights file ${p}`);
        return new Uint8Array(buf);
      });
      const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
      const all = new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
      let offset = 0;
      for (const spec of group.weights) {
        if (spec.dtype !== 'float32')
          throw new Error(`weight ${spec.name}: only float32 is supported`);
        const size = spec.shape.reduce((a, b) => a * b, 1);
        weights.set(spec.name, all.slice(offset, offset + size));
        shapes.set(spec.name, spec.shape);
        offset += size;
      }
    }
    return new WebGpt(json.modelTopology.config, weights, shapes);
  }

  #w_(name: string): tf.Tensor {
    const t = this.#w.get(name);
    if (!t) throw new Error(`model has no weight ${name}`);
    return t;
  }

  #mask(T: number): tf.Tensor2D {
    let m = this.#masks.get(T);
    if (!m) {
      const v = new Float32Array(T * T);
      for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) v[i * T + j] = -1e9;
      m = tf.keep(tf.tensor2d(v, [T, T])); // created inside tidy, kept across calls
      this.#masks.set(T, m);
    }
    return m;
  }

  /** Hidden states [T, d] of one sequence of T ≤ contextLength ids. */
  #hidden(ids: Int32Array): tf.Tensor2D {
    const T = ids.length;
    const { dModel: d, nHead: H, nLayer } = this.config;
    const dh = d / H;
    const tok = tf.gather(this.#w_('wte'), tf.tensor1d(ids, 'int32'));
    let x = tf.add(tok, tf.slice(this.#w_('wpe'), [0, 0], [T, d])) as tf.Tensor2D;
    for (let i = 0; i < nLayer; i++) {
      const w = (n: string) => this.#w_(`h.${i}.${n}`);
      const h1 = layerNorm(x, w('ln1.gamma'), w('ln1.beta'));
      const qkv = linear(h1, w('attn.wqkv'), w('attn.bqkv'));
      const heads = tf.transpose(tf.reshape(qkv, [T, 3, H, dh]), [1, 2, 0, 3]); // [3, H, T, dh]
      const [q, k, v] = tf.unstack(heads, 0) as tf.Tensor3D[];
      const scores = tf.add(
        tf.mul(tf.matMul(q!, k!, false, true), 1 / Math.sqrt(dh)),
        this.#mask(T),
      );
      const att = tf.softmax(scores);
      const mixed = tf.matMul(att as tf.Tensor3D, v!); // [H, T, dh]
      const merged = tf.reshape(tf.transpose(mixed, [1, 0, 2]), [T, d]) as tf.Tensor2D;
      x = tf.add(x, linear(merged, w('attn.wo'), w('attn.bo')));
      const h2 = layerNorm(x, w('ln2.gamma'), w('ln2.beta'));
      const up = gelu(linear(h2, w('mlp.w1'), w('mlp.b1'))) as tf.Tensor2D;
      x = tf.add(x, linear(up, w('mlp.w2'), w('mlp.b2')));
    }
    return layerNorm(x, this.#w_('lnf.gamma'), this.#w_('lnf.beta'));
  }

  /**
   * log p(next token | ids) over the vocabulary, from the last `contextLength` ids (the window a
   * model sees when it scores a long text).
   */
  async nextLogProbs(ids: readonly number[]): Promise<Float32Array> {
    if (ids.length === 0) throw new Error('nextLogProbs needs at least one token');
    const window = Int32Array.from(ids.slice(-this.config.contextLength));
    const out = tf.tidy(() => {
      const h = this.#hidden(window);
      const last = tf.slice(h, [window.length - 1, 0], [1, this.config.dModel]);
      return tf.logSoftmax(tf.matMul(last, this.#wteT));
    });
    const data = (await out.data()) as Float32Array;
    out.dispose();
    return data;
  }

  /** log p(x_{t+1} | x_≤t) for every position of `ids` (T ≤ contextLength), [T, V] row-major. */
  async logProbs(ids: readonly number[]): Promise<Float32Array> {
    if (ids.length > this.config.contextLength)
      throw new Error('logProbs: sequence longer than the context');
    const out = tf.tidy(() =>
      tf.logSoftmax(tf.matMul(this.#hidden(Int32Array.from(ids)), this.#wteT)),
    );
    const data = (await out.data()) as Float32Array;
    out.dispose();
    return data;
  }

  dispose(): void {
    for (const t of this.#w.values()) t.dispose();
    this.#wteT.dispose();
    for (const m of this.#masks.values()) m.dispose();
  }
}
