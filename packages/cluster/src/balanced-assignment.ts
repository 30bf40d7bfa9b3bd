import { InvalidArgumentError } from '@cbtm/core';

/** Options of {@link balancedAssignment}. */
export interface BalancedAssignmentOptions {
  /** Row stride of `costs` (≥ k; extra columns are ignored). @default k */
  readonly stride?: number;
  /**
   * Warm-start prices, one per cluster (e.g. the `prices` of the previous k-means iteration).
   * Any values give the same optimal cost; good ones only make it faster. @default all 0
   */
  readonly prices?: ArrayLike<number>;
  /**
   * Fewest points a cluster may hold. Together with `maxSize` it replaces the exact
   * ⌊n/k⌋ / ⌈n/k⌉ balance by any sizes in [minSize, maxSize] (see {@link sizeBounds});
   * k × minSize ≤ n ≤ k × maxSize must hold. @default ⌊n/k⌋
   */
  readonly minSize?: number;
  /** Most points a cluster may hold. @default ⌈n/k⌉ */
  readonly maxSize?: number;
}

/**
 * The cluster-size bounds of a balance slack s: every cluster holds between
 * ⌊(1 − s)·n/k⌋ and ⌈(1 + s)·n/k⌉ points. s = 0 is exact balance (⌊n/k⌋ or ⌈n/k⌉); s = 0.1
 * lets sizes differ from n/k by up to 10 %.
 *
 * @example
 * ```ts
 * sizeBounds(6209, 7, 0);   // { minSize: 887, maxSize: 887 }
 * sizeBounds(6209, 7, 0.1); // { minSize: 798, maxSize: 976 }
 * ```
 */
export function sizeBounds(
  n: number,
  k: number,
  slack: number,
): { readonly minSize: number; readonly maxSize: number } {
  if (!(Number.isFinite(slack) && slack >= 0)) {
    throw new InvalidArgumentError(`The balance slack must be a finite number ≥ 0, got ${slack}.`);
  }
  if (!(Number.isInteger(n) && n >= 0 && Number.isInteger(k) && k >= 1)) {
    throw new InvalidArgumentError(
      `sizeBounds needs integers n ≥ 0 and k ≥ 1, got n=${n}, k=${k}.`,
    );
  }
  // Rounded to 9 decimals first, so that 1.1 × 1000 counts as 1100, not 1100.0000000000002.
  const round9 = (x: number) => Math.round(x * 1e9) / 1e9;
  const minSize = Math.max(0, Math.floor(round9(((1 - slack) * n) / k)));
  const maxSize = Math.min(n, Math.ceil(round9(((1 + slack) * n) / k)));
  return { minSize, maxSize };
}

/** The result of {@link balancedAssignment}. */
export interface BalancedAssignment {
  /** Cluster of each point. */
  readonly assignments: Int32Array;
  /** Points per cluster: each ⌊n/k⌋ or ⌈n/k⌉ (or within [minSize, maxSize] when given). */
  readonly sizes: Int32Array;
  /** Σ costs[i, assignments[i]], the minimum over all assignments with allowed sizes. */
  readonly cost: number;
  /**
   * Optimal dual prices (mean 0): every point sits in a cluster minimizing
   * costs[i, j] − prices[j], and no cluster above the smallest allowed size has a higher price
   * than a cluster below the largest. They certify optimality and warm-start the next call.
   */
  readonly prices: Float64Array;
  /** Work done, for benchmarks: shortest-path phases and augmentations. */
  readonly stats: { readonly phases: number; readonly augmentations: number };
}

type Costs = Float32Array | Float64Array;

