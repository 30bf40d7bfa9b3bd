import { relative } from 'node:path';
import { RunLayout, writeJsonAtomic } from '@cbtm/core/node';
import { readEmbeddings } from './embeddings-file.js';
import type { StageContext } from './stage.js';

/**
 * The random-cluster baseline's data: `<run>/random/shards/<j>.jsonl.gz` (`@cbtm/cluster`'s
 * `randomClusters`: k groups of random documents, sizes as equal as possible, with their
 * `assignments.jsonl` and `metrics.json` beside them) and `<run>/random/router/` (the groups'
 * mean embeddings), so the ensemble routes them exactly as it routes the c-BTM experts.
 */
export async function prepareRandomClusters(ctx: StageContext): Promise<void> {
  const { run, config, corpus, signal } = ctx;
  const { assignCorpus, clusterMeans, randomClusters } = await import('@cbtm/cluster/node');
  const layout = new RunLayout(run.dir);
  const k = config.cluster.k;
  const emb = await readEmbeddings(run);
  const { n, dimension: d } = emb.index;
  const groups = randomClusters(k, config.seed).assignments(n);
  const assigned = await assignCorpus(corpus.trainDocs(), randomClusters(k, config.seed), run.dir, {
    assignments: groups,
    total: n,
    fields: ['domain'],
    outputs: {
      assignments: relative(run.dir, layout.random('assignments.jsonl')),
      metrics: relative(run.dir, layout.random('metrics.json')),
      shard: (j) => relative(run.dir, layout.randomShard(j)),
    },
    ...(signal ? { signal } : {}),
  });
  await writeJsonAtomic(layout.random('sizes.json'), { k, sizes: Array.from(assigned.sizes) });
  const { buildRouterFromCentroids } = await import('@cbtm/route/node');
  const router = await buildRouterFromCentroids(clusterMeans(emb.vectors, n, d, groups, k), k, d, {
    kind: config.router.kind,
  });
  await router.save(layout.random('router'));
}
