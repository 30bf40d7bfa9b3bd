import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';

/** Fused kernels cbtm adds to the wasm and cpu backends (other backends use composite ops). */
export const CbtmKernel = Object.freeze({
  LayerNorm: 'CbtmLayerNorm',
  LayerNormGrad: 'CbtmLayerNormGrad',
  Gelu: 'CbtmGelu',
  GeluGrad: 'CbtmGeluGrad',
  CausalSoftmax: 'CbtmCausalSoftmax',
  CausalSoftmaxGrad: 'CbtmCausalSoftmaxGrad',
  SoftmaxCrossEntropy: 'CbtmSoftmaxCrossEntropy',
  TiedOutputLoss: 'CbtmTiedOutputLoss',
});

/** One kernel function registered under the same name for wasm and cpu. */
export function jsKernelConfigs(kernelName: string, kernelFunc: KernelFunc): KernelConfig[] {
  return [
    { kernelName, backendName: 'wasm', kernelFunc },
    { kernelName, backendName: 'cpu', kernelFunc },
  ];
}
