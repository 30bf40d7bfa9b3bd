/**
 * `numpy.argsort(values)` with numpy's default `kind='quicksort'` (an introsort that is not
 * stable), ported from numpy 1.24's `npysort/quicksort.cpp` and `heapsort.cpp`. scikit-learn
 * picks `max_features` with it, so the terms kept among equally frequent ones depend on its exact
 * tie order.
 *
 * @example
 * ```ts
 * numpyArgsort(Float64Array.from([3, 1, 2])); // Int32Array [1, 2, 0]
 * ```
 */
export function numpyArgsort(values: ArrayLike<number>): Int32Array {
  const num = values.length;
  const tosort = new Int32Array(num);
  for (let i = 0; i < num; i++) tosort[i] = i;
  if (num < 2) return tosort;
  const v = values;
  const SMALL_QUICKSORT = 15;
  const stack: number[] = [];
  const depth: number[] = [];
  let pl = 0;
  let pr = num - 1;
  let cdepth = msb(num) * 2;
  const swap = (a: number, b: number) => {
    const t = tosort[a]!;
    tosort[a] = tosort[b]!;
    tosort[b] = t;
  };
  for (;;) {
    if (cdepth < 0) {
      heapsortRange(v, tosort, pl, pr - pl + 1);
    } else {
      while (pr - pl > SMALL_QUICKSORT) {
        const pm = pl + ((pr - pl) >> 1);
        if (v[tosort[pm]!]! < v[tosort[pl]!]!) swap(pm, pl);
        if (v[tosort[pr]!]! < v[tosort[pm]!]!) swap(pr, pm);
        if (v[tosort[pm]!]! < v[tosort[pl]!]!) swap(pm, pl);
        const vp = v[tosort[pm]!]!;
        let pi = pl;
        let pj = pr - 1;
        swap(pm, pj);
        for (;;) {
          do ++pi;
          while (v[tosort[pi]!]! < vp);
          do --pj;
          while (vp < v[tosort[pj]!]!);
          if (pi >= pj) break;
          swap(pi, pj);
        }
        swap(pi, pr - 1);
        // Push the larger partition, keep sorting the smaller one.
        if (pi - pl < pr - pi) {
          stack.push(pi + 1, pr);
          pr = pi - 1;
        } else {
          stack.push(pl, pi - 1);
          pl = pi + 1;
        }
        depth.push(--cdepth);
      }
      for (let pi = pl + 1; pi <= pr; ++pi) {
        const vi = tosort[pi]!;
        const vp = v[vi]!;
        let pj = pi;
        let pk = pi - 1;
        while (pj > pl && vp < v[tosort[pk]!]!) tosort[pj--] = tosort[pk--]!;
        tosort[pj] = vi;
      }
    }
    if (stack.length === 0) break;
    pr = stack.pop()!;
    pl = stack.pop()!;
    cdepth = depth.pop()!;
  }
  return tosort;
}

function msb(n: number): number {
  let d = 0;
  for (let u = n >>> 1; u > 0; u >>>= 1) d++;
  return d;
}

/** numpy's `aheapsort_` on `tosort[offset .. offset+n)` (1-based heap indexing). */
function heapsortRange(v: ArrayLike<number>, tosort: Int32Array, offset: number, n: number): void {
  const base = offset - 1;
  const at = (k: number) => tosort[base + k]!;
  const set = (k: number, x: number) => {
    tosort[base + k] = x;
  };
  for (let l = n >> 1; l > 0; --l) {
    const tmp = at(l);
    let i = l;
    for (let j = l << 1; j <= n; ) {
      if (j < n && v[at(j)]! < v[at(j + 1)]!) j += 1;
      if (v[tmp]! < v[at(j)]!) {
        set(i, at(j));
        i = j;
        j += j;
      } else break;
    }
    set(i, tmp);
  }
  for (; n > 1; ) {
    const tmp = at(n);
    set(n, at(1));
    n -= 1;
    let i = 1;
    for (let j = 2; j <= n; ) {
      if (j < n && v[at(j)]! < v[at(j + 1)]!) j++;
      if (v[tmp]! < v[at(j)]!) {
        set(i, at(j));
        i = j;
        j += j;
      } else break;
    }
    set(i, tmp);
  }
}
