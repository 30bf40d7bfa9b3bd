import { type Document, Rng, throwIfAborted } from '@cbtm/core';

/** What {@link sampleTexts} kept. */
export interface TextSample {
  /** The kept texts, in their original order. */
  readonly texts: string[];
  /** UTF-8 bytes of the kept texts. */
  readonly bytes: number;
  /** Texts seen in the input. */
  readonly seen: number;
  /** UTF-8 bytes seen in the input. */
  readonly seenBytes: number;
}

interface Entry {
  readonly key: number;
  readonly index: number;
  readonly text: string;
  readonly bytes: number;
}

/** Larger (key, index) first: the root is the entry to evict next. */
function above(a: Entry, b: Entry): boolean {
  return a.key > b.key || (a.key === b.key && a.index > b.index);
}

/**
 * A seeded, uniform random sample of documents holding at most `maxBytes` of UTF-8 text, from a
 * stream of unknown length in bounded memory. Every document draws a random key in stream
 * order, which puts the documents in a random order; the sample is the longest prefix of that
 * order that fits in the budget (at least one document). The same input and seed give the
 * same sample.
 */
export async function sampleTexts(
  input: Iterable<string | Document> | AsyncIterable<string | Document>,
  options: { readonly maxBytes: number; readonly seed: number; readonly signal?: AbortSignal },
): Promise<TextSample> {
  const rng = new Rng(options.seed);
  const heap: Entry[] = [];
  let bytes = 0;
  let seen = 0;
  let seenBytes = 0;
  // Every document with a key below `threshold` is in the heap; none at or above it is.
  let threshold = Number.POSITIVE_INFINITY;
  for await (const item of input as AsyncIterable<string | Document>) {
    if ((seen & 255) === 0) throwIfAborted(options.signal);
    const text = typeof item === 'string' ? item : item.text;
    const index = seen++;
    const key = rng.float();
    if (typeof text !== 'string' || text.length === 0) continue;
    const size = Buffer.byteLength(text, 'utf8');
    seenBytes += size;
    if (key >= threshold) continue; // a document drawn earlier in key order already did not fit
    push(heap, { key, index, text, bytes: size });
    bytes += size;
    while (bytes > options.maxBytes && heap.length > 1) {
      const evicted = pop(heap);
      bytes -= evicted.bytes;
      threshold = evicted.key;
    }
  }
  throwIfAborted(options.signal);
  heap.sort((a, b) => a.index - b.index);
  return { texts: heap.map((e) => e.text), bytes, seen, seenBytes };
}

function push(heap: Entry[], e: Entry): void {
  let i = heap.length;
  heap.push(e);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!above(e, heap[p]!)) break;
    heap[i] = heap[p]!;
    i = p;
  }
  heap[i] = e;
}

function pop(heap: Entry[]): Entry {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length === 0) return top;
  let i = 0;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= heap.length) break;
    if (c + 1 < heap.length && above(heap[c + 1]!, heap[c]!)) c++;
    if (!above(heap[c]!, last)) break;
    heap[i] = heap[c]!;
    i = c;
  }
  heap[i] = last;
  return top;
}
