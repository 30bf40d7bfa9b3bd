import type { DataType, KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';

/** The parts of tfjs-backend-wasm's `BackendWasm` the JS kernels use. */
export interface WasmBackendLike extends KernelBackend {
  wasm: {
    HEAPU8: Uint8Array;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    tfjs: {
      registerTensor(id: number, size: number, memoryOffset: number): void;
      disposeData(id: number): void;
    };
    // biome-ignore lint/suspicious/noExplicitAny: raw emscripten exports (_BatchMatMul, ...)
    [name: string]: any;
  };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

/** The parts of tfjs-backend-cpu's `MathBackendCPU` the JS kernels use. */
export interface CpuBackendLike extends KernelBackend {
  data: { get(dataId: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values?: unknown): TensorInfo;
  incRef(dataId: object): void;
}

type Typed = Float32Array | Int32Array | Uint8Array;

/**
 * Uniform typed-array access for kernels written once in JS and registered on both the wasm
 * and the cpu backend. On wasm, arrays are views of the heap: allocate every output with
 * {@link KernelHost.output} first, then take views, because an allocation can grow (and so
 * detach) the heap.
 */
export interface KernelHost {
  output(shape: number[], dtype?: DataType): TensorInfo;
  f32(t: TensorInfo): Float32Array;
  i32(t: TensorInfo): Int32Array;
  /** An output that shares `t`'s memory under a new shape (for no-op kernels). */
  alias(t: TensorInfo, shape: number[]): TensorInfo;
  /** Frees a scratch tensor made with {@link KernelHost.output}. */
  release(t: TensorInfo): void;
  /** Row-wise softmax of float32 `x` into `out`, rows of `channels` (XNNPACK on wasm). */
  softmaxRows(x: TensorInfo, out: TensorInfo, channels: number): void;
  /** Logistic sigmoid of float32 `x` into `out` (XNNPACK on wasm). */
  sigmoid(x: TensorInfo, out: TensorInfo): void;
}

function softmaxRowsJs(src: Float32Array, dst: Float32Array, channels: number): void {
  for (let base = 0; base < src.length; base += channels) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < channels; j++) if (src[base + j]! > max) max = src[base + j]!;
    let sum = 0;
    for (let j = 0; j < channels; j++) {
      const e = Math.exp(src[base + j]! - max);
      dst[base + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < channels; j++) dst[base + j]! *= inv;
  }
}

function sigmoidJs(src: Float32Array, dst: Float32Array): void {
  for (let i = 0; i < src.length; i++) dst[i] = 1 / (1 + Math.exp(-src[i]!));
}

function isWasm(backend: object): backend is WasmBackendLike {
  return typeof (backend as Partial<WasmBackendLike>).typedArrayFromHeap === 'function';
}

function allocTyped(size: number, dtype: DataType): Typed {
  if (dtype === 'float32') return new Float32Array(size);
  if (dtype === 'int32') return new Int32Array(size);
  if (dtype === 'bool') return new Uint8Array(size);
  throw new Error(`JS kernels do not support dtype ${dtype}`);
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Wraps a wasm or cpu backend instance in a {@link KernelHost}. */
export function kernelHost(backend: object): KernelHost {
  if (isWasm(backend)) {
    return {
      output: (shape, dtype = 'float32') => backend.makeOutput(shape, dtype),
      f32: (t) => backend.typedArrayFromHeap(t) as Float32Array,
      i32: (t) => {
        const a = backend.typedArrayFromHeap(t);
        if (!(a instanceof Int32Array)) throw new Error(`expected int32, got ${t.dtype}`);
        return a;
      },
      alias: (t, shape) => {
        backend.incRef(t.dataId);
        return { dataId: t.dataId, shape, dtype: t.dtype };
      },
      release: (t) => {
        backend.disposeData(t.dataId);
      },
      softmaxRows: (x, out, channels) => {
        const rows = sizeOf(x.shape) / channels;
        if (rows === 0) return;
        backend.wasm._Softmax(
          backend.dataIdMap.get(x.dataId).id,
          backend.dataIdMap.get(out.dataId).id,
          channels,
          rows,
        );
      },
      sigmoid: (x, out) => {
        if (sizeOf(x.shape) === 0) return;
        backend.wasm._Sigmoid(
          backend.dataIdMap.get(x.dataId).id,
          backend.dataIdMap.get(out.dataId).id,
        );
      },
    };
  }
  const cpu = backend as CpuBackendLike;
  if (typeof cpu.makeTensorInfo !== 'function' || cpu.data === undefined) {
    throw new Error('JS kernels run on the wasm and cpu backends only.');
  }
  return {
    output: (shape, dtype = 'float32') =>
      cpu.makeTensorInfo(shape, dtype, allocTyped(sizeOf(shape), dtype)),
    f32: (t) => cpu.data.get(t.dataId).values as Float32Array,
    i32: (t) => {
      const v = cpu.data.get(t.dataId).values;
      if (v instanceof Int32Array) return v;
      return Int32Array.from(v as ArrayLike<number>);
    },
    alias: (t, shape) => {
      cpu.incRef(t.dataId);
      return { dataId: t.dataId, shape, dtype: t.dtype };
    },
    release: (t) => {
      cpu.disposeData(t.dataId);
    },
    softmaxRows: (x, out, channels) =>
      softmaxRowsJs(
        cpu.data.get(x.dataId).values as Float32Array,
        cpu.data.get(out.dataId).values as Float32Array,
        channels,
      ),
    sigmoid: (x, out) =>
      sigmoidJs(
        cpu.data.get(x.dataId).values as Float32Array,
        cpu.data.get(out.dataId).values as Float32Array,
      ),
  };
}

/** Number of elements of a shape. */
export const sizeFromShape = sizeOf;
