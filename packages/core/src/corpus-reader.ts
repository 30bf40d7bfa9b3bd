import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { Document } from './document.js';
import { CbtmError, CorpusError, type CorpusIssueReason, InvalidArgumentError } from './errors.js';
import { Rng } from './rng.js';

/** Options of {@link readCorpus}. */
export interface ReadCorpusOptions {
  /** Field that holds the text in JSONL records. @default 'text' */
  readonly textField?: string;
  /** Field that holds the id; records without one get `<file>:<line>`. @default 'id' */
  readonly idField?: string;
  /** Stop after this many documents (after sampling). @default Infinity */
  readonly limit?: number;
  /**
   * Seeded sample: `fraction` keeps each document with that probability (streaming); `size`
   * keeps a uniform sample of exactly that many (reservoir, in original order).
   */
  readonly sample?: { readonly fraction?: number; readonly size?: number; readonly seed?: number };
  /** What to do with a bad record: throw, or skip it and count it. @default 'error' */
  readonly onInvalid?: 'error' | 'skip';
}

/** Default options of {@link readCorpus}. */
export const defaultReadCorpusOptions = {
  textField: 'text',
  idField: 'id',
  limit: Number.POSITIVE_INFINITY,
  onInvalid: 'error',
} as const satisfies ReadCorpusOptions;

/** Counts kept while a corpus is read. */
export interface CorpusStats {
  /** Documents yielded. */
  documents: number;
  /** Records skipped (with `onInvalid: 'skip'`), by reason. */
  readonly skipped: Partial<Record<CorpusIssueReason, number>>;
  /**
   * Where the first {@link MAX_SKIPPED_LISTED} skipped records were: `file:line: what is wrong`.
   */
  readonly skippedAt: string[];
  /** Files read so far. */
  readonly files: string[];
}

/**
 * How many skipped records {@link CorpusStats.skippedAt} lists (the counts cover them all).
 *
 * @example
 * ```ts
 * corpus.stats.skippedAt.length <= MAX_SKIPPED_LISTED; // true
 * ```
 */
export const MAX_SKIPPED_LISTED = 20;

const FILE_KINDS = ['.jsonl.gz', '.jsonl', '.txt'] as const;
type FileKind = (typeof FILE_KINDS)[number];

function kindOf(file: string): FileKind | undefined {
  return FILE_KINDS.find((k) => file.endsWith(k));
}

/**
 * Lists the corpus files at `path`: the file itself, or the `.jsonl`, `.jsonl.gz` and `.txt`
 * files of a folder, sorted by name.
 *
 * @example
 * ```ts
 * const files = await listCorpusFiles('data/my-corpus');
 * ```
 */
export async function listCorpusFiles(path: string): Promise<string[]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (err) {
    throw new CbtmError(
      'E_CORPUS_NOT_FOUND',
      `Corpus not found: ${path}. Pass a .jsonl, .jsonl.gz or .txt file, or a folder of them.`,
      {
        cause: err,
      },
    );
  }
  if (info.isFile()) {
    if (!kindOf(path)) {
      throw new CbtmError(
        'E_CORPUS_INVALID',
        `${path}: unsupported corpus file type. Use .jsonl, .jsonl.gz or .txt (one document per blank-line-separated block).`,
      );
    }
    return [path];
  }
  const names = (await readdir(path)).filter((n) => kindOf(n) && !n.startsWith('.')).sort();
  if (names.length === 0) {
    throw new CbtmError('E_CORPUS_EMPTY', `${path} holds no .jsonl, .jsonl.gz or .txt files.`);
  }
  return names.map((n) => join(path, n));
}

/**
 * Streams a file as lines of bytes, decoded strictly as UTF-8, with 1-based line numbers.
 * Gzip files are decompressed on the fly; a cut-short gzip becomes a `truncated-gzip` error.
 */
