import {
  BatchMatMul,
  type BatchMatMulAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './kernel-host.js';
import { runOriginalKernel } from './original-kernels.js';
import { transposeInto } from './transpose.js';
import { heapOffset, WasmGemm } from './wasm-gemm.js';

/** Copies `x` with its last two axes swapped into new heap memory. */
function swapLastTwo(backend: WasmBackendLike, x: TensorInfo): TensorInfo {
  const r = x.shape.length;
  const perm = x.shape.map((_, i) => i);
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  const outShape = perm.map((p) => x.shape[p]!);
  const out = backend.makeOutput(outShape, 'float32');
  transposeInto(
    backend.typedArrayFromHeap(x) as Float32Array,
    x.shape,
    perm,
    backend.typedArrayFromHeap(out) as Float32Array,
  );
  return out;
}

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/**
 * `BatchMatMul` for wasm. The wasm C kernel is fast (XNNPACK) only for one plain 2-D product:
 * no transpose flags, batch 1. Flags become explicit transposes; a batch becomes a loop of 2-D
 * products on slices of the heap. XNNPACK caches the packed right operand by tensor id, so
 * every slice gets a fresh id, released right after (which also frees the cached operator).
 */
const batchMatMulKernel: KernelFunc = (args) => {
  const backend = args.backend as WasmBackendLike;
  const { a, b } = args.inputs as unknown as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) {
    return runOriginalKernel(BatchMatMul, 'wasm', args as never);
  }
  const batchShapeA = a.shape.slice(0, -2);
  const batchShapeB = b.shape.slice(0, -2);
  const batchA = prod(batchShapeA);
  const batchB = prod(batchShapeB);
  const sameBatch =
    batchShapeA.length === batchShapeB.length && batchShapeA.every((d, i) => d === batchShapeB[i]);
  const outBatchShape =
    batchB === 1 ? batchShapeA : batchA === 1 ? batchShapeB : sameBatch ? batchShapeA : null;
  if (outBatchShape === null) return runOriginalKernel(BatchMatMul, 'wasm', args as never);
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const Kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const N = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (K !== Kb) {
    throw new Error(
      `matMul: inner dimensions ${K} and ${Kb} of shapes ${a.shape} and ${b.shape} do not match.`,
    );
  }
  const temps: TensorInfo[] = [];
  const aa = transposeA ? swapLastTwo(backend, a) : a;
  if (transposeA) temps.push(aa);
  const bb = transposeB ? swapLastTwo(backend, b) : b;
  if (transposeB) temps.push(bb);
  const out = backend.makeOutput([...outBatchShape, M, N], 'float32');

  const gemm = new WasmGemm(backend);
  const aOff = heapOffset(backend, aa.dataId);
  const bOff = heapOffset(backend, bb.dataId);
  const outOff = heapOffset(backend, out.dataId);
  if (batchB === 1) {
    // A's batch folds into its rows: one product. B still gets a fresh id: the same memory can
    // come back under another shape (a reshape keeps the id), and the cache would not notice.
    gemm.run(aOff, batchA * M, gemm.right(bOff, K, N), outOff);
  } else {
    const batch = Math.max(batchA, batchB);
    for (let i = 0; i < batch; i++) {
      const right = gemm.right(bOff + i * K * N * 4, K, N);
      gemm.run(batchA === 1 ? aOff : aOff + i * M * K * 4, M, right, outOff + i * M * N * 4);
      gemm.release(right);
    }
  }
  gemm.dispose();
  for (const t of temps) backend.disposeData(t.dataId);
  return out;
};

/** The replacement `BatchMatMul` kernel for the wasm backend. */
export const wasmBatchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: 'wasm',
  kernelFunc: batchMatMulKernel,
};
