import { CbtmError } from '@cbtm/core';
import { BYTE_TO_UNICODE, bytesToTokenString, tokenStringToBytes, utf8 } from './byte-level.js';

/**
 * One entry of `added_tokens` in a Hugging Face `tokenizer.json`.
 *
 * @example
 * ```ts
 * const eos: HfAddedToken = { id: 256, content: '<|endoftext|>', single_word: false, lstrip: false,
 *   rstrip: false, normalized: false, special: true };
 * ```
 */
export interface HfAddedToken {
  readonly id: number;
  readonly content: string;
  readonly single_word: boolean;
  readonly lstrip: boolean;
  readonly rstrip: boolean;
  readonly normalized: boolean;
  readonly special: boolean;
}

/**
 * The Hugging Face `tokenizer.json` of a byte-level BPE tokenizer, as {@link BpeTokenizer.toJSON}
 * writes it. `tokenizers` (Python/Rust) and transformers.js load it directly.
 *
 * @example
 * ```ts
 * const json: HfTokenizerJson = tokenizer.toJSON();
 * console.log(json.model.merges.length);
 * ```
 */
export interface HfTokenizerJson {
  readonly version: string;
  readonly truncation: null;
  readonly padding: null;
  readonly added_tokens: readonly HfAddedToken[];
  readonly normalizer: null;
  readonly pre_tokenizer: {
    readonly type: 'ByteLevel';
    readonly add_prefix_space: boolean;
    readonly trim_offsets: boolean;
    readonly use_regex: boolean;
  };
  readonly post_processor: {
    readonly type: 'ByteLevel';
    readonly add_prefix_space: boolean;
    readonly trim_offsets: boolean;
    readonly use_regex: boolean;
  };
  readonly decoder: {
    readonly type: 'ByteLevel';
    readonly add_prefix_space: boolean;
    readonly trim_offsets: boolean;
    readonly use_regex: boolean;
  };
  readonly model: {
    readonly type: 'BPE';
    readonly dropout: null;
    readonly unk_token: null;
    readonly continuing_subword_prefix: string;
    readonly end_of_word_suffix: string;
    readonly fuse_unk: boolean;
    readonly byte_fallback: boolean;
    readonly ignore_merges: boolean;
    readonly vocab: Readonly<Record<string, number>>;
    readonly merges: readonly (readonly [string, string])[];
  };
}

/**
 * A special (added) token: its id and its literal text.
 *
 * @example
 * ```ts
 * const eos: SpecialToken = { id: 256, content: '<|endoftext|>' };
 * ```
 */
export interface SpecialToken {
  readonly id: number;
  readonly content: string;
}

/**
 * The tokenizer's tables, independent of any file format: what {@link BpeTokenizer}'s
 * constructor takes.
 *
 * @example
 * ```ts
 * const bytes = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
 * const vocab: BpeVocabulary = {
 *   tokens: [...bytes, new TextEncoder().encode('<|endoftext|>'), new TextEncoder().encode('<|pad|>'), Uint8Array.of(97, 98)],
 *   merges: Int32Array.of(97, 98, 258), // a + b → 258
 *   specials: [{ id: 256, content: '<|endoftext|>' }, { id: 257, content: '<|pad|>' }],
 *   eosId: 256,
 *   padId: 257,
 * };
 * new BpeTokenizer(vocab).encode('abc'); // [258, 99]
 * ```
 */
export interface BpeVocabulary {
  /** Bytes of every token by id; a special token holds the UTF-8 of its text. */
  readonly tokens: readonly Uint8Array[];
  /** Merges by rank, as `[left, right, result]` id triples. */
  readonly merges: Int32Array;
  /** Special tokens; they never come out of a merge. */
  readonly specials: readonly SpecialToken[];
  readonly eosId: number;
  readonly padId: number;
}

