import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortError } from '@cbtm/core';
import { pathExists } from '@cbtm/core/node';
import { afterAll, describe, expect, it } from 'vitest';
import { GptModel } from '../model/gpt-model.js';
import { onBackend } from '../test-utils/backends.js';
import { CharTokenizer } from '../test-utils/char-tokenizer.js';
import { CHECKPOINT_FILE } from './checkpoint.js';
import { trainLanguageModel } from './train-language-model.js';
import { readTrainState } from './train-state.js';

const tok = new CharTokenizer();
// Five 63-character documents: with the end-of-document id each fills one 64-token block.
const docs = [
  'the quick brown fox jumps over the lazy dog and runs far away.',
  'pack my box with five dozen liquor jugs, then carry them home.',
  'how vexingly quick daft zebras jump over a fence in the zoo.',
  'sphinx of black quartz, judge my vow, said the old wizard.',
  'jackdaws love my big sphinx of quartz more than gold coins.',
].map((s) => s.padEnd(63, '.'));
const config = { vocabSize: tok.vocabSize, nLayer: 1, dModel: 32, nHead: 2, contextLength: 64 };

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'cbtm-train-'));
  dirs.push(d);
  return d;
};

describe('trainLanguageModel', () => {
  it('overfits a few hundred tokens below 0.1 nats per token on wasm', async () => {
    await onBackend('wasm', async () => {
      const model = await GptModel.create(config, { seed: 1 });
      const r = await trainLanguageModel({
        model,
        tokenizer: tok,
        data: docs,
        steps: 100,
        batchSize: 4,
        lr: 1e-2,
        weightDecay: 0,
        shuffleBuffer: 8,
      });
      expect(r.backend).toBe('wasm');
      expect(r.steps).toBe(100);
      expect(r.tokens).toBe(100 * 4 * 64);
      expect(r.history[0]!.loss).toBeGreaterThan(2);
      expect(r.finalLoss).toBeLessThan(0.1);
      model.dispose();
    });
  });

  it('trains on the cpu backend too', async () => {
    await onBackend('cpu', async () => {
      const model = await GptModel.create({ ...config, dModel: 16 }, { seed: 1 });
      const r = await trainLanguageModel({
        model,
        tokenizer: tok,
        data: docs,
        steps: 40,
        batchSize: 2,
        lr: 2e-2,
        weightDecay: 0,
        logEvery: 1,
      });
      expect(r.backend).toBe('cpu');
      expect(r.history[0]!.loss).toBeGreaterThan(2.5);
      expect(r.finalLoss).toBeLessThan(0.6 * r.history[0]!.loss);
      model.dispose();
    });
  });

  it('resumes exactly: N steps, stop, resume N more equals 2N straight', async () => {
    await onBackend('wasm', async () => {
      const N = 6;
      const common = {
        tokenizer: tok,
        data: docs,
        steps: 2 * N,
        batchSize: 3,
        lr: 5e-3,
        seed: 7,
        shuffleBuffer: 4,
        logEvery: 1,
        checkpointEvery: N,
        evalEvery: 4,
        evalData: docs.slice(0, 2),
      };
      const cfg = { ...config, dropout: 0.1 };
      const straightDir = await tempDir();
      const m1 = await GptModel.create(cfg, { seed: 2 });
      const straight = await trainLanguageModel({
        ...common,
        model: m1,
        checkpointDir: straightDir,
      });

      const dir = await tempDir();
      const m2 = await GptModel.create(cfg, { seed: 2 });
      const ac = new AbortController();
      const first = trainLanguageModel({
        ...common,
        model: m2,
        checkpointDir: dir,
        signal: ac.signal,
        onProgress: (e) => {
          if (e.status === 'progress' && e.done === N) ac.abort();
        },
      });
      await expect(first).rejects.toBeInstanceOf(AbortError);
      expect((await readTrainState(dir)).step).toBe(N);
      m2.dispose();
      const m3 = await GptModel.create(cfg, { seed: 99 }); // other weights: the checkpoint must win
      const resumed = await trainLanguageModel({
        ...common,
        model: m3,
        checkpointDir: dir,
        resume: true,
      });

      expect(resumed.steps).toBe(2 * N);
      expect(resumed.history.map((h) => h.step)).toEqual(straight.history.map((h) => h.step));
      resumed.history.forEach((h, i) => {
        expect(Math.abs(h.loss - straight.history[i]!.loss)).toBeLessThan(1e-5);
        expect(h.lr).toBe(straight.history[i]!.lr);
      });
      expect(Math.abs(resumed.valLoss! - straight.valLoss!)).toBeLessThan(1e-5);
      const w1 = m1.getWeights();
      for (const [name, w] of m3.getWeights()) {
        const ref = w1.get(name)!;
        for (let i = 0; i < w.length; i++) expect(Math.abs(w[i]! - ref[i]!)).toBeLessThan(1e-5);
      }
      m1.dispose();
      m3.dispose();
    });
  });

  it('sees an abort from a timer between steps, without waiting for a checkpoint', async () => {
    await onBackend('wasm', async () => {
      const model = await GptModel.create({ ...config, dModel: 16 }, { seed: 3 });
      const dir = await tempDir();
      const ac = new AbortController();
      const run = trainLanguageModel({
        model,
        tokenizer: tok,
        data: docs,
        steps: 400,
        batchSize: 2,
        lr: 1e-3,
        logEvery: 1,
        checkpointDir: dir,
        signal: ac.signal,
        onProgress: (e) => {
          // A macrotask, as a Ctrl-C handler or a worker's IPC message would be.
          if (e.status === 'progress' && e.done === 3) setTimeout(() => ac.abort(), 0);
        },
      });
      await expect(run).rejects.toBeInstanceOf(AbortError);
      const state = await readTrainState(dir);
      expect(state.step).toBeGreaterThanOrEqual(3);
      expect(state.step).toBeLessThan(10);
      model.dispose();
    });
  });

  it('writes a browser-loadable model, a checkpoint and train-state.json with the backend', async () => {
    await onBackend('wasm', async () => {
      const dir = await tempDir();
      const model = await GptModel.create(config, { seed: 3 });
      const r = await trainLanguageModel({
        model,
        tokenizer: tok,
        data: docs,
        steps: 4,
        batchSize: 2,
        checkpointDir: dir,
        evalEvery: 2,
        evalData: docs,
      });
      const state = await readTrainState(dir);
      expect(state).toMatchObject({
        format: 'cbtm-train-state',
        step: 4,
        totalSteps: 4,
        done: true,
        backend: 'wasm',
        tokens: 4 * 2 * 64,
      });
      expect(state.config).toEqual(model.config);
      expect(state.valLoss).toBe(r.valLoss);
      expect(state.history.filter((h) => h.valLoss !== undefined).map((h) => h.step)).toEqual([
        2, 4,
      ]);
      expect(await pathExists(join(dir, CHECKPOINT_FILE))).toBe(true);
      const loaded = await GptModel.load(dir);
      expect(Array.from(await loaded.logProbs(new Int32Array([3, 4])))).toEqual(
        Array.from(await model.logProbs(new Int32Array([3, 4]))),
      );
      loaded.dispose();
      model.dispose();
    });
  });

  it('splits each batch across threads with the same result up to rounding', async () => {
    await onBackend('wasm', async () => {
      const run = async (threads: number) => {
        const model = await GptModel.create(config, { seed: 8 });
        const r = await trainLanguageModel({
          model,
          tokenizer: tok,
          data: docs,
          steps: 5,
          batchSize: 4,
          lr: 5e-3,
          logEvery: 1,
          threads,
        });
        model.dispose();
        return r.history.map((h) => h.loss);
      };
      const [one, two] = [await run(1), await run(2)];
      for (const [i, l] of two.entries()) expect(Math.abs(l - one[i]!)).toBeLessThan(1e-4);
    });
  });

  it('branches from a seed model (initFrom)', async () => {
    await onBackend('wasm', async () => {
      const seedDir = await tempDir();
      const seed = await GptModel.create(config, { seed: 4 });
      await seed.save(seedDir);
      const expert = await GptModel.create(config, { seed: 5 });
      // lr 0: the weights stay exactly the seed's.
      await trainLanguageModel({
        model: expert,
        tokenizer: tok,
        data: docs,
        steps: 1,
        batchSize: 1,
        lr: 0,
        initFrom: seedDir,
      });
      const a = seed.getWeights();
      for (const [name, w] of expert.getWeights())
        expect(Array.from(w)).toEqual(Array.from(a.get(name)!));
      seed.dispose();
      expert.dispose();
    });
  });

  it('holds out the first documents for validation and refuses data too small for it', async () => {
    await onBackend('wasm', async () => {
      const model = await GptModel.create(config, { seed: 6 });
      const many = Array.from({ length: 12 }, (_, i) => docs[i % 5]!);
      const r = await trainLanguageModel({
        model,
        tokenizer: tok,
        data: many,
        steps: 2,
        batchSize: 1,
        evalEvery: 1,
        evalTokens: 100,
      });
      expect(r.valLoss).toBeGreaterThan(0);
      await expect(
        trainLanguageModel({
          model,
          tokenizer: tok,
          data: docs.slice(0, 1),
          steps: 1,
          batchSize: 1,
          evalEvery: 1,
          evalTokens: 1000,
        }),
      ).rejects.toThrow(/held-out/);
      model.dispose();
    });
  });
});
