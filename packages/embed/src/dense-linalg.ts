import type { Rng } from '@cbtm/core';

/**
 * Small dense linear algebra on row-major float64 matrices, enough for randomized SVD: thin QR
 * of tall matrices and the SVD of a small square one.
 */

/** A thin QR factorization: `Y = Q R` with `Q` (m × l, orthonormal columns) and `R` (l × l, upper). */
export interface ThinQr {
  readonly q: Float64Array;
  readonly r: Float64Array;
}

/**
 * Orthonormalizes the columns of the row-major m × l matrix `y`: Cholesky QR twice (one pass
 * over the rows for the Gram matrix, one for the solve; fast on tall matrices), falling back to
 * modified Gram–Schmidt with reorthogonalization when the columns are nearly dependent. Columns
 * that are dependent are replaced by random directions orthogonal to the others (their `R`
 * diagonal is then ~0), so `Q` always has orthonormal columns.
 */
export function thinQr(y: Float64Array, m: number, l: number, rng: Rng): ThinQr {
  if (l <= m) {
    const first = choleskyQr(y, m, l);
    if (first) {
      const second = choleskyQr(first.q, m, l);
      if (second) return { q: second.q, r: upperTimesUpper(second.r, first.r, l) };
    }
  }
  return gramSchmidtQr(y, m, l, rng);
}

/**
 * A well-conditioned basis of the column span of `y` (m × l) at half the cost of
 * {@link thinQr}: one Cholesky QR pass, whose columns are orthonormal up to about
 * eps × cond(y)². Enough between power iterations, where only the span matters.
 */
export function wellConditionedBasis(
  y: Float64Array,
  m: number,
  l: number,
  rng: Rng,
): Float64Array {
  return (l <= m ? choleskyQr(y, m, l)?.q : undefined) ?? gramSchmidtQr(y, m, l, rng).q;
}

/**
 * Upper-triangular `r` with `g = rᵀ r` for a symmetric positive definite l × l `g`, or `null`
 * when `g` is (numerically) singular.
 */
export function cholesky(g: Float64Array, l: number): Float64Array | null {
  const r = new Float64Array(l * l);
  for (let j = 0; j < l; j++) {
    let d = g[j * l + j]!;
    for (let i = 0; i < j; i++) d -= r[i * l + j]! * r[i * l + j]!;
    // Breakdown, or a column so dependent that Cholesky QR would lose orthogonality.
    if (!(d > 1e-10 * g[j * l + j]!) || !(d > 0)) return null;
    const rjj = Math.sqrt(d);
    r[j * l + j] = rjj;
    for (let k = j + 1; k < l; k++) {
      let s = g[j * l + k]!;
      for (let i = 0; i < j; i++) s -= r[i * l + j]! * r[i * l + k]!;
      r[j * l + k] = s / rjj;
    }
  }
  return r;
}

/** Row-major `a` (m × l) times `b` (l × n). */
export function matmul(
  a: Float64Array,
  b: Float64Array,
  m: number,
  l: number,
  n: number,
): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const ao = i * l;
    const oo = i * n;
    for (let t = 0; t < l; t++) {
      const x = a[ao + t]!;
      if (x === 0) continue;
      const bo = t * n;
      for (let j = 0; j < n; j++) out[oo + j]! += x * b[bo + j]!;
    }
  }
  return out;
}

/** `aᵀ b` for row-major `a` (m × l) and `b` (m × n): an l × n result. */
export function transposeTimes(
  a: Float64Array,
  b: Float64Array,
  m: number,
  l: number,
  n: number,
): Float64Array {
  const out = new Float64Array(l * n);
  for (let i = 0; i < m; i++) {
    const ao = i * l;
    const bo = i * n;
    for (let t = 0; t < l; t++) {
      const x = a[ao + t]!;
      if (x === 0) continue;
      const oo = t * n;
      for (let j = 0; j < n; j++) out[oo + j]! += x * b[bo + j]!;
    }
  }
  return out;
}

