import * as tf from '@tensorflow/tfjs-core';
import { causalSoftmax } from '../ops/causal-softmax.js';
import { gelu } from '../ops/gelu.js';
import { layerNorm } from '../ops/layer-norm.js';
import { tiedOutputLoss } from '../ops/tied-output-loss.js';
import type { GptConfig } from './gpt-config.js';

/** The model's weights by name (see `gptParamSpecs`). */
export type GptParams = Readonly<Record<string, tf.Tensor>>;

/** Dropout for one forward pass: a seed per call keeps training reproducible. */
export interface DropoutPlan {
  readonly rate: number;
  readonly seed: number;
}

function dropout(x: tf.Tensor, plan: DropoutPlan | undefined, salt: number): tf.Tensor {
  if (!plan || plan.rate <= 0) return x;
  return tf.dropout(x, plan.rate, undefined, (plan.seed + salt * 7919) | 0);
}

/** x [rows, k] · w [k, n] + b [n], with the bias add fused into the product where it can be. */
function linear(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.fused.matMul({ a: x, b: w as tf.Tensor2D, bias: b }) as tf.Tensor2D;
}

/**
 * Final hidden states [B·T, d] for token ids [B, T] (T ≤ context length).
 * Activations stay 2-D ([rows, features]) so every product is one plain 2-D matmul.
 */
export function gptHidden(
  config: GptConfig,
  p: GptParams,
  ids: tf.Tensor2D,
  drop?: DropoutPlan,
): tf.Tensor2D {
  const [B, T] = ids.shape;
  const { dModel: d, nHead: H } = config;
  const dh = d / H;
  const tok = tf.gather(p.wte!, tf.reshape(ids, [B * T]));
  const pos = tf.slice(p.wpe!, [0, 0], [T, d]);
  let x = tf.reshape(tf.add(tf.reshape(tok, [B, T, d]), pos), [B * T, d]) as tf.Tensor2D;
  x = dropout(x, drop, 1) as tf.Tensor2D;
  for (let i = 0; i < config.nLayer; i++) {
    const w = (name: string) => p[`h.${i}.${name}`]!;
    // Attention.
    const h1 = layerNorm(x, w('ln1.gamma'), w('ln1.beta')) as tf.Tensor2D;
    const qkv = linear(h1, w('attn.wqkv'), w('attn.bqkv'));
    const heads = tf.transpose(tf.reshape(qkv, [B, T, 3, H, dh]), [2, 0, 3, 1, 4]);
    const [q, k, v] = tf.unstack(heads, 0).map((t) => tf.reshape(t, [B * H, T, dh]) as tf.Tensor3D);
    const scores = tf.matMul(q!, k!, false, true);
    const att = dropout(causalSoftmax(scores, 1 / Math.sqrt(dh)), drop, 10 + 3 * i);
    const mixed = tf.matMul(att as tf.Tensor3D, v!);
    const merged = tf.reshape(tf.transpose(tf.reshape(mixed, [B, H, T, dh]), [0, 2, 1, 3]), [
      B * T,
      d,
    ]) as tf.Tensor2D;
    x = tf.add(x, dropout(linear(merged, w('attn.wo'), w('attn.bo')), drop, 11 + 3 * i));
    // MLP.
    const h2 = layerNorm(x, w('ln2.gamma'), w('ln2.beta')) as tf.Tensor2D;
    const up = gelu(linear(h2, w('mlp.w1'), w('mlp.b1'))) as tf.Tensor2D;
    x = tf.add(x, dropout(linear(up, w('mlp.w2'), w('mlp.b2')), drop, 12 + 3 * i));
  }
  return layerNorm(x, p['lnf.gamma']!, p['lnf.beta']!) as tf.Tensor2D;
}

/** Logits [B·T, V] from hidden states, through the tied embedding. */
export function gptLogits(p: GptParams, hidden: tf.Tensor2D): tf.Tensor2D {
  // An explicit wteᵀ makes both backward products plain 2-D ones (see the BatchMatMul kernel).
  return tf.matMul(hidden, tf.transpose(p.wte!));
}

/**
 * Mean next-token cross-entropy (nats) of inputs [B, T] against targets [B, T]
 * (targets < 0 are ignored).
 */
export function gptLoss(
  config: GptConfig,
  p: GptParams,
  inputs: tf.Tensor2D,
  targets: tf.Tensor2D,
  drop?: DropoutPlan,
): tf.Scalar {
  const [B, T] = targets.shape;
  return tiedOutputLoss(
    gptHidden(config, p, inputs, drop),
    p.wte as tf.Tensor2D,
    tf.reshape(targets, [B * T]) as tf.Tensor1D,
  );
}
