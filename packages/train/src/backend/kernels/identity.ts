import {
  Identity,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { kernelHost } from './kernel-host.js';

/**
 * `Identity` for wasm as an alias (a reference-count increment), as the cpu backend does.
 * The engine clones every tensor it saves for the backward pass, and the C kernel copies each
 * one: 30 MB for the logits gradient alone. Tensors are immutable, so sharing is safe.
 */
const identityKernel: KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as unknown as { x: TensorInfo };
  return kernelHost(backend as object).alias(x, x.shape);
};

/** The replacement `Identity` kernel for the wasm backend. */
export const wasmIdentityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'wasm',
  kernelFunc: identityKernel,
};
