import {
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  UnsortedSegmentSum,
  type UnsortedSegmentSumAttrs,
} from '@tensorflow/tfjs-core';
import { kernelHost } from './kernel-host.js';

/**
 * `UnsortedSegmentSum` in JS: the gradient of `gather`, i.e. of the token embedding. The wasm
 * backend has no such kernel, and the cpu backend's builds a one-hot mask per segment.
 * Rows whose segment id is out of range are dropped, as in TensorFlow.
 */
const unsortedSegmentSumKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as unknown as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs;
  if (x.dtype !== 'float32') throw new Error(`UnsortedSegmentSum: float32 only, got ${x.dtype}.`);
  const rows = segmentIds.shape.reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
  const host = kernelHost(backend as object);
  const out = host.output([numSegments, ...x.shape.slice(segmentIds.shape.length)], 'float32');
  const src = host.f32(x);
  const ids = host.i32(segmentIds);
  const dst = host.f32(out);
  dst.fill(0);
  for (let r = 0; r < rows; r++) {
    const s = ids[r]!;
    if (s < 0 || s >= numSegments) continue;
    const o = s * inner;
    const base = r * inner;
    for (let c = 0; c < inner; c++) dst[o + c]! += src[base + c]!;
  }
  return out;
};

/** `UnsortedSegmentSum` for the wasm backend, which lacks it. */
export const wasmUnsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSumKernel,
};

/** `UnsortedSegmentSum` for the cpu backend, replacing its far slower one. */
export const cpuUnsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'cpu',
  kernelFunc: unsortedSegmentSumKernel,
};
