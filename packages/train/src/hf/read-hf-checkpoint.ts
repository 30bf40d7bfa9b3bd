import { CbtmError, fileSystem } from '@cbtm/core';
import type { GptConfig } from '../model/gpt-config.js';
import { BpeTokenizer } from '../tokenizer/bpe-tokenizer.js';
import { fromGpt2Tensors, gptConfigFromGpt2 } from './gpt2-layout.js';
import { decodeSafetensors } from './safetensors.js';

/**
 * A GPT-2-layout Hugging Face checkpoint read as a cbtm model: its shape, weights by cbtm name
 * (ready for `GptModel.fromWeights`) and its tokenizer.
 *
 * @example
 * ```ts
 * const { config, weights, tokenizer } = await readHfCheckpoint('models/my-gpt2');
 * ```
 */
export interface HfCheckpoint {
  readonly config: GptConfig;
  readonly weights: Map<string, Float32Array>;
  readonly tokenizer: BpeTokenizer;
}

/**
 * Reads a local GPT-2-layout checkpoint folder (`config.json`, `model.safetensors`,
 * `tokenizer.json`, and `tokenizer_config.json` if present, for the names of the end-of-text and
 * padding tokens). Errors name the file and what is wrong: another architecture, a missing
 * tensor, a shape that disagrees with config.json, a tokenizer larger than the vocabulary.
 *
 * @example
 * ```ts
 * const ckpt = await readHfCheckpoint('exports/expert-0');
 * const model = await GptModel.fromWeights(ckpt.config, ckpt.weights);
 * ```
 */
export async function readHfCheckpoint(dir: string): Promise<HfCheckpoint> {
  const fs = fileSystem();
  const configFile = fs.join(dir, 'config.json');
  const config = gptConfigFromGpt2(await fs.readJson(configFile), configFile);
  const weightsFile = fs.join(dir, 'model.safetensors');
  let bytes: Uint8Array;
  try {
    bytes = await fs.readBytes(weightsFile);
  } catch (cause) {
    throw new CbtmError(
      'E_FORMAT',
      `${weightsFile} cannot be read; a checkpoint needs its weights as model.safetensors (sharded or .bin checkpoints are not supported).`,
      { cause },
    );
  }
  const weights = fromGpt2Tensors(
    config,
    decodeSafetensors(bytes, weightsFile).tensors,
    weightsFile,
  );
  const tokenizerConfig = await fs
    .readJson<Record<string, unknown>>(fs.join(dir, 'tokenizer_config.json'))
    .catch(() => ({}) as Record<string, unknown>);
  const tokenName = (v: unknown): string | undefined =>
    typeof v === 'string'
      ? v
      : typeof (v as { content?: unknown })?.content === 'string'
        ? (v as { content: string }).content
        : undefined;
  const eosToken = tokenName(tokenizerConfig.eos_token);
  const padToken = tokenName(tokenizerConfig.pad_token) ?? eosToken;
  const tokenizerFile = fs.join(dir, 'tokenizer.json');
  const tokenizer = await BpeTokenizer.load(tokenizerFile, {
    ...(eosToken !== undefined ? { eosToken } : {}),
    ...(padToken !== undefined ? { padToken } : {}),
  });
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new CbtmError(
      'E_FORMAT',
      `${tokenizerFile} has ${tokenizer.vocabSize} tokens, more than vocab_size ${config.vocabSize} in ${configFile}.`,
    );
  }
  return { config, weights, tokenizer };
}
