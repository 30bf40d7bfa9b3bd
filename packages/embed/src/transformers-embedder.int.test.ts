import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Embedder } from './embedder.js';
import { createPrefixEmbedding } from './prefix-embedding.js';
import { describeEmbedderContract } from './test-utils/embedder-contract.js';
import {
  type TinyBertModel,
  tinyBertEmbedding,
  writeTinyBertModel,
} from './test-utils/tiny-bert.js';
import { TransformersEmbedder } from './transformers-embedder.js';

const root = mkdtempSync(join(tmpdir(), 'cbtm-tiny-bert-'));
const modelDir = join(root, 'tiny-bert');
let model: TinyBertModel;

beforeAll(async () => {
  model = await writeTinyBertModel(modelDir, { seed: 7 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const close = async (e: Embedder) => {
  if (e instanceof TransformersEmbedder) await e.close();
};

describeEmbedderContract({
  name: 'TransformersEmbedder (tiny generated BERT)',
  create: () => TransformersEmbedder.create({ model: modelDir, batchSize: 4 }),
  close,
  texts: [
    'the cat sat on the mat',
    'hello world!',
    'a big red dog runs',
    'small blue cats, running.',
    'the dog',
  ],
});

describe('TransformersEmbedder', () => {
  let embedder: TransformersEmbedder;
  beforeAll(async () => {
    embedder = await TransformersEmbedder.create({ model: modelDir });
  });
  afterAll(async () => {
    await embedder?.close();
  });

  it('mean-pools and normalizes exactly as computed from the weights by hand', async () => {
    const v = model.vocab;
    const id = (t: string) => v.get(t)!;
    const cases: [string, number[]][] = [
      // [CLS] ... [SEP]; WordPiece splits "cats" into "cat" + "##s", lowercases, splits punctuation.
      ['hello world', [2, id('hello'), id('world'), 3]],
      [
        'The CATS sat on the mat!',
        [2, id('the'), id('cat'), id('##s'), id('sat'), id('on'), id('the'), id('mat'), id('!'), 3],
      ],
      ['zebra', [2, 1, 3]],
    ];
    // One batch, so the shorter sequences are padded: the mask must keep padding out.
    const got: Float32Array[] = [];
    for await (const x of embedder.embed(cases.map(([t]) => t))) got.push(x);
    cases.forEach(([, ids], i) => {
      const want = tinyBertEmbedding(model, ids);
      for (let c = 0; c < model.hidden; c++)
        expect(Math.abs(got[i]![c]! - want[c]!)).toBeLessThan(1e-5);
    });
    expect(embedder.dimension).toBe(model.hidden);
  });

  it('refuses a missing folder unless downloads are allowed, and says how to fix it', async () => {
    await expect(TransformersEmbedder.create({ model: join(root, 'nope') })).rejects.toThrow(
      /allowRemoteModels: true/,
    );
  });

  it('explains which files a local model folder needs', async () => {
    await expect(TransformersEmbedder.create({ model: root })).rejects.toThrow(
      /config\.json, tokenizer\.json/,
    );
  });

  it('re-embeds the prefix every `prefixStride` words for routing', async () => {
    const strided = await TransformersEmbedder.create({ model: modelDir, prefixStride: 2 });
    try {
      const ctx = createPrefixEmbedding(strided);
      expect(ctx.incremental).toBe(false);
      ctx.push('the cat');
      const first = await ctx.vector();
      ctx.push(' sat');
      expect(Array.from(await ctx.vector())).toEqual(Array.from(first)); // 1 new word < stride
      ctx.push(' on');
      const third = await ctx.vector(); // 2 new words: re-embedded
      expect(Array.from(third)).toEqual(Array.from(await strided.embedText('the cat sat on')));
    } finally {
      await strided.close();
    }
  });
});
