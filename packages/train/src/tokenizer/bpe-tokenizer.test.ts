import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CbtmError, InvalidArgumentError, Rng } from '@cbtm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpeTokenizer } from './bpe-tokenizer.js';
import { trainBpeTokenizer } from './bpe-trainer.js';
import { BYTE_TO_UNICODE, preTokenize } from './byte-level.js';

const TRAIN_TEXT = [
  'The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away!',
  'In the beginning God created the heaven and the earth. And the earth was without form.',
  '    def encode(self, text):\n        return [ord(c) for c in text]\n',
  'Ünïcödé façade — naïve café. 東京は日本の首都です。 Привет, мир! 🙂🙂 👩‍👩‍👧 ١٢٣ 12345 3.14159',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 0000000000000000000000000000 ----------------',
].join('\n\n');

let tok: BpeTokenizer;
beforeAll(async () => {
  tok = await trainBpeTokenizer([TRAIN_TEXT, TRAIN_TEXT, TRAIN_TEXT], { vocabSize: 400 });
});

/** Random well-formed strings from a mix of scripts, marks, emoji, controls and odd spaces. */
function randomText(rng: Rng, maxLen: number): string {
  const ranges: [number, number][] = [
    [0x20, 0x7e], // ASCII
    [0x20, 0x7e],
    [0x00, 0x1f], // controls
    [0x7f, 0xff], // DEL, C1, Latin-1
    [0x300, 0x36f], // combining marks
    [0x4e00, 0x4e80], // CJK
    [0x3040, 0x309f], // Hiragana
    [0x1f600, 0x1f64f], // emoji (astral)
    [0x10000, 0x10ffff], // any astral
    [0xe000, 0xfffd], // private use, specials, U+FEFF
  ];
  const spaces = [
    ' ',
    '  ',
    '\t',
    '\n',
    '\r\n',
    '\u00a0',
    '\u2003',
    '\u3000',
    '\u2028',
    '\ufeff',
    '\u200d',
    "'s",
    "'ll",
  ];
  const n = rng.int(0, maxLen);
  let s = '';
  for (let i = 0; i < n; i++) {
    if (rng.float() < 0.25) {
      s += spaces[rng.int(0, spaces.length - 1)];
      continue;
    }
    const [lo, hi] = ranges[rng.int(0, ranges.length - 1)]!;
    let cp = rng.int(lo, hi);
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
    s += String.fromCodePoint(cp);
  }
  return s;
}

/** Textbook BPE, written independently of the tokenizer: apply the lowest-ranked merge, leftmost first. */
function referenceEncode(json: ReturnType<BpeTokenizer['toJSON']>, text: string): number[] {
  const rank = new Map(json.model.merges.map(([a, b], i) => [`${a} ${b}`, i]));
  const ids: number[] = [];
  for (const piece of preTokenize(text)) {
    const parts = [...new TextEncoder().encode(piece)].map((b) => BYTE_TO_UNICODE[b]!);
    for (;;) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = rank.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      parts.splice(best, 2, parts[best]! + parts[best + 1]!);
    }
    for (const p of parts) ids.push(json.model.vocab[p]!);
  }
  return ids;
}

