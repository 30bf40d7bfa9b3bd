import { fileSystem, InvalidArgumentError } from '@cbtm/core';
import { bytesToTokenString, preTokenize, utf8 } from './byte-level.js';
import { MergeTable, NO_MERGE } from './merge-table.js';
import {
  type BpeVocabulary,
  type HfTokenizerJson,
  type SpecialToken,
  vocabularyFromJson,
  vocabularyToJson,
} from './tokenizer-json.js';

/**
 * Text of the end-of-document token.
 *
 * @example
 * ```ts
 * tokenizer.decode([tokenizer.eosId]) === DEFAULT_EOS_TOKEN; // true
 * ```
 */
export const DEFAULT_EOS_TOKEN = '<|endoftext|>';

/**
 * Text of the padding token.
 *
 * @example
 * ```ts
 * tokenizer.decode([tokenizer.padId]) === DEFAULT_PAD_TOKEN; // true
 * ```
 */
export const DEFAULT_PAD_TOKEN = '<|pad|>';

/**
 * Options of {@link BpeTokenizer.encode}.
 *
 * @example
 * ```ts
 * const opts: EncodeOptions = { parseSpecial: true };
 * tok.encode('a<|endoftext|>b', opts); // [..., tok.eosId, ...]
 * ```
 */
export interface EncodeOptions {
  /**
   * Turn literal special-token text (`<|endoftext|>`, `<|pad|>`) into the special ids, as
   * Hugging Face tokenizers do. Off by default, so document text can never forge a document
   * boundary: the text is then encoded as ordinary bytes.
   * @default false
   */
  readonly parseSpecial?: boolean;
}

/**
 * Default {@link EncodeOptions}.
 *
 * @example
 * ```ts
 * tokenizer.encode('hi', { ...defaultEncodeOptions, parseSpecial: true });
 * ```
 */
export const defaultEncodeOptions = { parseSpecial: false } as const satisfies EncodeOptions;

/**
 * Options of {@link BpeTokenizer.fromJSON} and {@link BpeTokenizer.load}: which added tokens
 * play the end-of-document and padding roles.
 *
 * @example
 * ```ts
 * const opts: LoadTokenizerOptions = { eosToken: '</s>', padToken: '<pad>' };
 * const tok = await BpeTokenizer.load('other/tokenizer.json', opts);
 * ```
 */
export interface LoadTokenizerOptions {
  /** Text of the end-of-document token among `added_tokens`. @default '<|endoftext|>' */
  readonly eosToken?: string;
  /** Text of the padding token among `added_tokens`. @default '<|pad|>' */
  readonly padToken?: string;
}

/**
 * Default {@link LoadTokenizerOptions}.
 *
 * @example
 * ```ts
 * BpeTokenizer.fromJSON(json, { ...defaultLoadTokenizerOptions, padToken: '<pad>' });
 * ```
 */
export const defaultLoadTokenizerOptions = {
  eosToken: DEFAULT_EOS_TOKEN,
  padToken: DEFAULT_PAD_TOKEN,
} as const satisfies LoadTokenizerOptions;

/** Pre-tokens longer than this are not cached: they rarely repeat. */
const MAX_CACHED_PIECE = 256;
/** Entries per cache generation, so memory stays flat on any corpus. */
const CACHE_CAPACITY = 1 << 16;
/** Pieces up to this many bytes merge with a linear scan; longer ones use a heap. */
const LINEAR_LIMIT = 128;

const FLAG_LEADING_SPACE = 1;
const FLAG_TRAILING_SPACE = 2;
const FLAG_HAS_TEXT = 4;

/**
 * A byte-level BPE tokenizer shared by every expert and the dense baseline. Ids `0..255` are
 * the single bytes, so any string encodes; `decode(encode(s)) === s` for every well-formed
 * string. It saves as a Hugging Face `tokenizer.json`, and transformers.js gives the same ids.
 *
 * Make one with {@link trainBpeTokenizer}, {@link BpeTokenizer.load} or
 * {@link BpeTokenizer.fromJSON}.
 *
 * @example
 * ```ts
 * const tok = await trainBpeTokenizer(['the cat sat on the mat'], { vocabSize: 300 });
 * const ids = tok.encodeDocument('the cat');  // [..., tok.eosId]
 * tok.decode(tok.encode('the cat')) === 'the cat'; // true
 * await tok.save('run/tokenizer/tokenizer.json');
 * ```
 */
