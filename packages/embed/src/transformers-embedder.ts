import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  CbtmError,
  InvalidArgumentError,
  type LongRunOptions,
  progressReporter,
  throwIfAborted,
  writeJsonAtomic,
} from '@cbtm/core/node';
import { stripUndefined } from './analyzer.js';
import { batchTexts, type DocSource } from './doc-source.js';
import type { EmbedOptions } from './embedder.js';
import { readEmbedderManifest } from './embedder-files.js';
import { EMBEDDER_FORMAT, EMBEDDER_FORMAT_VERSION, EMBEDDER_MANIFEST } from './embedder-format.js';
import type { SavableEmbedder } from './tfidf-svd-embedder-files.js';

/**
 * Weight formats transformers.js can load (the file suffix under `onnx/`).
 *
 * @example
 * ```ts
 * const e = await TransformersEmbedder.create({ model: dir, dtype: 'q8' satisfies TransformersDtype });
 * ```
 */
export type TransformersDtype = 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | 'bnb4' | 'q4f16';

/**
 * Options of {@link TransformersEmbedder.create}.
 *
 * @example
 * ```ts
 * const options: Partial<TransformersEmbedderOptions> = { model: '/models/all-MiniLM-L6-v2', batchSize: 16 };
 * ```
 */
export interface TransformersEmbedderOptions {
  /**
   * A local model folder (`config.json`, `tokenizer.json`, `tokenizer_config.json`,
   * `onnx/model.onnx`), or a Hugging Face hub id such as `Xenova/all-MiniLM-L6-v2` when
   * `allowRemoteModels` is on.
   */
  readonly model: string;
  /** Allow downloading `model` from the Hugging Face hub. @default false */
  readonly allowRemoteModels: boolean;
  /** Which weight file to load (`onnx/model.onnx` for fp32, `onnx/model_quantized.onnx` for q8...). @default 'fp32' */
  readonly dtype: TransformersDtype;
  /** Hub revision (with downloads). @default 'main' */
  readonly revision: string;
  /** Download cache folder (with downloads); `null` for transformers.js's default. @default null */
  readonly cacheDir: string | null;
  /** Texts per forward pass. @default 32 */
  readonly batchSize: number;
  /**
   * This embedder has no incremental prefix mode: routing re-embeds the context every this many
   * words (see {@link createPrefixEmbedding}). @default 8
   */
  readonly prefixStride: number;
}

/**
 * Defaults of {@link TransformersEmbedderOptions} (everything but `model`).
 *
 * @example
 * ```ts
 * const e = await TransformersEmbedder.create({ ...defaultTransformersEmbedderOptions, model: dir });
 * ```
 */
export const defaultTransformersEmbedderOptions: Omit<TransformersEmbedderOptions, 'model'> =
  Object.freeze({
    allowRemoteModels: false,
    dtype: 'fp32',
    revision: 'main',
    cacheDir: null,
    batchSize: 32,
    prefixStride: 8,
  });

const KIND = 'transformers';

// The slice of transformers.js's feature-extraction pipeline this adapter uses.
interface FeatureExtractor {
  (
    texts: string[],
    options: { pooling: 'mean'; normalize: boolean },
  ): Promise<{ dims: number[]; data: ArrayLike<number> }>;
  dispose(): Promise<void>;
}

/**
 * Sentence embeddings from a transformer with transformers.js (`@huggingface/transformers`):
 * feature extraction, mean pooling over the attention mask, L2 normalization; batched. The
 * library is imported only when an embedder is created, so importing `@cbtm/embed` stays light.
 *
 * @example
 * ```ts
 * const embedder = await TransformersEmbedder.create({ model: '/models/all-MiniLM-L6-v2' });
 * const v = await embedder.embedText('The cat sat on the mat.');
 * await embedder.close();
 * ```
 */
export class TransformersEmbedder implements SavableEmbedder {
  readonly kind = KIND;
  readonly options: TransformersEmbedderOptions;
  readonly dimension: number;
  readonly #extractor: FeatureExtractor;

  private constructor(
    options: TransformersEmbedderOptions,
    extractor: FeatureExtractor,
    dimension: number,
  ) {
    this.options = Object.freeze({ ...options });
    this.#extractor = extractor;
    this.dimension = dimension;
  }