describe('BpeTokenizer', () => {
  it('has 256 byte tokens, two specials and the merges', () => {
    expect(tok.vocabSize).toBe(400);
    expect(tok.mergeCount).toBe(400 - 258);
    for (let b = 0; b < 256; b++) expect(Array.from(tok.tokenBytes(b))).toEqual([b]);
    expect(tok.decode([tok.eosId])).toBe('<|endoftext|>');
    expect(tok.decode([tok.padId])).toBe('<|pad|>');
    expect(tok.isSpecial(tok.eosId) && tok.isSpecial(tok.padId) && !tok.isSpecial(65)).toBe(true);
  });

  it('round-trips tricky Unicode exactly', () => {
    const cases = [
      '',
      ' ',
      '\n\n\n',
      '   \t \n  ',
      'e\u0301\u0301\u0301', // combining marks
      '👩‍👩‍👧 🇫🇷 🙂',
      '東京は日本の首都です。',
      '\u0000\u0001\u0007\u001b[0m\u007f\u0085',
      '\ufeffBOM at start',
      'Zero\u200bwidth\u200djoiner',
      "it's we'll THEY'RE don't",
      `${' '.repeat(1000)}x`,
      'x'.repeat(5000),
      '9'.repeat(700),
      TRAIN_TEXT,
    ];
    for (const s of cases) {
      expect(tok.decode(tok.encode(s))).toBe(s);
    }
  });

  it('round-trips random UTF-8 strings (property test)', () => {
    const rng = new Rng(1234);
    for (let t = 0; t < 400; t++) {
      const s = randomText(rng, 60);
      const ids = tok.encode(s);
      expect(tok.decode(ids)).toBe(s);
      expect(ids.every((id) => id >= 0 && id < tok.vocabSize && !tok.isSpecial(id))).toBe(true);
    }
  });

  it('agrees with a textbook BPE, on short and very long pieces', () => {
    const json = tok.toJSON();
    const rng = new Rng(99);
    const texts = [
      TRAIN_TEXT,
      'a'.repeat(301),
      ` ${'the'.repeat(200)}`,
      '0'.repeat(257),
      '-'.repeat(999),
    ];
    for (let t = 0; t < 100; t++) texts.push(randomText(rng, 40));
    // Long pieces built from frequent fragments exercise the heap path with real merges.
    for (let t = 0; t < 20; t++) {
      let s = ' ';
      while (s.length < 400) s += ['the', 'fox', 'dog', 'ea', 'rth', 'in'][rng.int(0, 5)];
      texts.push(s);
    }
    for (const s of texts) expect(tok.encode(s)).toEqual(referenceEncode(json, s));
  });

  it('gives the same ids from cache and from a fresh tokenizer', () => {
    const fresh = BpeTokenizer.fromJSON(tok.toJSON());
    const a = tok.encode(TRAIN_TEXT);
    expect(tok.encode(TRAIN_TEXT)).toEqual(a);
    expect(fresh.encode(TRAIN_TEXT)).toEqual(a);
  });

  it('compresses text it was trained on', () => {
    expect(tok.encode(TRAIN_TEXT).length).toBeLessThan(
      new TextEncoder().encode(TRAIN_TEXT).length / 2,
    );
  });

  it('replaces lone surrogates with U+FFFD, like TextEncoder', () => {
    expect(tok.decode(tok.encode('a\ud800b'))).toBe('a\ufffdb');
  });

  it('decodes partial characters as U+FFFD and rejects unknown ids', () => {
    const ids = tok.encode('é'); // bytes C3 A9
    const bytes = ids.flatMap((id) => Array.from(tok.tokenBytes(id)));
    expect(bytes).toEqual([0xc3, 0xa9]);
    expect(tok.decode([0xc3])).toBe('\ufffd');
    expect(tok.decodeToken(0x41)).toBe('A');
    expect(() => tok.decode([tok.vocabSize])).toThrow(InvalidArgumentError);
    expect(() => tok.decode([-1])).toThrow(InvalidArgumentError);
    expect(() => tok.decode([1.5])).toThrow(InvalidArgumentError);
  });

  it('adds the end-of-document id and parses special text only when asked', () => {
    expect(tok.encodeDocument('Hi.')).toEqual([...tok.encode('Hi.'), tok.eosId]);
    const text = 'a<|endoftext|>b<|pad|>';
    const plain = tok.encode(text);
    expect(plain).not.toContain(tok.eosId);
    expect(tok.decode(plain)).toBe(text);
    const parsed = tok.encode(text, { parseSpecial: true });
    expect(parsed).toEqual([...tok.encode('a'), tok.eosId, ...tok.encode('b'), tok.padId]);
    expect(tok.decode(parsed)).toBe(text);
  });

  it('tells which tokens begin a whitespace-delimited word', () => {
    const text = 'The fox,  jumps\n\nover-the dog! 東京 x';
    const ids = tok.encode(text);
    const words: number[][] = [];
    ids.forEach((id, i) => {
      if (tok.tokenStartsWord(id, i > 0 ? ids[i - 1] : undefined)) words.push([id]);
      else words.at(-1)?.push(id);
    });
    expect(words.map((w) => tok.decode(w).trim())).toEqual(text.split(/\s+/));
    expect(tok.tokenStartsWord(tok.encode(' ')[0]!)).toBe(false);
    expect(tok.tokenStartsWord(tok.encode('x')[0]!, tok.eosId)).toBe(true);
    expect(tok.tokenStartsWord(tok.eosId)).toBe(false);
  });
});

