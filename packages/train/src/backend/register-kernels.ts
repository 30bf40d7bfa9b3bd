/**
 * The one module with side effects: it registers the gradients tfjs-core's Node build lacks,
 * and replaces or adds kernels on the wasm and cpu backends.
 * `selectBackend` imports it lazily, after the backend packages, so the originals it replaces
 * are still reachable for the cases the replacements do not handle.
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import {
  getGradient,
  getKernel,
  type KernelConfig,
  registerGradient,
  registerKernel,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { coreGradients } from './gradients/core-gradients.js';
import { wasmBatchMatMulConfig } from './kernels/batch-mat-mul.js';
import { causalSoftmaxConfigs } from './kernels/causal-softmax.js';
import { causalSoftmaxGradConfigs } from './kernels/causal-softmax-grad.js';
import { geluConfigs } from './kernels/gelu.js';
import { geluGradConfigs } from './kernels/gelu-grad.js';
import { wasmIdentityConfig } from './kernels/identity.js';
import { layerNormConfigs } from './kernels/layer-norm.js';
import { layerNormGradConfigs } from './kernels/layer-norm-grad.js';
import { rememberOriginalKernel } from './kernels/original-kernels.js';
import { softmaxCrossEntropyConfigs } from './kernels/softmax-cross-entropy.js';
import { wasmSumConfig } from './kernels/sum.js';
import { wasmTiedOutputLossConfig } from './kernels/tied-output-loss.js';
import { cpuTransposeConfig, wasmTransposeConfig } from './kernels/transpose.js';
import { wasmUnpackConfig } from './kernels/unpack.js';
import {
  cpuUnsortedSegmentSumConfig,
  wasmUnsortedSegmentSumConfig,
} from './kernels/unsorted-segment-sum.js';

const configs: KernelConfig[] = [
  wasmBatchMatMulConfig,
  wasmIdentityConfig,
  wasmTransposeConfig,
  cpuTransposeConfig,
  wasmSumConfig,
  wasmUnpackConfig,
  wasmUnsortedSegmentSumConfig,
  cpuUnsortedSegmentSumConfig,
  ...layerNormConfigs,
  ...layerNormGradConfigs,
  ...geluConfigs,
  ...geluGradConfigs,
  ...causalSoftmaxConfigs,
  ...causalSoftmaxGradConfigs,
  ...softmaxCrossEntropyConfigs,
  wasmTiedOutputLossConfig,
];

for (const config of configs) {
  if (getKernel(config.kernelName, config.backendName)) {
    rememberOriginalKernel(config.kernelName, config.backendName);
    unregisterKernel(config.kernelName, config.backendName);
  }
  registerKernel(config);
}

for (const grad of coreGradients) {
  if (!getGradient(grad.kernelName)) registerGradient(grad);
}
