import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@cbtm/core';
import {
  AutoModelForCausalLM,
  env,
  type PreTrainedModel,
  pipeline,
  Tensor,
} from '@huggingface/transformers';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gptParamSpecs } from '../model/gpt-config.js';
import { gptHidden, gptLogits } from '../model/gpt-forward.js';
import { GptModel } from '../model/gpt-model.js';
import type { BpeTokenizer } from '../tokenizer/bpe-tokenizer.js';
import { trainBpeTokenizer } from '../tokenizer/bpe-trainer.js';
import { exportHfModel, HF_EXPORT_FILES, HF_EXPORT_MARKER } from './export-hf.js';
import { readHfCheckpoint } from './read-hf-checkpoint.js';

const TEXTS = [
  'the cat sat on the mat and the dog sat on the log',
  'a big red dog ran to the small blue cat',
  'the court held that the contract was void',
  'in the beginning was the word, and the word was with the cat',
];
const PROMPT = 'the dog sat on';

let root: string;
let tok: BpeTokenizer;
let model: GptModel;
const saved = { allow: env.allowRemoteModels, path: env.localModelPath };

/**
 * A tiny model whose weights are far from the N(0, 0.02) initialisation, so its next-token
 * distribution is peaked and greedy decoding has clear winners.
 */
async function tinyModel(vocabSize: number): Promise<GptModel> {
  const base = await GptModel.create(
    { vocabSize, nLayer: 2, dModel: 16, nHead: 2, contextLength: 32, mlpRatio: 4 },
    { seed: 3 },
  );
  const rng = new Rng(17);
  const weights = new Map<string, Float32Array>();
  for (const s of gptParamSpecs(base.config)) {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const gain = s.name.endsWith('.gamma');
    const scale = s.shape.length >= 2 ? 0.5 : 0.2;
    weights.set(
      s.name,
      Float32Array.from({ length: size }, () => (gain ? 1 : 0) + rng.normal() * scale),
    );
  }
  base.setWeights(weights);
  return base;
}

/** cbtm's greedy continuation: argmax of its own forward pass, stopping at end-of-text. */
async function cbtmGreedy(prompt: number[], maxNew: number): Promise<number[]> {
  const ids = [...prompt];
  const V = model.config.vocabSize;
  for (let n = 0; n < maxNew; n++) {
    const lp = await model.logProbs(Int32Array.from(ids));
    const row = lp.subarray((ids.length - 1) * V, ids.length * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (row[v]! > row[best]!) best = v;
    ids.push(best);
    if (best === tok.eosId) break;
  }
  return ids;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-hf-export-'));
  tok = await trainBpeTokenizer(TEXTS, { vocabSize: 300, seed: 1 });
  model = await tinyModel(tok.vocabSize);
  await model.save(join(root, 'model'));
  await tok.save(join(root, 'tokenizer.json'));
  await exportHfModel(join(root, 'model'), join(root, 'export'), {
    tokenizer: join(root, 'tokenizer.json'),
  });
  env.allowRemoteModels = false;
  env.localModelPath = root;
});

