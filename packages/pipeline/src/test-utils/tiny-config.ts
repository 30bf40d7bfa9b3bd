import type { CbtmConfigInput } from '../config/schema.js';

/**
 * A run small enough for tests (a few seconds on 2 cores): 120 demo documents, k = 2, a
 * 1-layer 32-wide model, a seed model of 16 steps, then 24 steps per expert.
 */
export function tinyConfig(out: string, overrides: Partial<CbtmConfigInput> = {}): CbtmConfigInput {
  return {
    out,
    corpus: { limit: 120 },
    embed: { dimension: 16 },
    cluster: { k: 2 },
    tokenizer: { vocabSize: 300, sampleBytes: 100_000 },
    model: { nLayer: 1, dModel: 32, nHead: 2, contextLength: 32 },
    train: {
      tokens: 12_288,
      seedTokens: 4096,
      batchSize: 8,
      warmupSteps: 2,
      evalEvery: 8,
      evalTokens: 512,
      checkpointEvery: 4,
      workers: 2,
    },
    eval: { maxDocs: 12, maxTokensPerDoc: 48 },
    ...overrides,
  };
}
