import { InvalidArgumentError } from '@cbtm/core';

/**
 * A compressed sparse row matrix in float64, like `scipy.sparse.csr_matrix`: row `i` holds
 * columns `indices[indptr[i] .. indptr[i+1])` with `values` at the same positions.
 *
 * @example
 * ```ts
 * // [[1, 0], [0, 2]]
 * const m: CsrMatrix = { nRows: 2, nCols: 2, indptr: Int32Array.of(0, 1, 2), indices: Int32Array.of(0, 1), values: Float64Array.of(1, 2) };
 * ```
 */
export interface CsrMatrix {
  readonly nRows: number;
  readonly nCols: number;
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float64Array;
}

/**
 * Builds a {@link CsrMatrix} from rows of (sorted indices, values).
 *
 * @example
 * ```ts
 * const m = csrFromRows([{ indices: Int32Array.of(0), values: Float64Array.of(1) }], 3);
 * ```
 */
export function csrFromRows(
  rows: readonly { readonly indices: Int32Array; readonly values: ArrayLike<number> }[],
  nCols: number,
): CsrMatrix {
  let nnz = 0;
  for (const r of rows) nnz += r.indices.length;
  const indptr = new Int32Array(rows.length + 1);
  const indices = new Int32Array(nnz);
  const values = new Float64Array(nnz);
  let at = 0;
  rows.forEach((r, i) => {
    for (let k = 0; k < r.indices.length; k++) {
      const j = r.indices[k]!;
      if (j < 0 || j >= nCols)
        throw new InvalidArgumentError(`Row ${i} has column ${j} outside [0, ${nCols}).`);
      indices[at] = j;
      values[at] = r.values[k]!;
      at++;
    }
    indptr[i + 1] = at;
  });
  return { nRows: rows.length, nCols, indptr, indices, values };
}

/** `A X` for row-major `X` (nCols × l): a row-major nRows × l result. */
export function csrTimesDense(a: CsrMatrix, x: Float64Array, l: number): Float64Array {
  const out = new Float64Array(a.nRows * l);
  const { indptr, indices, values } = a;
  for (let i = 0; i < a.nRows; i++) {
    const o = i * l;
    for (let p = indptr[i]!; p < indptr[i + 1]!; p++) {
      const v = values[p]!;
      const xo = indices[p]! * l;
      for (let c = 0; c < l; c++) out[o + c]! += v * x[xo + c]!;
    }
  }
  return out;
}

/** `Aᵀ X` for row-major `X` (nRows × l): a row-major nCols × l result. */
export function csrTransposeTimesDense(a: CsrMatrix, x: Float64Array, l: number): Float64Array {
  const out = new Float64Array(a.nCols * l);
  const { indptr, indices, values } = a;
  for (let i = 0; i < a.nRows; i++) {
    const xo = i * l;
    for (let p = indptr[i]!; p < indptr[i + 1]!; p++) {
      const v = values[p]!;
      const o = indices[p]! * l;
      for (let c = 0; c < l; c++) out[o + c]! += v * x[xo + c]!;
    }
  }
  return out;
}

/** The transpose as a new CSR matrix (i.e. the CSC form of `a`), column indices sorted. */
export function csrTranspose(a: CsrMatrix): CsrMatrix {
  const { nRows, nCols, indptr, indices, values } = a;
  const nnz = values.length;
  const tIndptr = new Int32Array(nCols + 1);
  for (let p = 0; p < nnz; p++) tIndptr[indices[p]! + 1]! += 1;
  for (let j = 0; j < nCols; j++) tIndptr[j + 1]! += tIndptr[j]!;
  const next = tIndptr.slice(0, nCols);
  const tIndices = new Int32Array(nnz);
  const tValues = new Float64Array(nnz);
  for (let i = 0; i < nRows; i++) {
    for (let p = indptr[i]!; p < indptr[i + 1]!; p++) {
      const at = next[indices[p]!]!++;
      tIndices[at] = i;
      tValues[at] = values[p]!;
    }
  }
  return { nRows: nCols, nCols: nRows, indptr: tIndptr, indices: tIndices, values: tValues };
}

/**
 * `Sᵀ S X` for row-major `X` (S.nCols × l), as `Σ_r s_r (s_rᵀ X)` over the rows `s_r` of `S`:
 * the intermediate `S X` (one l-vector per row) is never stored, so only `X`-sized arrays are
 * touched. With `S = Aᵀ` (the CSC form of A) this is `A Aᵀ X`.
 */
export function gramTimesDense(s: CsrMatrix, x: Float64Array, l: number): Float64Array {
  const out = new Float64Array(s.nCols * l);
  const t = new Float64Array(l);
  const { indptr, indices, values } = s;
  for (let r = 0; r < s.nRows; r++) {
    const a = indptr[r]!;
    const b = indptr[r + 1]!;
    if (a === b) continue;
    t.fill(0);
    let p = a;
    // Four nonzeros per sweep over t: a quarter of the loads and stores of t.
    for (; p + 3 < b; p += 4) {
      const v0 = values[p]!;
      const v1 = values[p + 1]!;
      const v2 = values[p + 2]!;
      const v3 = values[p + 3]!;
      const o0 = indices[p]! * l;
      const o1 = indices[p + 1]! * l;
      const o2 = indices[p + 2]! * l;
      const o3 = indices[p + 3]! * l;
      for (let c = 0; c < l; c++)
        t[c]! += v0 * x[o0 + c]! + v1 * x[o1 + c]! + v2 * x[o2 + c]! + v3 * x[o3 + c]!;
    }
    for (; p < b; p++) {
      const v = values[p]!;
      const xo = indices[p]! * l;
      for (let c = 0; c < l; c++) t[c]! += v * x[xo + c]!;
    }
    for (let p = a; p < b; p++) {
      const v = values[p]!;
      const o = indices[p]! * l;
      for (let c = 0; c < l; c++) out[o + c]! += v * t[c]!;
    }
  }
  return out;
}
