import { copyFile, mkdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { CbtmError, InvalidArgumentError } from '@cbtm/core';
import { writeJsonAtomic } from '@cbtm/core/node';
import type { GptConfig } from '../model/gpt-config.js';
import { readModelFiles, writeModelFiles } from '../model/model-files.js';
import { averageWeights, normalizeCoefficients } from './average-weights.js';

/**
 * The file that marks a folder as made by {@link mergeModelFolders}: only such a folder is ever
 * replaced.
 *
 * @example
 * ```ts
 * const info = JSON.parse(await readFile(join('models/merged', MERGE_MARKER_FILE), 'utf8'));
 * ```
 */
export const MERGE_MARKER_FILE = 'cbtm-merge.json';

/**
 * The tokenizer file a merged model folder carries, so it is complete on its own.
 *
 * @example
 * ```ts
 * await BpeTokenizer.load(join('models/merged', MERGED_TOKENIZER_FILE));
 * ```
 */
export const MERGED_TOKENIZER_FILE = 'tokenizer.json';

/**
 * One model to average: its folder (`model.json` + weights) and, to check that all share one,
 * its tokenizer file.
 *
 * @example
 * ```ts
 * const src: MergeSource = { dir: 'runs/demo/experts/0', tokenizer: 'runs/demo/tokenizer/tokenizer.json' };
 * ```
 */
export interface MergeSource {
  readonly dir: string;
  readonly tokenizer?: string;
}

/**
 * Options of {@link mergeModelFolders}.
 *
 * @example
 * ```ts
 * await mergeModelFolders({ sources, coefficients: [1, 1], out: 'models/merged', protect: ['runs/demo'] });
 * ```
 */
export interface MergeModelFoldersOptions {
  readonly sources: readonly MergeSource[];
  /** One weight per source, ≥ 0; scaled to sum to 1. */
  readonly coefficients: readonly number[];
  /** The merged model folder. Replaced only when it holds {@link MERGE_MARKER_FILE}. */
  readonly out: string;
  /**
   * Folders `out` must not be, contain, or lie inside (e.g. the run directory, whose stages
   * checksum and delete what is in them): the merge refuses them.
   * @default []
   */
  readonly protect?: readonly string[];
  /** Extra facts recorded in the marker file (e.g. how the coefficients were chosen). */
  readonly describe?: Readonly<Record<string, unknown>>;
}

/**
 * What {@link mergeModelFolders} wrote.
 *
 * @example
 * ```ts
 * const { out, coefficients } = await mergeModelFolders(options);
 * ```
 */
export interface MergeModelFoldersResult {
  /** The merged model folder, absolute. */
  readonly out: string;
  readonly config: GptConfig;
  /** The coefficients used, summing to 1, aligned with the sources. */
  readonly coefficients: number[];
}

/** The path with symbolic links resolved as far as it exists. */
async function canonical(path: string): Promise<string> {
  const abs = resolve(path);
  let head = abs;
  const tail: string[] = [];
  for (;;) {
    try {
      return join(await realpath(head), ...tail);
    } catch {
      const parent = dirname(head);
      if (parent === head) return abs;
      tail.unshift(basename(head));
      head = parent;
    }
  }
}

/** True when `inner` is `outer` or inside it. */
function within(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (rel.split(sep)[0] !== '..' && !isAbsolute(rel));
}

async function isDir(path: string): Promise<boolean | null> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => null,
  );
}

/**
 * Averages the parameters of several model folders into one new model folder: `model.json` and
 * its weights (the layout `GptModel.load` and `train.seedFrom` read), the sources' shared
 * `tokenizer.json` when given, and {@link MERGE_MARKER_FILE} recording the sources and
 * coefficients. Each tensor is Σ_j c_j · W_j (see `averageWeights`).
 *
 * Safe by construction:
 * - it refuses an `out` that is, contains or lies inside a source or a `protect`ed folder
 *   (the run directory), and an existing `out` without the marker file, so it never
 *   overwrites a folder it did not create;
 * - it refuses sources of different architectures or tokenizers, naming the difference;
 * - it writes everything into a temp folder next to `out`, then renames it into place; an
 *   earlier merge there is swapped out and deleted only after the new one is in place.
 *
 * @example
 * ```ts
 * await mergeModelFolders({
 *   sources: [0, 1, 2].map((j) => ({ dir: `runs/demo/experts/${j}`, tokenizer: 'runs/demo/tokenizer/tokenizer.json' })),
 *   coefficients: [1, 1, 1],
 *   out: 'models/demo-uniform',
 *   protect: ['runs/demo'],
 * });
 * ```
 */
