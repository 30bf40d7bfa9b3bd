import * as tf from '@tensorflow/tfjs-core';
import { CbtmKernel } from '../backend/kernels/kernel-names.js';
import { fusedOp, hasKernel } from './has-kernel.js';

/** Mean softmax cross-entropy from standard ops; targets < 0 are ignored. */
export function softmaxCrossEntropyComposite(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const V = logits.shape[1];
    const valid = tf.cast(tf.greaterEqual(targets, 0), 'float32');
    const safe = tf.maximum(targets, 0);
    const onehot = tf.oneHot(tf.cast(safe, 'int32'), V);
    const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), onehot), 1));
    return tf.div(tf.sum(tf.mul(nll, valid)), tf.maximum(tf.sum(valid), 1)) as tf.Scalar;
  });
}

/**
 * Mean cross-entropy (nats per token) of `logits` [N, V] against int32 `targets` [N]; rows
 * whose target is negative are ignored. On wasm and cpu one fused kernel computes the loss
 * and its gradient (p − onehot)/N in the forward pass.
 *
 * @example
 * ```ts
 * const loss = softmaxCrossEntropy(tf.zeros([2, 4]) as tf.Tensor2D, tf.tensor1d([1, 3], 'int32'));
 * // ln 4 ≈ 1.386
 * ```
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  if (!hasKernel(CbtmKernel.SoftmaxCrossEntropy))
    return softmaxCrossEntropyComposite(logits, targets);
  const t = targets.dtype === 'int32' ? targets : tf.cast(targets, 'int32');
  const f = fusedOp(([x], save) => {
    const [loss, g, inv] = tf
      .engine()
      .runKernel(CbtmKernel.SoftmaxCrossEntropy, { logits: x!, targets: t }) as tf.Tensor[];
    save([g!, inv!]);
    return {
      value: loss!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(saved[0]!, tf.mul(dy, saved[1]!)),
    };
  });
  const out = f(logits) as tf.Scalar;
  if (t !== targets) t.dispose();
  return out;
}
