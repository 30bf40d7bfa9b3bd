import { Rng } from '@cbtm/core';
import { describe, expect, it } from 'vitest';
import { jacobiSvd, thinQr } from './dense-linalg.js';

function randomMatrix(m: number, l: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: m * l }, () => rng.normal());
}

function expectOrthonormalColumns(q: Float64Array, m: number, l: number): void {
  for (let a = 0; a < l; a++) {
    for (let b = 0; b < l; b++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += q[i * l + a]! * q[i * l + b]!;
      expect(Math.abs(s - (a === b ? 1 : 0))).toBeLessThan(1e-12);
    }
  }
}

describe('thinQr', () => {
  it.each([
    [200, 12],
    [203, 7],
  ])('factors a tall %i × %i matrix as Q R with orthonormal Q and upper-triangular R', (m, l) => {
    const y = randomMatrix(m, l, 3);
    const { q, r } = thinQr(y, m, l, new Rng(0));
    expectOrthonormalColumns(q, m, l);
    for (let i = 0; i < l; i++) for (let j = 0; j < i; j++) expect(r[i * l + j]).toBe(0);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < l; j++) {
        let s = 0;
        for (let t = 0; t < l; t++) s += q[i * l + t]! * r[t * l + j]!;
        expect(Math.abs(s - y[i * l + j]!)).toBeLessThan(1e-10);
      }
    }
  });

  it('stays orthonormal when columns are dependent (rank-deficient input)', () => {
    const m = 50;
    const l = 6;
    const y = randomMatrix(m, l, 4);
    for (let i = 0; i < m; i++) {
      y[i * l + 3] = y[i * l + 0]! + 2 * y[i * l + 1]!; // dependent column
      y[i * l + 5] = 0; // zero column
    }
    const { q, r } = thinQr(y, m, l, new Rng(0));
    expectOrthonormalColumns(q, m, l);
    expect(Math.abs(r[3 * l + 3]!)).toBeLessThan(1e-8);
    expect(r[5 * l + 5]).toBe(0);
  });
});

describe('jacobiSvd', () => {
  it('reconstructs A = U diag(s) Vᵀ with orthonormal factors and sorted s', () => {
    const l = 9;
    const a = randomMatrix(l, l, 5);
    const { u, s, v } = jacobiSvd(a, l);
    expectOrthonormalColumns(u, l, l);
    expectOrthonormalColumns(v, l, l);
    for (let k = 1; k < l; k++) expect(s[k]!).toBeLessThanOrEqual(s[k - 1]!);
    for (let i = 0; i < l; i++) {
      for (let j = 0; j < l; j++) {
        let x = 0;
        for (let k = 0; k < l; k++) x += u[i * l + k]! * s[k]! * v[j * l + k]!;
        expect(Math.abs(x - a[i * l + j]!)).toBeLessThan(1e-12);
      }
    }
  });

  it('finds the singular values of a known matrix', () => {
    // diag(3, 2) rotated by 30° on the left: singular values 3 and 2.
    const c = Math.cos(Math.PI / 6);
    const s = Math.sin(Math.PI / 6);
    const a = Float64Array.of(3 * c, -2 * s, 3 * s, 2 * c);
    const out = jacobiSvd(a, 2);
    expect(out.s[0]).toBeCloseTo(3, 12);
    expect(out.s[1]).toBeCloseTo(2, 12);
  });
});
