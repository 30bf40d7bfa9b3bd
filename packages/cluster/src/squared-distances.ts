import { InvalidArgumentError } from '@cbtm/core';
import { assembleModule, I32, op, V128, type WasmFunction } from './wasm-assembler.js';

/** Rows of points are processed in pairs; columns in blocks of this many centroids. */
const ROW_TILE = 2;
const BLOCK_ROWS = 2048;
/** Rows per kernel call: small enough that they and one centroid block stay in L1. */
const SUB_ROWS = 32;
const PAGE = 65_536;
/** Keep the resident points well under wasm32's 4 GiB address space. */
const MAX_WASM_BYTES = 2 ** 31;

/**
 * Builds a kernel specialized for dimension `d` and padded centroid count `kp` (a multiple of
 * `width`): out[i, j] = max(0, ‖x_i‖² + ‖c_j‖² − 2 x_i·c_j) for pairs of rows, with the dot
 * products in f32x4 lanes over a `width`-wide block of transposed centroids.
 * Parameters (byte addresses): x, ct, xn, cn, out, rows (even, ≥ 2).
 */
function buildKernel(d: number, kp: number, width: number): WasmFunction {
  const [X, CT, XN, CN, OUT, ROWS] = [0, 1, 2, 3, 4, 5];
  const [PX, PXN, PO, JB, PC, T, I] = [6, 7, 8, 9, 10, 11, 12];
  const lanes = width / 4;
  const ACC = 13; // ACC .. ACC + 2*lanes - 1
  const S0 = ACC + 2 * lanes;
  const S1 = S0 + 1;
  const SCRATCH = S1 + 1;
  const rowBytes = d * 4;
  const colBytes = kp * 4;
  const b: number[] = [];
  const emit = (...parts: number[][]) => {
    for (const p of parts) b.push(...p);
  };
  // Column blocks outside, row pairs inside: one block of transposed centroids (width × d)
  // stays in L1 while a few dozen rows stream past it.
  emit(op.i32Const(0), op.localSet(JB));
  emit(op.loop()); // column blocks
  emit(op.localGet(X), op.localSet(PX), op.localGet(XN), op.localSet(PXN));
  emit(op.localGet(OUT), op.localSet(PO), op.localGet(ROWS), op.localSet(I));
  emit(op.loop()); // row pairs
  for (let a = 0; a < 2 * lanes; a++) emit(op.v128Zero(), op.localSet(ACC + a));
  emit(op.localGet(CT), op.localGet(JB), op.i32Add(), op.localSet(PC));
  emit(op.i32Const(0), op.localSet(T));
  emit(op.loop()); // dimensions
  emit(
    op.localGet(PX),
    op.localGet(T),
    op.i32Add(),
    op.f32Load(0),
    op.f32x4Splat(),
    op.localSet(S0),
  );
  emit(op.localGet(PX), op.localGet(T), op.i32Add(), op.f32Load(rowBytes), op.f32x4Splat());
  emit(op.localSet(S1));
  for (let q = 0; q < lanes; q++) {
    emit(op.localGet(PC), op.v128Load(16 * q), op.localTee(SCRATCH + q));
    emit(op.localGet(S0), op.f32x4Mul(), op.localGet(ACC + q), op.f32x4Add(), op.localSet(ACC + q));
    emit(op.localGet(SCRATCH + q), op.localGet(S1), op.f32x4Mul(), op.localGet(ACC + lanes + q));
    emit(op.f32x4Add(), op.localSet(ACC + lanes + q));
  }
  emit(op.localGet(PC), op.i32Const(colBytes), op.i32Add(), op.localSet(PC));
  emit(op.localGet(T), op.i32Const(4), op.i32Add(), op.localTee(T), op.i32Const(rowBytes));
  emit(op.i32Ne(), op.brIf(0), op.end());
  // Epilogue: out = max(0, ‖x‖² + ‖c‖² − 2·dot), for both rows.
  emit(op.localGet(PXN), op.f32Load(0), op.f32x4Splat(), op.localSet(S0));
  emit(op.localGet(PXN), op.f32Load(4), op.f32x4Splat(), op.localSet(S1));
  for (let r = 0; r < 2; r++) {
    for (let q = 0; q < lanes; q++) {
      const acc = ACC + r * lanes + q;
      emit(op.localGet(PO), op.localGet(JB), op.i32Add());
      emit(op.localGet(r === 0 ? S0 : S1), op.localGet(CN), op.localGet(JB), op.i32Add());
      emit(op.v128Load(16 * q), op.f32x4Add(), op.localGet(acc), op.localGet(acc), op.f32x4Add());
      emit(op.f32x4Sub(), op.v128Zero(), op.f32x4Max(), op.v128Store(r * colBytes + 16 * q));
    }
  }
  emit(op.localGet(PX), op.i32Const(2 * rowBytes), op.i32Add(), op.localSet(PX));
  emit(op.localGet(PXN), op.i32Const(8), op.i32Add(), op.localSet(PXN));
  emit(op.localGet(PO), op.i32Const(2 * colBytes), op.i32Add(), op.localSet(PO));
  emit(op.localGet(I), op.i32Const(2), op.i32Sub(), op.localTee(I), op.i32Const(0));
  emit(op.i32Ne(), op.brIf(0), op.end());
  emit(
    op.localGet(JB),
    op.i32Const(width * 4),
    op.i32Add(),
    op.localTee(JB),
    op.i32Const(colBytes),
  );
  emit(op.i32Ne(), op.brIf(0), op.end());
  return {
    name: 'distances',
    params: [I32, I32, I32, I32, I32, I32],
    locals: [
      ...new Array<number>(7).fill(I32),
      ...new Array<number>(2 * lanes + 2 + lanes).fill(V128),
    ],
    body: b,
  };
}

