import * as tf from '@tensorflow/tfjs-core';
import { CbtmKernel } from '../backend/kernels/kernel-names.js';
import { fusedOp, hasKernel } from './has-kernel.js';
import { softmaxCrossEntropy } from './softmax-cross-entropy.js';

/** The tied output layer's loss from standard ops: cross-entropy of h·wteᵀ. */
export function tiedOutputLossComposite(
  hidden: tf.Tensor2D,
  wte: tf.Tensor2D,
  targets: tf.Tensor1D,
): tf.Scalar {
  // An explicit wteᵀ makes both backward products plain 2-D ones on wasm.
  return softmaxCrossEntropy(tf.matMul(hidden, tf.transpose(wte)), targets);
}

/**
 * Mean next-token cross-entropy of hidden states [rows, d] through the tied embedding
 * wte [vocab, d] (logits = hidden·wteᵀ), against int32 targets [rows]; targets < 0 are
 * ignored. On wasm one kernel computes it by row chunks with both gradients, never holding
 * the whole [rows, vocab] logits (`chunkRows` rows at a time).
 *
 * @example
 * ```ts
 * const loss = tiedOutputLoss(hidden, params.wte, targets);
 * ```
 */
export function tiedOutputLoss(
  hidden: tf.Tensor2D,
  wte: tf.Tensor2D,
  targets: tf.Tensor1D,
  chunkRows = 256,
): tf.Scalar {
  if (!hasKernel(CbtmKernel.TiedOutputLoss)) return tiedOutputLossComposite(hidden, wte, targets);
  const t = targets.dtype === 'int32' ? targets : tf.cast(targets, 'int32');
  const f = fusedOp(([h, w], save) => {
    const [loss, dh, dw] = tf
      .engine()
      .runKernel(
        CbtmKernel.TiedOutputLoss,
        { h: h!, wte: w!, targets: t },
        { chunk: chunkRows },
      ) as tf.Tensor[];
    save([dh!, dw!]);
    return {
      value: loss!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.mul(saved[0]!, dy),
        tf.mul(saved[1]!, dy),
      ],
    };
  });
  const out = f(hidden, wte) as tf.Scalar;
  if (t !== targets) t.dispose();
  return out;
}
