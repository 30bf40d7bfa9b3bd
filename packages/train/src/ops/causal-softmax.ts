import * as tf from '@tensorflow/tfjs-core';
import { CbtmKernel } from '../backend/kernels/kernel-names.js';
import { fusedOp, hasKernel } from './has-kernel.js';

const masks = new Map<number, tf.Tensor2D>();

/** Additive causal mask [T, T]: 0 on and below the diagonal, −1e9 above. Kept per T. */
function causalMask(T: number): tf.Tensor2D {
  let m = masks.get(T);
  if (!m || m.isDisposed) {
    const v = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) v[i * T + j] = -1e9;
    m = tf.keep(tf.tensor2d(v, [T, T]));
    masks.set(T, m);
  }
  return m;
}

/** Causal softmax from standard ops (any backend; also the test reference). */
export function causalSoftmaxComposite(scores: tf.Tensor, scale: number): tf.Tensor {
  const T = scores.shape[scores.rank - 1]!;
  return tf.tidy(() => tf.softmax(tf.add(tf.mul(scores, scale), causalMask(T))));
}

/**
 * Softmax of `scale · scores` over the last axis with a causal mask: for scores [..., T, T],
 * row i attends to positions 0..i only.
 *
 * @example
 * ```ts
 * const p = causalSoftmax(tf.zeros([1, 3, 3]), 1); // rows [1,0,0], [.5,.5,0], [⅓,⅓,⅓]
 * ```
 */
export function causalSoftmax(scores: tf.Tensor, scale: number): tf.Tensor {
  if (!hasKernel(CbtmKernel.CausalSoftmax)) return causalSoftmaxComposite(scores, scale);
  const f = fusedOp(([x], save) => {
    const y = tf.engine().runKernel(CbtmKernel.CausalSoftmax, { x: x! }, { scale }) as tf.Tensor;
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf
          .engine()
          .runKernel(CbtmKernel.CausalSoftmaxGrad, { dy, y: saved[0]! }, { scale }) as tf.Tensor,
    };
  });
  return f(scores);
}
