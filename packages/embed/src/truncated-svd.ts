import {
  CbtmError,
  InvalidArgumentError,
  type LongRunOptions,
  progressReporter,
  Rng,
  throwIfAborted,
} from '@cbtm/core';
import { stripUndefined } from './analyzer.js';
import {
  cholesky,
  invertUpper,
  jacobiSvd,
  matmul,
  thinQr,
  transposeTimes,
  wellConditionedBasis,
} from './dense-linalg.js';
import {
  type CsrMatrix,
  csrTimesDense,
  csrTranspose,
  csrTransposeTimesDense,
  gramTimesDense,
} from './sparse-matrix.js';

/**
 * Options of {@link TruncatedSvd}, as scikit-learn's `TruncatedSVD(algorithm='randomized')`.
 *
 * @example
 * ```ts
 * const options: Partial<TruncatedSvdOptions> = { nComponents: 64, seed: 7 };
 * ```
 */
export interface TruncatedSvdOptions {
  /** Output dimension. @default 100 */
  readonly nComponents: number;
  /** Power iterations of the randomized range finder. @default 5 */
  readonly nIter: number;
  /** Extra random directions beyond `nComponents`. @default 10 */
  readonly nOversamples: number;
  /** Seed of the random starting directions. @default 0 */
  readonly seed: number;
}

/**
 * Default {@link TruncatedSvdOptions} (scikit-learn's, with 100 components as in c-BTM).
 *
 * @example
 * ```ts
 * const svd = await TruncatedSvd.fit(matrix, { ...defaultTruncatedSvdOptions, nComponents: 32 });
 * ```
 */
export const defaultTruncatedSvdOptions: TruncatedSvdOptions = Object.freeze({
  nComponents: 100,
  nIter: 5,
  nOversamples: 10,
  seed: 0,
});

/**
 * The fitted state of a {@link TruncatedSvd}.
 *
 * @example
 * ```ts
 * const copy = new TruncatedSvd({ ...svd, options: svd.options, components: svd.components } satisfies TruncatedSvdParts);
 * ```
 */
export interface TruncatedSvdParts {
  readonly options: TruncatedSvdOptions;
  readonly nFeatures: number;
  /** Row-major nComponents × nFeatures (scikit-learn's `components_`). */
  readonly components?: Float32Array;
  /** Or the same values feature-major, nFeatures × nComponents (taken over, not copied). */
  readonly componentsByFeature?: Float32Array;
  readonly singularValues: Float64Array;
  readonly explainedVariance: Float64Array;
  readonly explainedVarianceRatio: Float64Array;
}

/**
 * Truncated SVD of a sparse matrix by randomized SVD (Halko, Martinsson & Tropp 2011), the
 * algorithm of scikit-learn's `TruncatedSVD(algorithm='randomized')`: `nIter` power
 * iterations from seeded Gaussian directions, `nOversamples` extra directions, the same side
 * choice (it works on the transpose when there are fewer rows than columns). The matrix is not
 * centered (LSA), so projection is linear: `transform(x) = x · componentsᵀ`.
 *
 * Components come out in decreasing singular value, each signed so its largest-magnitude entry
 * is positive. Random starts differ from numpy's, so components match scikit-learn's up to
 * sign and rounding, and the subspace to the accuracy of the randomized method.
 *
 * @example
 * ```ts
 * const svd = await TruncatedSvd.fit(tfidfMatrix, { nComponents: 100 });
 * const z = svd.transform({ indices: Int32Array.of(3, 9), values: Float32Array.of(0.6, 0.8) });
 * ```
 */
export class TruncatedSvd {
  readonly options: TruncatedSvdOptions;
  /** Number of input columns. */
  readonly nFeatures: number;
  /** Singular values, descending. */
  readonly singularValues: Float64Array;
  /** Variance of the training rows along each component. */
  readonly explainedVariance: Float64Array;
  /** `explainedVariance` over the total variance of the training matrix. */
  readonly explainedVarianceRatio: Float64Array;
  // Feature-major copy (nFeatures × nComponents): projecting a sparse row touches one
  // contiguous block per nonzero.
  readonly #byFeature: Float32Array;