export class BpeTokenizer {
  /** Number of ids, special tokens included: ids are `0..vocabSize-1`. */
  readonly vocabSize: number;
  /** Id of the end-of-document token (`<|endoftext|>`). */
  readonly eosId: number;
  /** Id of the padding token (`<|pad|>`). */
  readonly padId: number;
  /** Number of merges (the vocabulary minus the 256 bytes and the special tokens). */
  readonly mergeCount: number;

  readonly #vocab: BpeVocabulary;
  readonly #byteIds = new Int32Array(256);
  readonly #table: MergeTable;
  readonly #mergeResult: Int32Array;
  readonly #flags: Uint8Array;
  readonly #specialIds: ReadonlySet<number>;
  readonly #specialRegex: RegExp | undefined;
  readonly #specialByText: ReadonlyMap<string, number>;
  #cache = new Map<string, number | number[]>();
  #old = new Map<string, number | number[]>();
  #sym = new Int32Array(256);
  #ranks = new Int32Array(256);

  /**
   * Wraps already-built tables. Most code wants {@link trainBpeTokenizer} or
   * {@link BpeTokenizer.load} instead.
   */
  constructor(vocab: BpeVocabulary) {
    this.#vocab = vocab;
    this.vocabSize = vocab.tokens.length;
    this.eosId = vocab.eosId;
    this.padId = vocab.padId;
    this.mergeCount = vocab.merges.length / 3;
    this.#specialIds = new Set(vocab.specials.map((s) => s.id));
    this.#specialByText = new Map(vocab.specials.map((s) => [s.content, s.id]));

    const idOfBytes = new Map<string, number>();
    vocab.tokens.forEach((bytes, id) => {
      if (!this.#specialIds.has(id)) idOfBytes.set(bytesToTokenString(bytes), id);
    });
    for (let b = 0; b < 256; b++) {
      const id = idOfBytes.get(bytesToTokenString(Uint8Array.of(b)));
      if (id === undefined)
        throw new InvalidArgumentError(`The vocabulary has no token for byte ${b}.`);
      this.#byteIds[b] = id;
    }
    for (const s of vocab.specials) {
      if (s.content.length === 0 || idOfBytes.has(s.content)) {
        throw new InvalidArgumentError(
          `Special token ${JSON.stringify(s.content)} is empty or spelled like a byte-level token; pick another text.`,
        );
      }
    }

    const n = this.mergeCount;
    const pairs = new Int32Array(2 * n);
    this.#mergeResult = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      pairs[2 * r] = vocab.merges[3 * r]!;
      pairs[2 * r + 1] = vocab.merges[3 * r + 1]!;
      this.#mergeResult[r] = vocab.merges[3 * r + 2]!;
    }
    this.#table = new MergeTable(pairs);

    this.#flags = new Uint8Array(this.vocabSize);
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    vocab.tokens.forEach((bytes, id) => {
      if (this.#specialIds.has(id)) {
        this.#flags[id] = FLAG_LEADING_SPACE | FLAG_TRAILING_SPACE;
        return;
      }
      const text = decoder.decode(bytes);
      this.#flags[id] =
        (/^\s/u.test(text) ? FLAG_LEADING_SPACE : 0) |
        (/\s$/u.test(text) ? FLAG_TRAILING_SPACE : 0) |
        (/\S/u.test(text) ? FLAG_HAS_TEXT : 0);
    });

    const escaped = [...this.#specialByText.keys()]
      .sort((a, b) => b.length - a.length) // longest first, as Hugging Face matches
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.#specialRegex = escaped.length > 0 ? new RegExp(escaped.join('|'), 'g') : undefined;
  }

  /**
   * Encodes `text` into token ids (no end-of-document token; see {@link encodeDocument}).
   *
   * @example
   * ```ts
   * tok.encode('Hello world'); // e.g. [72, 1012, 1187]
   * ```
   */
  encode(text: string, options: EncodeOptions = defaultEncodeOptions): number[] {
    const out: number[] = [];
    if (options.parseSpecial && this.#specialRegex) {
      // Sections between special tokens are pre-tokenized on their own, as Hugging Face does.
      const re = this.#specialRegex;
      re.lastIndex = 0;
      let start = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        this.#encodeOrdinary(text.slice(start, m.index), out);
        out.push(this.#specialByText.get(m[0])!);
        start = m.index + m[0].length;
      }
      this.#encodeOrdinary(text.slice(start), out);
    } else {
      this.#encodeOrdinary(text, out);
    }
    return out;
  }

  /**
   * Encodes one document and appends the end-of-document id, the unit experts train on.
   *
   * @example
   * ```ts
   * tok.encodeDocument('Hi.').at(-1) === tok.eosId; // true
   * ```
   */
  encodeDocument(text: string): number[] {
    const ids = this.encode(text);
    ids.push(this.eosId);
    return ids;
  }

  /**
   * Turns ids back into text. Special tokens come out as their text (`<|endoftext|>`). Byte
   * sequences that are not valid UTF-8 (say, a cut in the middle of a character) become U+FFFD,
   * exactly as transformers.js decodes them.
   *
   * @example
   * ```ts
   * tok.decode(tok.encode('naïve 🙂')); // 'naïve 🙂'
   * ```
   */
  decode(ids: ArrayLike<number>): string {
    const tokens = this.#vocab.tokens;
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const t = tokens[ids[i]!];
      if (t === undefined) {
        throw new InvalidArgumentError(
          `Token id ${ids[i]} at position ${i} is not in 0..${this.vocabSize - 1}; was it made by another tokenizer?`,
        );
      }
      total += t.length;
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const t = tokens[ids[i]!]!;
      bytes.set(t, at);
      at += t.length;
    }
    return utf8Decoder.decode(bytes);
  }

