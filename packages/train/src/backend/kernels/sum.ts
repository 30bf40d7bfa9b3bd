import {
  type KernelConfig,
  type KernelFunc,
  Sum,
  type SumAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { kernelHost } from './kernel-host.js';
import { runOriginalKernel } from './original-kernels.js';

/**
 * `Sum` for wasm when the reduced axes are the leading ones (bias and broadcast gradients:
 * [rows, cols] → [cols]) or the trailing ones. The C kernel transposes first; summing rows in
 * place avoids that copy. Other axis sets go to the original kernel.
 */
const sumKernel: KernelFunc = (args) => {
  const { x } = args.inputs as unknown as { x: TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as SumAttrs;
  const rank = x.shape.length;
  const axes = [
    ...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a))),
  ].sort((p, q) => p - q);
  const leading = axes.every((a, i) => a === i);
  const trailing = axes.every((a, i) => a === rank - axes.length + i);
  if (x.dtype !== 'float32' || axes.length === 0 || (!leading && !trailing)) {
    return runOriginalKernel(Sum, 'wasm', args as never);
  }
  const outShape = keepDims
    ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : x.shape.filter((_, i) => !axes.includes(i));
  const reduced = axes.reduce((acc, a) => acc * x.shape[a]!, 1);
  const size = x.shape.reduce((acc, d) => acc * d, 1);
  const kept = reduced === 0 ? 0 : size / reduced;
  const host = kernelHost(args.backend as object);
  const out = host.output(outShape, 'float32');
  const src = host.f32(x);
  const dst = host.f32(out);
  if (leading) {
    dst.fill(0);
    for (let r = 0; r < reduced; r++) {
      const base = r * kept;
      for (let c = 0; c < kept; c++) dst[c]! += src[base + c]!;
    }
  } else {
    for (let r = 0; r < kept; r++) {
      const base = r * reduced;
      let s = 0;
      for (let c = 0; c < reduced; c++) s += src[base + c]!;
      dst[r] = s;
    }
  }
  return out;
};

/** The replacement `Sum` kernel for the wasm backend. */
export const wasmSumConfig: KernelConfig = {
  kernelName: Sum,
  backendName: 'wasm',
  kernelFunc: sumKernel,
};
