/**
 * Nearest-centroid routing with weights w_j ∝ exp(−‖h − c_j‖² / T) over the top-k experts, the
 * same math as `@cbtm/route`'s `ExactRouter` (distances in float64, ties to the lower index).
 */

/** Which experts run for one context, and how much each counts. */
export interface WebRoute {
  /** Expert indices, nearest first. */
  readonly experts: number[];
  /** Weights aligned with `experts`; they sum to 1. */
  readonly weights: number[];
  /** Squared distances aligned with `experts`. */
  readonly distances: number[];
}

/** Routes `h` among `k` centroids (row-major [k, d]). */
export function route(
  h: ArrayLike<number>,
  centroids: Float32Array,
  k: number,
  d: number,
  topK: number,
  temperature: number,
): WebRoute {
  if (!(temperature > 0)) throw new Error(`temperature must be > 0, got ${temperature}`);
  const dist = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let i = 0; i < d; i++) {
      const x = h[i]! - centroids[j * d + i]!;
      s += x * x;
    }
    dist[j] = s;
  }
  const order = Array.from({ length: k }, (_, j) => j).sort((a, b) => dist[a]! - dist[b]! || a - b);
  const experts = order.slice(0, Math.max(1, Math.min(topK, k)));
  const min = dist[experts[0]!]!;
  const raw = experts.map((j) => Math.exp(-(dist[j]! - min) / temperature));
  const sum = raw.reduce((a, b) => a + b, 0);
  return { experts, weights: raw.map((w) => w / sum), distances: experts.map((j) => dist[j]!) };
}