  /**
   * The text of one token on its own (U+FFFD for a partial UTF-8 character).
   *
   * @example
   * ```ts
   * tok.decodeToken(tok.encode(' cat')[0]); // ' cat' once that merge is learnt
   * ```
   */
  decodeToken(id: number): string {
    return this.decode([id]);
  }

  /**
   * The raw bytes of one token. Concatenating them for a sequence and decoding as UTF-8 gives
   * {@link decode}'s result.
   *
   * @example
   * ```ts
   * tok.tokenBytes(65); // Uint8Array [65] ('A')
   * ```
   */
  tokenBytes(id: number): Uint8Array {
    const t = this.#vocab.tokens[id];
    if (t === undefined)
      throw new InvalidArgumentError(`Token id ${id} is not in 0..${this.vocabSize - 1}.`);
    return t.slice();
  }

  /**
   * Whether `id` is a special token (end-of-document, padding).
   *
   * @example
   * ```ts
   * tok.isSpecial(tok.eosId); // true
   * ```
   */
  isSpecial(id: number): boolean {
    return this.#specialIds.has(id);
  }

  /**
   * Whether token `id` begins a new whitespace-delimited word, given the token before it
   * (`undefined` at the start of a text). The ensemble re-routes once per complete word: when
   * this returns true, the word before it is complete. A word begins when a token holds
   * non-whitespace and either starts with whitespace itself (`' the'`) or follows whitespace,
   * a special token, or the start of the text. Whitespace-only and special tokens never begin
   * a word. Whitespace is Unicode `\s`; a token holding only part of a multi-byte space counts
   * as text.
   *
   * @example
   * ```ts
   * const ids = tok.encode('Hello big world');
   * const starts = ids.map((id, i) => tok.tokenStartsWord(id, i > 0 ? ids[i - 1] : undefined));
   * ```
   */
  tokenStartsWord(id: number, previousId?: number): boolean {
    const f = this.#flags[id];
    if (f === undefined)
      throw new InvalidArgumentError(`Token id ${id} is not in 0..${this.vocabSize - 1}.`);
    if ((f & FLAG_HAS_TEXT) === 0) return false;
    if (f & FLAG_LEADING_SPACE || previousId === undefined) return true;
    const p = this.#flags[previousId];
    if (p === undefined)
      throw new InvalidArgumentError(`Token id ${previousId} is not in 0..${this.vocabSize - 1}.`);
    return (p & FLAG_TRAILING_SPACE) !== 0;
  }

