import { type Document, InvalidArgumentError } from '@cbtm/core';

/**
 * One input document: a plain string or a {@link Document} (its `text` is used).
 *
 * @example
 * ```ts
 * const docs: DocInput[] = ['first text', { id: 'b', text: 'second text' }];
 * ```
 */
export type DocInput = string | Document;

/**
 * A stream of documents, sync or async (e.g. `readCorpus(path)` from `@cbtm/core`).
 *
 * @example
 * ```ts
 * const source: DocSource = readCorpus('data/train.jsonl.gz');
 * ```
 */
export type DocSource = Iterable<DocInput> | AsyncIterable<DocInput>;

/**
 * The text of one input document; throws a clear error for anything else.
 *
 * @example
 * ```ts
 * textOf({ id: 'a', text: 'hi' }); // 'hi'
 * ```
 */
export function textOf(doc: DocInput): string {
  if (typeof doc === 'string') return doc;
  if (doc !== null && typeof doc === 'object' && typeof doc.text === 'string') return doc.text;
  throw new InvalidArgumentError(
    `Expected a string or a Document with a string "text" field, got ${describe(doc)}.`,
  );
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x !== 'object') return typeof x;
  const id = (x as { id?: unknown }).id;
  return id === undefined
    ? 'an object without "text"'
    : `document ${JSON.stringify(id)} without a string "text"`;
}

/**
 * Iterates texts of a sync or async source. Sync sources are read synchronously (no await per
 * document), which matters on the hot path.
 *
 * @example
 * ```ts
 * for await (const text of iterateTexts(['a', 'b'])) console.log(text);
 * ```
 */
export async function* iterateTexts(docs: DocSource): AsyncGenerator<string> {
  if (docs === null || typeof docs !== 'object') {
    throw new InvalidArgumentError('Expected an Iterable or AsyncIterable of documents.');
  }
  if (Symbol.asyncIterator in docs) {
    for await (const d of docs as AsyncIterable<DocInput>) yield textOf(d);
  } else if (Symbol.iterator in docs) {
    for (const d of docs as Iterable<DocInput>) yield textOf(d);
  } else {
    throw new InvalidArgumentError('Expected an Iterable or AsyncIterable of documents.');
  }
}

/**
 * Groups a source into arrays of at most `size` texts, so callers can work (and check an abort
 * signal) one batch at a time.
 *
 * @example
 * ```ts
 * for await (const batch of batchTexts(docs, 256)) process(batch);
 * ```
 */
export async function* batchTexts(docs: DocSource, size: number): AsyncGenerator<string[]> {
  if (!Number.isInteger(size) || size < 1) {
    throw new InvalidArgumentError(`batchSize must be a positive integer, got ${size}.`);
  }
  let batch: string[] = [];
  if (
    docs !== null &&
    typeof docs === 'object' &&
    !(Symbol.asyncIterator in docs) &&
    Symbol.iterator in docs
  ) {
    for (const d of docs as Iterable<DocInput>) {
      batch.push(textOf(d));
      if (batch.length === size) {
        yield batch;
        batch = [];
      }
    }
  } else {
    for await (const t of iterateTexts(docs)) {
      batch.push(t);
      if (batch.length === size) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}