async function* readLines(
  file: string,
): AsyncGenerator<{ line: number; text: string | CorpusError }> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const raw = createReadStream(file);
  const source = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  if (source !== raw) raw.on('error', (e) => source.destroy(e));
  let pending: Buffer = Buffer.alloc(0);
  let line = 0;
  const decode = (bytes: Buffer, n: number): string | CorpusError => {
    try {
      return decoder.decode(bytes);
    } catch (err) {
      return new CorpusError(file, n, 'invalid-utf8', 'invalid UTF-8 byte sequence.', {
        cause: err,
      });
    }
  };
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let start = 0;
      let nl = pending.indexOf(10, start);
      while (nl !== -1) {
        line += 1;
        let end = nl;
        if (end > start && pending[end - 1] === 13) end -= 1;
        yield { line, text: decode(pending.subarray(start, end), line) };
        start = nl + 1;
        nl = pending.indexOf(10, start);
      }
      pending = pending.subarray(start);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (
      e.code === 'Z_BUF_ERROR' ||
      e.code === 'Z_DATA_ERROR' ||
      /unexpected end of file/i.test(e.message)
    ) {
      throw new CorpusError(
        file,
        line + 1,
        'truncated-gzip',
        `gzip data is cut short or corrupt after line ${line} (${e.message}). Re-copy or re-compress the file.`,
        { cause: err },
      );
    }
    throw new CbtmError('E_CORPUS_INVALID', `${file}: cannot read: ${e.message}`, { cause: err });
  }
  if (pending.length > 0) {
    line += 1;
    yield { line, text: decode(pending, line) };
  }
}

type Parsed = Document | CorpusError | null;

function parseJsonRecord(
  file: string,
  line: number,
  text: string,
  textField: string,
  idField: string,
): Parsed {
  if (text.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return new CorpusError(
      file,
      line,
      'malformed-json',
      `malformed JSON: ${(err as Error).message}.`,
      { cause: err },
    );
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return new CorpusError(
      file,
      line,
      'not-an-object',
      `expected a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}.`,
    );
  }
  const record = value as Record<string, unknown>;
  const body = record[textField];
  if (body === undefined || body === null) {
    return new CorpusError(
      file,
      line,
      'missing-text',
      `field "${textField}" is missing. Set textField if the text lives under another name.`,
    );
  }
  if (typeof body !== 'string') {
    return new CorpusError(
      file,
      line,
      'non-string-text',
      `field "${textField}" must be a string, got ${typeof body}.`,
    );
  }
  if (body.trim() === '') {
    return new CorpusError(file, line, 'empty-text', `field "${textField}" is empty.`);
  }
  const rawId = record[idField];
  let id: string;
  if (rawId === undefined || rawId === null) id = `${basename(file)}:${line}`;
  else if (typeof rawId === 'string' || typeof rawId === 'number') id = String(rawId);
  else
    return new CorpusError(
      file,
      line,
      'bad-id',
      `field "${idField}" must be a string or number, got ${typeof rawId}.`,
    );
  return { ...record, id, text: body };
}

async function* readFileDocs(
  file: string,
  opts: Required<Pick<ReadCorpusOptions, 'textField' | 'idField'>>,
): AsyncGenerator<Parsed> {
  if (kindOf(file) === '.txt') {
    let block: string[] = [];
    let blockLine = 0;
    let n = 0;
    const flush = (): Document | null => {
      const text = block.join('\n').trim();
      block = [];
      if (!text) return null;
      n += 1;
      return { id: `${basename(file)}#${n}`, text, line: blockLine };
    };
    for await (const { line, text } of readLines(file)) {
      if (text instanceof CorpusError) {
        yield text;
        continue;
      }
      if (text.trim() === '') {
        const doc = flush();
        if (doc) yield doc;
        continue;
      }
      if (block.length === 0) blockLine = line;
      block.push(text);
    }
    const doc = flush();
    if (doc) yield doc;
    return;
  }
  for await (const { line, text } of readLines(file)) {
    yield text instanceof CorpusError
      ? text
      : parseJsonRecord(file, line, text, opts.textField, opts.idField);
  }
}

/**
 * A corpus as an `AsyncIterable<Document>`, streamed (never the whole file in memory), with
 * counts of what was read and skipped in {@link CorpusReader.stats}. Iterate it more than once to
 * re-read from disk.
 *
 * @example
 * ```ts
 * const corpus = readCorpus('data/train.jsonl.gz', { onInvalid: 'skip' });
 * for await (const doc of corpus) console.log(doc.id, doc.text.length);
 * console.log(corpus.stats.skipped);
 * ```
 */
