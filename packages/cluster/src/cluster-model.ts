import { CbtmError, InvalidArgumentError } from '@cbtm/core';
import { DistanceEngine } from './squared-distances.js';

/**
 * File name of a saved cluster model inside its directory (`<run>/clusters`).
 *
 * @example
 * ```ts
 * const file = join('runs/a/clusters', CENTROIDS_FILE); // runs/a/clusters/centroids.json
 * ```
 */
export const CENTROIDS_FILE = 'centroids.json';

/** The JSON form of a {@link ClusterModel} (`clusters/centroids.json`). */
export interface ClusterModelJSON {
  readonly format: 'cbtm-cluster-model';
  readonly version: 1;
  readonly k: number;
  readonly dimension: number;
  /** k × dimension, row-major. Float32 values round-trip exactly through JSON numbers. */
  readonly centroids: readonly number[];
}

/** Rows per block when assigning many points at once. */
const ASSIGN_BLOCK = 8192;

/**
 * Fitted centroids: k points in `dimension`-space. A small value object; it answers nearest
 * centroid queries and round-trips through JSON.
 *
 * @example
 * ```ts
 * const model = new ClusterModel(Float32Array.from([0, 0, 1, 1]), 2, 2);
 * model.nearest(Float32Array.from([0.9, 0.8]), 1); // { indices: [1], distances: [0.05] }
 * ```
 */
export class ClusterModel {
  readonly k: number;
  readonly dimension: number;
  /** k × dimension, row-major. */
  readonly centroids: Float32Array;

  constructor(centroids: Float32Array, k: number, dimension: number) {
    if (!(Number.isInteger(k) && k >= 1 && Number.isInteger(dimension) && dimension >= 1)) {
      throw new InvalidArgumentError(
        `k and dimension must be integers ≥ 1, got k=${k}, dimension=${dimension}.`,
      );
    }
    if (centroids.length !== k * dimension) {
      throw new InvalidArgumentError(
        `centroids must hold k × dimension = ${k * dimension} values, got ${centroids.length}.`,
      );
    }
    this.k = k;
    this.dimension = dimension;
    this.centroids = centroids;
  }

  /**
   * The `topK` nearest centroids of `vec`, closest first, with squared Euclidean distances.
   *
   * @example
   * ```ts
   * const { indices, distances } = model.nearest(embedding, 2);
   * ```
   */
  nearest(vec: ArrayLike<number>, topK = 1): { indices: Int32Array; distances: Float32Array } {
    const { k, dimension: d, centroids } = this;
    if (vec.length !== d)
      throw new InvalidArgumentError(
        `vec has ${vec.length} values; the model's dimension is ${d}.`,
      );
    if (!(Number.isInteger(topK) && topK >= 1))
      throw new InvalidArgumentError(`topK must be an integer ≥ 1, got ${topK}.`);
    const all = new Float64Array(k);
    for (let j = 0; j < k; j++) {
      let s = 0;
      const o = j * d;
      for (let t = 0; t < d; t++) {
        const diff = vec[t]! - centroids[o + t]!;
        s += diff * diff;
      }
      all[j] = s;
    }
    const m = Math.min(topK, k);
    const order = Array.from({ length: k }, (_, j) => j).sort((a, b) => all[a]! - all[b]! || a - b);
    const indices = new Int32Array(m);
    const distances = new Float32Array(m);
    for (let q = 0; q < m; q++) {
      indices[q] = order[q]!;
      distances[q] = all[order[q]!]!;
    }
    return { indices, distances };
  }

