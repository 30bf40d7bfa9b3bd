import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { kernelHost } from './kernel-host.js';
import { CbtmKernel, jsKernelConfigs } from './kernel-names.js';

/**
 * Softmax cross-entropy of `logits` [N, V] against int32 `targets` [N], fused with its
 * gradient. Outputs `[loss, g, invCount]`: `loss` is the mean of −log p(target) over rows whose
 * target is ≥ 0; `g = p − onehot` for those rows and zeros for ignored rows, not yet divided by
 * the row count: the op multiplies it by `dy · invCount`, one scalar product. The softmax runs in
 * XNNPACK on wasm; only N logarithms run in JS.
 */
const softmaxCrossEntropyKernel: KernelFunc = ({ inputs, backend }) => {
  const { logits, targets } = inputs as Record<'logits' | 'targets', TensorInfo>;
  const V = logits.shape[logits.shape.length - 1]!;
  const host = kernelHost(backend as object);
  const lossT = host.output([]);
  const gT = host.output(logits.shape);
  const invT = host.output([]);
  host.softmaxRows(logits, gT, V);
  const x = host.f32(logits);
  const t = host.i32(targets);
  const g = host.f32(gT);
  const N = t.length;
  let total = 0;
  let count = 0;
  for (let r = 0; r < N; r++) {
    const target = t[r]!;
    const base = r * V;
    if (target < 0) {
      g.fill(0, base, base + V);
      continue;
    }
    const p = g[base + target]!;
    if (p > 1e-30) {
      total -= Math.log(p);
    } else {
      // p underflowed: recompute log-sum-exp exactly for this row.
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < V; j++) if (x[base + j]! > max) max = x[base + j]!;
      let s = 0;
      for (let j = 0; j < V; j++) s += Math.exp(x[base + j]! - max);
      total += max + Math.log(s) - x[base + target]!;
    }
    g[base + target] = p - 1;
    count += 1;
  }
  host.f32(lossT)[0] = count > 0 ? total / count : 0;
  host.f32(invT)[0] = count > 0 ? 1 / count : 0;
  return [lossT, gT, invT];
};

/** `CbtmSoftmaxCrossEntropy` for wasm and cpu. */
export const softmaxCrossEntropyConfigs: KernelConfig[] = jsKernelConfigs(
  CbtmKernel.SoftmaxCrossEntropy,
  softmaxCrossEntropyKernel,
);