type KernelFn = (x: number, ct: number, xn: number, cn: number, out: number, rows: number) => void;

let simdSupport: boolean | undefined;
/** Compiled kernels by `d/kp/width`; each engine instantiates them on its own memory. */
const compiled = new Map<string, WebAssembly.Module>();

/** Whether this runtime runs WebAssembly SIMD (detected once). */
export function wasmSimdSupported(): boolean {
  if (simdSupport === undefined) {
    try {
      simdSupport = WebAssembly.validate(assembleModule([buildKernel(4, 4, 4)]));
    } catch {
      simdSupport = false;
    }
  }
  return simdSupport;
}

/** Column block width for `k` centroids: 16 when that wastes little, else 8 or 4. */
function blockWidth(k: number): number {
  if (k >= 48 || k % 16 === 0) return 16;
  if (k > 4) return 8;
  return 4;
}

/**
 * Squared Euclidean distances from a fixed set of points to any set of centroids. The points are
 * copied once into WebAssembly memory, with their squared norms, and each call computes an
 * n × stride row-major matrix of distances with a SIMD kernel (f32 arithmetic, like BLAS-based
 * k-means). Without WebAssembly SIMD, or when the points do not fit in wasm memory, a blocked
 * JavaScript loop computes the same quantity.
 *
 * @example
 * ```ts
 * const engine = new DistanceEngine(points, n, d);
 * const { data, stride } = engine.distances(centroids, k);
 * const dist_i_j = data[i * stride + j];
 * ```
 */
export class DistanceEngine {
  readonly n: number;
  readonly d: number;
  /** Squared norms of the points. */
  readonly norms: Float32Array;
  readonly #points: Float32Array;
  readonly #useWasm: boolean;
  #memory: WebAssembly.Memory | undefined;
  readonly #kernels = new Map<string, KernelFn>();
  #layout = { x: 0, xn: 0, ct: 0, cn: 0, out: 0, kpMax: 0 };

