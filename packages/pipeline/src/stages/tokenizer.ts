import { CbtmError, RunLayout } from '@cbtm/core/node';
import { trainingDocumentsConfig } from '../corpus-source.js';
import { hfCheckpointChecksum, hfSeedCheckpoint } from './seed-from-hf.js';
import type { StageDefinition, StageOutcome } from './stage.js';

const HF_TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/** The run's tokenizer is the checkpoint's, so token ids mean what its weights learnt. */
async function copyHfTokenizer(dir: string, file: string): Promise<StageOutcome> {
  const { readHfCheckpoint } = await import('@cbtm/train/node');
  const { config, tokenizer } = await readHfCheckpoint(dir);
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new CbtmError(
      'E_CONFIG_INVALID',
      `train.seedFrom is the checkpoint ${dir}: its tokenizer.json has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${config.vocabSize}; cbtm needs them equal.`,
    );
  }
  await tokenizer.save(file);
  return { outputs: ['tokenizer'], info: { vocabSize: tokenizer.vocabSize, from: dir } };
}

/** Trains the shared BPE tokenizer on the training corpus: `<run>/tokenizer/tokenizer.json`. */
export const tokenizerStage: StageDefinition = {
  name: 'tokenizer',
  inputs: [],
  paths: ['tokenizer'],
  enabled: () => true,
  stageConfig: async ({ config, corpusFingerprint }) => {
    // Seeded from a Hugging Face checkpoint: its tokenizer, whatever the corpus says.
    const hf = await hfSeedCheckpoint(config);
    if (hf !== null) return { seedFromHf: await hfCheckpointChecksum(hf, HF_TOKENIZER_FILES) };
    return {
      ...trainingDocumentsConfig(config, corpusFingerprint),
      tokenizer: config.tokenizer,
      seed: config.seed,
    };
  },
  async execute({ run, config, corpus, signal, onProgress }) {
    const hf = await hfSeedCheckpoint(config);
    if (hf !== null) return copyHfTokenizer(hf, new RunLayout(run.dir).tokenizer);
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