  constructor(parts: TruncatedSvdParts) {
    const k = parts.options.nComponents;
    const given = parts.componentsByFeature ?? parts.components;
    if (given === undefined || given.length !== k * parts.nFeatures) {
      throw new CbtmError(
        'E_FORMAT',
        `components has ${given?.length ?? 0} values, expected ${k} × ${parts.nFeatures}; the saved SVD is corrupt.`,
      );
    }
    this.options = Object.freeze({ ...parts.options });
    this.nFeatures = parts.nFeatures;
    this.singularValues = parts.singularValues;
    this.explainedVariance = parts.explainedVariance;
    this.explainedVarianceRatio = parts.explainedVarianceRatio;
    if (parts.componentsByFeature) {
      this.#byFeature = parts.componentsByFeature;
    } else {
      const byFeature = new Float32Array(k * parts.nFeatures);
      for (let c = 0; c < k; c++) {
        const o = c * parts.nFeatures;
        for (let j = 0; j < parts.nFeatures; j++) byFeature[j * k + c] = given[o + j]!;
      }
      this.#byFeature = byFeature;
    }
  }

  /** Output dimension. */
  get nComponents(): number {
    return this.options.nComponents;
  }

  /**
   * The components feature-major (nFeatures × nComponents, row j = the projection of feature j),
   * the layout projection uses. Shared, not copied: do not modify.
   */
  get componentsByFeature(): Float32Array {
    return this.#byFeature;
  }

  /** Row-major nComponents × nFeatures copy of the components (scikit-learn's `components_`). */
  get components(): Float32Array {
    const k = this.nComponents;
    const n = this.nFeatures;
    const out = new Float32Array(k * n);
    const f = this.#byFeature;
    for (let j = 0; j < n; j++) for (let c = 0; c < k; c++) out[c * n + j] = f[j * k + c]!;
    return out;
  }

