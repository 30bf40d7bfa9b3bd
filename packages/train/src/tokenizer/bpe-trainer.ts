import {
  CbtmError,
  type Document,
  InvalidArgumentError,
  type LongRunOptions,
  progressReporter,
  throwIfAborted,
} from '@cbtm/core';
import { BpeTokenizer, DEFAULT_EOS_TOKEN, DEFAULT_PAD_TOKEN } from './bpe-tokenizer.js';
import { bytesToTokenString, preTokenize, utf8 } from './byte-level.js';
import { sampleTexts } from './text-sample.js';

/**
 * Options of {@link trainBpeTokenizer}.
 *
 * @example
 * ```ts
 * const opts: BpeTrainOptions = { vocabSize: 8192, sampleBytes: 8e6, seed: 42, onProgress: console.log };
 * ```
 */
export interface BpeTrainOptions extends LongRunOptions {
  /**
   * Total number of ids: 256 bytes + 2 special tokens + merges. Small on purpose: models on a
   * CPU cannot afford GPT-2's 50k-row embedding. Training stops early, with a smaller
   * vocabulary, when no pair occurs `minFrequency` times.
   * @default 4096
   */
  readonly vocabSize?: number;
  /** A pair must occur at least this often (in the sample) to be merged. @default 2 */
  readonly minFrequency?: number;
  /** UTF-8 bytes of text to learn from: a seeded sample of whole documents. @default 4_000_000 */
  readonly sampleBytes?: number;
  /** Seed of the document sample. @default 0 */
  readonly seed?: number;
  /** Text of the end-of-document token. @default '<|endoftext|>' */
  readonly eosToken?: string;
  /** Text of the padding token. @default '<|pad|>' */
  readonly padToken?: string;
}

/**
 * Default {@link BpeTrainOptions}.
 *
 * @example
 * ```ts
 * await trainBpeTokenizer(texts, { ...defaultBpeTrainOptions, vocabSize: 8192 });
 * ```
 */
export const defaultBpeTrainOptions = {
  vocabSize: 4096,
  minFrequency: 2,
  sampleBytes: 4_000_000,
  seed: 0,
  eosToken: DEFAULT_EOS_TOKEN,
  padToken: DEFAULT_PAD_TOKEN,
} as const satisfies BpeTrainOptions;

/** Ids of the special tokens: right after the 256 bytes, so they never move. */
const EOS_ID = 256;
const PAD_ID = 257;
const FIRST_MERGE_ID = 258;
/** Merges between two progress events / abort checks / event-loop yields. */
const MERGES_PER_TICK = 128;

/**
 * Trains a byte-level BPE tokenizer on a seeded sample of `texts` (strings or `Document`s,
 * sync or async). Ids 0–255 are the bytes, 256 is `<|endoftext|>`, 257 is `<|pad|>`, and
 * merges follow in the order they were learnt. Each step merges the most frequent adjacent
 * pair within GPT-2 pre-tokens; ties go to the pair with the smaller (left, right) ids, so
 * the result depends only on the sample. Emits progress for stage `tokenizer` in merges.
 *
 * @example
 * ```ts
 * const tok = await trainBpeTokenizer(readCorpus('data/train.jsonl.gz'), { vocabSize: 4096, seed: 1 });
 * await tok.save('runs/a/tokenizer/tokenizer.json');
 * ```
 */
