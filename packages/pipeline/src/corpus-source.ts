import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  CbtmError,
  type CorpusReader,
  type Document,
  demoCorpusPaths,
  listCorpusFiles,
  type ReadCorpusOptions,
  readCorpus,
  sha256File,
} from '@cbtm/core/node';
import type { CbtmConfig } from './config/schema.js';

/**
 * The training and validation documents of a run, as the config describes them.
 *
 * @example
 * ```ts
 * const source: CorpusSource = corpusSource(resolveConfig({}));
 * source.demo; // true
 * ```
 */
export interface CorpusSource {
  /** Training corpus paths (file or folder). */
  readonly train: string;
  /** Validation corpus path, or null when validation documents are held out of `train`. */
  readonly valid: string | null;
  /** True for the built-in demo corpus. */
  readonly demo: boolean;
  /** Fraction of `train` held out for validation when `valid` is null. */
  readonly holdout: number;
  /** Reader options (text and id fields). */
  readonly readOptions: ReadCorpusOptions;
  /** Training documents (hold-out removed), streamed. */
  trainDocs(options?: { readonly limit?: number }): AsyncIterable<Document>;
  /** Validation documents, streamed. */
  validDocs(): AsyncIterable<Document>;
  /** A description for logs and results: `demo (valid split)`, a path, or `hold-out 5% of <path>`. */
  readonly validLabel: string;
  /** Bad records skipped (`corpus.skipInvalid`) in the latest pass over the training corpus. */
  skipped(): SkippedRecords;
}

/**
 * Bad records that a pass over a corpus skipped (`corpus.skipInvalid`): how many, by reason,
 * and where the first ones were.
 *
 * @example
 * ```ts
 * const s: SkippedRecords = { count: 1, byReason: { 'malformed-json': 1 }, at: ['a.jsonl:7: ...'] };
 * ```
 */
export interface SkippedRecords {
  readonly count: number;
  readonly byReason: Readonly<Record<string, number>>;
  /** `file:line: what is wrong`, for the first records skipped. */
  readonly at: readonly string[];
}

/**
 * One line for the user about skipped records, or null when none were skipped.
 *
 * @example
 * ```ts
 * formatSkipped(corpus.skipped(), corpus.train); // 'skipped 2 invalid records of data/a.jsonl (malformed-json 2): data/a.jsonl:7: ...; ...'
 * ```
 */
export function formatSkipped(skipped: SkippedRecords, path: string): string | null {
  if (skipped.count === 0) return null;
  const reasons = Object.entries(skipped.byReason)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const more =
    skipped.count > skipped.at.length ? `; and ${skipped.count - skipped.at.length} more` : '';
  return `skipped ${skipped.count} invalid record${skipped.count === 1 ? '' : 's'} of ${path} (${reasons}): ${skipped.at.join('; ')}${more}`;
}

/** FNV-1a of the id and seed, mapped to [0, 1): a stable, order-free hold-out decision. */
function holdoutScore(id: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 2 ** 32;
}

/**
 * Resolves the corpus part of a config: the demo corpus when `corpus.train` is null, and a
 * seeded hold-out of the training documents when no validation corpus is given.
 *
 * @example
 * ```ts
 * const corpus = corpusSource(config);
 * for await (const doc of corpus.validDocs()) console.log(doc.domain);
 * ```
 */