export async function mergeModelFolders(
  options: MergeModelFoldersOptions,
): Promise<MergeModelFoldersResult> {
  const { sources } = options;
  if (sources.length === 0) throw new InvalidArgumentError('Merging needs at least one model.');
  const coefficients = Array.from(normalizeCoefficients(options.coefficients));
  if (coefficients.length !== sources.length) {
    throw new InvalidArgumentError(
      `Got ${sources.length} models but ${coefficients.length} averaging weights.`,
    );
  }
  const out = await canonical(options.out);
  for (const p of options.protect ?? []) {
    const guarded = await canonical(p);
    if (within(guarded, out) || within(out, guarded)) {
      const where = guarded === out ? '' : within(guarded, out) ? 'a parent of ' : 'inside ';
      throw new InvalidArgumentError(
        `--out ${options.out} is ${where}${guarded}, which a merge must never write into. Choose a new folder outside it, e.g. ${join(dirname(guarded), `${basename(guarded)}-merged`)}.`,
      );
    }
  }
  for (const s of sources) {
    const dir = await canonical(s.dir);
    if (within(dir, out) || within(out, dir)) {
      throw new InvalidArgumentError(
        `--out ${options.out} overlaps the model folder ${dir} being merged. Choose a folder outside it.`,
      );
    }
  }
  const existing = await isDir(out);
  if (existing === false || (existing && (await isDir(join(out, MERGE_MARKER_FILE))) === null)) {
    throw new InvalidArgumentError(
      `${out} exists and was not made by cbtm merge (it has no ${MERGE_MARKER_FILE}), so it is left alone. Choose another output folder, or remove it yourself.`,
    );
  }

  let tokenizer: Buffer | undefined;
  let tokenizerFrom: string | undefined;
  for (const s of sources) {
    if (s.tokenizer === undefined) continue;
    const bytes = await readFile(s.tokenizer);
    if (tokenizer === undefined) {
      tokenizer = bytes;
      tokenizerFrom = s.tokenizer;
    } else if (!bytes.equals(tokenizer)) {
      throw new CbtmError(
        'E_MODEL',
        `${s.tokenizer} differs from ${tokenizerFrom}: models with different tokenizers give token ids different meanings, so their weights cannot be averaged.`,
      );
    }
  }

  const models = [];
  for (const s of sources) models.push(await readModelFiles(s.dir));
  const weights = averageWeights(models, coefficients);
  const config = models[0]!.config;

  const stampName = `${process.pid}-${Date.now()}`;
  const tmp = join(dirname(out), `.${basename(out)}.merge-${stampName}.tmp`);
  const old = join(dirname(out), `.${basename(out)}.old-${stampName}.tmp`);
  try {
    await mkdir(tmp, { recursive: true });
    await writeModelFiles(tmp, config, weights);
    if (tokenizer !== undefined) await copyFile(tokenizerFrom!, join(tmp, MERGED_TOKENIZER_FILE));
    // Written last: a folder with the marker is a complete merge.
    await writeJsonAtomic(join(tmp, MERGE_MARKER_FILE), {
      format: 'cbtm-merge',
      version: 1,
      createdAt: new Date().toISOString(),
      sources: sources.map((s, j) => ({ dir: resolve(s.dir), coefficient: coefficients[j] })),
      ...(options.describe ? { describe: options.describe } : {}),
    });
    if (existing) await rename(out, old);
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  if (existing) await rm(old, { recursive: true, force: true });
  return { out, config, coefficients };
}