export async function trainBpeTokenizer(
  texts: Iterable<string | Document> | AsyncIterable<string | Document>,
  options: BpeTrainOptions = {},
): Promise<BpeTokenizer> {
  const opts = { ...defaultBpeTrainOptions, ...options };
  validate(opts);
  const { signal } = options;
  const progress = progressReporter('tokenizer', options.onProgress, { unit: 'merges' });
  progress.start('sampling documents');

  const sample = await sampleTexts(texts, { maxBytes: opts.sampleBytes, seed: opts.seed, signal });
  if (sample.bytes === 0) {
    throw new CbtmError(
      'E_CORPUS_EMPTY',
      'trainBpeTokenizer got no text; pass a corpus with at least one non-empty document.',
    );
  }
  const wordCounts = new Map<string, number>();
  for (const text of sample.texts) {
    for (const w of preTokenize(text)) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
  }
  throwIfAborted(signal);

  const maxMerges = opts.vocabSize - FIRST_MERGE_ID;
  progress.update(0, { total: maxMerges, message: `learning merges from ${sample.bytes} bytes` });
  const specials = new Set([opts.eosToken, opts.padToken]);
  const merges = await learnMerges(wordCounts, maxMerges, opts.minFrequency, {
    // A merge spelled like a special token would make the vocabulary ambiguous.
    allowed: (bytes) => !specials.has(bytesToTokenString(bytes)),
    tick: async (done) => {
      throwIfAborted(signal);
      progress.update(done);
      await new Promise((resolve) => setTimeout(resolve, 0));
      throwIfAborted(signal);
    },
  });

  const tokens: Uint8Array[] = [];
  for (let b = 0; b < 256; b++) tokens.push(Uint8Array.of(b));
  tokens.push(utf8(opts.eosToken), utf8(opts.padToken));
  const triples = new Int32Array(merges.length * 3);
  merges.forEach(([left, right], i) => {
    const bytes = new Uint8Array(tokens[left]!.length + tokens[right]!.length);
    bytes.set(tokens[left]!);
    bytes.set(tokens[right]!, tokens[left]!.length);
    tokens.push(bytes);
    triples.set([left, right, FIRST_MERGE_ID + i], 3 * i);
  });
  const tokenizer = new BpeTokenizer({
    tokens,
    merges: triples,
    specials: [
      { id: EOS_ID, content: opts.eosToken },
      { id: PAD_ID, content: opts.padToken },
    ],
    eosId: EOS_ID,
    padId: PAD_ID,
  });
  progress.done({
    message:
      merges.length < maxMerges
        ? `stopped at ${merges.length} merges: no pair occurs ${opts.minFrequency} times`
        : `${merges.length} merges`,
    metrics: {
      vocabSize: tokenizer.vocabSize,
      sampleBytes: sample.bytes,
      documents: sample.texts.length,
    },
  });
  return tokenizer;
}

function validate(opts: Required<Omit<BpeTrainOptions, 'signal' | 'onProgress'>>): void {
  if (
    !Number.isInteger(opts.vocabSize) ||
    opts.vocabSize < FIRST_MERGE_ID ||
    opts.vocabSize > 1 << 20
  ) {
    throw new InvalidArgumentError(
      `vocabSize must be an integer from ${FIRST_MERGE_ID} (256 bytes + 2 special tokens) to ${1 << 20}, got ${opts.vocabSize}.`,
    );
  }
  if (!Number.isInteger(opts.minFrequency) || opts.minFrequency < 1) {
    throw new InvalidArgumentError(
      `minFrequency must be an integer ≥ 1, got ${opts.minFrequency}.`,
    );
  }
  if (!(opts.sampleBytes > 0)) {
    throw new InvalidArgumentError(`sampleBytes must be > 0, got ${opts.sampleBytes}.`);
  }
  if (!opts.eosToken || !opts.padToken || opts.eosToken === opts.padToken) {
    throw new InvalidArgumentError(
      'eosToken and padToken must be two different non-empty strings.',
    );
  }
}

/**
 * The BPE merge loop over counted words, with incremental pair counts. Returns the merged
 * `[left, right]` pairs in order; the i-th makes id `258 + i`.
 *
 * Pair counts live in a map, and a max-heap orders (count, pair) with lazy invalidation: a
 * merge only lowers the counts of existing pairs and creates pairs with the new token, so a
 * heap entry can only overstate its pair's count. When a popped entry is stale it goes back
 * with the true count; when it is current it is the true maximum.
 */