  /**
   * The Hugging Face `tokenizer.json` object (model BPE, ByteLevel pre-tokenizer and decoder,
   * special tokens in `added_tokens`).
   *
   * @example
   * ```ts
   * const json = tok.toJSON();
   * json.model.type; // 'BPE'
   * ```
   */
  toJSON(): HfTokenizerJson {
    return vocabularyToJson(this.#vocab);
  }

  /**
   * The matching `tokenizer_config.json` object: it names the special tokens and turns off
   * transformers' space clean-up, which would otherwise change decoded text.
   *
   * @example
   * ```ts
   * const config = tok.toTokenizerConfig(); // { eos_token: '<|endoftext|>', ... }
   * ```
   */
  toTokenizerConfig(): Record<string, unknown> {
    const text = (id: number) => this.#vocab.specials.find((s) => s.id === id)!.content;
    return {
      tokenizer_class: 'PreTrainedTokenizerFast',
      bos_token: null,
      eos_token: text(this.eosId),
      pad_token: text(this.padId),
      unk_token: null,
      add_bos_token: false,
      add_eos_token: false,
      add_prefix_space: false,
      clean_up_tokenization_spaces: false,
      model_max_length: 1_000_000_000,
    };
  }

  /**
   * Writes `tokenizer.json` to `file` atomically (temp file, then rename).
   *
   * @example
   * ```ts
   * await tok.save('runs/a/tokenizer/tokenizer.json');
   * ```
   */
  async save(file: string): Promise<void> {
    await fileSystem().writeJsonAtomic(file, this.toJSON());
  }

  /**
   * Writes `tokenizer.json` and `tokenizer_config.json` into `dir`, so transformers
   * (`AutoTokenizer.from_pretrained(dir)`) loads the folder directly.
   *
   * @example
   * ```ts
   * await tok.saveForTransformers('runs/a/tokenizer');
   * ```
   */
  async saveForTransformers(dir: string): Promise<void> {
    const fs = fileSystem();
    await fs.writeJsonAtomic(fs.join(dir, 'tokenizer.json'), this.toJSON());
    await fs.writeJsonAtomic(fs.join(dir, 'tokenizer_config.json'), this.toTokenizerConfig());
  }

  /**
   * Loads a `tokenizer.json` written by {@link save} (or any byte-level BPE `tokenizer.json`
   * whose special tokens are named in `options`).
   *
   * @example
   * ```ts
   * const tok = await BpeTokenizer.load('runs/a/tokenizer/tokenizer.json');
   * ```
   */
  static async load(file: string, options: LoadTokenizerOptions = {}): Promise<BpeTokenizer> {
    const json = await fileSystem().readJson(file);
    return new BpeTokenizer(
      vocabularyFromJson(json, { ...defaultLoadTokenizerOptions, ...options }, file),
    );
  }

  /**
   * Builds a tokenizer from a parsed `tokenizer.json` object.
   *
   * @example
   * ```ts
   * const copy = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
   * ```
   */
  static fromJSON(json: unknown, options: LoadTokenizerOptions = {}): BpeTokenizer {
    return new BpeTokenizer(
      vocabularyFromJson(json, { ...defaultLoadTokenizerOptions, ...options }),
    );
  }

  /**
   * The special tokens with their ids.
   *
   * @example
   * ```ts
   * tok.specialTokens; // [{ id: 256, content: '<|endoftext|>' }, { id: 257, content: '<|pad|>' }]
   * ```
   */
  get specialTokens(): readonly SpecialToken[] {
    return this.#vocab.specials;
  }

  #encodeOrdinary(text: string, out: number[]): void {
    if (text.length === 0) return;
    for (const piece of preTokenize(text)) {
      let ids = this.#cache.get(piece);
      if (ids === undefined) {
        ids = this.#old.get(piece) ?? this.#bpe(piece);
        if (piece.length <= MAX_CACHED_PIECE) this.#remember(piece, ids);
      }
      if (typeof ids === 'number') out.push(ids);
      else for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
    }
  }