/**
 * Optimal balanced assignment: puts each of n points into one of k clusters so that every
 * cluster holds ⌊n/k⌋ or ⌈n/k⌉ points and the total cost Σ costs[i, cluster(i)] is minimal.
 * Which r = n mod k clusters receive the extra point is part of the optimization.
 *
 * It is a min-cost flow: every cluster must take ⌊n/k⌋ points, and a sink X takes the r extra
 * points, at most one per cluster. The algorithm is successive shortest paths with prices
 * (potentials), on a graph collapsed to k + 1 nodes:
 *
 * 1. Every point starts at its preferred cluster, argmin_j c[i,j] − p_j, for the warm-start
 *    prices p. All reduced costs are then ≥ 0; only the cluster sizes are off.
 * 2. Because points inside a cluster are interchangeable, the residual graph has one arc per
 *    pair of clusters: a → b costs the cheapest move of a point from a to b,
 *    min over i in a of c[i,b] − c[i,a] (kept in per-arc shortlists, see `ArcTable`), plus
 *    arcs between the clusters and X for the extra points.
 * 3. Each phase runs a dense multi-source Dijkstra (O(k²)) from the clusters with a surplus,
 *    adds the distances to the prices, and moves one point along each arc of every
 *    arc-disjoint shortest path that ends at a cluster below ⌊n/k⌋ or at X. Every move keeps
 *    the invariant "each point sits at an argmin of c − p", and each path removes one unit
 *    of surplus, so the loop ends after (initial imbalance) augmentations.
 *
 * The result is exactly optimal (up to floating-point rounding of the prices; tests compare it
 * with the Hungarian method and with brute force), and the final prices certify it. The work
 * grows with the imbalance of the start, which the previous k-means iteration's prices keep
 * small. There is no round limit, and n mod k ≠ 0 is not a special case.
 *
 * @param costs n × stride row-major, e.g. squared distances to the centroids.
 * @example
 * ```ts
 * // 3 points, 2 clusters: sizes must be 1 and 2.
 * const costs = Float64Array.from([0, 5, 0, 4, 0, 9]);
 * const { assignments, cost } = balancedAssignment(costs, 3, 2);
 * // assignments = [0, 1, 0] (point 1 moves, costing 4), cost = 4
 * ```
 */
export function balancedAssignment(
  costs: Costs,
  n: number,
  k: number,
  options: BalancedAssignmentOptions = {},
): BalancedAssignment {
  const stride = options.stride ?? k;
  if (!(Number.isInteger(n) && n >= 0))
    throw new InvalidArgumentError(`n must be an integer ≥ 0, got ${n}.`);
  if (!(Number.isInteger(k) && k >= 1))
    throw new InvalidArgumentError(`k must be an integer ≥ 1, got ${k}.`);
  if (!(Number.isInteger(stride) && stride >= k)) {
    throw new InvalidArgumentError(`stride must be an integer ≥ k = ${k}, got ${stride}.`);
  }
  if (n > 0 && costs.length < (n - 1) * stride + k) {
    throw new InvalidArgumentError(
      `costs holds ${costs.length} values; n × stride needs ${n * stride}.`,
    );
  }
  const lower = options.minSize ?? Math.floor(n / k);
  const upper = options.maxSize ?? Math.ceil(n / k);
  for (const [name, v] of [
    ['minSize', lower],
    ['maxSize', upper],
  ] as const) {
    if (!(Number.isInteger(v) && v >= 0))
      throw new InvalidArgumentError(`${name} must be an integer ≥ 0, got ${v}.`);
  }
  if (lower * k > n || upper * k < n) {
    throw new InvalidArgumentError(
      `No assignment of n = ${n} points to k = ${k} clusters has sizes in [${lower}, ${upper}]: ` +
        `it needs k × minSize ≤ n ≤ k × maxSize.`,
    );
  }
  if (options.prices !== undefined && options.prices.length !== k) {
    throw new InvalidArgumentError(
      `prices must have k = ${k} entries, got ${options.prices.length}.`,
    );
  }
  for (let i = 0; i < n * stride; i += stride) {
    for (let j = 0; j < k; j++) {
      if (!Number.isFinite(costs[i + j]!)) {
        throw new InvalidArgumentError(
          `costs[${i / stride}, ${j}] is ${costs[i + j]}; costs must be finite.`,
        );
      }
    }
  }
  return solveBalanced(costs, n, k, stride, options.prices, { lower, upper });
}

/**
 * {@link balancedAssignment} without argument checks, for callers whose costs are finite by
 * construction (k-means distances of validated points) and whose bounds are feasible.
 */