  /**
   * Fits the SVD of `matrix` (rows = documents, columns = features).
   *
   * @example
   * ```ts
   * const svd = await TruncatedSvd.fit(matrix, { nComponents: 10, seed: 1 }, { signal });
   * ```
   */
  static async fit(
    matrix: CsrMatrix,
    options: Partial<TruncatedSvdOptions> = {},
    run: LongRunOptions = {},
  ): Promise<TruncatedSvd> {
    const o: TruncatedSvdOptions = { ...defaultTruncatedSvdOptions, ...stripUndefined(options) };
    const { nRows: n, nCols: d } = matrix;
    const k = o.nComponents;
    if (!Number.isInteger(k) || k < 1) {
      throw new InvalidArgumentError(`nComponents must be a positive integer, got ${k}.`);
    }
    if (k > Math.min(n, d)) {
      throw new InvalidArgumentError(
        `nComponents (${k}) must be at most min(documents, features) = min(${n}, ${d}); lower nComponents or fit on more documents.`,
      );
    }
    if (!Number.isInteger(o.nIter) || o.nIter < 0) {
      throw new InvalidArgumentError(`nIter must be an integer ≥ 0, got ${o.nIter}.`);
    }
    if (!Number.isInteger(o.nOversamples) || o.nOversamples < 0) {
      throw new InvalidArgumentError(`nOversamples must be an integer ≥ 0, got ${o.nOversamples}.`);
    }
    const progress = progressReporter('embed', run.onProgress, {
      task: 'svd',
      total: o.nIter + 2,
      unit: 'steps',
    });
    progress.start(`randomized SVD of ${n} × ${d}`);
    const rng = new Rng(o.seed);
    const l = Math.min(k + o.nOversamples, n, d);
    // As scikit-learn: work on M = Aᵀ when there are fewer rows than columns, so the range
    // finder runs on the long side. M has mRows ≥ mCols.
    const transpose = n < d;
    const mRows = transpose ? d : n;
    const mCols = transpose ? n : d;
    // MᵀM x without forming M x: a sum over the rows of S, where S = A when M = A and S = Aᵀ
    // (A's columns) when M = Aᵀ.
    const rowsOfS = transpose ? csrTranspose(matrix) : matrix;
    const gram = (x: Float64Array) => gramTimesDense(rowsOfS, x, l);
    const mulM = (x: Float64Array, w: number) =>
      transpose ? csrTransposeTimesDense(matrix, x, w) : csrTimesDense(matrix, x, w);
    const mulMT = (x: Float64Array, w: number) =>
      transpose ? csrTimesDense(matrix, x, w) : csrTransposeTimesDense(matrix, x, w);
    const tick = async (step: number) => {
      progress.update(step);
      await new Promise<void>((resolve) => setImmediate(resolve));
      throwIfAborted(run.signal);
    };

    let q: Float64Array = new Float64Array(mCols * l);
    for (let i = 0; i < q.length; i++) q[i] = rng.normal();
    for (let it = 0; it < o.nIter; it++) {
      // Only the span of (MᵀM)^i q matters; re-basing it on the short side after each round
      // trip keeps it well conditioned.
      q = wellConditionedBasis(gram(q), mCols, l, rng);
      await tick(it + 1);
    }
    // The range of M is spanned by Y = M q (long side). Its orthonormal basis is Qm = Y R⁻¹
    // with RᵀR = YᵀY = qᵀ(MᵀM q), and Bᵀ = MᵀQm = (MᵀM q) R⁻¹: short-side arrays only. The
    // long side is touched once more, to map the components back to features.
    const z = gram(q);
    const g = transposeTimes(q, z, mCols, l, l);
    for (let a = 0; a < l; a++) {
      for (let b = a + 1; b < l; b++)
        g[a * l + b] = g[b * l + a] = (g[a * l + b]! + g[b * l + a]!) / 2;
    }
    const r = cholesky(g, l);
    let bt: Float64Array;
    let yToQm: Float64Array | null = null; // R⁻¹, when Qm = Y R⁻¹
    let qm: Float64Array | null = null; // explicit Qm, when Y is (numerically) rank-deficient
    if (r !== null) {
      yToQm = invertUpper(r, l);
      bt = matmul(z, yToQm, mCols, l, l);
    } else {
      qm = thinQr(mulM(q, l), mRows, l, rng).q;
      bt = mulMT(qm, l);
    }
    // Bᵀ = Q2 R2 and R2 = Ur S Wrᵀ, so B = Wr S (Q2 Ur)ᵀ.
    const { q: q2, r: r2 } = thinQr(bt, mCols, l, rng);
    const { u: ur, s, v: wr } = jacobiSvd(r2, l);
    await tick(o.nIter + 1);

    // Components live in feature space: when transposed (M = Aᵀ) they are the left singular
    // vectors Qm Wr = M (q R⁻¹ Wr), on the long side; otherwise the right ones, Q2 Ur.
    const firstK = (x: Float64Array) => {
      const out = new Float64Array(l * k);
      for (let t = 0; t < l; t++) for (let c = 0; c < k; c++) out[t * k + c] = x[t * l + c]!;
      return out;
    };
    let byFeature: Float64Array; // d × k
    if (transpose) {
      if (yToQm !== null) {
        const qc = matmul(q, matmul(yToQm, firstK(wr), l, l, k), mCols, l, k);
        byFeature = mulM(qc, k);
      } else {
        byFeature = matmul(qm!, firstK(wr), mRows, l, k);
      }
    } else {
      byFeature = matmul(q2, firstK(ur), mCols, l, k);
    }
    // Deterministic sign: each component's largest-magnitude entry is positive.
    const best = new Float64Array(k);
    for (let j = 0; j < d; j++) {
      const o = j * k;
      for (let c = 0; c < k; c++)
        if (Math.abs(byFeature[o + c]!) > Math.abs(best[c]!)) best[c] = byFeature[o + c]!;
    }
    const componentsByFeature = new Float32Array(d * k);
    for (let j = 0; j < d; j++) {
      const o = j * k;
      for (let c = 0; c < k; c++)
        componentsByFeature[o + c] = best[c]! < 0 ? -byFeature[o + c]! : byFeature[o + c]!;
    }
    const singularValues = s.slice(0, k);
    // The training rows in the reduced space, A Cᵀ: scikit-learn's `U * Sigma`. When M = Aᵀ it is
    // exactly Bᵀ Wr (dense, short side); otherwise A's rows times the (short-side) components.
    let transformed: Float64Array;
    if (transpose) {
      transformed = matmul(bt, firstK(wr), n, l, k);
      for (let c = 0; c < k; c++) {
        if (best[c]! < 0)
          for (let i = 0; i < n; i++) transformed[i * k + c] = -transformed[i * k + c]!;
      }
    } else {
      transformed = csrTimesDense(matrix, Float64Array.from(componentsByFeature), k);
    }
    const { explainedVariance, explainedVarianceRatio } = explainedVarianceOf(
      matrix,
      transformed,
      k,
    );
    progress.done({
      metrics: { explainedVariance: explainedVarianceRatio.reduce((a, b) => a + b, 0) },
    });
    return new TruncatedSvd({
      options: o,
      nFeatures: d,
      componentsByFeature,
      singularValues,
      explainedVariance,
      explainedVarianceRatio,
    });
  }

