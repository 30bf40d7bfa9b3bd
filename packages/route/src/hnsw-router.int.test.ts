import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HnswRouter } from './hnsw-router.js';
import { buildRouterFromCentroids, loadRouter } from './load-router.js';
import type { Router } from './router.js';
import { ExactRouter } from './savable-router.js';
import { randomUnitRows } from './test-utils/random.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cbtm-route-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function expectSameRoutes(
  a: Router,
  b: Router,
  queries: Float32Array,
  d: number,
  options: { topK?: number; temperature?: number } = {},
): number {
  const n = queries.length / d;
  const mismatches: number[] = [];
  for (let q = 0; q < n; q++) {
    const query = queries.subarray(q * d, q * d + d);
    const ra = a.route(query, options);
    const rb = b.route(query, options);
    // Same experts in the same order, and bitwise-equal distances and weights.
    const same =
      ra.experts.length === rb.experts.length &&
      ra.experts.every((e, i) => e === rb.experts[i]) &&
      ra.distances.every((x, i) => x === rb.distances[i]) &&
      ra.weights.every((x, i) => x === rb.weights[i]);
    if (!same) mismatches.push(q);
  }
  expect(mismatches).toEqual([]);
  return n;
}

describe('HnswRouter', () => {
  it('equals ExactRouter on 3,000 random queries at the default settings (topK = all)', async () => {
    const k = 128;
    const d = 32;
    const centroids = randomUnitRows(k, d, 11);
    const exact = new ExactRouter(centroids, k, d);
    const hnsw = await HnswRouter.build(centroids, k, d);
    expect(expectSameRoutes(exact, hnsw, randomUnitRows(3000, d, 12), d)).toBe(3000);
  });

  it('equals ExactRouter for small topK when k ≤ efSearch', async () => {
    const k = 300;
    const d = 16;
    const centroids = randomUnitRows(k, d, 21);
    const exact = new ExactRouter(centroids, k, d);
    // A deliberately weak graph: exactness must come from efSearch ≥ k, not from luck.
    const hnsw = await HnswRouter.build(centroids, k, d, { m: 4, efConstruction: 8 });
    const queries = randomUnitRows(2000, d, 22);
    for (const topK of [1, 2, 4]) expectSameRoutes(exact, hnsw, queries, d, { topK });
  });

  it('stays exact when the graph leaves centroids unreachable (m = 2)', async () => {
    const k = 300;
    const d = 16;
    const centroids = randomUnitRows(k, d, 51);
    const exact = new ExactRouter(centroids, k, d);
    const hnsw = await HnswRouter.build(centroids, k, d, { m: 2, efConstruction: 2 });
    const queries = randomUnitRows(500, d, 52);
    expectSameRoutes(exact, hnsw, queries, d);
    expectSameRoutes(exact, hnsw, queries, d, { topK: 2 });
    // k > efSearch on a broken graph: approximate, but always a full, normalized answer.
    const weak = await HnswRouter.build(centroids, k, d, { m: 2, efConstruction: 2, efSearch: 8 });
    for (let q = 0; q < 100; q++) {
      const r = weak.route(queries.subarray(q * d, q * d + d), { topK: 4 });
      expect(r.experts).toHaveLength(4);
      expect(r.weights.reduce((s, w) => s + w, 0)).toBeCloseTo(1, 6);
    }
  });

  it('equals ExactRouter on 2,000 queries with k = 2,000 > efSearch and topK = 4', async () => {
    const k = 2000;
    const d = 50;
    const centroids = randomUnitRows(k, d, 31);
    const exact = new ExactRouter(centroids, k, d);
    const hnsw = await HnswRouter.build(centroids, k, d, { efSearch: 256 });
    expectSameRoutes(exact, hnsw, randomUnitRows(2000, d, 32), d, { topK: 4, temperature: 0.05 });
  });

  it('saves and loads both kinds, giving identical routes', async () => {
    const k = 64;
    const d = 8;
    const centroids = randomUnitRows(k, d, 41);
    const queries = randomUnitRows(200, d, 42);
    for (const kind of ['hnsw', 'exact'] as const) {
      const dir = join(await tempDir(), 'router');
      const router = await buildRouterFromCentroids(centroids, k, d, { kind });
      await router.save(dir);
      const loaded = await loadRouter(dir);
      expect(loaded.kind).toBe(kind);
      expect(loaded.k).toBe(k);
      expect(loaded.dimension).toBe(d);
      expect(loaded.centroids()).toEqual(centroids);
      expectSameRoutes(router, loaded, queries, d, { topK: 3 });
      const manifest = JSON.parse(await readFile(join(dir, 'router.json'), 'utf8'));
      expect(manifest).toMatchObject({ format: 'cbtm-router', version: 1, kind, k, dimension: d });
    }
  });

  it('detects a missing or corrupted router directory', async () => {
    const dir = await tempDir();
    await expect(loadRouter(join(dir, 'nope'))).rejects.toMatchObject({ code: 'E_STAGE_MISSING' });
    const routerDir = join(dir, 'r');
    await new ExactRouter(new Float32Array([1, 2, 3, 4]), 2, 2).save(routerDir);
    await writeFile(join(routerDir, 'centroids.f32'), new Uint8Array(16));
    await expect(loadRouter(routerDir)).rejects.toMatchObject({ code: 'E_FORMAT' });
    await writeFile(join(routerDir, 'router.json'), '{"format":"cbtm-router","version":9}');
    await expect(loadRouter(routerDir)).rejects.toMatchObject({ code: 'E_RUN_VERSION' });
  });

  it('does not load the native addon when only imported', () => {
    const script = [
      "import { createRequire } from 'node:module';",
      `const route = await import(${JSON.stringify(new URL('../dist/node.js', import.meta.url).href)});`,
      'new route.ExactRouter(new Float32Array([0, 1]), 2, 1).route([0.3]);',
      'const cache = createRequire(import.meta.url).cache;',
      "console.log(Object.keys(cache).some((k) => k.includes('hnswlib-node')) ? 'loaded' : 'clean');",
    ].join('\n');
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(out.stderr).toBe('');
    expect(out.stdout.trim()).toBe('clean');
  });
});