export function solveBalanced(
  costs: Costs,
  n: number,
  k: number,
  stride: number,
  warmPrices: ArrayLike<number> | undefined,
  bounds: { readonly lower: number; readonly upper: number } = {
    lower: Math.floor(n / k),
    upper: Math.ceil(n / k),
  },
): BalancedAssignment {
  const phi = new Float64Array(k + 1);
  if (warmPrices) for (let j = 0; j < k; j++) phi[j] = Number(warmPrices[j]) || 0;
  const state = new AssignmentState(costs, n, k, stride, phi, bounds.lower, bounds.upper);
  const { phases, augmentations } = state.repair();
  let cost = 0;
  for (let i = 0; i < n; i++) cost += costs[i * stride + state.assign[i]!]!;
  let mean = 0;
  for (let j = 0; j < k; j++) mean += phi[j]!;
  mean /= k;
  const prices = new Float64Array(k);
  for (let j = 0; j < k; j++) prices[j] = phi[j]! - mean;
  return {
    assignments: state.assign,
    sizes: state.sizes,
    cost,
    prices,
    stats: { phases, augmentations },
  };
}

class AssignmentState {
  readonly assign: Int32Array;
  readonly sizes: Int32Array;
  /** Points beyond `lower` that the sink X takes: n − k × lower. */
  readonly extra: number;
  /** Extra points one cluster may take: upper − lower. */
  readonly slots: number;

  constructor(
    readonly costs: Costs,
    readonly n: number,
    readonly k: number,
    readonly stride: number,
    /** Prices of the k clusters, then of the sink X at index k. */
    readonly phi: Float64Array,
    readonly lower: number,
    readonly upper: number,
  ) {
    this.extra = n - lower * k;
    this.slots = upper - lower;
    this.assign = new Int32Array(n);
    this.sizes = new Int32Array(k);
  }

