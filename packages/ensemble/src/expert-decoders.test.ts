import '@cbtm/train/node'; // the Node.js platform: where the wasm backend finds its files
import { ExactRouter } from '@cbtm/route/node';
import {
  type GptConfig,
  GptModel,
  gptParamSpecs,
  resolveGptConfig,
  selectBackend,
  slidingWindowStart,
} from '@cbtm/train';
import { beforeAll, describe, expect, it } from 'vitest';
import { Ensemble, type GeneratedToken, type GenerateOptions } from './ensemble.js';
import { ExpertDecoders, windowStart } from './expert-decoders.js';
import { ExpertPool } from './expert-pool.js';
import { ExpertStepBatcher } from './expert-step-batcher.js';
import { centroids, tokenizer } from './test-utils/fixture.js';
import { LetterEmbedder } from './test-utils/letter-embedder.js';

// Context 8, so a 30-token generation slides the window many times.
const config: GptConfig = resolveGptConfig({
  vocabSize: tokenizer.vocabSize,
  nLayer: 2,
  dModel: 8,
  nHead: 2,
  contextLength: 8,
  mlpRatio: 2,
});

/** Seeded weights large enough that every expert has its own, far from uniform, predictions. */
function randomWeights(seed: number): Map<string, Float32Array> {
  let s = seed * 2654435761;
  const next = () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s / 0x100000000) * 2 - 1;
  };
  const out = new Map<string, Float32Array>();
  for (const spec of gptParamSpecs(config)) {
    const w = Float32Array.from({ length: spec.shape.reduce((a, b) => a * b, 1) }, next);
    if (spec.name.endsWith('.gamma')) for (let i = 0; i < w.length; i++) w[i] = 1 + 0.3 * w[i]!;
    out.set(spec.name, w);
  }
  // Keep end-of-document rare, so generations run past the context: the final LayerNorm's
  // output has zero mean, so a bias of 2 everywhere gives eos (an all −1 row of the tied
  // embedding) a logit near −16, while the other tokens' logits still depend on the context.
  out.get('lnf.beta')!.fill(2);
  out.get('wte')!.fill(-1, tokenizer.eosId * config.dModel, (tokenizer.eosId + 1) * config.dModel);
  return out;
}

const weights = [1, 2, 3].map(randomWeights);

interface Counting {
  ensemble: Ensemble;
  /** Calls of logProbs (the uncached path) on every loaded expert. */
  logProbsCalls: () => number;
  /** Decoders made and not yet disposed (each holds a key/value cache). */
  liveDecoders: () => number;
  /** Decoders made in all. */
  decodersMade: () => number;
}

/** Three GPT experts under the letter router; each load makes a fresh model (eviction works). */
function gptEnsemble(maxLoaded = 8): Counting {
  let calls = 0;
  let live = 0;
  let made = 0;
  const experts = new ExpertPool(
    3,
    async (j) => {
      const m = await GptModel.fromWeights(config, weights[j]!);
      const logProbs = m.logProbs.bind(m);
      m.logProbs = (ids: Int32Array) => {
        calls++;
        return logProbs(ids);
      };
      const createDecoder = m.createDecoder.bind(m);
      m.createDecoder = (options) => {
        const d = createDecoder(options);
        const dispose = d.dispose.bind(d);
        live++;
        made++;
        d.dispose = () => {
          live--;
          dispose();
        };
        return d;
      };
      return m;
    },
    { maxLoaded },
  );
  const ensemble = new Ensemble({
    tokenizer,
    embedder: new LetterEmbedder('ab'),
    experts,
    router: new ExactRouter(centroids, 3, 2),
  });
  return {
    ensemble,
    logProbsCalls: () => calls,
    liveDecoders: () => live,
    decodersMade: () => made,
  };
}

async function collect(ensemble: Ensemble, prompt: string, opts: GenerateOptions) {
  const out: GeneratedToken[] = [];
  for await (const t of ensemble.generate(prompt, opts)) out.push(t);
  return out;
}

beforeAll(async () => {
  await selectBackend('wasm', { log: () => {} });
});

describe('windowStart', () => {
  it('is @cbtm/train’s slidingWindowStart', () => {
    for (const stride of [1, 3, 8])
      for (let L = 0; L < 30; L++)
        expect(windowStart(L, 8, stride)).toBe(slidingWindowStart(L, 8, stride));
    expect(() => windowStart(3, 8, 9)).toThrow(/slideStride/);
  });
});

