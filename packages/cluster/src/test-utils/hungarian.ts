/**
 * Minimum-cost perfect assignment of a square matrix (Hungarian method, O(n³), the classic
 * potentials formulation). Returns the column of each row and the total cost. Test-only.
 */
export function hungarian(cost: readonly (readonly number[])[]): {
  rowToCol: number[];
  total: number;
} {
  const n = cost.length;
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1); // p[j]: row matched to column j (1-based), 0 = none
  const way = new Int32Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(n + 1).fill(Number.POSITIVE_INFINITY);
    const used = new Uint8Array(n + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Number.POSITIVE_INFINITY;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = cost[i0 - 1]![j - 1]! - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else minv[j]! -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const rowToCol = new Array<number>(n).fill(-1);
  for (let j = 1; j <= n; j++) if (p[j]! > 0) rowToCol[p[j]! - 1] = j - 1;
  let total = 0;
  for (let i = 0; i < n; i++) total += cost[i]![rowToCol[i]!]!;
  return { rowToCol, total };
}

/**
 * The optimal balanced cost via Hungarian on the expanded matrix: each cluster j has `lower`
 * mandatory slots and `upper − lower` optional ones; k·upper − n dummy rows cost 0 on optional
 * slots and a prohibitive amount on mandatory ones. The default bounds are ⌊n/k⌋ and ⌈n/k⌉.
 */
export function balancedOptimumByHungarian(
  costs: ArrayLike<number>,
  n: number,
  k: number,
  lower = Math.floor(n / k),
  upper = Math.ceil(n / k),
): number {
  const slots: number[] = [];
  const optional: boolean[] = [];
  for (let j = 0; j < k; j++) {
    for (let s = 0; s < upper; s++) {
      slots.push(j);
      optional.push(s >= lower);
    }
  }
  const big = 1e12;
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(slots.map((j) => costs[i * k + j]!));
  const dummies = k * upper - n;
  for (let d = 0; d < dummies; d++) rows.push(optional.map((o) => (o ? 0 : big)));
  const { total } = hungarian(rows);
  return total;
}

/** Brute force over all k^n assignments with sizes in [lower, upper] (tiny n only). */
export function balancedOptimumByBruteForce(
  costs: ArrayLike<number>,
  n: number,
  k: number,
  lower = Math.floor(n / k),
  upper = Math.ceil(n / k),
): number {
  const sizes = new Array<number>(k).fill(0);
  let best = Number.POSITIVE_INFINITY;
  // Pruning on the partial sum is only sound when no cost is negative.
  let prune = true;
  for (let i = 0; i < n * k; i++) if (costs[i]! < 0) prune = false;
  const go = (i: number, acc: number) => {
    if (prune && acc >= best) return;
    if (i === n) {
      if (sizes.every((s) => s >= lower && s <= upper)) best = Math.min(best, acc);
      return;
    }
    for (let j = 0; j < k; j++) {
      if (sizes[j]! >= upper) continue;
      sizes[j]! += 1;
      go(i + 1, acc + costs[i * k + j]!);
      sizes[j]! -= 1;
    }
  };
  go(0, 0);
  return best;
}
