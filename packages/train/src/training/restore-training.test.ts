import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@cbtm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GptModel } from '../model/gpt-model.js';
import { writeModelFiles } from '../model/model-files.js';
import { onBackend } from '../test-utils/backends.js';
import { AdamW } from './adamw.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { restoreTraining } from './restore-training.js';
import { saveTraining } from './save-training.js';
import { readTrainState } from './train-state.js';
import type { CheckpointHeader, TrainingState } from './training-state.js';

const config = { vocabSize: 11, nLayer: 1, dModel: 8, nHead: 2, contextLength: 8 };
const adamOptions = { beta1: 0.9, beta2: 0.95, weightDecay: 0.1 };
const data = {
  epoch: 2,
  docIndex: 7,
  rng: new Rng(4).state(),
  pending: Int32Array.of(1, 2, 3),
  buffer: Int32Array.of(4, 5, 6, 7, 8, 9, 10, 0),
};

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-restore-'));
  await onBackend('cpu', () => undefined);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A state partway through a training: weights and moments moved by two AdamW steps. */
function midTraining(model: GptModel): TrainingState {
  const specs = model.paramSpecs();
  const current = model.getWeights();
  const weights = specs.map((s) => current.get(s.name)!.slice());
  const optimizer = new AdamW(
    weights.map((w) => w.length),
    adamOptions,
  );
  const grads = weights.map((w) => w.map((_, i) => Math.sin(i + 1)));
  for (let k = 0; k < 2; k++)
    optimizer.step(
      weights,
      grads,
      weights.map(() => true),
      1e-2,
    );
  const trainRng = new Rng(9);
  trainRng.int(0, 100);
  return {
    weights,
    optimizer,
    step: 2,
    tokens: 64,
    trainRng,
    history: [{ step: 2, loss: 2.5, lr: 1e-2, tokensPerSecond: 10, valLoss: 2.7 }],
    valLoss: 2.7,
  };
}

describe('saveTraining and restoreTraining', () => {
  it('restore exactly what was saved, and set the weights on the model', async () => {
    const dir = join(root, 'round-trip');
    const model = await GptModel.create(config, { seed: 1 });
    const state = midTraining(model);
    const ctx = {
      dir,
      model,
      totalSteps: 10,
      fingerprint: 'fp',
      backend: 'cpu' as const,
      hyperparameters: { batchSize: 4 },
      heldOutDocuments: 3,
      initFrom: undefined,
    };
    await saveTraining(ctx, state, data, false, null);
    const saved = await readTrainState(dir);
    expect(saved).toMatchObject({ step: 2, totalSteps: 10, tokens: 64, done: false, valLoss: 2.7 });
    expect(saved.data).toEqual({ epoch: 2, docIndex: 7, heldOutDocuments: 3 });
    expect(saved.rng.train).toEqual(state.trainRng.state());

    const fresh = await GptModel.create(config, { seed: 2 });
    const r = await restoreTraining({
      model: fresh,
      fingerprint: 'fp',
      adamOptions,
      seed: 0,
      checkpointDir: dir,
      resume: true,
    });
    expect(r.state.weights).toEqual(state.weights);
    expect(r.state.optimizer.state()).toEqual(state.optimizer.state());
    expect(r.state).toMatchObject({ step: 2, tokens: 64, valLoss: 2.7, history: state.history });
    expect(r.state.trainRng.state()).toEqual(state.trainRng.state());
    expect(r.stream).toEqual(data);
    const onModel = fresh.getWeights();
    fresh.paramSpecs().forEach((s, i) => {
      expect(onModel.get(s.name)).toEqual(state.weights[i]);
    });

    // Without resume, the checkpoint is ignored: the model's own weights, a fresh optimizer.
    const own = fresh.getWeights();
    const start = await restoreTraining({
      model: fresh,
      fingerprint: 'fp',
      adamOptions,
      seed: 5,
      checkpointDir: dir,
      resume: false,
    });
    expect(start.stream).toBeUndefined();
    expect(start.state).toMatchObject({ step: 0, tokens: 0, valLoss: null, history: [] });
    expect(start.state.optimizer.state().t).toBe(0);
    expect(start.state.trainRng.state()).toEqual(new Rng(5 ^ 0x5eed).state());
    fresh.paramSpecs().forEach((s, i) => {
      expect(start.state.weights[i]).toEqual(own.get(s.name));
    });
    model.dispose();
    fresh.dispose();
  });

  it('refuse a checkpoint of other settings, another shape, or missing a section', async () => {
    const dir = join(root, 'refused');
    const model = await GptModel.create(config, { seed: 1 });
    const ctx = {
      dir,
      model,
      totalSteps: 10,
      fingerprint: 'fp',
      backend: 'cpu' as const,
      hyperparameters: {},
      heldOutDocuments: 0,
      initFrom: undefined,
    };
    await saveTraining(ctx, midTraining(model), data, false, null);
    const resume = { adamOptions, seed: 0, checkpointDir: dir, resume: true };
    await expect(restoreTraining({ ...resume, model, fingerprint: 'other' })).rejects.toMatchObject(
      { code: 'E_MODEL', message: expect.stringMatching(/other training settings/) },
    );
    const wider = await GptModel.create({ ...config, dModel: 16 }, { seed: 1 });
    await expect(
      restoreTraining({ ...resume, model: wider, fingerprint: 'fp' }),
    ).rejects.toMatchObject({
      code: 'E_MODEL',
      message: expect.stringMatching(/another model shape/),
    });

    const ck = await readCheckpoint<CheckpointHeader>(dir);
    const sections = [...ck.sections].filter(([name]) => name !== 'data:buffer');
    await writeCheckpoint(
      dir,
      ck.header,
      sections.map(([name, d]) => ({ name, data: d })),
    );
    await expect(restoreTraining({ ...resume, model, fingerprint: 'fp' })).rejects.toMatchObject({
      code: 'E_FORMAT',
      message: expect.stringMatching(/lacks data:buffer/),
    });
    model.dispose();
    wider.dispose();
  });

  it('branch from a seed model of the same shape only (initFrom)', async () => {
    const seedDir = join(root, 'seed');
    const seedModel = await GptModel.create(config, { seed: 7 });
    await writeModelFiles(seedDir, seedModel.config, seedModel.getWeights());
    const model = await GptModel.create(config, { seed: 1 });
    const r = await restoreTraining({
      model,
      fingerprint: 'fp',
      adamOptions,
      seed: 0,
      resume: false,
      initFrom: seedDir,
    });
    const want = seedModel.getWeights();
    model.paramSpecs().forEach((s, i) => {
      expect(r.state.weights[i]).toEqual(want.get(s.name));
    });
    const wider = await GptModel.create({ ...config, dModel: 16 }, { seed: 1 });
    await expect(
      restoreTraining({
        model: wider,
        fingerprint: 'fp',
        adamOptions,
        seed: 0,
        resume: false,
        initFrom: seedDir,
      }),
    ).rejects.toThrow(/another shape/);
    seedModel.dispose();
    model.dispose();
    wider.dispose();
  });
});
