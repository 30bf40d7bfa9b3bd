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
    const [{ ClusterModel }, { buildRouterFromCentroids }] = await Promise.all([
      import('@cbtm/cluster'),
      import('@cbtm/route'),
    ]);
    const model = await ClusterModel.load(layout.clusters());
    const router = await buildRouterFromCentroids(model.centroids, model.k, model.dimension, {
      kind: config.router.kind,
    });
    await router.save(layout.router);
    return { outputs: ['router'], info: { kind: router.kind, k: router.k } };
  },
};
