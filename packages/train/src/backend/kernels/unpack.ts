import {
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  Unpack,
  type UnpackAttrs,
} from '@tensorflow/tfjs-core';
import { kernelHost } from './kernel-host.js';
import { runOriginalKernel } from './original-kernels.js';

/**
 * `Unpack` along axis 0 for wasm: each output is one contiguous block, copied once. The C
 * backend runs a strided slice per output instead. Other axes go to the original kernel.
 */
const unpackKernel: KernelFunc = (args) => {
  const { value } = args.inputs as unknown as { value: TensorInfo };
  const { axis } = args.attrs as unknown as UnpackAttrs;
  const rank = value.shape.length;
  const ax = axis < 0 ? axis + rank : axis;
  if (ax !== 0 || (value.dtype !== 'float32' && value.dtype !== 'int32')) {
    return runOriginalKernel(Unpack, 'wasm', args as never);
  }
  const n = value.shape[0]!;
  const shape = value.shape.slice(1);
  const block = shape.reduce((a, b) => a * b, 1);
  const host = kernelHost(args.backend as object);
  const outs = Array.from({ length: n }, () => host.output(shape, value.dtype));
  const src = value.dtype === 'float32' ? host.f32(value) : host.i32(value);
  outs.forEach((o, i) => {
    const dst = value.dtype === 'float32' ? host.f32(o) : host.i32(o);
    dst.set(src.subarray(i * block, (i + 1) * block));
  });
  return outs;
};

/** The replacement `Unpack` kernel for the wasm backend. */
export const wasmUnpackConfig: KernelConfig = {
  kernelName: Unpack,
  backendName: 'wasm',
  kernelFunc: unpackKernel,
};
