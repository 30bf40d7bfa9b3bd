import * as tf from '@tensorflow/tfjs-core';
import { CbtmKernel } from '../backend/kernels/kernel-names.js';
import { fusedOp, hasKernel } from './has-kernel.js';

/** LayerNorm over the last axis from standard ops (any backend; also the test reference). */
export function layerNormComposite(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon = 1e-5,
): tf.Tensor {
  return tf.tidy(() => {
    const axis = x.rank - 1;
    const { mean, variance } = tf.moments(x, axis, true);
    return tf.add(
      tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon))), gamma),
      beta,
    );
  });
}

/**
 * LayerNorm over the last axis: one fused kernel (and one for its gradient) where the backend
 * has it, standard ops elsewhere.
 *
 * @example
 * ```ts
 * const y = layerNorm(x, tf.ones([d]), tf.zeros([d]));
 * ```
 */
export function layerNorm(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon = 1e-5,
): tf.Tensor {
  if (!hasKernel(CbtmKernel.LayerNorm)) return layerNormComposite(x, gamma, beta, epsilon);
  const f = fusedOp(([xi, gi, bi], save) => {
    const [y, mean, rstd] = tf
      .engine()
      .runKernel(
        CbtmKernel.LayerNorm,
        { x: xi!, gamma: gi!, beta: bi! },
        { epsilon },
      ) as tf.Tensor[];
    save([xi!, gi!, mean!, rstd!]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs, ms, rs] = saved;
        return tf.engine().runKernel(CbtmKernel.LayerNormGrad, {
          dy,
          x: xs!,
          gamma: gs!,
          mean: ms!,
          rstd: rs!,
        }) as tf.Tensor[];
      },
    };
  });
  return f(x, gamma, beta);
}
