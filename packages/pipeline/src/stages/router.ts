import { RunLayout } from '@cbtm/core/node';
import type { StageDefinition } from './stage.js';

/** The nearest-centroid router over the c-BTM clusters: `<run>/router/`. */
export const routerStage: StageDefinition = {
  name: 'router',
  inputs: ['cluster'],
  paths: ['router'],
  enabled: () => true,
  stageConfig: ({ config }) => ({ router: config.router }),
  async execute({ run, config }) {
    const layout = new RunLayout(run.dir);
    const [{ loadClusterModel }, { buildRouterFromCentroids }] = await Promise.all([
      import('@cbtm/cluster/node'),
      import('@cbtm/route/node'),
    ]);
    const model = await loadClusterModel(layout.clusters());
    const router = await buildRouterFromCentroids(model.centroids, model.k, model.dimension, {
      kind: config.router.kind,
    });
    await router.save(layout.router);
    return { outputs: ['router'], info: { kind: router.kind, k: router.k } };
  },
};
