import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { kernelHost } from './kernel-host.js';
import { CbtmKernel, jsKernelConfigs } from './kernel-names.js';

/**
 * LayerNorm over the last axis in one pass per row: `y = (x − mean) · rstd · gamma + beta`.
 * Outputs `[y, mean, rstd]`; the gradient kernel reuses `mean` and `rstd`.
 */
const layerNormKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
  const epsilon = (attrs as { epsilon: number }).epsilon;
  const C = x.shape[x.shape.length - 1]!;
  const R = x.shape.reduce((a, b) => a * b, 1) / C;
  const host = kernelHost(backend as object);
  const yT = host.output(x.shape);
  const meanT = host.output([R]);
  const rstdT = host.output([R]);
  const xs = host.f32(x);
  const g = host.f32(gamma);
  const b = host.f32(beta);
  const y = host.f32(yT);
  const mean = host.f32(meanT);
  const rstd = host.f32(rstdT);
  for (let r = 0; r < R; r++) {
    const base = r * C;
    let s = 0;
    for (let c = 0; c < C; c++) s += xs[base + c]!;
    const m = s / C;
    let v = 0;
    for (let c = 0; c < C; c++) {
      const d = xs[base + c]! - m;
      v += d * d;
    }
    const rs = 1 / Math.sqrt(v / C + epsilon);
    mean[r] = m;
    rstd[r] = rs;
    for (let c = 0; c < C; c++) y[base + c] = (xs[base + c]! - m) * rs * g[c]! + b[c]!;
  }
  return [yT, meanT, rstdT];
};

/** `CbtmLayerNorm` for wasm and cpu. */
export const layerNormConfigs: KernelConfig[] = jsKernelConfigs(
  CbtmKernel.LayerNorm,
  layerNormKernel,
);
