import type { StageDefinition } from './stage.js';

/** The nearest-centroid router over the c-BTM clusters: `<run>/router/`. */
export const routerStage: StageDefinition = {
  name: 'router',
  inputs: ['cluster'],
  paths: ['router'],
  enabled: () => true,
  stageConfig: ({ config }) => ({ router: config.router }),
  async execute({ run, config }) {
    const [{ ClusterModel }, { buildRouterFromCentroids }] = await Promise.all([
      import('@cbtm/cluster'),
      import('@cbtm/route'),
    ]);
    const model = await ClusterModel.load(run.path('clusters'));
    const router = await buildRouterFromCentroids(model.centroids, model.k, model.dimension, {
      kind: config.router.kind,
    });
    await router.save(run.path('router'));
    return { outputs: ['router'], info: { kind: router.kind, k: router.k } };
  },
};