export async function learnMerges(
  wordCounts: ReadonlyMap<string, number>,
  maxMerges: number,
  minFrequency: number,
  hooks: {
    readonly allowed?: (bytes: Uint8Array) => boolean;
    readonly tick?: (done: number) => Promise<void>;
  } = {},
): Promise<[number, number][]> {
  // The pair key packs (left, right) in one number; its order is (left, right) order.
  const cap = FIRST_MERGE_ID + maxMerges;
  const words: Int32Array[] = [];
  const lengths: number[] = [];
  const counts: number[] = [];
  for (const [w, c] of wordCounts) {
    const bytes = utf8(w);
    if (bytes.length < 2) continue;
    words.push(Int32Array.from(bytes));
    lengths.push(bytes.length);
    counts.push(c);
  }
  const tokenBytes: Uint8Array[] = [];
  for (let b = 0; b < 256; b++) tokenBytes.push(Uint8Array.of(b));
  tokenBytes.push(new Uint8Array(0), new Uint8Array(0));

  const pairCount = new Map<number, number>();
  const where = new Map<number, number[]>();
  for (let w = 0; w < words.length; w++) {
    const s = words[w]!;
    const c = counts[w]!;
    for (let i = 0; i < lengths[w]! - 1; i++) {
      const key = s[i]! * cap + s[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + c);
      addWhere(where, key, w);
    }
  }
  const heap = new PairHeap();
  for (const [key, c] of pairCount) heap.push(c, key);

  const merges: [number, number][] = [];
  const banned = new Set<number>();
  const changed = new Set<number>();
  while (merges.length < maxMerges && heap.size > 0) {
    const top = heap.pop();
    const actual = pairCount.get(top.key) ?? 0;
    if (actual !== top.count) {
      if (actual > 0) heap.push(actual, top.key);
      continue;
    }
    if (actual < minFrequency) break;
    const left = Math.floor(top.key / cap);
    const right = top.key - left * cap;
    const bytes = concat(tokenBytes[left]!, tokenBytes[right]!);
    if (hooks.allowed && !hooks.allowed(bytes)) {
      banned.add(top.key);
      continue;
    }
    const id = FIRST_MERGE_ID + merges.length;
    merges.push([left, right]);
    tokenBytes.push(bytes);

    changed.clear();
    const list = where.get(top.key) ?? [];
    where.delete(top.key);
    for (const w of list) {
      const s = words[w]!;
      const n = lengths[w]!;
      const c = counts[w]!;
      let found = false;
      for (let i = 0; i < n - 1; i++) {
        if (s[i] === left && s[i + 1] === right) {
          found = true;
          break;
        }
      }
      if (!found) continue; // stale entry: an earlier merge already consumed the pair
      for (let i = 0; i < n - 1; i++) add(pairCount, s[i]! * cap + s[i + 1]!, -c);
      let m = 0;
      for (let i = 0; i < n; i++) {
        if (i < n - 1 && s[i] === left && s[i + 1] === right) {
          s[m++] = id;
          i++;
        } else {
          s[m++] = s[i]!;
        }
      }
      lengths[w] = m;
      for (let i = 0; i < m - 1; i++) {
        const key = s[i]! * cap + s[i + 1]!;
        add(pairCount, key, c);
        if (s[i] === id || s[i + 1] === id) {
          changed.add(key);
          addWhere(where, key, w);
        }
      }
    }
    for (const key of changed) {
      const c = pairCount.get(key) ?? 0;
      if (c > 0 && !banned.has(key)) heap.push(c, key);
    }
    if (merges.length % MERGES_PER_TICK === 0 && hooks.tick) await hooks.tick(merges.length);
  }
  return merges;
}

/** Notes that word `w` holds pair `key`; words are visited in order, so a repeat is the last entry. */
function addWhere(where: Map<number, number[]>, key: number, w: number): void {
  const list = where.get(key);
  if (!list) where.set(key, [w]);
  else if (list[list.length - 1] !== w) list.push(w);
}

function add(map: Map<number, number>, key: number, delta: number): void {
  const v = (map.get(key) ?? 0) + delta;
  if (v === 0) map.delete(key);
  else map.set(key, v);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Max-heap of (count, key); ties go to the smaller key. */
class PairHeap {
  #counts: number[] = [];
  #keys: number[] = [];

  get size(): number {
    return this.#counts.length;
  }

  #above(i: number, count: number, key: number): boolean {
    const c = this.#counts[i]!;
    return c > count || (c === count && this.#keys[i]! < key);
  }

  push(count: number, key: number): void {
    const counts = this.#counts;
    const keys = this.#keys;
    let i = counts.length;
    counts.push(count);
    keys.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.#above(p, count, key)) break;
      counts[i] = counts[p]!;
      keys[i] = keys[p]!;
      i = p;
    }
    counts[i] = count;
    keys[i] = key;
  }

  pop(): { count: number; key: number } {
    const counts = this.#counts;
    const keys = this.#keys;
    const top = { count: counts[0]!, key: keys[0]! };
    const count = counts.pop()!;
    const key = keys.pop()!;
    const n = counts.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && !this.#above(c, counts[c + 1]!, keys[c + 1]!)) c++;
      if (!this.#above(c, count, key)) break;
      counts[i] = counts[c]!;
      keys[i] = keys[c]!;
      i = c;
    }
    counts[i] = count;
    keys[i] = key;
    return top;
  }
}
