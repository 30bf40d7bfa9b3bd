import {
  createJsonlWriter,
  deriveSeed,
  type JsonlWriter,
  Rng,
  throwIfAborted,
  writeJsonAtomic,
} from '@cbtm/core';
import { RunLayout } from '@cbtm/core/node';
import { readEmbeddings } from './embeddings-file.js';
import type { StageContext } from './stage.js';

/**
 * Groups of sizes as equal as possible, documents assigned at random (seeded): group of row i.
 *
 * @example
 * ```ts
 * randomGroups(10, 3, 1); // e.g. Int32Array [2, 0, 1, 1, 0, 2, 0, 1, 2, 0]
 * ```
 */
export function randomGroups(n: number, k: number, seed: number): Int32Array {
  const order = Array.from({ length: n }, (_, i) => i);
  new Rng(deriveSeed(seed, 'random-clusters')).shuffle(order);
  const groups = new Int32Array(n);
  order.forEach((row, i) => {
    groups[row] = i % k;
  });
  return groups;
}

/**
 * Mean of the rows of each group: the centroids the random-cluster baseline routes with.
 *
 * @example
 * ```ts
 * groupMeans(Float32Array.of(0, 0, 2, 2), 2, 2, Int32Array.of(0, 0), 1); // [1, 1]
 * ```
 */
export function groupMeans(
  vectors: Float32Array,
  n: number,
  d: number,
  groups: Int32Array,
  k: number,
): Float32Array {
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const g = groups[i]!;
    counts[g] += 1;
    for (let c = 0; c < d; c++) sums[g * d + c] += vectors[i * d + c]!;
  }
  const out = new Float32Array(k * d);
  for (let g = 0; g < k; g++)
    for (let c = 0; c < d; c++) out[g * d + c] = counts[g]! > 0 ? sums[g * d + c]! / counts[g]! : 0;
  return out;
}

/**
 * The random-cluster baseline's data: `<run>/random/shards/<j>.jsonl.gz` (k groups of random
 * documents, sizes as equal as possible) and `<run>/random/router/` (their mean embeddings), so
 * the ensemble routes them exactly as it routes the c-BTM experts.
 */
export async function prepareRandomClusters(ctx: StageContext): Promise<void> {
  const { run, config, corpus, signal } = ctx;
  const layout = new RunLayout(run.dir);
  const k = config.cluster.k;
  const emb = await readEmbeddings(run);
  const { n, dimension: d } = emb.index;
  const groups = randomGroups(n, k, config.seed);
  const writers: JsonlWriter[] = Array.from({ length: k }, (_, j) =>
    createJsonlWriter(layout.randomShard(j)),
  );
  let i = 0;
  try {
    for await (const doc of corpus.trainDocs()) {
      if (i >= n) break;
      if (i % 256 === 0) throwIfAborted(signal);
      await writers[groups[i]!]!.write({
        id: doc.id,
        text: doc.text,
        ...(typeof doc.domain === 'string' ? { domain: doc.domain } : {}),
      });
      i += 1;
    }
  } catch (err) {
    await Promise.all(writers.map((w) => w.abort()));
    throw err;
  }
  for (const w of writers) await w.close();
  const sizes = Array.from({ length: k }, (_, j) => groups.filter((g) => g === j).length);
  await writeJsonAtomic(layout.random('sizes.json'), { k, sizes });
  const { buildRouterFromCentroids } = await import('@cbtm/route');
  const router = await buildRouterFromCentroids(groupMeans(emb.vectors, n, d, groups, k), k, d, {
    kind: config.router.kind,
  });
  await router.save(layout.random('router'));
}
