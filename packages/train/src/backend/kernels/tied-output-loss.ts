import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './kernel-host.js';
import { CbtmKernel } from './kernel-names.js';
import { transposeInto } from './transpose.js';
import { heapOffset, WasmGemm } from './wasm-gemm.js';

/** Rows of logits alive at once: 256 × 4096 floats = 4 MB, instead of the whole 32 MB. */
const DEFAULT_CHUNK = 256;

/**
 * The tied output layer and its loss in one pass over row chunks, with both gradients:
 * logits = h·wteᵀ, p = softmax(logits), loss = mean −log p(target),
 * dh = (p − onehot)·wte / n and dwte = (p − onehot)ᵀ·h / n. Outputs `[loss, dh, dwte]`.
 *
 * The [rows, vocab] logits never exist whole: each chunk's logits, probabilities and products
 * stay in cache, wteᵀ and wte are packed by XNNPACK once for all chunks, and no 32 MB
 * gradient is written, copied, scaled or transposed (the unfused graph does all four).
 * Targets < 0 are ignored.
 */
const tiedOutputLossKernel: KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = b as WasmBackendLike;
  const { h, wte, targets } = inputs as Record<'h' | 'wte' | 'targets', TensorInfo>;
  const chunk = (attrs as { chunk?: number } | undefined)?.chunk ?? DEFAULT_CHUNK;
  const [R, d] = h.shape as [number, number];
  const V = wte.shape[0]!;
  const C = Math.min(chunk, R);
  const lossT = backend.makeOutput([], 'float32');
  const dhT = backend.makeOutput([R, d], 'float32');
  const dwT = backend.makeOutput([V, d], 'float32');
  const wteTT = backend.makeOutput([d, V], 'float32');
  const logitsT = backend.makeOutput([C, V], 'float32');
  const probsT = backend.makeOutput([C, V], 'float32');
  const probsTT = backend.makeOutput([V, C], 'float32');
  const partT = backend.makeOutput([V, d], 'float32');
  const off = (t: TensorInfo) => heapOffset(backend, t.dataId);
  const view = (t: TensorInfo, start = 0, length?: number) =>
    new Float32Array(
      backend.wasm.HEAPU8.buffer,
      off(t) + start * 4,
      length ?? t.shape.reduce((x, y) => x * y, 1),
    );
  const tg = () => new Int32Array(backend.wasm.HEAPU8.buffer, off(targets), R);

  transposeInto(view(wte), [V, d], [1, 0], view(wteTT));
  let count = 0;
  for (const t of tg()) if (t >= 0) count += 1;
  const gemm = new WasmGemm(backend);
  const wteTRight = gemm.right(off(wteTT), d, V);
  const wteRight = gemm.right(off(wte), V, d);
  const softmaxId = (t: TensorInfo) => backend.dataIdMap.get(t.dataId).id;
  let total = 0;
  for (let r0 = 0; r0 < R; r0 += C) {
    const n = Math.min(C, R - r0);
    gemm.run(off(h) + r0 * d * 4, n, wteTRight, off(logitsT));
    backend.wasm._Softmax(softmaxId(logitsT), softmaxId(probsT), V, n);
    {
      const t = tg();
      const L = view(logitsT);
      const P = view(probsT);
      for (let i = 0; i < n; i++) {
        const target = t[r0 + i]!;
        const base = i * V;
        if (target < 0) {
          P.fill(0, base, base + V);
          continue;
        }
        const p = P[base + target]!;
        if (p > 1e-30) total -= Math.log(p);
        else {
          let max = Number.NEGATIVE_INFINITY;
          for (let j = 0; j < V; j++) if (L[base + j]! > max) max = L[base + j]!;
          let s = 0;
          for (let j = 0; j < V; j++) s += Math.exp(L[base + j]! - max);
          total += max + Math.log(s) - L[base + target]!;
        }
        P[base + target] = p - 1;
      }
    }
    // dh rows of this chunk: (p − onehot)·wte.
    gemm.run(off(probsT), n, wteRight, off(dhT) + r0 * d * 4);
    // dwte += (p − onehot)ᵀ·h_chunk: transpose the chunk, then one product with h's rows.
    transposeInto(view(probsT, 0, n * V), [n, V], [1, 0], view(probsTT, 0, V * n));
    const hRows = gemm.right(off(h) + r0 * d * 4, n, d);
    if (r0 === 0) gemm.run(off(probsTT), V, hRows, off(dwT));
    else {
      gemm.run(off(probsTT), V, hRows, off(partT));
      const acc = view(dwT);
      const part = view(partT);
      for (let i = 0; i < acc.length; i++) acc[i]! += part[i]!;
    }
    gemm.release(hRows);
  }
  gemm.dispose();
  const inv = count > 0 ? 1 / count : 0;
  for (const g of [view(dhT), view(dwT)]) for (let i = 0; i < g.length; i++) g[i]! *= inv;
  view(lossT)[0] = count > 0 ? total / count : 0;
  for (const t of [wteTT, logitsT, probsT, probsTT, partT]) backend.disposeData(t.dataId);
  return [lossT, dhT, dwT];
};

/** `CbtmTiedOutputLoss` for wasm (other backends compose matMul and softmaxCrossEntropy). */
export const wasmTiedOutputLossConfig: KernelConfig = {
  kernelName: CbtmKernel.TiedOutputLoss,
  backendName: 'wasm',
  kernelFunc: tiedOutputLossKernel,
};
