import { Rng } from '@cbtm/core';
import { describe, expect, it } from 'vitest';
import { type CsrMatrix, csrFromRows } from './sparse-matrix.js';
import { type FixtureSvd, loadSklearnFixture } from './test-utils/sklearn-fixture.js';
import { principalCosines } from './test-utils/subspace.js';
import { cbtmTfidfOptions, TfidfVectorizer } from './tfidf-vectorizer.js';
import { TruncatedSvd, type TruncatedSvdOptions } from './truncated-svd.js';

const fx = loadSklearnFixture();

async function cbtmMatrix(texts: string[]): Promise<CsrMatrix> {
  const v = await new TfidfVectorizer(cbtmTfidfOptions).fit(texts);
  const rows = texts.map((t) => {
    const { indices, counts } = v.counts(t);
    return { indices, values: v.weigh(indices, counts) };
  });
  return csrFromRows(rows, v.nFeatures);
}

function project(svd: TruncatedSvd, m: CsrMatrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m.nRows; i++) {
    const a = m.indptr[i]!;
    const b = m.indptr[i + 1]!;
    out.push(
      Array.from(
        svd.transform({ indices: m.indices.subarray(a, b), values: m.values.subarray(a, b) }),
      ),
    );
  }
  return out;
}

async function compare(
  texts: string[],
  refs: FixtureSvd[],
  options: Partial<TruncatedSvdOptions>,
  minCos: number,
) {
  const matrix = await cbtmMatrix(texts);
  const svd = await TruncatedSvd.fit(matrix, options);
  const z = project(svd, matrix);
  for (const ref of refs) {
    for (let c = 0; c < ref.nComponents; c++) {
      expect(
        Math.abs(svd.explainedVarianceRatio[c]! - ref.explainedVarianceRatio[c]!),
        `${ref.algorithm} ratio ${c}`,
      ).toBeLessThan(1e-3);
      expect(
        Math.abs(svd.singularValues[c]! / ref.singularValues[c]! - 1),
        `${ref.algorithm} σ${c}`,
      ).toBeLessThan(5e-3);
    }
    const cos = principalCosines(z, ref.transformed);
    expect(cos[0]!, `${ref.algorithm} smallest principal cosine`).toBeGreaterThan(minCos);
  }
  return svd;
}

describe('TruncatedSvd parity with scikit-learn', () => {
  it('matches ratios, singular values and subspace of TruncatedSVD(6) (randomized and arpack)', async () => {
    const texts = fx.svd.docs.map((d) => d.text);
    // 0.99 ≈ an 8° largest principal angle; scikit-learn's own randomized and exact subspaces
    // differ by about 4° here.
    await compare(texts, [fx.svd.randomized, fx.svd.arpack], { nComponents: 6, seed: 0 }, 0.99);
  });

  it('converges to the exact subspace even where the spectrum is flat', async () => {
    const texts = fx.fitDocs.map((d) => d.text);
    await compare(texts, [fx.svd.flatArpack], { nComponents: 10, nIter: 25, seed: 3 }, 0.9999);
  });

  it('is reproducible for a seed and returns unit-norm, mutually orthogonal components', async () => {
    const matrix = await cbtmMatrix(fx.svd.docs.slice(0, 60).map((d) => d.text));
    const a = await TruncatedSvd.fit(matrix, { nComponents: 8, seed: 11 });
    const b = await TruncatedSvd.fit(matrix, { nComponents: 8, seed: 11 });
    expect(Array.from(a.components)).toEqual(Array.from(b.components));
    const c = a.components;
    const d = a.nFeatures;
    for (let x = 0; x < 8; x++) {
      for (let y = 0; y < 8; y++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += c[x * d + j]! * c[y * d + j]!;
        expect(Math.abs(s - (x === y ? 1 : 0))).toBeLessThan(1e-5);
      }
    }
  });

  it('rejects more components than the matrix rank allows', async () => {
    const matrix = await cbtmMatrix(fx.svd.docs.slice(0, 5).map((d) => d.text));
    await expect(TruncatedSvd.fit(matrix, { nComponents: 6 })).rejects.toThrow(
      /at most min\(documents, features\)/,
    );
  });
});

describe('TruncatedSvd on matrices with a known decomposition', () => {
  // A = U diag(σ) Vᵀ (+ noise) with orthonormal U (n × r), V (d × r) from Gram–Schmidt.
  function orthonormal(rows: number, cols: number, rng: Rng): number[][] {
    const q: number[][] = [];
    for (let c = 0; c < cols; c++) {
      let v = Array.from({ length: rows }, () => rng.normal());
      for (let pass = 0; pass < 2; pass++) {
        for (const u of q) {
          const dot = u.reduce((s, x, i) => s + x * v[i]!, 0);
          v = v.map((x, i) => x - dot * u[i]!);
        }
      }
      const norm = Math.hypot(...v);
      q.push(v.map((x) => x / norm));
    }
    return q; // q[c] is column c
  }

  function build(n: number, d: number, rank: number, noise: number, seed: number) {
    const rng = new Rng(seed);
    const u = orthonormal(n, rank, rng);
    const v = orthonormal(d, rank, rng);
    const sigma = Array.from({ length: rank }, (_, i) => rank - i);
    const dense = Array.from({ length: n }, (_, i) =>
      Array.from(
        { length: d },
        (_, j) =>
          sigma.reduce((s, sg, c) => s + sg * u[c]![i]! * v[c]![j]!, 0) + noise * rng.normal(),
      ),
    );
    const matrix = csrFromRows(
      dense.map((row) => ({
        indices: Int32Array.from(row.keys()),
        values: Float64Array.from(row),
      })),
      d,
    );
    return { matrix, dense, sigma, v };
  }

  for (const [n, d] of [
    [300, 40],
    [40, 300],
  ] as const) {
    for (const noise of [0, 1e-3]) {
      it(`recovers σ, the components' span and the explained variance (${n} × ${d}, noise ${noise})`, async () => {
        const k = 5;
        const { matrix, dense, sigma, v } = build(n, d, 12, noise, n + d);
        // With noise 0 the rank (12) is below nComponents + nOversamples (15): the rank-deficient path.
        const svd = await TruncatedSvd.fit(matrix, { nComponents: k, seed: 2 });
        const tol = noise === 0 ? 1e-9 : 1e-2;
        for (let c = 0; c < k; c++)
          expect(Math.abs(svd.singularValues[c]! - sigma[c]!)).toBeLessThan(tol);
        const comps = svd.components;
        const ours = Array.from({ length: d }, (_, j) =>
          Array.from({ length: k }, (_, c) => comps[c * d + j]!),
        );
        const truth = Array.from({ length: d }, (_, j) =>
          Array.from({ length: k }, (_, c) => v[c]![j]!),
        );
        expect(principalCosines(ours, truth)[0]!).toBeGreaterThan(1 - (noise === 0 ? 1e-6 : 1e-4));
        // Explained variance from the dense matrix, by hand.
        const colVar = (col: number[]) => {
          const mean = col.reduce((a, b) => a + b, 0) / col.length;
          return col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length;
        };
        const total = Array.from({ length: d }, (_, j) =>
          colVar(dense.map((row) => row[j]!)),
        ).reduce((a, b) => a + b, 0);
        for (let c = 0; c < k; c++) {
          const z = dense.map((row) => row.reduce((s, x, j) => s + x * comps[c * d + j]!, 0));
          expect(Math.abs(svd.explainedVarianceRatio[c]! - colVar(z) / total)).toBeLessThan(1e-6);
        }
      });
    }
  }
});
