import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { demoCorpusPaths, Rng } from '@cbtm/core/node';
import { AutoTokenizer, env, PreTrainedTokenizer } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BpeTokenizer } from './bpe-tokenizer.js';
import { trainBpeTokenizer } from './bpe-trainer.js';

// Real text: the shared corpus-v1 validation split where this machine has it, else the demo
// corpus that ships with @cbtm/core (same format, fewer domains).
const CORPUS_V1_VALID = '/work/shared/data/corpus-v1/valid.jsonl.gz';
const VALID = existsSync(CORPUS_V1_VALID) ? CORPUS_V1_VALID : demoCorpusPaths().valid;

async function readTexts(file: string): Promise<string[]> {
  const lines = gunzipSync(await readFile(file))
    .toString('utf8')
    .split('\n');
  return lines.filter((l) => l.trim() !== '').map((l) => (JSON.parse(l) as { text: string }).text);
}

const UNICODE_TEXTS = [
  'Ünïcödé façade — naïve café, “quotes” and ‘apostrophes’ … ½ ² €',
  '東京は日本の首都です。中文字符测试。한국어 텍스트.',
  'Привет, мир! Ελληνικά. עברית. العربية ١٢٣.',
  'emoji 🙂👍🏽 👩‍👩‍👧 🇫🇷 e\u0301 a\u0308\u0323',
  '\ufeffBOM, NBSP\u00a0here, em\u2003space, ideographic\u3000space, line\u2028sep',
  "tabs\tand\r\nCRLF   trailing   \n\n\n  it's they'll I'M",
  `${' '.repeat(300)}end ${'z'.repeat(600)} ${'7'.repeat(300)}`,
  '\u0000\u0001\u001b[31mred\u001b[0m\u007f',
];

let tok: BpeTokenizer;
let texts: string[];
let hf: PreTrainedTokenizer;

beforeAll(async () => {
  texts = await readTexts(VALID);
  tok = await trainBpeTokenizer(texts, { vocabSize: 1024, sampleBytes: 300_000, seed: 1 });
  hf = new PreTrainedTokenizer(tok.toJSON(), tok.toTokenizerConfig());
});

describe('tokenizer.json in transformers.js', () => {
  it('gives the same ids as our encoder on the real corpus', () => {
    expect(texts.length).toBeGreaterThan(50);
    let tokens = 0;
    for (const text of texts) {
      const ours = tok.encode(text);
      expect(hf.encode(text, { add_special_tokens: false })).toEqual(ours);
      tokens += ours.length;
    }
    // Some compression happened, so merges were exercised.
    const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
    expect(tokens).toBeLessThan(bytes / 2);
  });

  it('gives the same ids on Unicode and random strings', () => {
    const rng = new Rng(5);
    const samples = [...UNICODE_TEXTS];
    for (let i = 0; i < 200; i++) {
      let s = '';
      const n = rng.int(0, 30);
      for (let j = 0; j < n; j++) {
        const r = rng.float();
        let cp =
          r < 0.4
            ? rng.int(0x20, 0x7e)
            : r < 0.5
              ? rng.int(0, 0x20)
              : r < 0.8
                ? rng.int(0xa0, 0x3000)
                : rng.int(0x1f300, 0x1faff);
        if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x20;
        s += String.fromCodePoint(cp);
      }
      samples.push(s);
    }
    for (const s of samples) {
      expect(hf.encode(s, { add_special_tokens: false })).toEqual(tok.encode(s));
      expect(tok.decode(tok.encode(s))).toBe(s);
    }
  });

  it('parses special tokens the same way when asked to', () => {
    const s = 'end of one<|endoftext|>start of two <|pad|><|pad|>';
    expect(hf.encode(s, { add_special_tokens: false })).toEqual(
      tok.encode(s, { parseSpecial: true }),
    );
  });

  it('decodes any id sequence identically, specials and broken UTF-8 included', () => {
    for (const s of [...texts.slice(0, 20), ...UNICODE_TEXTS]) {
      const ids = tok.encodeDocument(s);
      expect(hf.decode(ids, { skip_special_tokens: false })).toBe(tok.decode(ids));
    }
    const rng = new Rng(11);
    for (let i = 0; i < 300; i++) {
      const ids = Array.from({ length: rng.int(1, 12) }, () => rng.int(0, tok.vocabSize - 1));
      expect(hf.decode(ids, { skip_special_tokens: false })).toBe(tok.decode(ids));
    }
  });
});

describe('saveForTransformers', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes a folder AutoTokenizer loads offline', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cbtm-hf-'));
    await tok.saveForTransformers(join(dir, 'tok'));
    const saved = { allow: env.allowRemoteModels, path: env.localModelPath };
    env.allowRemoteModels = false;
    env.localModelPath = dir;
    try {
      const auto = await AutoTokenizer.from_pretrained('tok');
      const text = texts[0]!;
      expect(auto.encode(text, { add_special_tokens: false })).toEqual(tok.encode(text));
      expect(auto.eos_token_id).toBe(tok.eosId);
      expect(auto.pad_token_id).toBe(tok.padId);
    } finally {
      env.allowRemoteModels = saved.allow;
      env.localModelPath = saved.path;
    }
  });
});
