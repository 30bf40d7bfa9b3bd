import {
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  Transpose,
  type TransposeAttrs,
} from '@tensorflow/tfjs-core';
import { kernelHost } from './kernel-host.js';

/**
 * Merges neighbouring axes that stay neighbours, in the same order, after the permutation:
 * [16,128,3,4,32] with perm [2,0,3,1,4] keeps 5 axes, but [B,T,H,D] with [0,2,1,3] stays 4.
 */
function collapse(
  shape: readonly number[],
  perm: readonly number[],
): { shape: number[]; perm: number[] } {
  const keep = perm.filter((p) => shape[p] !== 1);
  if (keep.length === 0) return { shape: [1], perm: [0] };
  // Groups of input axes that move together.
  const groups: number[][] = [];
  for (const p of keep) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1] === p - 1) last.push(p);
    else if (
      last &&
      shape.slice(last[last.length - 1]! + 1, p).every((s) => s === 1) &&
      p > last[last.length - 1]!
    )
      last.push(p);
    else groups.push([p]);
  }
  const order = [...groups].sort((a, b) => a[0]! - b[0]!);
  const newShape = order.map((g) => g.reduce((acc, ax) => acc * shape[ax]!, 1));
  const newPerm = groups.map((g) => order.indexOf(g));
  return { shape: newShape, perm: newPerm };
}

/**
 * Transposes `src` (row-major, `shape`) by `perm` into `dst`. Written for the layouts a
 * transformer produces: batched 2-D swaps are tiled, everything else walks the output in order
 * with precomputed input strides.
 */
export function transposeInto(
  src: Float32Array | Int32Array,
  shape: readonly number[],
  perm: readonly number[],
  dst: Float32Array | Int32Array,
): void {
  const c = collapse(shape, perm);
  const rank = c.shape.length;
  if (c.perm.every((p, i) => p === i)) {
    dst.set(src.subarray(0, dst.length));
    return;
  }
  const inStrides = new Array<number>(rank);
  inStrides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1]! * c.shape[i + 1]!;
  const outShape = c.perm.map((p) => c.shape[p]!);
  // Batched swap of the last two axes: the tiled path.
  const lead = c.perm.slice(0, rank - 2);
  if (
    rank >= 2 &&
    c.perm[rank - 1] === rank - 2 &&
    c.perm[rank - 2] === rank - 1 &&
    lead.every((p, i) => p === i)
  ) {
    const rows = c.shape[rank - 2]!;
    const cols = c.shape[rank - 1]!;
    const batch = lead.reduce((a, p) => a * c.shape[p]!, 1);
    const T = 32;
    for (let b = 0; b < batch; b++) {
      const base = b * rows * cols;
      for (let i0 = 0; i0 < rows; i0 += T) {
        const i1 = Math.min(i0 + T, rows);
        for (let j0 = 0; j0 < cols; j0 += T) {
          const j1 = Math.min(j0 + T, cols);
          for (let i = i0; i < i1; i++) {
            const srcRow = base + i * cols;
            for (let j = j0; j < j1; j++) dst[base + j * rows + i] = src[srcRow + j]!;
          }
        }
      }
    }
    return;
  }
  // General case: walk the output in order; the innermost output axis has input stride s.
  const strides = c.perm.map((p) => inStrides[p]!);
  const inner = outShape[rank - 1]!;
  const innerStride = strides[rank - 1]!;
  const outer = dst.length / inner;
  const idx = new Array<number>(rank - 1).fill(0);
  let srcBase = 0;
  let o = 0;
  for (let n = 0; n < outer; n++) {
    if (innerStride === 1) {
      for (let j = 0; j < inner; j++) dst[o + j] = src[srcBase + j]!;
    } else {
      let s = srcBase;
      for (let j = 0; j < inner; j++) {
        dst[o + j] = src[s]!;
        s += innerStride;
      }
    }
    o += inner;
    // Odometer increment over the outer output axes.
    for (let ax = rank - 2; ax >= 0; ax--) {
      idx[ax]! += 1;
      srcBase += strides[ax]!;
      if (idx[ax]! < outShape[ax]!) break;
      srcBase -= strides[ax]! * outShape[ax]!;
      idx[ax] = 0;
    }
  }
}

const transposeKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as unknown as { x: TensorInfo };
  const { perm } = attrs as unknown as TransposeAttrs;
  const host = kernelHost(backend as object);
  const outShape = perm.map((p) => x.shape[p]!);
  const identity =
    perm.every((p, i) => p === i) || collapse(x.shape, perm).perm.every((p, i) => p === i);
  if (identity) return host.alias(x, outShape);
  const out = host.output(outShape, x.dtype);
  if (x.dtype === 'float32') transposeInto(host.f32(x), x.shape, perm, host.f32(out));
  else transposeInto(host.i32(x), x.shape, perm, host.i32(out));
  return out;
};

/** `Transpose` for wasm in JS, on the wasm heap: faster than the C kernel for these shapes. */
export const wasmTransposeConfig: KernelConfig = {
  kernelName: Transpose,
  backendName: 'wasm',
  kernelFunc: transposeKernel,
};

/** The same JS `Transpose` for the cpu backend, several times faster than its own. */
export const cpuTransposeConfig: KernelConfig = {
  kernelName: Transpose,
  backendName: 'cpu',
  kernelFunc: transposeKernel,
};
