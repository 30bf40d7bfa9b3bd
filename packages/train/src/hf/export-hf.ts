import { readdir } from 'node:fs/promises';
import { CbtmError, fileSystem } from '@cbtm/core';
import { readModelFiles } from '../model/model-files.js';
import { BpeTokenizer } from '../tokenizer/bpe-tokenizer.js';
import { type Gpt2ConfigJson, gpt2ConfigJson, toGpt2Tensors } from './gpt2-layout.js';
import { encodeGpt2Onnx } from './gpt2-onnx.js';
import { encodeSafetensors } from './safetensors.js';

/**
 * The file that marks a folder as written by {@link exportHfModel}; only such a folder (or an
 * empty or missing one) is written into.
 *
 * @example
 * ```ts
 * existsSync(join(out, HF_EXPORT_MARKER)); // true after an export
 * ```
 */
export const HF_EXPORT_MARKER = 'cbtm-hf-export.json';

/**
 * The files of an export, relative to its folder, in the order they are written.
 *
 * @example
 * ```ts
 * HF_EXPORT_FILES.includes('onnx/model.onnx'); // true
 * ```
 */
export const HF_EXPORT_FILES = [
  HF_EXPORT_MARKER,
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'model.safetensors',
  'onnx/model.onnx',
] as const;

/**
 * Options of {@link exportHfModel}.
 *
 * @example
 * ```ts
 * const options: ExportHfOptions = { tokenizer: 'runs/demo/tokenizer/tokenizer.json' };
 * ```
 */
export interface ExportHfOptions {
  /** The `tokenizer.json` the model was trained with (a run's `<run>/tokenizer/tokenizer.json`). */
  readonly tokenizer: string;
  /** Stops the export between files. */
  readonly signal?: AbortSignal;
}

/**
 * What {@link exportHfModel} wrote.
 *
 * @example
 * ```ts
 * const { dir, config } = await exportHfModel(model, out, { tokenizer });
 * ```
 */
export interface ExportHfResult {
  /** The export folder. */
  readonly dir: string;
  /** Its files, relative to `dir`. */
  readonly files: readonly string[];
  /** The config.json written. */
  readonly config: Gpt2ConfigJson;
}

/**
 * Writes a cbtm model folder (`model.json` + weights: an expert, the seed or a baseline) as a
 * Hugging Face GPT-2 causal LM that transformers.js (and Python transformers, through the
 * safetensors file) loads from local files: `config.json`, `generation_config.json`,
 * `tokenizer.json`, `tokenizer_config.json`, `model.safetensors` and `onnx/model.onnx` (a decoder
 * with a key/value cache, see `encodeGpt2Onnx`). `out` must be missing, empty, or an earlier
 * export (it has {@link HF_EXPORT_MARKER}); any other folder is refused. Each file is written
 * atomically.
 *
 * @example
 * ```ts
 * await exportHfModel('runs/demo/experts/0', 'exports/expert-0', {
 *   tokenizer: 'runs/demo/tokenizer/tokenizer.json',
 * });
 * // then, with @huggingface/transformers: await pipeline('text-generation', 'exports/expert-0')
 * ```
 */
export async function exportHfModel(
  modelDir: string,
  out: string,
  options: ExportHfOptions,
): Promise<ExportHfResult> {
  const fs = fileSystem();
  await assertExportTarget(out);
  const { config, weights } = await readModelFiles(modelDir);
  const tokenizer = await BpeTokenizer.load(options.tokenizer);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new CbtmError(
      'E_MODEL',
      `${options.tokenizer} has ${tokenizer.vocabSize} tokens but the model in ${modelDir} only ${config.vocabSize}: it is not the tokenizer this model was trained with.`,
    );
  }
  const check = () => {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
  };
  const hfConfig = gpt2ConfigJson(config, {
    eosTokenId: tokenizer.eosId,
    padTokenId: tokenizer.padId,
  });
  await fs.writeJsonAtomic(fs.join(out, HF_EXPORT_MARKER), {
    format: 'cbtm-hf-export',
    version: 1,
    generatedBy: '@cbtm/train',
    source: modelDir,
  });
  await fs.writeJsonAtomic(fs.join(out, 'config.json'), hfConfig);
  await fs.writeJsonAtomic(fs.join(out, 'generation_config.json'), {
    bos_token_id: hfConfig.bos_token_id,
    eos_token_id: hfConfig.eos_token_id,
    pad_token_id: hfConfig.pad_token_id,
  });
  await fs.writeJsonAtomic(fs.join(out, 'tokenizer.json'), tokenizer.toJSON());
  await fs.writeJsonAtomic(fs.join(out, 'tokenizer_config.json'), {
    ...tokenizer.toTokenizerConfig(),
    model_max_length: config.contextLength,
  });
  check();
  await fs.writeAtomic(
    fs.join(out, 'model.safetensors'),
    encodeSafetensors(toGpt2Tensors(config, weights), { format: 'pt' }),
  );
  check();
  await fs.writeAtomic(fs.join(out, 'onnx', 'model.onnx'), await encodeGpt2Onnx(config, weights));
  return { dir: out, files: HF_EXPORT_FILES, config: hfConfig };
}

async function assertExportTarget(out: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(out);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw new CbtmError('E_INVALID_ARGUMENT', `Cannot use ${out} as the export folder (${code}).`, {
      cause,
    });
  }
  if (entries.length > 0 && !entries.includes(HF_EXPORT_MARKER)) {
    throw new CbtmError(
      'E_INVALID_ARGUMENT',
      `${out} is not empty and was not written by an export (no ${HF_EXPORT_MARKER}); choose a new or empty folder.`,
    );
  }
}