afterAll(async () => {
  env.allowRemoteModels = saved.allow;
  env.localModelPath = saved.path;
  model?.dispose();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('exportHfModel', () => {
  it('writes a GPT-2 folder that transformers.js runs with cbtm’s logits', async () => {
    const config = JSON.parse(await readFile(join(root, 'export', 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'gpt2',
      n_embd: 16,
      n_layer: 2,
      n_head: 2,
      n_positions: 32,
      n_inner: 64,
      vocab_size: tok.vocabSize,
      activation_function: 'gelu_new',
      layer_norm_epsilon: 1e-5,
    });
    const hf = (await AutoModelForCausalLM.from_pretrained('export')) as PreTrainedModel;
    try {
      const ids = tok.encode('the big cat ran to the court and the word');
      const L = ids.length;
      expect(L).toBeGreaterThan(5);
      const out = (await hf({
        input_ids: new Tensor('int64', BigInt64Array.from(ids, BigInt), [1, L]),
        attention_mask: new Tensor('int64', new BigInt64Array(L).fill(1n), [1, L]),
      })) as { logits: Tensor };
      expect(out.logits.dims).toEqual([1, L, tok.vocabSize]);
      const theirs = out.logits.data as Float32Array;
      const params = model.params();
      const oursT = tf.tidy(() =>
        gptLogits(params, gptHidden(model.config, params, tf.tensor2d([ids], [1, L], 'int32'))),
      );
      const ours = (await oursT.data()) as Float32Array;
      oursT.dispose();
      let maxDiff = 0;
      let maxAbs = 0;
      for (let i = 0; i < ours.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - theirs[i]!));
        maxAbs = Math.max(maxAbs, Math.abs(ours[i]!));
      }
      console.log(
        `export-hf: max |logit difference| ${maxDiff.toExponential(2)} (max |logit| ${maxAbs.toFixed(2)})`,
      );
      // The logits are far from zero, so the tolerance is a real test.
      expect(maxAbs).toBeGreaterThan(1);
      expect(maxDiff).toBeLessThan(1e-4);
    } finally {
      await hf.dispose();
    }
  });

  it('gives each left-padded sequence of a batch the logits it has alone', async () => {
    const a = tok.encode('the cat sat on the mat');
    const b = tok.encode('a dog ran');
    const L = a.length;
    const pad = L - b.length;
    expect(pad).toBeGreaterThan(0);
    const ids = [...a, ...Array(pad).fill(tok.padId), ...b];
    const mask = [...Array(L).fill(1), ...Array(pad).fill(0), ...Array(b.length).fill(1)];
    const hf = (await AutoModelForCausalLM.from_pretrained('export')) as PreTrainedModel;
    try {
      const out = (await hf({
        input_ids: new Tensor('int64', BigInt64Array.from(ids, BigInt), [2, L]),
        attention_mask: new Tensor('int64', BigInt64Array.from(mask, BigInt), [2, L]),
      })) as { logits: Tensor };
      const theirs = out.logits.data as Float32Array;
      const V = tok.vocabSize;
      for (const [row, seq, offset] of [
        [0, a, 0],
        [1, b, pad],
      ] as const) {
        const lp = await model.logProbs(Int32Array.from(seq));
        for (let t = 0; t < seq.length; t++) {
          const logits = theirs.subarray(
            (row * L + offset + t) * V,
            (row * L + offset + t + 1) * V,
          );
          // Compare log-probabilities: log-softmax of transformers.js's logits.
          const max = Math.max(...logits);
          const lse = max + Math.log(logits.reduce((s, x) => s + Math.exp(x - max), 0));
          for (let v = 0; v < V; v++) {
            expect(Math.abs(logits[v]! - lse - lp[t * V + v]!)).toBeLessThan(1e-4);
          }
        }
      }
    } finally {
      await hf.dispose();
    }
  });

  it('generates greedily the same tokens as cbtm, through the key/value cache', async () => {
    const prompt = tok.encode(PROMPT);
    const maxNew = 16;
    const ours = await cbtmGreedy(prompt, maxNew);
    expect(ours.length).toBeGreaterThan(prompt.length + 4);
    const hf = (await AutoModelForCausalLM.from_pretrained('export')) as PreTrainedModel;
    try {
      const sequences = (await hf.generate({
        inputs: new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]),
        max_new_tokens: maxNew,
        do_sample: false,
        // transformers.js takes generation settings as extra keys; its type leaves them out.
      } as Parameters<PreTrainedModel['generate']>[0])) as Tensor;
      expect(Array.from(sequences.data as BigInt64Array, Number)).toEqual(ours);
    } finally {
      await hf.dispose();
    }
    const generator = await pipeline('text-generation', 'export');
    try {
      const [result] = (await generator(PROMPT, { max_new_tokens: maxNew, do_sample: false })) as {
        generated_text: string;
      }[];
      expect(result!.generated_text).toBe(tok.decode(ours.filter((id) => !tok.isSpecial(id))));
    } finally {
      await generator.dispose();
    }
  });

  it('reads back as the same model, config and tokenizer', async () => {
    const ckpt = await readHfCheckpoint(join(root, 'export'));
    expect(ckpt.config).toEqual(model.config);
    const weights = model.getWeights();
    for (const [name, w] of weights) expect(ckpt.weights.get(name)).toEqual(w);
    expect(ckpt.tokenizer.toJSON()).toEqual(tok.toJSON());
    expect(ckpt.tokenizer.eosId).toBe(tok.eosId);
  });

  it('writes again into its own export, and refuses any other non-empty folder', async () => {
    const out = join(root, 'export');
    await expect(
      exportHfModel(join(root, 'model'), out, { tokenizer: join(root, 'tokenizer.json') }),
    ).resolves.toMatchObject({ files: HF_EXPORT_FILES });
    const other = join(root, 'someone-elses');
    await mkdir(other);
    await writeFile(join(other, 'notes.txt'), 'keep me');
    await expect(
      exportHfModel(join(root, 'model'), other, { tokenizer: join(root, 'tokenizer.json') }),
    ).rejects.toThrow(
      `${other} is not empty and was not written by an export (no ${HF_EXPORT_MARKER})`,
    );
    expect(await readFile(join(other, 'notes.txt'), 'utf8')).toBe('keep me');
  });
});
