import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { kernelHost } from './kernel-host.js';
import { CbtmKernel, jsKernelConfigs } from './kernel-names.js';

/** √(2/π)·2: GELU's tanh form written with a sigmoid, 0.5(1 + tanh u) = σ(2u). */
export const GELU_K = 2 * Math.sqrt(2 / Math.PI);
/** The cubic coefficient of the tanh approximation. */
export const GELU_C = 0.044715;

/**
 * GELU, tanh approximation (GPT-2's), as `y = x·σ(k(x + c·x³))`. The sigmoid runs in XNNPACK
 * on wasm (tanh there is scalar and ~15× slower). Outputs `[y, s]`; `s = σ(·)` lets the
 * gradient avoid any transcendental function.
 */
const geluKernel: KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const host = kernelHost(backend as object);
  const yT = host.output(x.shape);
  const sT = host.output(x.shape);
  {
    const xs = host.f32(x);
    const z = host.f32(yT); // y's memory holds the sigmoid's argument first
    for (let i = 0; i < xs.length; i++) {
      const v = xs[i]!;
      z[i] = GELU_K * (v + GELU_C * v * v * v);
    }
  }
  host.sigmoid(yT, sT);
  const xs = host.f32(x);
  const y = host.f32(yT);
  const s = host.f32(sT);
  for (let i = 0; i < xs.length; i++) y[i] = xs[i]! * s[i]!;
  return [yT, sT];
};

/** `CbtmGelu` for wasm and cpu. */
export const geluConfigs: KernelConfig[] = jsKernelConfigs(CbtmKernel.Gelu, geluKernel);
