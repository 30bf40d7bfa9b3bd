import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { kernelHost } from './kernel-host.js';
import { CbtmKernel, jsKernelConfigs } from './kernel-names.js';

/**
 * Causal attention softmax: for scores `x` of shape [..., T, T], row i of each matrix gets
 * softmax over `scale·x[i, 0..i]` and zeros after i. Scale and mask are one JS pass; the
 * softmax itself runs in XNNPACK on wasm.
 */
const causalSoftmaxKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: TensorInfo };
  const { scale } = attrs as { scale: number };
  const T = x.shape[x.shape.length - 1]!;
  if (x.shape[x.shape.length - 2] !== T)
    throw new Error(`causal softmax needs square [.., T, T] scores, got ${x.shape}.`);
  const host = kernelHost(backend as object);
  const zT = host.output(x.shape);
  const yT = host.output(x.shape);
  {
    const xs = host.f32(x);
    const z = host.f32(zT);
    const n = xs.length / T;
    for (let r = 0; r < n; r++) {
      const i = r % T;
      const base = r * T;
      for (let j = 0; j <= i; j++) z[base + j] = scale * xs[base + j]!;
      for (let j = i + 1; j < T; j++) z[base + j] = Number.NEGATIVE_INFINITY;
    }
  }
  host.softmaxRows(zT, yT, T);
  host.release(zT);
  return yT;
};

/** `CbtmCausalSoftmax` for wasm and cpu. */
export const causalSoftmaxConfigs: KernelConfig[] = jsKernelConfigs(
  CbtmKernel.CausalSoftmax,
  causalSoftmaxKernel,
);
