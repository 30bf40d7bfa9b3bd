import { RunLayout } from '@cbtm/core/node';
import type { StageDefinition } from './stage.js';

/** Trains the shared BPE tokenizer on the training corpus: `<run>/tokenizer/tokenizer.json`. */
export const tokenizerStage: StageDefinition = {
  name: 'tokenizer',
  inputs: [],
  paths: ['tokenizer'],
  enabled: () => true,
  stageConfig: ({ config, corpusFingerprint }) => ({
    corpus: corpusFingerprint,
    holdout:
      config.corpus.valid === null && config.corpus.train !== null ? config.corpus.holdout : 0,
    fields: [config.corpus.textField, config.corpus.idField],
    limit: config.corpus.limit,
    tokenizer: config.tokenizer,
    seed: config.seed,
  }),
  async execute({ run, config, corpus, signal, onProgress }) {
    const { trainBpeTokenizer } = await import('@cbtm/train/node');
    const tokenizer = await trainBpeTokenizer(corpus.trainDocs(), {
      vocabSize: config.tokenizer.vocabSize,
      sampleBytes: config.tokenizer.sampleBytes,
      seed: config.seed,
      ...(signal ? { signal } : {}),
      ...(onProgress ? { onProgress } : {}),
    });
    const file = new RunLayout(run.dir).tokenizer;
    await tokenizer.save(file);
    return { outputs: ['tokenizer'], info: { vocabSize: tokenizer.vocabSize } };
  },
};