  /**
   * Loads the model and measures its output dimension.
   *
   * @example
   * ```ts
   * const e = await TransformersEmbedder.create({ model: 'Xenova/all-MiniLM-L6-v2', allowRemoteModels: true });
   * ```
   */
  static async create(
    options: Partial<TransformersEmbedderOptions> & { readonly model: string },
    run: LongRunOptions = {},
  ): Promise<TransformersEmbedder> {
    const o: TransformersEmbedderOptions = {
      ...defaultTransformersEmbedderOptions,
      ...stripUndefined(options),
    } as TransformersEmbedderOptions;
    if (typeof o.model !== 'string' || o.model.length === 0) {
      throw new InvalidArgumentError(
        'model must be a local model folder or a Hugging Face hub id.',
      );
    }
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) {
      throw new InvalidArgumentError(`batchSize must be a positive integer, got ${o.batchSize}.`);
    }
    if (!Number.isInteger(o.prefixStride) || o.prefixStride < 1) {
      throw new InvalidArgumentError(
        `prefixStride must be a positive integer, got ${o.prefixStride}.`,
      );
    }
    const folder = resolve(o.model);
    const local = existsSync(folder) && statSync(folder).isDirectory();
    if (!local && !o.allowRemoteModels) {
      throw new CbtmError(
        'E_MODEL',
        `Model folder ${folder} does not exist. Pass a folder with config.json, tokenizer.json and onnx/model.onnx, or set allowRemoteModels: true to download "${o.model}" from the Hugging Face hub.`,
      );
    }
    const resolved: TransformersEmbedderOptions = { ...o, model: local ? folder : o.model };
    throwIfAborted(run.signal);
    const progress = progressReporter('embed', run.onProgress, {
      task: 'load-model',
      unit: 'files',
    });
    progress.start(`loading ${resolved.model}`);
    let files = 0;
    let extractor: FeatureExtractor;
    try {
      const { pipeline } = await import('@huggingface/transformers');
      // transformers.js reads an absolute path as a folder and anything that looks like
      // `owner/name` as a hub id; `local_files_only` forbids downloads for local folders.
      extractor = (await pipeline('feature-extraction', resolved.model, {
        dtype: resolved.dtype,
        local_files_only: local,
        revision: resolved.revision,
        ...(resolved.cacheDir !== null ? { cache_dir: resolved.cacheDir } : {}),
        progress_callback: (info: { status?: string }) => {
          if (info.status === 'done') progress.update(++files);
        },
      })) as unknown as FeatureExtractor;
    } catch (err) {
      throw new CbtmError(
        'E_MODEL',
        `Cannot load the transformers.js model ${resolved.model}: ${(err as Error).message}. A local folder needs config.json, tokenizer.json, tokenizer_config.json and onnx/model${resolved.dtype === 'fp32' ? '' : `_${resolved.dtype}`}.onnx.`,
        { cause: err },
      );
    }
    const probe = await extractor(['dimension probe'], { pooling: 'mean', normalize: true });
    const dimension = probe.dims[probe.dims.length - 1]!;
    progress.done({ metrics: { dimension } });
    return new TransformersEmbedder(resolved, extractor, dimension);
  }

  /**
   * Loads an embedder saved by {@link save} (the model itself is referenced, not copied).
   *
   * @example
   * ```ts
   * const e = await TransformersEmbedder.load('runs/demo/embedder');
   * ```
   */
  static async load(dir: string, run: LongRunOptions = {}): Promise<TransformersEmbedder> {
    const m = await readEmbedderManifest(dir);
    if (m.kind !== KIND) {
      throw new CbtmError(
        'E_FORMAT',
        `${join(dir, EMBEDDER_MANIFEST)} holds a "${m.kind}" embedder, not "${KIND}"; use loadEmbedder().`,
      );
    }
    const e = await TransformersEmbedder.create(m.options as TransformersEmbedderOptions, run);
    if (e.dimension !== m.dimension) {
      throw new CbtmError(
        'E_MODEL',
        `${e.options.model} now embeds into ${e.dimension} dimensions, but ${dir} was saved with ${m.dimension}; the model changed. Refit the pipeline from the embed stage.`,
      );
    }
    return e;
  }

  async embedText(text: string): Promise<Float32Array> {
    const [v] = await this.#run([text]);
    return v!;
  }

  async *embed(docs: DocSource, options: EmbedOptions = {}): AsyncGenerator<Float32Array> {
    const progress = progressReporter('embed', options.onProgress, { task: 'embed', unit: 'docs' });
    let done = 0;
    progress.start();
    for await (const batch of batchTexts(docs, options.batchSize ?? this.options.batchSize)) {
      throwIfAborted(options.signal);
      const vectors = await this.#run(batch);
      done += batch.length;
      progress.update(done);
      yield* vectors;
    }
    progress.done();
  }

  async #run(texts: string[]): Promise<Float32Array[]> {
    const out = await this.#extractor(texts, { pooling: 'mean', normalize: true });
    const d = this.dimension;
    const data = out.data;
    return texts.map((_, i) => Float32Array.from({ length: d }, (_x, c) => data[i * d + c]!));
  }

  /**
   * Writes `<dir>/embedder.json` naming the model and options.
   *
   * @example
   * ```ts
   * await embedder.save(run.path('embedder'));
   * ```
   */
  async save(dir: string): Promise<void> {
    await writeJsonAtomic(join(dir, EMBEDDER_MANIFEST), {
      format: EMBEDDER_FORMAT,
      version: EMBEDDER_FORMAT_VERSION,
      kind: KIND,
      dimension: this.dimension,
      options: this.options,
    });
  }

  /** Frees the ONNX session. */
  async close(): Promise<void> {
    await this.#extractor.dispose();
  }
}
