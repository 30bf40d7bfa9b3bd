import * as tf from '@tensorflow/tfjs-core';
import { type DropoutPlan, gptLoss } from '../model/gpt-forward.js';
import type { GptModel } from '../model/gpt-model.js';

/**
 * Loss and gradients (in spec order, as Float32Arrays) of one batch. The tensors are read after
 * `tidy` returns: reading inside a scope is slow on wasm.
 */
export function lossAndGradients(
  model: GptModel,
  inputs: Int32Array,
  targets: Int32Array,
  rows: number,
  drop?: DropoutPlan,
): { loss: number; grads: Float32Array[] } {
  const T = inputs.length / rows;
  const vars = model.variables();
  const { value, grads } = tf.tidy(() => {
    const x = tf.tensor2d(inputs, [rows, T], 'int32');
    const y = tf.tensor2d(targets, [rows, T], 'int32');
    return tf.variableGrads(() => gptLoss(model.config, model.params(), x, y, drop), vars);
  });
  const loss = value.dataSync()[0]!;
  value.dispose();
  const out = vars.map((v) => {
    const g = grads[v.name];
    // A weight with no path to the loss (never, in this model) gets a zero gradient.
    const data = g ? (g.dataSync() as Float32Array) : new Float32Array(v.size);
    g?.dispose();
    return data;
  });
  return { loss, grads: out };
}

/**
 * Mean loss (nats per token) over evaluation rows, in batches, without gradients. Rows' targets
 * < 0 are ignored; the mean weighs every scored token equally.
 */
export function evaluateLoss(
  model: GptModel,
  inputs: Int32Array,
  targets: Int32Array,
  rows: number,
  batchRows: number,
): number {
  const T = inputs.length / Math.max(rows, 1);
  let total = 0;
  let count = 0;
  for (let r = 0; r < rows; r += batchRows) {
    const n = Math.min(batchRows, rows - r);
    const tg = targets.subarray(r * T, (r + n) * T);
    let valid = 0;
    for (let i = 0; i < tg.length; i++) if (tg[i]! >= 0) valid += 1;
    if (valid === 0) continue;
    const lossT = tf.tidy(() =>
      gptLoss(
        model.config,
        model.params(),
        tf.tensor2d(inputs.subarray(r * T, (r + n) * T), [n, T], 'int32'),
        tf.tensor2d(tg, [n, T], 'int32'),
      ),
    );
    total += lossT.dataSync()[0]! * valid;
    lossT.dispose();
    count += valid;
  }
  return count > 0 ? total / count : Number.NaN;
}
