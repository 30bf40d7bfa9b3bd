import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunLayout } from '@cbtm/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/load-config.js';
import { openRun, runStages, stageContext } from '../run-pipeline.js';
import { tinyConfig } from '../test-utils/tiny-config.js';
import { executeStage } from './stage.js';
import { denseStage, randomStage, runTrainingStages, seedStage } from './training.js';

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

  it('trains the seed on train.seedThreads threads: the same model up to rounding', async () => {
    const seedRun = async (name: string, seedThreads: number) => {
      const out = join(dir, name);
      await cp(join(dir, 'clustered'), out, { recursive: true });
      const config = resolveConfig(
        tinyConfig(out, {
          train: { ...tinyConfig(out).train!, seedTokens: 4096, seedThreads, workers: 2 },
        }),
      );
      const ctx = await stageContext(await openRun(config), config);
      const [report] = await runTrainingStages(ctx, [seedStage]);
      expect(report!.status).toBe('ran');
      const layout = new RunLayout(out);
      const state = JSON.parse(await readFile(join(layout.seed, 'train-state.json'), 'utf8'));
      const bin = await readFile(join(layout.seed, 'group1-shard1of1.bin'));
      const weights = new Float32Array(bin.buffer, bin.byteOffset, bin.byteLength / 4);
      return { state, weights };
    };
    const one = await seedRun('seed-1', 1);
    const two = await seedRun('seed-2', 2);
    expect(one.state.hyperparameters.threads).toBe(1);
    expect(two.state.hyperparameters.threads).toBe(2);
    expect(two.state.step).toBe(one.state.step);
    expect(two.state.done).toBe(true);
    // Two half-batch gradients summed in another order: equal up to float32 rounding.
    let maxDiff = 0;
    for (let i = 0; i < one.weights.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(one.weights[i]! - two.weights[i]!));
    expect(two.weights.length).toBe(one.weights.length);
    expect(maxDiff).toBeLessThan(1e-3);
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
