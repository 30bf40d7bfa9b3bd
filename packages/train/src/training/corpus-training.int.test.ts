import { existsSync } from 'node:fs';
import { demoCorpusPaths, readCorpus } from '@cbtm/core/node';
import { describe, expect, it } from 'vitest';
import { GptModel } from '../model/gpt-model.js';
import { onBackend } from '../test-utils/backends.js';
import { trainBpeTokenizer } from '../tokenizer/index.js';
import { evaluateLanguageModel } from './evaluate-language-model.js';
import { trainLanguageModel } from './train-language-model.js';

// The shared corpus-v1 where this machine has it, else the demo corpus (a subset of it).
const V1 = '/work/shared/data/corpus-v1';
const paths = existsSync(`${V1}/train.jsonl.gz`)
  ? { train: `${V1}/train.jsonl.gz`, valid: `${V1}/valid.jsonl.gz` }
  : demoCorpusPaths();

describe('training on real text', () => {
  it('lowers held-out loss on a corpus-v1 shard', async () => {
    await onBackend('wasm', async () => {
      const shard = () => readCorpus(paths.train, { sample: { size: 300, seed: 1 } });
      const tokenizer = await trainBpeTokenizer(shard(), { vocabSize: 512, sampleBytes: 300_000 });
      const model = await GptModel.create(
        { vocabSize: tokenizer.vocabSize, nLayer: 1, dModel: 32, nHead: 2, contextLength: 32 },
        { seed: 1 },
      );
      const valid = () => readCorpus(paths.valid, { limit: 60 });
      const before = await evaluateLanguageModel(model, valid, tokenizer, { tokens: 2048 });
      const r = await trainLanguageModel({
        model,
        tokenizer,
        data: shard,
        steps: 80,
        batchSize: 16,
        lr: 3e-3,
        evalEvery: 40,
        evalData: valid,
        evalTokens: 2048,
      });
      expect(before.tokens).toBe(2048);
      expect(before.loss).toBeGreaterThan(Math.log(512) - 0.3);
      expect(r.valLoss).not.toBeNull();
      expect(r.valLoss!).toBeLessThan(before.loss - 0.5);
      const after = await evaluateLanguageModel(model, valid, tokenizer, { tokens: 2048 });
      expect(after.loss).toBeCloseTo(r.valLoss!, 5);
      model.dispose();
    });
  });
});
