import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@cbtm/core';
import { demoCorpusPaths, RunLayout, readCorpus } from '@cbtm/core/node';
import {
  BpeTokenizer,
  encodeSafetensors,
  GptModel,
  gpt2ConfigJson,
  gptParamSpecs,
  readTrainState,
  resolveGptConfig,
  toGpt2Tensors,
  trainBpeTokenizer,
} from '@cbtm/train/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import { runPipeline } from '../run-pipeline.js';
import { captureContext } from '../test-utils/capture-context.js';
import { tinyConfig } from '../test-utils/tiny-config.js';

// A run that branches from a GPT-2 checkpoint the test writes itself: its tokenizer becomes the
// run's, every model starts from its weights, and a changed checkpoint retrains what it must.
let root: string;
let ckpt: string;
const model = { nLayer: 1, dModel: 32, nHead: 2, contextLength: 32 } as const;

/** Writes config.json, model.safetensors, tokenizer.json and tokenizer_config.json into `dir`. */
async function writeCheckpoint(dir: string, tok: BpeTokenizer, seed: number) {
  const config = resolveGptConfig({ ...model, vocabSize: tok.vocabSize });
  const rng = new Rng(seed);
  const weights = new Map(
    gptParamSpecs(config).map((s) => [
      s.name,
      Float32Array.from(
        { length: s.shape.reduce((a, b) => a * b, 1) },
        () => (s.name.endsWith('.gamma') ? 1 : 0) + rng.normal() * 0.5,
      ),
    ]),
  );
  await mkdir(dir, { recursive: true });
  const json = gpt2ConfigJson(config, { eosTokenId: tok.eosId, padTokenId: tok.padId });
  await writeFile(join(dir, 'config.json'), JSON.stringify(json));
  await writeFile(
    join(dir, 'model.safetensors'),
    encodeSafetensors(toGpt2Tensors(config, weights)),
  );
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tok.toJSON()));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tok.toTokenizerConfig()));
  return weights;
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

const config = () => {
  const base = tinyConfig(join(root, 'run'), {
    baselines: { dense: true, random: false },
    report: { enabled: false },
    model,
  });
  return { ...base, train: { ...base.train, seedFrom: ckpt } };
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-seed-hf-'));
  ckpt = join(root, 'my-gpt2');
  const texts: string[] = [];
  for await (const d of readCorpus(demoCorpusPaths().valid)) {
    texts.push(d.text);
    if (texts.length >= 40) break;
  }
  // Another tokenizer than the run would train (other vocabulary size and sample).
  const tok = await trainBpeTokenizer(texts, { vocabSize: 280, seed: 9 });
  await writeCheckpoint(ckpt, tok, 1);
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('train.seedFrom a Hugging Face checkpoint', () => {
  it('uses its tokenizer and starts every model from its weights', async () => {
    const result = await runPipeline(config());
    const status = Object.fromEntries(result.stages.map((s) => [s.name, s.status]));
    expect(status).toMatchObject({
      tokenizer: 'ran',
      seed: 'skipped',
      experts: 'ran',
      dense: 'ran',
    });
    const layout = new RunLayout(join(root, 'run'));
    const runTok = JSON.parse(await readFile(layout.tokenizer, 'utf8'));
    expect(runTok).toEqual(JSON.parse(await readFile(join(ckpt, 'tokenizer.json'), 'utf8')));
    const start = await writeCheckpoint(
      join(root, 'again'),
      await BpeTokenizer.load(layout.tokenizer),
      1,
    );
    for (const dir of [layout.expert(0), layout.expert(1), layout.dense]) {
      expect((await readTrainState(dir)).initFrom).toBe(ckpt);
      const trained = await GptModel.load(dir);
      const w = trained.getWeights();
      trained.dispose();
      // A few dozen AdamW steps at lr 3e-3 move each weight by well under 0.1; the checkpoint's
      // weights are N(0, 0.5), a fresh model's N(0, 0.02).
      expect(meanAbsDiff(w.get('wte')!, start.get('wte')!), dir).toBeLessThan(0.05);
      expect(meanAbsDiff(w.get('h.0.mlp.w1')!, start.get('h.0.mlp.w1')!), dir).toBeLessThan(0.05);
    }
  }, 300_000);

  it('resumes as is, and retrains the models (not the tokenizer) when the weights change', async () => {
    const same = await runPipeline(config());
    const status = Object.fromEntries(same.stages.map((s) => [s.name, s.status]));
    expect(status).toMatchObject({ tokenizer: 'reused', experts: 'reused', dense: 'reused' });
    const tok = await BpeTokenizer.load(join(ckpt, 'tokenizer.json'));
    await writeCheckpoint(ckpt, tok, 2);
    const changed = await runPipeline(config());
    const after = Object.fromEntries(changed.stages.map((s) => [s.name, s.status]));
    expect(after).toMatchObject({ tokenizer: 'reused', experts: 'ran', dense: 'ran' });
  }, 300_000);

  it('says which model settings to change when the shape differs, and checks the flag', async () => {
    const wrong = { ...config(), model: { ...model, dModel: 16 } };
    await expect(runPipeline(wrong)).rejects.toThrow(
      'whose shape differs from the config\'s model (dModel 16 here, 32 there). Set "model": {"nLayer":1,"dModel":32,"nHead":2,"contextLength":32,"mlpRatio":4}',
    );
    await expect(
      runCli(['run', '--out', join(root, 'x'), '--seed-from-hf', root], captureContext(root)),
    ).rejects.toThrow(`--seed-from-hf ${root} is not a Hugging Face checkpoint folder`);
  });
});