/** Builds the `tokenizer.json` object for `vocab`. */
export function vocabularyToJson(vocab: BpeVocabulary): HfTokenizerJson {
  const specialIds = new Set(vocab.specials.map((s) => s.id));
  const names = vocab.tokens.map((bytes, id) =>
    specialIds.has(id) ? '' : bytesToTokenString(bytes),
  );
  for (const s of vocab.specials) names[s.id] = s.content;
  const vocabObj: Record<string, number> = {};
  names.forEach((name, id) => {
    vocabObj[name] = id;
  });
  const merges: [string, string][] = [];
  for (let i = 0; i < vocab.merges.length; i += 3) {
    merges.push([names[vocab.merges[i]!]!, names[vocab.merges[i + 1]!]!]);
  }
  const byteLevel = {
    type: 'ByteLevel',
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: true,
  } as const;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: vocab.specials.map((s) => ({
      id: s.id,
      content: s.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: vocabObj,
      merges,
    },
  };
}

function formatError(what: string, source: string): CbtmError {
  return new CbtmError(
    'E_FORMAT',
    `${source}: ${what}. cbtm reads byte-level BPE tokenizer.json files (ByteLevel pre-tokenizer ` +
      'and decoder, no normalizer), such as the ones trainBpeTokenizer saves.',
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads the tables out of a parsed `tokenizer.json`, checking that it is a byte-level BPE our
 * encoder reproduces exactly. `source` names the file in error messages.
 */
export function vocabularyFromJson(
  json: unknown,
  names: { readonly eosToken: string; readonly padToken: string },
  source = 'tokenizer.json',
): BpeVocabulary {
  if (!isRecord(json) || !isRecord(json.model))
    throw formatError('not a tokenizer.json object', source);
  const model = json.model;
  if (model.type !== 'BPE')
    throw formatError(`model.type is ${JSON.stringify(model.type)}, not "BPE"`, source);
  if (json.normalizer != null) throw formatError('it has a normalizer', source);
  for (const key of ['pre_tokenizer', 'decoder'] as const) {
    const part = json[key];
    if (!isRecord(part) || part.type !== 'ByteLevel')
      throw formatError(`${key} is not ByteLevel`, source);
  }
  const pre = json.pre_tokenizer as Record<string, unknown>;
  if (pre.add_prefix_space === true || pre.use_regex === false) {
    throw formatError('pre_tokenizer must have add_prefix_space false and use_regex true', source);
  }
  if (model.byte_fallback === true || model.ignore_merges === true) {
    throw formatError('byte_fallback and ignore_merges are not supported', source);
  }
  if (model.continuing_subword_prefix || model.end_of_word_suffix) {
    throw formatError('continuing_subword_prefix and end_of_word_suffix must be empty', source);
  }
  if (!isRecord(model.vocab) || !Array.isArray(model.merges)) {
    throw formatError('model.vocab or model.merges is missing', source);
  }

  const specials: SpecialToken[] = [];
  const addedById = new Map<number, string>();
  for (const t of Array.isArray(json.added_tokens) ? json.added_tokens : []) {
    if (!isRecord(t) || typeof t.content !== 'string' || !Number.isInteger(t.id)) {
      throw formatError('an added_tokens entry lacks id or content', source);
    }
    specials.push({ id: t.id as number, content: t.content });
    addedById.set(t.id as number, t.content);
  }

  const vocabEntries = Object.entries(model.vocab);
  let size = 0;
  for (const [name, id] of vocabEntries) {
    if (!Number.isInteger(id) || (id as number) < 0) {
      throw formatError(
        `vocab id of ${JSON.stringify(name)} is not a non-negative integer`,
        source,
      );
    }
    size = Math.max(size, (id as number) + 1);
  }
  for (const id of addedById.keys()) size = Math.max(size, id + 1);
  const tokens: (Uint8Array | undefined)[] = new Array(size);
  const idOf = new Map<string, number>();
  for (const [name, id] of vocabEntries) {
    idOf.set(name, id as number);
    if (addedById.has(id as number)) continue;
    const bytes = tokenStringToBytes(name);
    if (!bytes || bytes.length === 0) {
      throw formatError(`vocab entry ${JSON.stringify(name)} is not a byte-level token`, source);
    }
    if (tokens[id as number]) throw formatError(`vocab id ${id} is used twice`, source);
    tokens[id as number] = bytes;
  }
  for (const [id, content] of addedById) tokens[id] = utf8(content);
  for (let id = 0; id < size; id++) {
    if (!tokens[id]) throw formatError(`no token has id ${id}; ids must be 0..${size - 1}`, source);
  }
  for (let b = 0; b < 256; b++) {
    const id = idOf.get(BYTE_TO_UNICODE[b]!);
    if (id === undefined || addedById.has(id)) {
      throw formatError(`byte ${b} has no token, so some text could not be encoded`, source);
    }
  }

  const merges = new Int32Array(model.merges.length * 3);
  model.merges.forEach((m: unknown, rank: number) => {
    const pair = typeof m === 'string' ? m.split(' ') : m;
    if (
      !Array.isArray(pair) ||
      pair.length !== 2 ||
      typeof pair[0] !== 'string' ||
      typeof pair[1] !== 'string'
    ) {
      throw formatError(`merge ${rank} is not a pair of tokens`, source);
    }
    const left = idOf.get(pair[0]);
    const right = idOf.get(pair[1]);
    const result = idOf.get(pair[0] + pair[1]);
    if (left === undefined || right === undefined || result === undefined) {
      throw formatError(
        `merge ${rank} (${JSON.stringify(pair)}) uses or makes a token not in the vocab`,
        source,
      );
    }
    merges[3 * rank] = left;
    merges[3 * rank + 1] = right;
    merges[3 * rank + 2] = result;
  });

  const find = (content: string, role: string) => {
    const s = specials.find((t) => t.content === content);
    if (!s) {
      throw formatError(
        `it has no added token ${JSON.stringify(content)} for ${role}; pass its text as the ${role === 'end-of-document' ? 'eosToken' : 'padToken'} option`,
        source,
      );
    }
    return s.id;
  };
  return {
    tokens: tokens as Uint8Array[],
    merges,
    specials,
    eosId: find(names.eosToken, 'end-of-document'),
    padId: find(names.padToken, 'padding'),
  };
}