describe('BpeTokenizer from raw tables', () => {
  const bytes = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
  const enc = (s: string) => new TextEncoder().encode(s);
  const specials = [
    { id: 256, content: '<|endoftext|>' },
    { id: 257, content: '<|pad|>' },
  ];

  it('encodes with the given merges', () => {
    const t = new BpeTokenizer({
      tokens: [...bytes, enc('<|endoftext|>'), enc('<|pad|>'), Uint8Array.of(97, 98)],
      merges: Int32Array.of(97, 98, 258),
      specials,
      eosId: 256,
      padId: 257,
    });
    expect(t.encode('abc')).toEqual([258, 99]);
    expect(t.specialTokens).toEqual(specials);
  });

  it('rejects a special token spelled like a byte-level token', () => {
    const make = () =>
      new BpeTokenizer({
        tokens: [...bytes, enc('ab'), enc('<|pad|>'), Uint8Array.of(97, 98)],
        merges: Int32Array.of(97, 98, 258),
        specials: [{ id: 256, content: 'ab' }, specials[1]!],
        eosId: 256,
        padId: 257,
      });
    expect(make).toThrow(InvalidArgumentError);
  });
});

describe('BpeTokenizer files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cbtm-tok-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('saves atomically and loads back identical', async () => {
    const file = join(dir, 'sub', 'tokenizer.json');
    await tok.save(file);
    expect(await readdir(join(dir, 'sub'))).toEqual(['tokenizer.json']); // no temp file left
    const loaded = await BpeTokenizer.load(file);
    expect(loaded.toJSON()).toEqual(tok.toJSON());
    expect(loaded.encode(TRAIN_TEXT)).toEqual(tok.encode(TRAIN_TEXT));
    expect(loaded.eosId).toBe(tok.eosId);
    expect(loaded.padId).toBe(tok.padId);
    const json = JSON.parse(await readFile(file, 'utf8'));
    expect(json.model.type).toBe('BPE');
    expect(json.pre_tokenizer).toEqual({
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    });
    expect(json.decoder.type).toBe('ByteLevel');
    expect(
      json.added_tokens.map((t: { content: string; id: number }) => [t.content, t.id]),
    ).toEqual([
      ['<|endoftext|>', 256],
      ['<|pad|>', 257],
    ]);
    expect(Object.keys(json.model.vocab).length).toBe(tok.vocabSize);
  });

  it('names the file and the problem when a tokenizer.json is wrong', async () => {
    const file = join(dir, 'bad.json');
    const good = tok.toJSON();
    await writeFile(file, JSON.stringify({ ...good, model: { ...good.model, type: 'WordPiece' } }));
    await expect(BpeTokenizer.load(file)).rejects.toThrow(/bad\.json: model\.type is "WordPiece"/);
    await expect(BpeTokenizer.load(join(dir, 'missing.json'))).rejects.toBeInstanceOf(CbtmError);
    expect(() => BpeTokenizer.fromJSON({ ...good, added_tokens: [] })).toThrow(/eosToken/);
    const noByte = { ...good.model.vocab };
    delete noByte.A;
    expect(() =>
      BpeTokenizer.fromJSON({ ...good, model: { ...good.model, vocab: noByte } }),
    ).toThrow(/no token has id 65|byte 65/);
  });
});