function choleskyQr(y: Float64Array, m: number, l: number): ThinQr | null {
  const r = cholesky(gram(y, m, l), l);
  if (r === null) return null;
  return { q: timesUpper(y, invertUpper(r, l), m, l), r };
}

/** `yᵀ y` (upper triangle filled) for row-major m × l `y`, four rows per sweep. */
function gram(y: Float64Array, m: number, l: number): Float64Array {
  const g = new Float64Array(l * l);
  let i = 0;
  for (; i + 3 < m; i += 4) {
    const o0 = i * l;
    const o1 = o0 + l;
    const o2 = o1 + l;
    const o3 = o2 + l;
    for (let a = 0; a < l; a++) {
      const y0 = y[o0 + a]!;
      const y1 = y[o1 + a]!;
      const y2 = y[o2 + a]!;
      const y3 = y[o3 + a]!;
      const ga = a * l;
      for (let b = a; b < l; b++)
        g[ga + b]! += y0 * y[o0 + b]! + y1 * y[o1 + b]! + y2 * y[o2 + b]! + y3 * y[o3 + b]!;
    }
  }
  for (; i < m; i++) {
    const o = i * l;
    for (let a = 0; a < l; a++) {
      const ya = y[o + a]!;
      const ga = a * l;
      for (let b = a; b < l; b++) g[ga + b]! += ya * y[o + b]!;
    }
  }
  return g;
}

/** `y u` for row-major m × l `y` and upper-triangular l × l `u`, four columns of y per sweep. */
function timesUpper(y: Float64Array, u: Float64Array, m: number, l: number): Float64Array {
  const q = new Float64Array(m * l);
  for (let i = 0; i < m; i++) {
    const o = i * l;
    let t = 0;
    for (; t + 3 < l; t += 4) {
      const x0 = y[o + t]!;
      const x1 = y[o + t + 1]!;
      const x2 = y[o + t + 2]!;
      const x3 = y[o + t + 3]!;
      const r0 = t * l;
      const r1 = r0 + l;
      const r2 = r1 + l;
      const r3 = r2 + l;
      // Row t of u starts at column t; rows t+1..t+3 are zero before their diagonal.
      q[o + t]! += x0 * u[r0 + t]!;
      q[o + t + 1]! += x0 * u[r0 + t + 1]! + x1 * u[r1 + t + 1]!;
      q[o + t + 2]! += x0 * u[r0 + t + 2]! + x1 * u[r1 + t + 2]! + x2 * u[r2 + t + 2]!;
      for (let j = t + 3; j < l; j++)
        q[o + j]! += x0 * u[r0 + j]! + x1 * u[r1 + j]! + x2 * u[r2 + j]! + x3 * u[r3 + j]!;
    }
    for (; t < l; t++) {
      const x = y[o + t]!;
      const ro = t * l;
      for (let j = t; j < l; j++) q[o + j]! += x * u[ro + j]!;
    }
  }
  return q;
}

/** Inverse of an upper-triangular l × l matrix (upper triangular too). */
export function invertUpper(r: Float64Array, l: number): Float64Array {
  const inv = new Float64Array(l * l);
  for (let j = l - 1; j >= 0; j--) {
    inv[j * l + j] = 1 / r[j * l + j]!;
    for (let i = j - 1; i >= 0; i--) {
      let s = 0;
      for (let k = i + 1; k <= j; k++) s += r[i * l + k]! * inv[k * l + j]!;
      inv[i * l + j] = -s / r[i * l + i]!;
    }
  }
  return inv;
}

function upperTimesUpper(a: Float64Array, b: Float64Array, l: number): Float64Array {
  const c = new Float64Array(l * l);
  for (let i = 0; i < l; i++) {
    for (let k = i; k < l; k++) {
      const aik = a[i * l + k]!;
      for (let j = k; j < l; j++) c[i * l + j]! += aik * b[k * l + j]!;
    }
  }
  return c;
}

