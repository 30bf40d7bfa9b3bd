import { describe, expect, it } from 'vitest';
import {
  csrFromRows,
  csrTimesDense,
  csrTranspose,
  csrTransposeTimesDense,
  gramTimesDense,
} from './sparse-matrix.js';

// A = [[1, 0, 2],
//      [0, 3, 0],
//      [4, 5, 6],
//      [0, 0, 0]]
const a = csrFromRows(
  [
    { indices: Int32Array.of(0, 2), values: [1, 2] },
    { indices: Int32Array.of(1), values: [3] },
    { indices: Int32Array.of(0, 1, 2), values: [4, 5, 6] },
    { indices: new Int32Array(0), values: [] },
  ],
  3,
);
const dense = [
  [1, 0, 2],
  [0, 3, 0],
  [4, 5, 6],
  [0, 0, 0],
];

function matmul(x: number[][], y: number[][]): number[][] {
  return x.map((row) => y[0]!.map((_, j) => row.reduce((s, v, k) => s + v * y[k]![j]!, 0)));
}
const t = (x: number[][]) => x[0]!.map((_, j) => x.map((row) => row[j]!));
const rows = (flat: Float64Array, w: number) =>
  Array.from({ length: flat.length / w }, (_, i) => Array.from(flat.subarray(i * w, (i + 1) * w)));

describe('sparse products', () => {
  const x3 = [
    [1, 2],
    [3, 4],
    [5, 6],
  ]; // 3 × 2
  const x4 = [
    [1, -1],
    [0, 2],
    [3, 1],
    [7, 7],
  ]; // 4 × 2

  it('A X, Aᵀ X and AᵀA X agree with dense arithmetic', () => {
    expect(rows(csrTimesDense(a, Float64Array.from(x3.flat()), 2), 2)).toEqual(matmul(dense, x3));
    expect(rows(csrTransposeTimesDense(a, Float64Array.from(x4.flat()), 2), 2)).toEqual(
      matmul(t(dense), x4),
    );
    expect(rows(gramTimesDense(a, Float64Array.from(x3.flat()), 2), 2)).toEqual(
      matmul(t(dense), matmul(dense, x3)),
    );
  });

  it('transposes, and A Aᵀ X is the Gram product of the transpose', () => {
    const at = csrTranspose(a);
    expect(at.nRows).toBe(3);
    expect(Array.from(at.indptr)).toEqual([0, 2, 4, 6]);
    expect(Array.from(at.indices)).toEqual([0, 2, 1, 2, 0, 2]);
    expect(Array.from(at.values)).toEqual([1, 4, 3, 5, 2, 6]);
    expect(rows(gramTimesDense(at, Float64Array.from(x4.flat()), 2), 2)).toEqual(
      matmul(dense, matmul(t(dense), x4)),
    );
  });

  it('handles rows of every length (the unrolled loop and its remainder)', () => {
    const width = 9;
    const wide = Array.from({ length: 10 }, (_, i) =>
      Array.from({ length: width }, (_, j) => (j < i ? ((i * 7 + j * 3) % 5) - 2 : 0)),
    );
    const m = csrFromRows(
      wide.map((row) => {
        const idx = row.flatMap((v, j) => (v !== 0 ? [j] : []));
        return { indices: Int32Array.from(idx), values: idx.map((j) => row[j]!) };
      }),
      width,
    );
    const x = Array.from({ length: width }, (_, i) => [i + 1, (i * i) % 7, -i]);
    expect(rows(gramTimesDense(m, Float64Array.from(x.flat()), 3), 3)).toEqual(
      matmul(t(wide), matmul(wide, x)),
    );
  });

  it('rejects a column outside the matrix', () => {
    expect(() => csrFromRows([{ indices: Int32Array.of(3), values: [1] }], 3)).toThrow(
      /outside \[0, 3\)/,
    );
  });
});