  /**
   * Puts every point at its preferred cluster (an exact argmin of c − φ), then runs the
   * successive shortest paths.
   */
  repair(): { phases: number; augmentations: number } {
    const { k, phi, sizes, assign } = this;
    const X = k;
    // Builds the arcs and, in the same pass over the costs, the preferred assignment.
    const arcs = new ArcTable(this);
    const supply = new Int32Array(k + 1);
    let surplus = 0;
    for (let j = 0; j < k; j++) {
      supply[j] = sizes[j]! - this.lower;
      if (supply[j]! > 0) surplus += supply[j]!;
    }
    supply[X] = -this.extra;
    if (surplus === 0) return { phases: 0, augmentations: 0 };
    let phiX = Number.POSITIVE_INFINITY;
    for (let j = 0; j < k; j++) phiX = Math.min(phiX, phi[j]!);
    phi[X] = phiX;
    // Extra points (beyond `lower`) each cluster has sent to X: at most `slots`.
    const slotUsed = new Int32Array(k);
    const { slots } = this;

    const dist = new Float64Array(k + 1);
    const done = new Uint8Array(k + 1);
    const prevNode = new Int32Array(k + 1);
    const prevPoint = new Int32Array(k + 1);
    const inArcUsed = new Uint8Array(k + 1);
    const order: number[] = [];
    const live = new Int32Array(k + 1);
    let phases = 0;
    let augmentations = 0;
    while (surplus > 0) {
      phases += 1;
      dist.fill(Number.POSITIVE_INFINITY);
      done.fill(0);
      for (let j = 0; j < k; j++) {
        if (supply[j]! > 0) {
          dist[j] = 0;
          prevNode[j] = -1;
        }
      }
      order.length = 0;
      let cap = 0;
      let liveCount = k + 1;
      for (let v = 0; v <= k; v++) live[v] = v;
      // Deficits not settled yet: once all are, the rest of the tree cannot shorten their paths.
      let pending = 0;
      for (let v = 0; v <= k; v++) if (supply[v]! < 0) pending += 1;
      for (;;) {
        let at = -1;
        let du = Number.POSITIVE_INFINITY;
        for (let q = 0; q < liveCount; q++) {
          const dv = dist[live[q]!]!;
          if (dv < du) {
            du = dv;
            at = q;
          }
        }
        if (at < 0) break;
        const u = live[at]!;
        live[at] = live[--liveCount]!;
        done[u] = 1;
        order.push(u);
        cap = du;
        if (supply[u]! < 0 && --pending === 0) break;
        if (u === X) {
          for (let q = 0; q < liveCount; q++) {
            const j = live[q]!;
            if (slotUsed[j] === 0) continue;
            const nd = du + Math.max(0, phi[X]! - phi[j]!);
            if (nd < dist[j]!) {
              dist[j] = nd;
              prevNode[j] = X;
              prevPoint[j] = -1;
            }
          }
          continue;
        }
        if (slotUsed[u]! < slots && done[X] === 0) {
          const nd = du + Math.max(0, phi[u]! - phi[X]!);
          if (nd < dist[X]!) {
            dist[X] = nd;
            prevNode[X] = u;
            prevPoint[X] = -1;
          }
        }
        if (sizes[u] === 0) continue;
        arcs.relaxFrom(u, du, live, liveCount, dist, prevNode, prevPoint);
      }
      let targets = 0;
      for (const t of order) if (supply[t]! < 0) targets += 1;
      // Unreachable by construction: a cluster with surplus has points and so reaches every
      // cluster directly.
      if (targets === 0) throw new Error('balancedAssignment: no reachable deficit (bug).');
      // Arcs u → X that end a shortest path to X (reduced cost 0 after the price update). They
      // are distinct arcs, so each can end its own path in this phase; with several slots per
      // cluster this is what keeps the phase count low.
      const tightToX: number[] = [];
      if (done[X] === 1 && supply[X]! < 0) {
        for (const u of order) {
          if (u === X || slotUsed[u]! >= slots) continue;
          if (dist[u]! + Math.max(0, phi[u]! - phi[X]!) === dist[X]) tightToX.push(u);
        }
      }
      // Prices += distances (capped), so shortest-path-tree arcs get reduced cost 0 and every
      // reduced cost stays ≥ 0 (unsettled nodes are at least `cap` away).
      for (let v = 0; v <= k; v++) {
        const add = done[v] === 1 ? dist[v]! : cap;
        phi[v]! += add;
      }
      inArcUsed.fill(0);
      /**
       * The root (a cluster with surplus) of the tree path to v, or −1 when an arc on it was
       * used up earlier in this phase (or the path passes through X and `avoidX`).
       */
      const rootOf = (t: number, avoidX: boolean): number => {
        let v = t;
        while (prevNode[v]! >= 0) {
          const u = prevNode[v]!;
          if (
            inArcUsed[v] === 1 ||
            (avoidX && u === X) ||
            (v === X && slotUsed[u]! >= slots) ||
            (u === X && slotUsed[v] === 0) ||
            (u !== X && v !== X && assign[prevPoint[v]!] !== u)
          ) {
            return -1;
          }
          v = u;
        }
        return supply[v]! > 0 ? v : -1;
      };
      /** Moves one unit along the tree path root → … → t. */
      const follow = (t: number, root: number): void => {
        for (let v = t; v !== root; ) {
          const u = prevNode[v]!;
          inArcUsed[v] = 1;
          if (v === X) slotUsed[u]! += 1;
          else if (u === X) slotUsed[v]! -= 1;
          else arcs.move(prevPoint[v]!, v);
          v = u;
        }
      };
      for (const t of order) {
        if (supply[t]! >= 0) continue;
        if (t !== X) {
          const root = rootOf(t, false);
          if (root < 0) continue;
          follow(t, root);
          supply[root]! -= 1;
          supply[t]! += 1;
          surplus -= 1;
          augmentations += 1;
          continue;
        }
        for (const u of tightToX) {
          if (supply[X]! >= 0) break;
          const root = rootOf(u, true);
          if (root < 0 || slotUsed[u]! >= slots) continue;
          // A surplus cluster sends as many points straight to X as its free slots allow: the
          // arc keeps reduced cost 0 both ways. Longer paths move one point (one per arc).
          const amount = root === u ? Math.min(supply[u]!, slots - slotUsed[u]!, -supply[X]!) : 1;
          follow(u, root);
          slotUsed[u]! += amount;
          supply[root]! -= amount;
          supply[X]! += amount;
          surplus -= amount;
          augmentations += amount;
        }
      }
    }
    return { phases, augmentations };
  }
}