export class CorpusReader implements AsyncIterable<Document> {
  readonly path: string | readonly string[];
  readonly options: ReadCorpusOptions;
  /** Counts from the latest (or current) pass. */
  stats: CorpusStats = { documents: 0, skipped: {}, skippedAt: [], files: [] };

  constructor(path: string | readonly string[], options: ReadCorpusOptions = {}) {
    this.path = path;
    this.options = options;
    const { sample, limit } = options;
    if (limit !== undefined && !(limit >= 0))
      throw new InvalidArgumentError(`limit must be ≥ 0, got ${limit}.`);
    if (sample?.fraction !== undefined && !(sample.fraction > 0 && sample.fraction <= 1)) {
      throw new InvalidArgumentError(`sample.fraction must be in (0, 1], got ${sample.fraction}.`);
    }
    if (sample?.size !== undefined && !(Number.isInteger(sample.size) && sample.size >= 0)) {
      throw new InvalidArgumentError(
        `sample.size must be a non-negative integer, got ${sample.size}.`,
      );
    }
  }

  /** Reads every document into an array (for small corpora and tests). */
  async toArray(): Promise<Document[]> {
    const out: Document[] = [];
    for await (const doc of this) out.push(doc);
    return out;
  }

  async *#all(stats: CorpusStats): AsyncGenerator<Document> {
    const opts = {
      textField: this.options.textField ?? defaultReadCorpusOptions.textField,
      idField: this.options.idField ?? defaultReadCorpusOptions.idField,
    };
    const skip = (this.options.onInvalid ?? 'error') === 'skip';
    const roots = typeof this.path === 'string' ? [this.path] : this.path;
    for (const root of roots) {
      for (const file of await listCorpusFiles(root)) {
        stats.files.push(file);
        for await (const item of readFileDocs(file, opts)) {
          if (item === null) continue;
          if (item instanceof CorpusError) {
            // A cut-short gzip cannot be read past, so it always ends the file.
            if (!skip) throw item;
            stats.skipped[item.reason] = (stats.skipped[item.reason] ?? 0) + 1;
            if (stats.skippedAt.length < MAX_SKIPPED_LISTED) stats.skippedAt.push(item.message);
            if (item.reason === 'truncated-gzip') break;
            continue;
          }
          yield item;
        }
      }
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Document> {
    const stats: CorpusStats = { documents: 0, skipped: {}, skippedAt: [], files: [] };
    this.stats = stats;
    const limit = this.options.limit ?? Number.POSITIVE_INFINITY;
    if (limit === 0) return;
    const sample = this.options.sample;
    const rng = new Rng(sample?.seed ?? 0);
    if (sample?.size !== undefined) {
      // Reservoir sampling (Algorithm R), then original order, so the sample is reproducible.
      const size = Math.min(sample.size, limit);
      const reservoir: { index: number; doc: Document }[] = [];
      let seen = 0;
      for await (const doc of this.#all(stats)) {
        if (reservoir.length < size) reservoir.push({ index: seen, doc });
        else {
          const j = rng.int(0, seen);
          if (j < size) reservoir[j] = { index: seen, doc };
        }
        seen += 1;
      }
      reservoir.sort((a, b) => a.index - b.index);
      for (const { doc } of reservoir) {
        stats.documents += 1;
        yield doc;
      }
      return;
    }
    for await (const doc of this.#all(stats)) {
      if (sample?.fraction !== undefined && rng.float() >= sample.fraction) continue;
      stats.documents += 1;
      yield doc;
      if (stats.documents >= limit) return;
    }
  }
}

/**
 * Reads a corpus: a `.jsonl` or `.jsonl.gz` file (one JSON object per line with a string text
 * field), a `.txt` file (one document per blank-line-separated block), or a folder of such
 * files. Bad records raise a {@link CorpusError} naming `file:line`, or are counted and skipped
 * with `onInvalid: 'skip'`.
 *
 * @example
 * ```ts
 * for await (const doc of readCorpus(demoCorpusPaths().train, { limit: 10 })) {
 *   console.log(doc.id, doc.domain);
 * }
 * ```
 */
export function readCorpus(
  path: string | readonly string[],
  options: ReadCorpusOptions = {},
): CorpusReader {
  return new CorpusReader(path, options);
}