  /**
   * Greedy nearest-centroid assignment of n points (n × dimension, row-major), as the paper
   * assigns the full corpus after fitting. Uses the SIMD distance kernel, in blocks.
   *
   * @example
   * ```ts
   * const { clusters, distances } = model.assign(batch, batch.length / model.dimension);
   * ```
   */
  assign(points: Float32Array, n: number): { clusters: Int32Array; distances: Float32Array } {
    const { k, dimension: d } = this;
    if (points.length < n * d) {
      throw new InvalidArgumentError(
        `points holds ${points.length} values, fewer than n × dimension = ${n * d}.`,
      );
    }
    const clusters = new Int32Array(n);
    const distances = new Float32Array(n);
    for (let start = 0; start < n; start += ASSIGN_BLOCK) {
      const m = Math.min(ASSIGN_BLOCK, n - start);
      const engine = new DistanceEngine(points.subarray(start * d, (start + m) * d), m, d);
      const { data, stride } = engine.distances(this.centroids, k);
      for (let i = 0; i < m; i++) {
        const o = i * stride;
        let best = 0;
        for (let j = 1; j < k; j++) if (data[o + j]! < data[o + best]!) best = j;
        clusters[start + i] = best;
        distances[start + i] = data[o + best]!;
      }
    }
    return { clusters, distances };
  }

  /**
   * The squared Euclidean distance of each of n points to the centroid of its given cluster
   * (e.g. the inertia terms of an assignment made elsewhere). Sums run in float64.
   *
   * @example
   * ```ts
   * const inertia = model.distancesTo(points, n, clusters).reduce((s, x) => s + x, 0);
   * ```
   */
  distancesTo(points: Float32Array, n: number, clusters: ArrayLike<number>): Float32Array {
    const { k, dimension: d, centroids } = this;
    if (points.length < n * d || clusters.length < n) {
      throw new InvalidArgumentError(
        `distancesTo needs n × dimension = ${n * d} values and n = ${n} clusters, got ${points.length} and ${clusters.length}.`,
      );
    }
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const j = clusters[i]!;
      if (!(Number.isInteger(j) && j >= 0 && j < k))
        throw new InvalidArgumentError(`clusters[${i}] is ${j}, outside [0, ${k}).`);
      let s = 0;
      const o = i * d;
      const c = j * d;
      for (let t = 0; t < d; t++) {
        const diff = points[o + t]! - centroids[c + t]!;
        s += diff * diff;
      }
      out[i] = s;
    }
    return out;
  }

  /**
   * The JSON form (versioned).
   *
   * @example
   * ```ts
   * const copy = ClusterModel.fromJSON(JSON.parse(JSON.stringify(model)));
   * ```
   */
  toJSON(): ClusterModelJSON {
    return {
      format: 'cbtm-cluster-model',
      version: 1,
      k: this.k,
      dimension: this.dimension,
      centroids: Array.from(this.centroids),
    };
  }

  /**
   * Rebuilds a model from {@link ClusterModel.toJSON}'s output; throws `E_FORMAT` on anything
   * else.
   *
   * @example
   * ```ts
   * const model = ClusterModel.fromJSON(await readJsonFile('runs/a/clusters/centroids.json'));
   * ```
   */
  static fromJSON(json: unknown): ClusterModel {
    const bad = (why: string) =>
      new CbtmError(
        'E_FORMAT',
        `Not a cbtm cluster model: ${why}. Re-run the cluster stage to rewrite it.`,
      );
    if (typeof json !== 'object' || json === null) throw bad('expected an object');
    const o = json as Record<string, unknown>;
    if (o.format !== 'cbtm-cluster-model') throw bad(`format is ${JSON.stringify(o.format)}`);
    if (o.version !== 1) {
      throw new CbtmError(
        'E_FORMAT',
        `Cluster model version ${String(o.version)} is not supported (this build reads 1).`,
      );
    }
    const { k, dimension, centroids } = o;
    if (typeof k !== 'number' || typeof dimension !== 'number')
      throw bad('k and dimension must be numbers');
    if (!Array.isArray(centroids) || centroids.length !== k * dimension) {
      throw bad(
        `centroids must be an array of k × dimension = ${Number(k) * Number(dimension)} numbers`,
      );
    }
    if (!centroids.every((v) => typeof v === 'number' && Number.isFinite(v)))
      throw bad('centroids must be finite numbers');
    return new ClusterModel(Float32Array.from(centroids as number[]), k, dimension);
  }
}
