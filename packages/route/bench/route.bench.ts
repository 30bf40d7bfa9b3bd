/**
 * HNSW vs exact routing throughput and agreement, at k = 128 and k = 10,000 centroids.
 * Run: npm run bench -w @cbtm/route
 */
import { Rng } from '@cbtm/core';
import { ExactRouter, HnswRouter, type Router } from '@cbtm/route/node';

const d = 100;

function unitRows(n: number, dim: number, rng: Rng): Float32Array {
  const out = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < dim; i++) {
      const x = rng.normal();
      out[r * dim + i] = x;
      s += x * x;
    }
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < dim; i++) out[r * dim + i]! *= inv;
  }
  return out;
}

/** Queries near a random centroid (a document close to its cluster), normalized. */
function nearQueries(n: number, centroids: Float32Array, k: number, rng: Rng): Float32Array {
  const noise = unitRows(n, d, rng);
  const out = new Float32Array(n * d);
  for (let q = 0; q < n; q++) {
    const c = rng.int(0, k - 1);
    let s = 0;
    for (let i = 0; i < d; i++) {
      const x = centroids[c * d + i]! + 0.5 * noise[q * d + i]!;
      out[q * d + i] = x;
      s += x * x;
    }
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < d; i++) out[q * d + i]! *= inv;
  }
  return out;
}

function time(
  router: Router,
  queries: Float32Array,
  topK: number,
): { qps: number; answers: string[] } {
  const n = queries.length / d;
  const answers: string[] = [];
  for (let q = 0; q < Math.min(n, 200); q++)
    router.route(queries.subarray(q * d, q * d + d), { topK });
  const t0 = performance.now();
  for (let q = 0; q < n; q++)
    answers.push(router.route(queries.subarray(q * d, q * d + d), { topK }).experts.join());
  return { qps: (n / (performance.now() - t0)) * 1000, answers };
}

async function run(k: number, nQueries: number, topKs: number[], efs: number[]): Promise<void> {
  const rng = new Rng(k);
  const centroids = unitRows(k, d, rng);
  const exact = new ExactRouter(centroids, k, d);
  for (const [label, queries] of [
    ['uniform random queries', unitRows(nQueries, d, rng)],
    ['queries near a centroid', nearQueries(nQueries, centroids, k, rng)],
  ] as const) {
    console.log(`\nk = ${k}, d = ${d}, ${nQueries} ${label}`);
    console.log('topK | efSearch | exact q/s | hnsw q/s | hnsw/exact | identical answers');
    for (const topK of topKs) {
      const ref = time(exact, queries, topK);
      for (const ef of efs) {
        const t0 = performance.now();
        const hnsw = await HnswRouter.build(centroids, k, d, { efSearch: ef });
        const buildMs = performance.now() - t0;
        const got = time(hnsw, queries, topK);
        const same = got.answers.filter((a, i) => a === ref.answers[i]).length;
        console.log(
          `${topK === Number.POSITIVE_INFINITY ? 'all' : topK} | ${ef} | ${ref.qps.toFixed(0)} | ${got.qps.toFixed(0)} | ${(got.qps / ref.qps).toFixed(2)}× | ${same}/${nQueries} (build ${buildMs.toFixed(0)} ms)`,
        );
      }
    }
  }
}

await run(128, 5000, [Number.POSITIVE_INFINITY, 4, 1], [512]);
await run(10_000, 2000, [4, 1], [128, 256, 512]);