  /**
   * Two-generation cache: when the young map fills up it becomes the old one, and old entries
   * still in use move back to the young map. Close to LRU, with O(1) work and bounded memory.
   * (Evicting a `Map`'s first key one at a time degrades: V8 keeps deleted slots until a rehash.)
   */
  #remember(piece: string, ids: number | number[]): void {
    if (this.#cache.size >= CACHE_CAPACITY) {
      this.#old = this.#cache;
      this.#cache = new Map();
    }
    this.#cache.set(piece, ids);
  }

  /** BPE on one pre-token: its ids, as one number when it is a single token. */
  #bpe(piece: string): number | number[] {
    let n = piece.length;
    let sym = this.#grow(n);
    const byteIds = this.#byteIds;
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const c = piece.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      sym[i] = byteIds[c]!;
    }
    if (!ascii) {
      const bytes = utf8(piece);
      n = bytes.length;
      sym = this.#grow(n);
      for (let i = 0; i < n; i++) sym[i] = byteIds[bytes[i]!]!;
    }
    if (n === 1) return sym[0]!;
    n = n <= LINEAR_LIMIT ? this.#mergeLinear(sym, n) : this.#mergeHeap(sym, n);
    return n === 1 ? sym[0]! : Array.from(sym.subarray(0, n));
  }

  #grow(n: number): Int32Array {
    if (this.#sym.length < n) {
      let size = this.#sym.length;
      while (size < n) size *= 2;
      this.#sym = new Int32Array(size);
      this.#ranks = new Int32Array(size);
    }
    return this.#sym;
  }

  /**
   * Applies the lowest-ranked merge, leftmost first, until none applies; returns the new length.
   * O(n²) but with tiny constants: the right choice for ordinary words.
   */
  #mergeLinear(sym: Int32Array, n: number): number {
    const ranks = this.#ranks;
    const table = this.#table;
    const result = this.#mergeResult;
    for (let i = 0; i < n - 1; i++) ranks[i] = table.rank(sym[i]!, sym[i + 1]!);
    while (n > 1) {
      let best = NO_MERGE;
      let at = -1;
      for (let i = 0; i < n - 1; i++) {
        if (ranks[i]! < best) {
          best = ranks[i]!;
          at = i;
        }
      }
      if (at < 0) break;
      sym[at] = result[best]!;
      for (let i = at + 1; i < n - 1; i++) sym[i] = sym[i + 1]!;
      for (let i = at + 1; i < n - 2; i++) ranks[i] = ranks[i + 1]!;
      n--;
      if (at > 0) ranks[at - 1] = table.rank(sym[at - 1]!, sym[at]!);
      if (at < n - 1) ranks[at] = table.rank(sym[at]!, sym[at + 1]!);
    }
    return n;
  }

  /**
   * The same merge order as {@link #mergeLinear} (lowest rank, then leftmost) in O(n log n),
   * for long pieces such as a run of thousands of spaces or a long number.
   */
  #mergeHeap(sym: Int32Array, n: number): number {
    const table = this.#table;
    const result = this.#mergeResult;
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const rankAt = new Int32Array(n); // rank of the pair starting at node i; -1 once i is gone
    const heap = new MinHeap(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
      rankAt[i] = i + 1 < n ? table.rank(sym[i]!, sym[i + 1]!) : NO_MERGE;
      if (rankAt[i]! !== NO_MERGE) heap.push(rankAt[i]! * n + i);
    }
    while (heap.size > 0) {
      const key = heap.pop();
      const rank = Math.floor(key / n);
      const i = key - rank * n;
      if (rankAt[i] !== rank) continue; // stale: node i changed or is gone
      const j = next[i]!;
      sym[i] = result[rank]!;
      rankAt[j] = -1;
      const k = next[j]!;
      next[i] = k;
      if (k !== -1) prev[k] = i;
      rankAt[i] = k === -1 ? NO_MERGE : table.rank(sym[i]!, sym[k]!);
      if (rankAt[i] !== NO_MERGE) heap.push(rankAt[i]! * n + i);
      const p = prev[i]!;
      if (p !== -1) {
        rankAt[p] = table.rank(sym[p]!, sym[i]!);
        if (rankAt[p] !== NO_MERGE) heap.push(rankAt[p]! * n + p);
      }
    }
    let m = 0;
    for (let i = 0; i !== -1; i = next[i]!) sym[m++] = sym[i]!;
    return m;
  }
}

const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Binary min-heap of non-negative doubles (`rank * n + position`). */
class MinHeap {
  #a: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.#a = new Float64Array(Math.max(16, capacity));
  }

  push(v: number): void {
    if (this.size === this.#a.length) {
      const bigger = new Float64Array(this.#a.length * 2);
      bigger.set(this.#a);
      this.#a = bigger;
    }
    const a = this.#a;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= v) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = v;
  }

  pop(): number {
    const a = this.#a;
    const top = a[0]!;
    const last = a[--this.size]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= this.size) break;
      if (c + 1 < this.size && a[c + 1]! < a[c]!) c++;
      if (a[c]! >= last) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}
