import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CbtmError, fileSystem } from '@cbtm/core';
import type { GptConfig } from '../model/gpt-config.js';
import { readModelFiles } from '../model/model-files.js';
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
 * The files of a checkpoint folder that decide what a model seeded from it learns: its shape,
 * weights and tokenizer (`tokenizer_config.json` names the special tokens). A hash over them
 * identifies the checkpoint.
 *
 * @example
 * ```ts
 * for (const name of HF_CHECKPOINT_FILES) console.log(join(dir, name));
 * ```
 */
export const HF_CHECKPOINT_FILES = [
  'config.json',
  'model.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
] as const;

/**
 * Whether `dir` holds a Hugging Face checkpoint (`config.json` + `model.safetensors`) rather
 * than a cbtm model folder (`model.json`).
 *
 * @example
 * ```ts
 * isHfCheckpoint('exports/expert-0'); // true
 * isHfCheckpoint('runs/demo/seed'); // false
 * ```
 */
export function isHfCheckpoint(dir: string): boolean {
  return (
    !existsSync(join(dir, 'model.json')) &&
    existsSync(join(dir, 'config.json')) &&
    existsSync(join(dir, 'model.safetensors'))
  );
}

/**
 * Reads the shape and weights of a local GPT-2-layout checkpoint (`config.json` and
 * `model.safetensors`). Errors name the file and what is wrong: another architecture, a missing
 * tensor, a shape that disagrees with config.json.
 *
 * @example
 * ```ts
 * const { config, weights } = await readHfModel('models/my-gpt2');
 * const model = await GptModel.fromWeights(config, weights);
 * ```
 */
export async function readHfModel(
  dir: string,
): Promise<{ config: GptConfig; weights: Map<string, Float32Array> }> {
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
  return { config, weights };
}

/**
 * Reads the byte-level BPE `tokenizer.json` of a checkpoint folder, with the end-of-text and
 * padding tokens that its `tokenizer_config.json` names (padding falls back to end-of-text, as
 * GPT-2 has none).
 *
 * @example
 * ```ts
 * const tok = await readHfTokenizer('models/my-gpt2');
 * ```
 */
export async function readHfTokenizer(dir: string): Promise<BpeTokenizer> {
  const fs = fileSystem();
  const tokenizerConfig = await fs
    .readJson<Record<string, unknown>>(fs.join(dir, 'tokenizer_config.json'))
    .catch(() => ({}) as Record<string, unknown>);
  const tokenName = (v: unknown): string | undefined =>
    typeof v === 'string'
      ? v
      : typeof (v as { content?: unknown } | null)?.content === 'string'
        ? (v as { content: string }).content
        : undefined;
  const eosToken = tokenName(tokenizerConfig.eos_token);
  const padToken = tokenName(tokenizerConfig.pad_token) ?? eosToken;
  return BpeTokenizer.load(fs.join(dir, 'tokenizer.json'), {
    ...(eosToken !== undefined ? { eosToken } : {}),
    ...(padToken !== undefined ? { padToken } : {}),
  });
}

/**
 * Reads a local GPT-2-layout checkpoint folder: `config.json`, `model.safetensors` and its
 * tokenizer (see {@link readHfModel} and {@link readHfTokenizer}). The tokenizer must not have
 * more tokens than the model's vocabulary.
 *
 * @example
 * ```ts
 * const ckpt = await readHfCheckpoint('exports/expert-0');
 * const model = await GptModel.fromWeights(ckpt.config, ckpt.weights);
 * ```
 */
export async function readHfCheckpoint(dir: string): Promise<HfCheckpoint> {
  const { config, weights } = await readHfModel(dir);
  const tokenizer = await readHfTokenizer(dir);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new CbtmError(
      'E_FORMAT',
      `${join(dir, 'tokenizer.json')} has ${tokenizer.vocabSize} tokens, more than vocab_size ${config.vocabSize} in ${join(dir, 'config.json')}.`,
    );
  }
  return { config, weights, tokenizer };
}

/**
 * The weights a model branches from (`initFrom`, `train.seedFrom`): a cbtm model folder, or a
 * GPT-2-layout Hugging Face checkpoint. A checkpoint carries no dropout of cbtm's, so it takes
 * `target`'s (dropout is a training setting, not part of the weights).
 *
 * @example
 * ```ts
 * const seed = await readSeedModelFiles('models/my-gpt2', model.config);
 * ```
 */
export async function readSeedModelFiles(
  dir: string,
  target: GptConfig,
): Promise<{ config: GptConfig; weights: Map<string, Float32Array> }> {
  if (!isHfCheckpoint(dir)) return readModelFiles(dir);
  const { config, weights } = await readHfModel(dir);
  return { config: { ...config, dropout: target.dropout }, weights };
}