  /**
   * @param points n × d row-major.
   * @param options.wasm use the wasm kernel when available. @default true
   */
  constructor(
    points: Float32Array,
    n: number,
    d: number,
    options: { readonly wasm?: boolean } = {},
  ) {
    if (!(Number.isInteger(n) && n >= 0 && Number.isInteger(d) && d >= 1)) {
      throw new InvalidArgumentError(
        `n and d must be integers (n ≥ 0, d ≥ 1), got n=${n}, d=${d}.`,
      );
    }
    if (points.length < n * d) {
      throw new InvalidArgumentError(
        `points holds ${points.length} values, fewer than n·d = ${n * d}.`,
      );
    }
    this.n = n;
    this.d = d;
    this.#points = points;
    const norms = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      const o = i * d;
      for (let t = 0; t < d; t++) s += points[o + t]! * points[o + t]!;
      norms[i] = s;
    }
    this.norms = norms;
    const nPad = n + (n % ROW_TILE);
    this.#useWasm =
      (options.wasm ?? true) && n > 0 && nPad * (d + 1) * 4 < MAX_WASM_BYTES && wasmSimdSupported();
    if (this.#useWasm) {
      this.#reserve(16);
      const mem = new Float32Array(this.#memory!.buffer);
      mem.set(points.subarray(0, n * d), this.#layout.x / 4);
      mem.set(norms, this.#layout.xn / 4);
    }
  }

  /** Whether the WebAssembly SIMD kernel is in use. */
  get usesWasm(): boolean {
    return this.#useWasm;
  }

  /** The row stride of {@link DistanceEngine.distances}' output for `k` centroids. */
  strideFor(k: number): number {
    if (!this.#useWasm) return k;
    const w = blockWidth(k);
    return Math.ceil(k / w) * w;
  }

  /** Lays out memory for up to `kpMax` centroid columns, growing it if needed. */
  #reserve(kpMax: number): void {
    if (kpMax <= this.#layout.kpMax) return;
    const { n, d } = this;
    const nPad = n + (n % ROW_TILE);
    const x = 0;
    const xn = x + nPad * d * 4;
    const ct = xn + nPad * 4;
    const cn = ct + d * kpMax * 4;
    const out = cn + kpMax * 4;
    const end = out + Math.min(BLOCK_ROWS, nPad) * kpMax * 4;
    const pages = Math.ceil(end / PAGE);
    if (!this.#memory) this.#memory = new WebAssembly.Memory({ initial: pages });
    else if (this.#memory.buffer.byteLength < end) {
      this.#memory.grow(pages - this.#memory.buffer.byteLength / PAGE);
    }
    this.#layout = { x, xn, ct, cn, out, kpMax };
  }

  #kernel(kp: number, width: number): KernelFn {
    const key = `${this.d}/${kp}/${width}`;
    let fn = this.#kernels.get(key);
    if (!fn) {
      let module = compiled.get(key);
      if (!module) {
        module = new WebAssembly.Module(assembleModule([buildKernel(this.d, kp, width)]));
        compiled.set(key, module);
      }
      const instance = new WebAssembly.Instance(module, { env: { memory: this.#memory! } });
      fn = instance.exports.distances as KernelFn;
      this.#kernels.set(key, fn);
    }
    return fn;
  }

  /**
   * Distances from every point to each of `k` centroids (k × d row-major). Returns the matrix
   * (n × stride, row-major; columns ≥ k are padding) written into `out` when it is given and
   * large enough.
   */
  distances(
    centroids: Float32Array,
    k: number,
    out?: Float32Array,
  ): { readonly data: Float32Array; readonly stride: number } {
    const { n, d } = this;
    if (!(Number.isInteger(k) && k >= 1) || centroids.length < k * d) {
      throw new InvalidArgumentError(
        `centroids must hold k·d = ${k * d} values for k=${k}, d=${d}.`,
      );
    }
    const stride = this.strideFor(k);
    const data = out && out.length >= n * stride ? out : new Float32Array(n * stride);
    if (n === 0) return { data, stride };
    if (!this.#useWasm) {
      distancesJs(this.#points, this.norms, n, d, centroids, k, data);
      return { data, stride };
    }
    this.#reserve(stride);
    const width = blockWidth(k);
    const fn = this.#kernel(stride, width);
    const { x, xn, ct, cn, out: ob } = this.#layout;
    const mem = new Float32Array(this.#memory!.buffer);
    const ct4 = ct / 4;
    mem.fill(0, ct4, ct4 + d * stride);
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) {
        const v = centroids[j * d + t]!;
        mem[ct4 + t * stride + j] = v;
        s += v * v;
      }
      mem[cn / 4 + j] = s;
    }
    mem.fill(0, cn / 4 + k, cn / 4 + stride);
    const nPad = n + (n % ROW_TILE);
    for (let r0 = 0; r0 < nPad; r0 += BLOCK_ROWS) {
      const rows = Math.min(BLOCK_ROWS, nPad - r0);
      for (let s0 = 0; s0 < rows; s0 += SUB_ROWS) {
        const r = r0 + s0;
        fn(x + r * d * 4, ct, xn + r * 4, cn, ob + s0 * stride * 4, Math.min(SUB_ROWS, rows - s0));
      }
      const keep = Math.min(rows, n - r0);
      data.set(mem.subarray(ob / 4, ob / 4 + keep * stride), r0 * stride);
    }
    return { data, stride };
  }
}

/** The portable path: a 2 × 4 register-blocked loop, f64 accumulation. Stride is k. */
function distancesJs(
  x: Float32Array,
  xn: Float32Array,
  n: number,
  d: number,
  c: Float32Array,
  k: number,
  out: Float32Array,
): void {
  const cn = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let t = 0; t < d; t++) s += c[j * d + t]! * c[j * d + t]!;
    cn[j] = s;
  }
  const dots = new Float64Array(4);
  for (let i = 0; i < n; i++) {
    const xo = i * d;
    const oo = i * k;
    let j = 0;
    for (; j + 3 < k; j += 4) {
      const c0 = j * d;
      const c1 = c0 + d;
      const c2 = c1 + d;
      const c3 = c2 + d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let t = 0; t < d; t++) {
        const a = x[xo + t]!;
        s0 += a * c[c0 + t]!;
        s1 += a * c[c1 + t]!;
        s2 += a * c[c2 + t]!;
        s3 += a * c[c3 + t]!;
      }
      dots[0] = s0;
      dots[1] = s1;
      dots[2] = s2;
      dots[3] = s3;
      for (let q = 0; q < 4; q++) out[oo + j + q] = Math.max(0, xn[i]! + cn[j + q]! - 2 * dots[q]!);
    }
    for (; j < k; j++) {
      let s = 0;
      const co = j * d;
      for (let t = 0; t < d; t++) s += x[xo + t]! * c[co + t]!;
      out[oo + j] = Math.max(0, xn[i]! + cn[j]! - 2 * s);
    }
  }
}