function gramSchmidtQr(y: Float64Array, m: number, l: number, rng: Rng): ThinQr {
  const cols: Float64Array[] = [];
  const r = new Float64Array(l * l);
  for (let j = 0; j < l; j++) {
    const v = new Float64Array(m);
    for (let i = 0; i < m; i++) v[i] = y[i * l + j]!;
    const original = norm(v);
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < cols.length; i++) {
        const c = dot(cols[i]!, v);
        r[i * l + j]! += c;
        axpy(-c, cols[i]!, v);
      }
    }
    let nv = norm(v);
    if (nv > 1e-10 * original && nv > 0) {
      r[j * l + j] = nv;
    } else if (cols.length < m) {
      // Dependent column: any unit direction orthogonal to the others keeps Q orthonormal.
      for (let attempt = 0; ; attempt++) {
        for (let i = 0; i < m; i++) v[i] = rng.normal();
        for (let pass = 0; pass < 2; pass++) for (const c of cols) axpy(-dot(c, v), c, v);
        nv = norm(v);
        if (nv > 1e-6 || attempt > 10) break;
      }
    } else {
      nv = 0;
    }
    if (nv > 0) for (let i = 0; i < m; i++) v[i]! /= nv;
    cols.push(v);
  }
  const q = new Float64Array(m * l);
  for (let j = 0; j < l; j++) {
    const c = cols[j]!;
    for (let i = 0; i < m; i++) q[i * l + j] = c[i]!;
  }
  return { q, r };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function axpy(alpha: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i]! += alpha * x[i]!;
}

function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

/** The SVD `A = U diag(s) Vᵀ` of a square matrix, singular values descending. */
export interface SquareSvd {
  /** Row-major l × l; column j is the j-th left singular vector. */
  readonly u: Float64Array;
  readonly s: Float64Array;
  /** Row-major l × l; column j is the j-th right singular vector. */
  readonly v: Float64Array;
}

/**
 * SVD of a square row-major l × l matrix by one-sided Jacobi rotations (Hestenes), accurate to
 * machine precision; O(l³) per sweep, for the small l of randomized SVD.
 */
export function jacobiSvd(a: Float64Array, l: number): SquareSvd {
  // Work on columns: g[j] is column j of A; rotations keep A V = G.
  const g: Float64Array[] = [];
  const vc: Float64Array[] = [];
  for (let j = 0; j < l; j++) {
    const col = new Float64Array(l);
    for (let i = 0; i < l; i++) col[i] = a[i * l + j]!;
    g.push(col);
    const e = new Float64Array(l);
    e[j] = 1;
    vc.push(e);
  }
  const eps = 1e-15;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < l - 1; p++) {
      for (let q = p + 1; q < l; q++) {
        const gp = g[p]!;
        const gq = g[q]!;
        const alpha = dot(gp, gp);
        const beta = dot(gq, gq);
        const gamma = dot(gp, gq);
        if (gamma === 0 || Math.abs(gamma) <= eps * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotate(gp, gq, c, s);
        rotate(vc[p]!, vc[q]!, c, s);
      }
    }
    if (!rotated) break;
  }
  const sv = g.map((col) => norm(col));
  const order = Array.from({ length: l }, (_, j) => j).sort((x, y) => sv[y]! - sv[x]!);
  const u = new Float64Array(l * l);
  const v = new Float64Array(l * l);
  const s = new Float64Array(l);
  order.forEach((j, k) => {
    s[k] = sv[j]!;
    const col = g[j]!;
    const vj = vc[j]!;
    for (let i = 0; i < l; i++) {
      u[i * l + k] = s[k]! > 0 ? col[i]! / s[k]! : 0;
      v[i * l + k] = vj[i]!;
    }
  });
  return { u, s, v };
}

function rotate(x: Float64Array, y: Float64Array, c: number, s: number): void {
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    const yi = y[i]!;
    x[i] = c * xi - s * yi;
    y[i] = s * xi + c * yi;
  }
}
