import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { kernelHost } from './kernel-host.js';
import { CbtmKernel, jsKernelConfigs } from './kernel-names.js';

/** Gradient of `CbtmCausalSoftmax`: dx = scale·y·(dy − Σ_j dy·y), zero above the diagonal. */
const causalSoftmaxGradKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, y } = inputs as Record<'dy' | 'y', TensorInfo>;
  const { scale } = attrs as { scale: number };
  const T = y.shape[y.shape.length - 1]!;
  const host = kernelHost(backend as object);
  const dxT = host.output(y.shape);
  const d = host.f32(dy);
  const ys = host.f32(y);
  const dx = host.f32(dxT);
  const n = ys.length / T;
  for (let r = 0; r < n; r++) {
    const i = r % T;
    const base = r * T;
    let dot = 0;
    for (let j = 0; j <= i; j++) dot += d[base + j]! * ys[base + j]!;
    for (let j = 0; j <= i; j++) dx[base + j] = scale * ys[base + j]! * (d[base + j]! - dot);
    for (let j = i + 1; j < T; j++) dx[base + j] = 0;
  }
  return dxT;
};

/** `CbtmCausalSoftmaxGrad` for wasm and cpu. */
export const causalSoftmaxGradConfigs: KernelConfig[] = jsKernelConfigs(
  CbtmKernel.CausalSoftmaxGrad,
  causalSoftmaxGradKernel,
);
