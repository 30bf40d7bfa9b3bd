import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunLayout } from '@cbtm/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/load-config.js';
import { openRun, runStages, stageContext } from '../run-pipeline.js';
import { tinyConfig } from '../test-utils/tiny-config.js';
import { executeStage } from './stage.js';
import { denseStage, randomStage, runTrainingStages } from './training.js';

let dir: string;
const configOf = (out: string) =>
  resolveConfig(
    tinyConfig(out, {
      train: { ...tinyConfig(out).train!, seedTokens: 0, tokens: 4096, workers: 2 },
    }),
  );

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cbtm-training-stage-'));
  const config = configOf(join(dir, 'clustered'));
  const run = await openRun(config);
  await runStages(await stageContext(run, config), ['embed', 'cluster', 'shard', 'tokenizer']);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A copy of the clustered run, to train in. */
async function copyRun(name: string) {
  const out = join(dir, name);
  await cp(join(dir, 'clustered'), out, { recursive: true });
  const config = configOf(out);
  const run = await openRun(config);
  return { run, ctx: await stageContext(run, config), layout: new RunLayout(out) };
}

describe('training stages', () => {
  it('each runs alone as a stage and trains the model the shared pool trains', async () => {
    const alone = await copyRun('alone');
    const report = await executeStage(denseStage, alone.ctx);
    expect(report.status).toBe('ran');
    expect(report.info).toEqual({
      models: [{ name: 'dense', reused: false, resumedFromStep: 0, steps: 16 }],
    });
    expect(alone.run.stageDone('dense')).toBe(true);
    expect((await executeStage(denseStage, alone.ctx)).status).toBe('reused');

    const pooled = await copyRun('pooled');
    const [viaPool] = await runTrainingStages(pooled.ctx, [denseStage]);
    expect(viaPool!.status).toBe('ran');
    expect(pooled.run.stage('dense')!.configHash).toBe(alone.run.stage('dense')!.configHash);
    const weights = (l: RunLayout) => readFile(join(l.dense, 'group1-shard1of1.bin'));
    expect((await weights(alone.layout)).equals(await weights(pooled.layout))).toBe(true);
  }, 240_000);

  it('the random baseline prepares its data and trains its experts when run alone', async () => {
    const alone = await copyRun('random');
    const report = await executeStage(randomStage, alone.ctx);
    expect(report.status).toBe('ran');
    expect(await alone.layout.randomShardIds()).toEqual([0, 1]);
    expect(await alone.layout.randomExpertIds()).toEqual([0, 1]);
    const models = (report.info as { models: { name: string; steps: number }[] }).models;
    expect(models.map((m) => [m.name, m.steps])).toEqual([
      ['random-expert-0', 8],
      ['random-expert-1', 8],
    ]);
  }, 240_000);
});
