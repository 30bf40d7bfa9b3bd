import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GptConfig, gptParamSpecs, resolveGptConfig } from '../model/gpt-config.js';
import { writeModelFiles } from '../model/model-files.js';
import type { BpeTokenizer } from '../tokenizer/bpe-tokenizer.js';
import { trainBpeTokenizer } from '../tokenizer/bpe-trainer.js';
import { gpt2ConfigJson, toGpt2Tensors } from './gpt2-layout.js';
import { isHfCheckpoint, readHfCheckpoint, readSeedModelFiles } from './read-hf-checkpoint.js';
import { encodeSafetensors } from './safetensors.js';

let root: string;
let tok: BpeTokenizer;
let config: GptConfig;
let weights: Map<string, Float32Array>;

/** A checkpoint folder written by hand; `edit` changes config.json or the tensors first. */
async function checkpoint(
  name: string,
  edit: { config?: object; drop?: string; tokenizer?: boolean } = {},
): Promise<string> {
  const dir = join(root, name);
  const json = {
    ...gpt2ConfigJson(config, { eosTokenId: tok.eosId, padTokenId: tok.padId }),
    ...edit.config,
  };
  const tensors = toGpt2Tensors(config, weights);
  if (edit.drop) tensors.delete(edit.drop);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(json));
  await writeFile(join(dir, 'model.safetensors'), encodeSafetensors(tensors));
  if (edit.tokenizer !== false) {
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tok.toJSON()));
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tok.toTokenizerConfig()));
  }
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-read-hf-'));
  tok = await trainBpeTokenizer(['the cat sat on the mat', 'a dog ran'], {
    vocabSize: 270,
    seed: 1,
  });
  config = resolveGptConfig({
    vocabSize: tok.vocabSize,
    nLayer: 1,
    dModel: 8,
    nHead: 2,
    contextLength: 8,
  });
  let k = 0;
  weights = new Map(
    gptParamSpecs(config).map((s) => [
      s.name,
      Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => (k++ % 97) / 97),
    ]),
  );
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('readHfCheckpoint', () => {
  it('reads a hand-written folder: shape, weights and tokenizer with its special tokens', async () => {
    const dir = await checkpoint('ok');
    expect(isHfCheckpoint(dir)).toBe(true);
    const ckpt = await readHfCheckpoint(dir);
    expect(ckpt.config).toEqual(config);
    expect(ckpt.weights).toEqual(weights);
    expect(ckpt.tokenizer.eosId).toBe(tok.eosId);
    expect(ckpt.tokenizer.padId).toBe(tok.padId);
  });

  it('names the file and the problem', async () => {
    const llama = await checkpoint('llama', { config: { model_type: 'llama' } });
    await expect(readHfCheckpoint(llama)).rejects.toThrow(
      `${join(llama, 'config.json')}: model_type is "llama"`,
    );
    const missing = await checkpoint('missing', { drop: 'transformer.h.0.attn.c_attn.bias' });
    await expect(readHfCheckpoint(missing)).rejects.toThrow(
      `${join(missing, 'model.safetensors')} has no tensor transformer.h.0.attn.c_attn.bias`,
    );
    const wide = await checkpoint('wide', { config: { n_embd: 16 } });
    await expect(readHfCheckpoint(wide)).rejects.toThrow(
      `${join(wide, 'model.safetensors')}: tensor transformer.wte.weight has shape [${tok.vocabSize}, 8], but config.json says [${tok.vocabSize}, 16].`,
    );
    const small = await checkpoint('small', { config: { vocab_size: 100 } });
    await expect(readHfCheckpoint(small)).rejects.toThrow(`transformer.wte.weight has shape`);
    const noTokenizer = await checkpoint('no-tokenizer', { tokenizer: false });
    await expect(readHfCheckpoint(noTokenizer)).rejects.toThrow(
      join(noTokenizer, 'tokenizer.json'),
    );
  });
});

describe('readSeedModelFiles', () => {
  it('reads a cbtm folder as it is, and a checkpoint with the target’s dropout', async () => {
    const cbtm = join(root, 'cbtm-model');
    await writeModelFiles(cbtm, config, weights);
    expect(isHfCheckpoint(cbtm)).toBe(false);
    expect(await readSeedModelFiles(cbtm, config)).toEqual({ config, weights });
    const target = { ...config, dropout: 0.1 };
    const seed = await readSeedModelFiles(await checkpoint('seed'), target);
    expect(seed.config).toEqual(target);
    expect(seed.weights).toEqual(weights);
  });
});
