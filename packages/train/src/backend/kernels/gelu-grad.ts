import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { GELU_C, GELU_K } from './gelu.js';
import { kernelHost } from './kernel-host.js';
import { CbtmKernel, jsKernelConfigs } from './kernel-names.js';

/** Gradient of `CbtmGelu`: dx = dy·(s + x·s(1 − s)·k(1 + 3c·x²)), with the saved s. */
const geluGradKernel: KernelFunc = ({ inputs, backend }) => {
  const { dy, x, s } = inputs as Record<'dy' | 'x' | 's', TensorInfo>;
  const host = kernelHost(backend as object);
  const dxT = host.output(x.shape);
  const d = host.f32(dy);
  const xs = host.f32(x);
  const ss = host.f32(s);
  const dx = host.f32(dxT);
  const c3 = 3 * GELU_C;
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    const si = ss[i]!;
    dx[i] = d[i]! * (si + v * si * (1 - si) * GELU_K * (1 + c3 * v * v));
  }
  return dxT;
};

/** `CbtmGeluGrad` for wasm and cpu. */
export const geluGradConfigs: KernelConfig[] = jsKernelConfigs(CbtmKernel.GeluGrad, geluGradKernel);
