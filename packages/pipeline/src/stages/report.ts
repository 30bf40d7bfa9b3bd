import { writeReport } from '../report/write-report.js';
import type { StageDefinition } from './stage.js';

/** `<run>/report.html`: one self-contained page with the plots. */
export const reportStage: StageDefinition = {
  name: 'report',
  inputs: ['embed', 'cluster', 'shard', 'experts', 'dense', 'random', 'eval'],
  paths: ['report.html'],
  enabled: (config) => config.report.enabled,
  stageConfig: ({ config }) => ({ report: config.report }),
  async execute(ctx) {
    ctx.onProgress?.({ stage: 'report', status: 'start', done: 0, total: 1 });
    await writeReport(ctx.run, { maxPoints: ctx.config.report.maxPoints, seed: ctx.config.seed });
    ctx.onProgress?.({ stage: 'report', status: 'done', done: 1, total: 1 });
    return { outputs: ['report.html'] };
  },
};
