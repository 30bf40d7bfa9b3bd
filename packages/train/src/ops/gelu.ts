import * as tf from '@tensorflow/tfjs-core';
import { GELU_C, GELU_K } from '../backend/kernels/gelu.js';
import { CbtmKernel } from '../backend/kernels/kernel-names.js';
import { fusedOp, hasKernel } from './has-kernel.js';

/** GELU (tanh approximation) from standard ops: x·σ(k(x + c·x³)). */
export function geluComposite(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    tf.mul(x, tf.sigmoid(tf.mul(GELU_K, tf.add(x, tf.mul(GELU_C, tf.pow(x, 3)))))),
  );
}

/**
 * GELU, the tanh approximation used by GPT-2 (`nn.GELU(approximate='tanh')` in PyTorch).
 *
 * @example
 * ```ts
 * const h = gelu(tf.tensor1d([-1, 0, 1])); // ≈ [-0.159, 0, 0.841]
 * ```
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  if (!hasKernel(CbtmKernel.Gelu)) return geluComposite(x);
  const f = fusedOp(([xi], save) => {
    const [y, s] = tf.engine().runKernel(CbtmKernel.Gelu, { x: xi! }) as tf.Tensor[];
    save([xi!, s!]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(CbtmKernel.GeluGrad, { dy, x: saved[0]!, s: saved[1]! }) as tf.Tensor,
    };
  });
  return f(x);
}