export function corpusSource(config: CbtmConfig): CorpusSource {
  const demo = config.corpus.train === null;
  const paths = demoCorpusPaths();
  const train = config.corpus.train ?? paths.train;
  const valid = config.corpus.valid ?? (demo ? paths.valid : null);
  const holdout = valid === null ? config.corpus.holdout : 0;
  const readOptions: ReadCorpusOptions = {
    textField: config.corpus.textField,
    idField: config.corpus.idField,
    ...(config.corpus.skipInvalid ? { onInvalid: 'skip' as const } : {}),
  };
  let lastTrainPass: CorpusReader | undefined;
  const trainReader = (options: ReadCorpusOptions = readOptions): CorpusReader => {
    lastTrainPass = readCorpus(train, options);
    return lastTrainPass;
  };
  const seed = config.seed;
  const limit = config.corpus.limit ?? undefined;
  async function* filtered(keepHeldOut: boolean, max?: number): AsyncGenerator<Document> {
    let n = 0;
    for await (const doc of trainReader()) {
      const held = holdout > 0 && holdoutScore(doc.id, seed) < holdout;
      if (held !== keepHeldOut) continue;
      yield doc;
      n += 1;
      if (max !== undefined && n >= max) return;
    }
  }
  return {
    train,
    valid,
    demo,
    holdout,
    readOptions,
    trainDocs: (options = {}) => {
      const max = options.limit ?? limit;
      if (holdout === 0)
        return trainReader({ ...readOptions, ...(max !== undefined ? { limit: max } : {}) });
      return filtered(false, max);
    },
    validDocs: () => (valid !== null ? readCorpus(valid, readOptions) : filtered(true)),
    validLabel:
      demo && config.corpus.valid === null
        ? 'the demo valid split'
        : (valid ?? `a ${holdout * 100}% hold-out of ${train}`),
    skipped: () => {
      const stats = lastTrainPass?.stats;
      const byReason = { ...(stats?.skipped ?? {}) } as Record<string, number>;
      const count = Object.values(byReason).reduce((a, b) => a + b, 0);
      return { count, byReason, at: [...(stats?.skippedAt ?? [])] };
    },
  };
}

/**
 * A fingerprint of the corpus files (names, sizes, SHA-256), so stages rerun when the corpus
 * changes and are reused when it does not, wherever the files live.
 *
 * @example
 * ```ts
 * const fp = await corpusFingerprint(corpus.train);
 * ```
 */
export async function corpusFingerprint(
  path: string,
): Promise<Array<{ name: string; size: number; sha256: string }>> {
  const files = await listCorpusFiles(path);
  const out: Array<{ name: string; size: number; sha256: string }> = [];
  for (const file of files) {
    const info = await stat(file);
    out.push({ name: basename(file), size: info.size, sha256: await sha256File(file) });
  }
  return out;
}

/**
 * Fails early, with a one-line error, when a corpus path does not exist, holds no files, or
 * holds no documents (it reads only up to the first document).
 *
 * @example
 * ```ts
 * await checkCorpusPath('data/missing.jsonl'); // throws E_CORPUS_NOT_FOUND
 * ```
 */
export async function checkCorpusPath(
  path: string,
  options: ReadCorpusOptions = {},
): Promise<void> {
  const files = await listCorpusFiles(path);
  if (files.length === 0) throw new CbtmError('E_CORPUS_EMPTY', `${path} holds no corpus files.`);
  for await (const _doc of readCorpus(path, { ...options, limit: 1 })) return;
  throw new CbtmError(
    'E_CORPUS_EMPTY',
    `The corpus ${path} holds no documents. Give a .jsonl file with one {"text": ...} object per line, or .txt files.`,
  );
}

/**
 * The part of a stage's config that says which training documents it reads: the corpus
 * fingerprint, the held-out fraction (when validation comes out of the training corpus), the
 * text and id fields and the document limit. Stages that read the training corpus put it in
 * their stage config, so a change to any of these reruns them.
 *
 * @example
 * ```ts
 * stageConfig: ({ config, corpusFingerprint }) => ({
 *   ...trainingDocumentsConfig(config, corpusFingerprint),
 *   tokenizer: config.tokenizer,
 * }),
 * ```
 */
export function trainingDocumentsConfig(config: CbtmConfig, corpusFingerprint: unknown) {
  return {
    corpus: corpusFingerprint,
    holdout:
      config.corpus.valid === null && config.corpus.train !== null ? config.corpus.holdout : 0,
    fields: [config.corpus.textField, config.corpus.idField],
    limit: config.corpus.limit,
  };
}
