import { CbtmError, type Document, readCorpus } from '@cbtm/core/node';

/**
 * Where training text comes from: a corpus path (`.jsonl`, `.jsonl.gz`, `.txt` or a folder),
 * several paths (read round-robin, one document from each in turn), an array or other
 * iterable of strings or documents, or a function that opens a fresh iterable per epoch.
 * A one-shot async iterable works for a single pass only.
 *
 * @example
 * ```ts
 * const data: TextSource = () => readCorpus('corpus.jsonl.gz', { limit: 1000 });
 * ```
 */
export type TextSource =
  | string
  | readonly string[]
  | Iterable<string | Document>
  | AsyncIterable<string | Document>
  | (() => Iterable<string | Document> | AsyncIterable<string | Document>);

/**
 * The tokenizer a language model trains with: `BpeTokenizer` fits, and so does anything with
 * a vocabulary size, an end-of-document id and `encode`.
 *
 * @example
 * ```ts
 * const tokenizer: TextTokenizer = await BpeTokenizer.load('runs/a/tokenizer/tokenizer.json');
 * ```
 */
export interface TextTokenizer {
  readonly vocabSize: number;
  readonly eosId: number;
  encode(text: string): ArrayLike<number>;
}

const textOf = (d: string | Document): string => (typeof d === 'string' ? d : d.text);

async function* roundRobin(paths: readonly string[]): AsyncGenerator<string> {
  const iters = paths.map((p) => readCorpus(p)[Symbol.asyncIterator]());
  const live = new Set(iters.keys());
  while (live.size > 0) {
    for (const i of [...live]) {
      const r = await iters[i]!.next();
      if (r.done) live.delete(i);
      else yield r.value.text;
    }
  }
}

async function* fromIterable(
  it: Iterable<string | Document> | AsyncIterable<string | Document>,
): AsyncGenerator<string> {
  for await (const d of it as AsyncIterable<string | Document>) yield textOf(d);
}

/**
 * Opens one pass over the texts of `source`.
 *
 * @example
 * ```ts
 * for await (const text of openTexts(['a.jsonl.gz', 'b.jsonl.gz'])) console.log(text.length);
 * ```
 */
export function openTexts(source: TextSource): AsyncGenerator<string> {
  if (typeof source === 'string') return fromIterable(readCorpus(source));
  if (
    Array.isArray(source) &&
    source.every((s) => typeof s === 'string') &&
    source.length > 0 &&
    looksLikePaths(source as string[])
  ) {
    return roundRobin(source as string[]);
  }
  if (typeof source === 'function') return fromIterable(source());
  if (
    source &&
    (Symbol.iterator in (source as object) || Symbol.asyncIterator in (source as object))
  ) {
    return fromIterable(source as Iterable<string | Document>);
  }
  throw new CbtmError(
    'E_INVALID_ARGUMENT',
    'Training data must be a corpus path, an array of paths, an iterable of texts, or a function returning one.',
  );
}

/** An array of strings is read as paths only when every entry names a corpus file or folder. */
function looksLikePaths(xs: readonly string[]): boolean {
  return xs.every((s) => /\.(jsonl|jsonl\.gz|txt)$/.test(s) || (!/\s/.test(s) && s.includes('/')));
}
