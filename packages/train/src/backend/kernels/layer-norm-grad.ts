import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { kernelHost } from './kernel-host.js';
import { CbtmKernel, jsKernelConfigs } from './kernel-names.js';

/**
 * Gradient of `CbtmLayerNorm`: with x̂ = (x − mean)·rstd and g = dy·gamma,
 * dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), dgamma = Σ dy·x̂, dbeta = Σ dy.
 */
const layerNormGradKernel: KernelFunc = ({ inputs, backend }) => {
  const { dy, x, gamma, mean, rstd } = inputs as Record<
    'dy' | 'x' | 'gamma' | 'mean' | 'rstd',
    TensorInfo
  >;
  const C = x.shape[x.shape.length - 1]!;
  const R = x.shape.reduce((a, b) => a * b, 1) / C;
  const host = kernelHost(backend as object);
  const dxT = host.output(x.shape);
  const dgT = host.output([C]);
  const dbT = host.output([C]);
  const dys = host.f32(dy);
  const xs = host.f32(x);
  const g = host.f32(gamma);
  const mu = host.f32(mean);
  const rs = host.f32(rstd);
  const dx = host.f32(dxT);
  const dg = host.f32(dgT);
  const db = host.f32(dbT);
  dg.fill(0);
  db.fill(0);
  for (let r = 0; r < R; r++) {
    const base = r * C;
    const m = mu[r]!;
    const s = rs[r]!;
    let sumG = 0;
    let sumGX = 0;
    for (let c = 0; c < C; c++) {
      const d = dys[base + c]!;
      const xh = (xs[base + c]! - m) * s;
      const gg = d * g[c]!;
      sumG += gg;
      sumGX += gg * xh;
      dg[c]! += d * xh;
      db[c]! += d;
    }
    const a = sumG / C;
    const bb = sumGX / C;
    for (let c = 0; c < C; c++) {
      const xh = (xs[base + c]! - m) * s;
      dx[base + c] = s * (dys[base + c]! * g[c]! - a - xh * bb);
    }
  }
  return [dxT, dgT, dbT];
};

/** `CbtmLayerNormGrad` for wasm and cpu. */
export const layerNormGradConfigs: KernelConfig[] = jsKernelConfigs(
  CbtmKernel.LayerNormGrad,
  layerNormGradKernel,
);
