import type { WasmBackendLike } from './kernel-host.js';

/**
 * Direct access to the wasm backend's XNNPACK matrix product on raw heap memory:
 * out[rows, N] = a[rows, K] · b[K, N], all row-major float32 at byte offsets into the heap.
 *
 * XNNPACK packs the right operand once per tensor id and caches it. `WasmGemm` therefore
 * registers a fresh id for every right operand it is given, and releases it (which frees the
 * packed copy) in `dispose()`. Reusing one `RightOperand` for several products skips the
 * repacking, which is only correct while its memory does not change.
 */
export class WasmGemm {
  readonly #backend: WasmBackendLike;
  readonly #shapes: number;
  readonly #ids: number[] = [];

  constructor(backend: WasmBackendLike) {
    this.#backend = backend;
    this.#shapes = shapeBuffer(backend);
  }

  /** Registers heap memory [K, N] at `offset` as a right operand. */
  right(offset: number, K: number, N: number): RightOperand {
    return { id: this.#view(offset, K * N), K, N };
  }

  /** out = a · b, with a = [rows, b.K] at `aOffset` and out = [rows, b.N] at `outOffset`. */
  run(aOffset: number, rows: number, b: RightOperand, outOffset: number): void {
    const aId = this.#view(aOffset, rows * b.K);
    const outId = this.#view(outOffset, rows * b.N);
    // HEAP32 is re-created when the heap grows, so look it up on every call.
    const heap32: Int32Array = this.#backend.wasm.HEAP32;
    const p = this.#shapes >> 2;
    heap32[p] = 1;
    heap32[p + 1] = rows;
    heap32[p + 2] = b.K;
    heap32[p + 3] = 1;
    heap32[p + 4] = b.K;
    heap32[p + 5] = b.N;
    this.#backend.wasm._BatchMatMul(aId, this.#shapes, 3, b.id, this.#shapes + 12, 3, 0, 0, outId);
    this.#release(aId);
    this.#release(outId);
  }

  /** Releases a right operand (and its packed copy) before `dispose()`. */
  release(b: RightOperand): void {
    this.#release(b.id);
  }

  /** Releases every id this instance registered (and XNNPACK's packed copies). */
  dispose(): void {
    for (const id of this.#ids.splice(0)) this.#backend.wasm.tfjs.disposeData(id);
  }

  #view(offset: number, size: number): number {
    const b = this.#backend as unknown as { dataIdNextNumber: number };
    const id = b.dataIdNextNumber++;
    this.#backend.wasm.tfjs.registerTensor(id, size, offset);
    this.#ids.push(id);
    return id;
  }

  #release(id: number): void {
    const i = this.#ids.lastIndexOf(id);
    if (i >= 0) this.#ids.splice(i, 1);
    this.#backend.wasm.tfjs.disposeData(id);
  }
}

/** A right operand registered with XNNPACK (see {@link WasmGemm.right}). */
export interface RightOperand {
  readonly id: number;
  readonly K: number;
  readonly N: number;
}

const shapeBuffers = new WeakMap<WasmBackendLike, number>();

/** 24 bytes of heap per backend for the two shape arrays the C function reads. */
function shapeBuffer(backend: WasmBackendLike): number {
  let p = shapeBuffers.get(backend);
  if (p === undefined) {
    p = backend.wasm._malloc(24) >>> 0;
    shapeBuffers.set(backend, p);
  }
  return p;
}

/** Heap byte offset of a tensor's data. */
export function heapOffset(backend: WasmBackendLike, dataId: object): number {
  return backend.dataIdMap.get(dataId).memoryOffset;
}