  /**
   * Adds `weight × (component values of feature j)` to `out` (length nComponents): the
   * projection of a one-hot row, the O(nComponents) step of incremental embedding.
   */
  addFeature(j: number, weight: number, out: Float64Array): void {
    const k = this.options.nComponents;
    const f = this.#byFeature;
    const o = j * k;
    for (let c = 0; c < k; c++) out[c]! += weight * f[o + c]!;
  }

  /**
   * Projects a sparse row: `x · componentsᵀ`, in float64.
   *
   * @example
   * ```ts
   * const z = svd.transform(vectorizer.transform('some text'));
   * ```
   */
  transform(x: { readonly indices: Int32Array; readonly values: ArrayLike<number> }): Float64Array {
    const out = new Float64Array(this.options.nComponents);
    for (let p = 0; p < x.indices.length; p++) this.addFeature(x.indices[p]!, x.values[p]!, out);
    return out;
  }
}

/**
 * scikit-learn's explained variance: the variance of each column of the reduced training rows
 * (`transformed`, n × k) over the total variance of `A`'s columns.
 */
function explainedVarianceOf(
  a: CsrMatrix,
  transformed: Float64Array,
  k: number,
): { explainedVariance: Float64Array; explainedVarianceRatio: Float64Array } {
  const { nRows: n, nCols: d, indices, values } = a;
  const sum = new Float64Array(k);
  const sumSq = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      const z = transformed[i * k + c]!;
      sum[c]! += z;
      sumSq[c]! += z * z;
    }
  }
  const colSum = new Float64Array(d);
  let totalSq = 0;
  for (let p = 0; p < values.length; p++) {
    colSum[indices[p]!]! += values[p]!;
    totalSq += values[p]! * values[p]!;
  }
  let meanSq = 0;
  for (let j = 0; j < d; j++) meanSq += (colSum[j]! / n) ** 2;
  const fullVar = totalSq / n - meanSq;
  const explainedVariance = new Float64Array(k);
  const explainedVarianceRatio = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    explainedVariance[c] = sumSq[c]! / n - (sum[c]! / n) ** 2;
    explainedVarianceRatio[c] = fullVar > 0 ? explainedVariance[c]! / fullVar : 0;
  }
  return { explainedVariance, explainedVarianceRatio };
}