/** Entries kept per arc: the cheapest movers of cluster a toward b, sorted by cost. */
const SHORTLIST = 8;

/**
 * The arcs of the collapsed residual graph: for clusters a ≠ b, the cheapest move of a point
 * from a to b, min over i in a of c[i,b] − c[i,a]. Each arc keeps a sorted shortlist of its
 * cheapest movers and a cutoff such that every member of a cheaper than the cutoff is on the
 * list. Points that left a are skipped lazily; a point moving into a joins the lists it beats
 * the cutoff of, in O(k). Only an exhausted list is rebuilt, by a scan of a's members.
 */
class ArcTable {
  readonly #s: AssignmentState;
  readonly #keys: Float64Array;
  readonly #ids: Int32Array;
  readonly #len: Uint8Array;
  readonly #cutoff: Float64Array;
  /**
   * Copies of every list's first entry (id −1 when empty), dense per row: a Dijkstra
   * relaxation reads one contiguous row instead of k scattered lists.
   */
  readonly #headKey: Float64Array;
  readonly #headId: Int32Array;
  readonly #members: Int32Array[];
  readonly #count: Int32Array;
  readonly #pos: Int32Array;

  constructor(state: AssignmentState) {
    this.#s = state;
    const { n, k, assign, sizes } = state;
    this.#keys = new Float64Array(k * k * SHORTLIST);
    this.#ids = new Int32Array(k * k * SHORTLIST);
    this.#len = new Uint8Array(k * k);
    this.#cutoff = new Float64Array(k * k).fill(Number.POSITIVE_INFINITY);
    this.#headKey = new Float64Array(k * k);
    this.#headId = new Int32Array(k * k).fill(-1);
    this.#count = new Int32Array(k);
    this.#pos = new Int32Array(n);
    this.#members = Array.from(
      { length: k },
      () => new Int32Array(Math.max(4, Math.ceil((2 * n) / k))),
    );
    const { costs, stride, phi } = state;
    for (let i = 0; i < n; i++) {
      // The preferred cluster: an exact argmin of c − φ, ties to the lowest index.
      const o = i * stride;
      let a = 0;
      let best = costs[o]! - phi[0]!;
      for (let j = 1; j < k; j++) {
        const v = costs[o + j]! - phi[j]!;
        if (v < best) {
          best = v;
          a = j;
        }
      }
      assign[i] = a;
      sizes[a]! += 1;
      this.#append(a, i);
      this.#offer(i, a);
    }
  }

  #append(a: number, i: number): void {
    let list = this.#members[a]!;
    if (this.#count[a]! === list.length) {
      const grown = new Int32Array(list.length * 2);
      grown.set(list);
      this.#members[a] = grown;
      list = grown;
    }
    this.#pos[i] = this.#count[a]!;
    list[this.#count[a]!++] = i;
  }

  /** Offers point i, just arrived in (or first seen in) cluster a, to every arc a → c. */
  #offer(i: number, a: number): void {
    const { k, costs, stride } = this.#s;
    const keys = this.#keys;
    const ids = this.#ids;
    const cutoff = this.#cutoff;
    const lens = this.#len;
    const o = i * stride;
    const ca = costs[o + a]!;
    const row = a * k;
    for (let c = 0; c < k; c++) {
      const v = costs[o + c]! - ca;
      const at = row + c;
      // The diagonal a → a is no arc (its cutoff stays infinite, so test it second).
      if (!(v < cutoff[at]!) || c === a) continue;
      const base = at * SHORTLIST;
      let len = lens[at]!;
      if (len === SHORTLIST) {
        const dropped = keys[base + len - 1]!;
        if (!(v < dropped)) {
          cutoff[at] = v;
          continue;
        }
        cutoff[at] = dropped;
        len -= 1;
      }
      let p = len++;
      while (p > 0 && keys[base + p - 1]! > v) {
        keys[base + p] = keys[base + p - 1]!;
        ids[base + p] = ids[base + p - 1]!;
        p -= 1;
      }
      keys[base + p] = v;
      ids[base + p] = i;
      lens[at] = len;
      if (p === 0) {
        this.#headKey[at] = v;
        this.#headId[at] = i;
      }
    }
  }

  /** Rebuilds the shortlist of arc a → b from a's members. */
  #rebuild(a: number, b: number): void {
    const { k, costs, stride } = this.#s;
    const at = a * k + b;
    const base = at * SHORTLIST;
    const keys = this.#keys;
    const ids = this.#ids;
    const list = this.#members[a]!;
    const m = this.#count[a]!;
    let len = 0;
    let cutoff = Number.POSITIVE_INFINITY;
    for (let q = 0; q < m; q++) {
      const i = list[q]!;
      const v = costs[i * stride + b]! - costs[i * stride + a]!;
      if (len === SHORTLIST) {
        if (v >= keys[base + len - 1]!) {
          if (v < cutoff) cutoff = v;
          continue;
        }
        cutoff = Math.min(cutoff, keys[base + len - 1]!);
        len -= 1;
      }
      let p = len++;
      while (p > 0 && keys[base + p - 1]! > v) {
        keys[base + p] = keys[base + p - 1]!;
        ids[base + p] = ids[base + p - 1]!;
        p -= 1;
      }
      keys[base + p] = v;
      ids[base + p] = i;
    }
    this.#len[at] = len;
    this.#cutoff[at] = cutoff;
  }

  /**
   * Drops departed points from the front of arc a → b's list, rebuilding it when exhausted,
   * and refreshes the head copy (id −1 when a has no members).
   */
  #refreshHead(a: number, b: number): void {
    const { k, assign } = this.#s;
    const at = a * k + b;
    const base = at * SHORTLIST;
    for (let attempt = 0; attempt < 2; attempt++) {
      const len = this.#len[at]!;
      let q = 0;
      while (q < len && assign[this.#ids[base + q]!] !== a) q += 1;
      if (q > 0) {
        this.#keys.copyWithin(base, base + q, base + len);
        this.#ids.copyWithin(base, base + q, base + len);
        this.#len[at] = len - q;
      }
      if (len - q > 0) {
        this.#headKey[at] = this.#keys[base]!;
        this.#headId[at] = this.#ids[base]!;
        return;
      }
      if (this.#count[a] === 0) break;
      this.#rebuild(a, b);
    }
    this.#headId[at] = -1;
  }

  /** Dijkstra relaxation of the arcs from cluster u to the unsettled clusters. */
  relaxFrom(
    u: number,
    du: number,
    live: Int32Array,
    liveCount: number,
    dist: Float64Array,
    prevNode: Int32Array,
    prevPoint: Int32Array,
  ): void {
    const { k, phi, assign } = this.#s;
    const headKey = this.#headKey;
    const headId = this.#headId;
    const pu = phi[u]!;
    const row = u * k;
    for (let q = 0; q < liveCount; q++) {
      const b = live[q]!;
      if (b === k) continue;
      let id = headId[row + b]!;
      if (id < 0 || assign[id] !== u) {
        if (id < 0 && this.#count[u] === 0) continue;
        this.#refreshHead(u, b);
        id = headId[row + b]!;
        if (id < 0) continue;
      }
      const nd = du + Math.max(0, headKey[row + b]! + pu - phi[b]!);
      if (nd < dist[b]!) {
        dist[b] = nd;
        prevNode[b] = u;
        prevPoint[b] = id;
      }
    }
  }

  /** Moves point i into cluster b. */
  move(i: number, b: number): void {
    const { assign, sizes } = this.#s;
    const a = assign[i]!;
    sizes[a]! -= 1;
    sizes[b]! += 1;
    assign[i] = b;
    const from = this.#members[a]!;
    const last = from[--this.#count[a]!]!;
    from[this.#pos[i]!] = last;
    this.#pos[last] = this.#pos[i]!;
    this.#append(b, i);
    this.#offer(i, b);
  }
}
