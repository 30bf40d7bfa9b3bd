import { RunLayout } from '@cbtm/core/node';
import { trainingDocumentsConfig } from '../corpus-source.js';
import type { StageDefinition } from './stage.js';

/** Trains the shared BPE tokenizer on the training corpus: `<run>/tokenizer/tokenizer.json`. */
export const tokenizerStage: StageDefinition = {
  name: 'tokenizer',
  inputs: [],
  paths: ['tokenizer'],
  enabled: () => true,
  stageConfig: ({ config, corpusFingerprint }) => ({
    ...trainingDocumentsConfig(config, corpusFingerprint),
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