describe('Ensemble.generate with key/value caches', () => {
  // Sampling keeps the 3 likeliest tokens: a small seed's first draw from Rng is ≈ 1, which
  // would pick the least likely token (end-of-document) and end the text at once.
  const cases: [string, GenerateOptions][] = [
    ['top-1 greedy', { routing: { topK: 1 }, temperature: 0 }],
    ['top-2 sampled', { routing: { topK: 2 }, seed: 5, topK: 3 }],
    ['all experts, top-p', { seed: 7, topP: 0.9 }],
    [
      'cached prior, top-2',
      { mixing: 'cached-prior', prior: [0.5, 0.2, 0.3], routing: { topK: 2 }, seed: 2, topK: 3 },
    ],
    ['updating prior, top-1', { mixing: 'updating-prior', routing: { topK: 1 }, seed: 3, topK: 3 }],
    ['slide stride 3', { routing: { topK: 2 }, seed: 4, topK: 3, slideStride: 3 }],
  ];

  it.each(cases)(
    '%s: the same tokens as the uncached path, far past the context',
    async (_, opts) => {
      const cached = gptEnsemble();
      const plain = gptEnsemble();
      const a = await collect(cached.ensemble, 'ab b', { ...opts, maxTokens: 30 });
      const b = await collect(plain.ensemble, 'ab b', { ...opts, maxTokens: 30, cache: false });
      expect(a.length).toBeGreaterThan(8 + 4);
      expect(a.map((t) => t.id)).toEqual(b.map((t) => t.id));
      a.forEach((t, i) => {
        expect(t.experts).toEqual(b[i]!.experts);
        t.weights.forEach((w, j) => {
          expect(w).toBeCloseTo(b[i]!.weights[j]!, 5);
        });
      });
      // The cached path never runs a whole window through logProbs, except the prompt's
      // likelihoods of the updating prior; the plain one does at every step.
      const promptCalls = opts.mixing === 'updating-prior' ? 3 : 0;
      expect(cached.logProbsCalls()).toBe(promptCalls);
      expect(plain.logProbsCalls()).toBeGreaterThanOrEqual(a.length);
      // One decoder per expert that ran (all of them under the updating prior), each freed
      // when the generation ended.
      const ran = opts.mixing === 'updating-prior' ? 3 : new Set(a.flatMap((t) => t.experts)).size;
      expect(cached.decodersMade()).toBe(ran);
      expect(cached.liveDecoders()).toBe(0);
      expect(plain.decodersMade()).toBe(0);
      await cached.ensemble.dispose();
      await plain.ensemble.dispose();
    },
  );

  it('matches with experts evicted and reloaded between steps, and frees caches on early stop', async () => {
    const opts: GenerateOptions = { routing: { topK: 2 }, seed: 9, topK: 3, maxTokens: 25 };
    const cached = gptEnsemble(1);
    const plain = gptEnsemble(1);
    const a = await collect(cached.ensemble, 'b a', opts);
    const b = await collect(plain.ensemble, 'b a', { ...opts, cache: false });
    expect(a.map((t) => t.id)).toEqual(b.map((t) => t.id));
    // Each reload made a new decoder (and freed the old one).
    expect(cached.decodersMade()).toBeGreaterThan(2);
    expect(cached.liveDecoders()).toBe(0);
    await cached.ensemble.dispose();
    const early = gptEnsemble();
    let n = 0;
    for await (const _ of early.ensemble.generate('ab', { maxTokens: 20, seed: 1 })) {
      if (++n === 3) break;
    }
    expect(early.decodersMade()).toBe(3);
    expect(early.liveDecoders()).toBe(0);
    await early.ensemble.dispose();
    await plain.ensemble.dispose();
  });
});

describe('ExpertStepBatcher', () => {
  it('batches concurrent generations per expert; each gives the tokens it gives alone', async () => {
    const prompts = ['ab b', 'b', 'aa ab', 'ba b a', 'a'];
    const opts = (s: number): GenerateOptions => ({
      seed: 20 + s,
      topK: 3,
      maxTokens: 14,
      // Past the context (8) the default stride re-reads a window at every step, alone.
      slideStride: 4,
    });
    const shared = gptEnsemble();
    const batcher = new ExpertStepBatcher();
    const together = await Promise.all(
      prompts.map((p, s) => collect(shared.ensemble, p, { ...opts(s), batcher })),
    );
    const plain = gptEnsemble();
    for (const [s, p] of prompts.entries()) {
      const alone = await collect(plain.ensemble, p, { ...opts(s), cache: false });
      expect(alone.length).toBeGreaterThan(8);
      expect(together[s]!.map((t) => t.id)).toEqual(alone.map((t) => t.id));
    }
    const { requests, batches, largestBatch } = batcher.stats;
    expect(largestBatch).toBeGreaterThanOrEqual(3);
    expect(batches).toBeLessThan(requests / 2);
    expect(shared.liveDecoders()).toBe(0);
    await shared.ensemble.dispose();
    await plain.ensemble.dispose();
  });
});

describe('ExpertDecoders', () => {
  it('returns the uncached row for models without a decoder, and rejects a bad stride', async () => {
    const model = await GptModel.fromWeights(config, weights[0]!);
    const text = [3, 0, 1, 2, 0, 0, 1, 2, 1, 0, 2];
    const plain = new ExpertDecoders({ cache: false });
    const cached = new ExpertDecoders();
    const a = await plain.next(0, model, text);
    const b = await cached.next(0, model, text);
    const full = await model.logProbs(Int32Array.from(text.slice(3)));
    expect(Array.from(a)).toEqual(Array.from(full.slice(7 * config.vocabSize)));
    b.forEach((x, i) => {
      expect(x).toBeCloseTo(a[i]!, 5);
    });
    expect(() => new ExpertDecoders({ slideStride: 0 })).toThrow(/slideStride/);
    cached.dispose();
    model.dispose();
  });
});
