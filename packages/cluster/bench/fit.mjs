// Fit-time benchmark: `npm run bench -w @cbtm/cluster`.
//
// Balanced k-means (this package) against scikit-learn's unbalanced KMeans on the same data,
// measured in the same run, for N ∈ {10k, 50,003}, k ∈ {8, 32, 128}, d = 100. The data is a
// seeded mixture of 64 Gaussian blobs projected on the unit sphere, like L2-normalized
// tf-idf/SVD embeddings. Both sides: greedy k-means++ init, one init, ≤ 20 Lloyd
// iterations, tol 1e-3, median of BENCH_REPEATS (3) fits after a warm-up. scikit-learn runs
// where Debian's /usr/bin/python3 has it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@cbtm/core';
import { fitBalancedKMeans, wasmSimdSupported } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, '../../../tools/cluster/sklearn-kmeans-bench.py');
const python = '/usr/bin/python3';
const D = 100;
const sizes = (process.env.BENCH_N ?? '10000,50003').split(',').map(Number);
const ks = (process.env.BENCH_K ?? '8,32,128').split(',').map(Number);

function hasSklearn() {
  if (!existsSync(python) || !existsSync(script)) return false;
  try {
    execFileSync(python, ['-c', 'import sklearn'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function sphereMixture(n, d, seed) {
  const rng = new Rng(seed);
  const blobs = 64;
  const means = Float64Array.from({ length: blobs * d }, () => rng.normal());
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const b = rng.int(0, blobs - 1);
    let s = 0;
    for (let t = 0; t < d; t++) {
      const v = means[b * d + t] + 1.5 * rng.normal();
      x[i * d + t] = v;
      s += v * v;
    }
    const norm = Math.sqrt(s);
    for (let t = 0; t < d; t++) x[i * d + t] /= norm;
  }
  return x;
}

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median wall time of REPEATS identical fits (same seed, so the same work each time). */
async function timeFit(points, n, k, balance, balanceSlack = 0) {
  const times = [];
  let res;
  for (let r = 0; r < REPEATS; r++) {
    const t = performance.now();
    res = await fitBalancedKMeans(points, n, D, { k, balance, balanceSlack, seed: 0 });
    times.push((performance.now() - t) / 1000);
  }
  return {
    seconds: median(times),
    iterations: res.iterations,
    inertia: res.inertia,
    sizes: res.sizes,
  };
}

const sk = hasSklearn();
// Warm-up, untimed: JIT compilation and the wasm kernels' first compile would otherwise be
// charged to whichever fit runs first.
{
  const warm = sphereMixture(4000, D, 1);
  for (const k of ks) {
    for (const balance of [true, false]) await fitBalancedKMeans(warm, 4000, D, { k, balance });
  }
}
const dir = await mkdtemp(join(tmpdir(), 'cbtm-cluster-bench-'));
console.log(
  `balanced k-means fit, d=${D}; wasm SIMD: ${wasmSimdSupported()}; scikit-learn baseline: ${sk ? 'yes' : 'not found'}`,
);
console.log(
  '| N | k | balanced s (iters) | slack 0.1 s (iters) | unbalanced s (iters) | sklearn KMeans s (iters) | sklearn, 1 thread s | balanced / sklearn | slack 0.1 / sklearn | balanced / sklearn 1 thread | max/min size (balanced, slack 0.1) |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
try {
  for (const n of sizes) {
    const points = sphereMixture(n, D, 2024 + n);
    const file = join(dir, `x-${n}.f32`);
    await writeFile(file, Buffer.from(points.buffer, points.byteOffset, points.byteLength));
    for (const k of ks) {
      const balanced = await timeFit(points, n, k, true);
      const slack = await timeFit(points, n, k, true, 0.1);
      const unbalanced = await timeFit(points, n, k, false);
      let base;
      let single;
      if (sk) {
        const args = [script, file, String(D), String(k), '20', '1e-3', String(REPEATS)];
        base = JSON.parse(execFileSync(python, args, { encoding: 'utf8' }));
        // The same fit on one thread, like cbtm's: the per-core comparison.
        const oneThread = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
        single = JSON.parse(execFileSync(python, args, { encoding: 'utf8', env: oneThread }));
      }
      const spread = (r) => `${Math.max(...r.sizes)}/${Math.min(...r.sizes)}`;
      const fit = (r) => `${r.seconds.toFixed(2)} (${r.iterations})`;
      const ratio = (r) => (base ? `${(r.seconds / base.seconds).toFixed(2)}×` : 'n/a');
      console.log(
        `| ${n} | ${k} | ${fit(balanced)} | ${fit(slack)} | ${fit(unbalanced)} | ${
          base ? `${base.seconds.toFixed(2)} (${base.iterations})` : 'n/a'
        } | ${single ? single.seconds.toFixed(2) : 'n/a'} | ${ratio(balanced)} | ${ratio(slack)} | ${
          single ? `${(balanced.seconds / single.seconds).toFixed(2)}×` : 'n/a'
        } | ${spread(balanced)}, ${spread(slack)} |`,
      );
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
console.log('\nReference auction implementation (DESIGN.md): 140 s at N = 50,003, k = 128.');
console.log('cbtm runs on one thread; scikit-learn uses its OpenMP/BLAS threads (all cores).');
