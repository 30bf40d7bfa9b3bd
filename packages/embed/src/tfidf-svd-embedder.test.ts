import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CbtmError, Rng } from '@cbtm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEmbedder } from './load-embedder.js';
import { createPrefixEmbedding } from './prefix-embedding.js';
import { describeEmbedderContract } from './test-utils/embedder-contract.js';
import { fixtureConfig, loadSklearnFixture } from './test-utils/sklearn-fixture.js';
import type { TfidfSvdFitOptions } from './tfidf-svd-embedder.js';
import { TfidfSvdEmbedder } from './tfidf-svd-embedder-files.js';

const fx = loadSklearnFixture();
const fitTexts = fx.fitDocs.map((d) => d.text);

describeEmbedderContract({
  name: 'TfidfSvdEmbedder',
  create: () => TfidfSvdEmbedder.fit(fitTexts, { nComponents: 12, seed: 5 }),
  texts: [
    fitTexts[0]!,
    fitTexts[15]!,
    fitTexts[30]!,
    fx.heldOutDocs[0]!.text,
    fx.heldOutDocs[3]!.text,
  ],
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Splits `text` into random pieces of 1–12 characters (like decoded subword tokens). */
function randomPieces(text: string, seed: number): string[] {
  const rng = new Rng(seed);
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = rng.int(1, 12);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

describe('TfidfSvdEmbedder', () => {
  let embedder: TfidfSvdEmbedder;
  beforeAll(async () => {
    embedder = await TfidfSvdEmbedder.fit(fitTexts, { nComponents: 10, seed: 0 });
  });

  it('composes scikit-learn tf-idf rows with the SVD and L2 normalization', () => {
    // Embed from the fixture's scikit-learn rows by hand: z = x · componentsᵀ, then normalize.
    const cbtm = fixtureConfig('cbtm');
    const comps = embedder.svd.components;
    const d = embedder.svd.nFeatures;
    cbtm.rows.slice(0, 10).forEach((row, i) => {
      const z = new Float64Array(10);
      row.indices.forEach((j, k) => {
        for (let c = 0; c < 10; c++) z[c]! += row.values[k]! * comps[c * d + j]!;
      });
      const norm = Math.hypot(...z);
      expect(
        maxAbsDiff(
          embedder.embedSync(fitTexts[i]!),
          z.map((x) => x / norm),
        ),
      ).toBeLessThan(1e-5);
    });
  });

  it('gives the zero vector to a text without known terms', async () => {
    expect(Array.from(await embedder.embedText('the and of 1234 zzzqqq'))).toEqual(
      new Array(10).fill(0),
    );
  });

  it('fits the SVD on a seeded sample and streams async Documents', async () => {
    const options: TfidfSvdFitOptions = { nComponents: 5, svdSampleSize: 30, seed: 9 };
    async function* docs() {
      for (const d of fx.fitDocs) yield { id: d.id, text: d.text };
    }
    const a = await TfidfSvdEmbedder.fit(docs(), options);
    const b = await TfidfSvdEmbedder.fit(fitTexts, options);
    expect(a.vectorizer.nDocuments).toBe(80);
    expect(Array.from(a.svd.components)).toEqual(Array.from(b.svd.components));
    const c = await TfidfSvdEmbedder.fit(fitTexts, { ...options, seed: 10 });
    expect(maxAbsDiff(a.svd.components, c.svd.components)).toBeGreaterThan(1e-3);
  });

  it('saves the documented files and refuses corrupt ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbtm-embed-'));
    try {
      await embedder.save(dir);
      const manifest = JSON.parse(await readFile(join(dir, 'embedder.json'), 'utf8'));
      expect(manifest).toMatchObject({
        format: 'cbtm-embedder',
        version: 1,
        kind: 'tfidf-svd',
        dimension: 10,
      });
      expect(JSON.parse(await readFile(join(dir, 'vocabulary.json'), 'utf8'))).toEqual(
        fixtureConfig('cbtm').vocabulary,
      );
      const bytes = await readFile(join(dir, 'idf.f64'));
      const idf = new Float64Array(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      );
      expect(Array.from(idf)).toEqual(Array.from(embedder.vectorizer.idf!));
      const loaded = await loadEmbedder(dir);
      expect(Array.from(await loaded.embedText(fitTexts[3]!))).toEqual(
        Array.from(embedder.embedSync(fitTexts[3]!)),
      );

      await writeFile(join(dir, 'components.f32'), new Uint8Array(12));
      await expect(loadEmbedder(dir)).rejects.toThrow(/truncated or corrupt/);
      await writeFile(join(dir, 'embedder.json'), JSON.stringify({ ...manifest, version: 99 }));
      await expect(loadEmbedder(dir)).rejects.toThrow(/Upgrade @cbtm\/embed/);
      await writeFile(
        join(dir, 'embedder.json'),
        JSON.stringify({ ...manifest, kind: 'word2vec' }),
      );
      await expect(loadEmbedder(dir)).rejects.toThrow(/unknown kind "word2vec"/);
      await expect(loadEmbedder(join(dir, 'missing'))).rejects.toBeInstanceOf(CbtmError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('incremental prefix embedding', () => {
  const unicode =
    'İSTANBUL ΟΔΟΣ. ΑΣ.Β όσος Σ ΣΑΣ naïve café Straße e\u0301cole 𝐀𝐁𝐂 x𝐀y 🙂ab ²nd 3rd ① x9 9x, ' +
    'MiXeD CaSe WORDS ΟΔΟΣ:ΑΣ don\'t it\'s snake_case_word; "quoted" (paren) ΣΑΣ. end';
  // Checking every prefix from scratch is quadratic: keep the texts short.
  const texts = [
    fitTexts[2]!.slice(0, 700),
    fitTexts[41]!.slice(0, 700),
    fitTexts[77]!.slice(0, 700),
    unicode,
  ];

  const variants: [string, TfidfSvdFitOptions][] = [
    ['c-BTM preset', { nComponents: 10 }],
    ['sublinear tf, unigrams', { nComponents: 8, tfidf: { sublinearTf: true } }],
    [
      'bigrams, sublinear tf, l1',
      {
        nComponents: 8,
        tfidf: { ngramRange: [1, 2], sublinearTf: true, norm: 'l1', stopWords: 'english' },
      },
    ],
    [
      'trigrams from n=2, no idf, case kept',
      { nComponents: 6, tfidf: { ngramRange: [2, 3], useIdf: false, lowercase: false, minDf: 1 } },
    ],
    [
      'single-letter tokens',
      {
        nComponents: 6,
        tfidf: { tokenPattern: '\\b\\w+\\b', numberNormalize: false, stopWords: null },
      },
    ],
    [
      'regex token pattern (re-embeds)',
      { nComponents: 6, tfidf: { tokenPattern: "[a-z']+", stopWords: null } },
    ],
  ];

  for (const [name, options] of variants) {
    it(`equals embedding the whole prefix from scratch after every piece: ${name}`, async () => {
      const fitOn = [...fitTexts, unicode, unicode.toLowerCase()];
      const embedder = await TfidfSvdEmbedder.fit(fitOn, { ...options, seed: 1 });
      texts.forEach((text, t) => {
        const state = embedder.prefix();
        let prefix = '';
        let worst = 0;
        for (const piece of randomPieces(text, 100 + t)) {
          state.push(piece);
          prefix += piece;
          worst = Math.max(worst, maxAbsDiff(state.vector(), embedder.embedSync(prefix)));
        }
        expect(worst, `text ${t}`).toBeLessThan(1e-5);
      });
    });
  }

  it('handles one character at a time, surrogate halves included', async () => {
    const embedder = await TfidfSvdEmbedder.fit([...fitTexts, unicode], {
      nComponents: 8,
      tfidf: { tokenPattern: '\\b\\w+\\b' },
    });
    const state = embedder.prefix();
    let prefix = '';
    for (let i = 0; i < unicode.length; i++) {
      state.push(unicode[i]!);
      prefix += unicode[i]!;
      expect(maxAbsDiff(state.vector(), embedder.embedSync(prefix)), prefix).toBeLessThan(1e-5);
    }
  });

  it('follows LM-style pieces (leading spaces, punctuation) into a reused buffer', async () => {
    for (const sublinearTf of [false, true]) {
      const embedder = await TfidfSvdEmbedder.fit(fitTexts, {
        nComponents: 8,
        tfidf: { sublinearTf },
      });
      const words = fitTexts[5]!.split(/(?=[\s,.;])/).slice(0, 150);
      const state = embedder.prefix();
      const out = new Float32Array(8);
      let prefix = '';
      for (const w of words) {
        state.push(w);
        prefix += w;
        expect(state.vector(out)).toBe(out);
        expect(maxAbsDiff(out, embedder.embedSync(prefix))).toBeLessThan(1e-5);
      }
    }
    const small = await TfidfSvdEmbedder.fit(fitTexts, { nComponents: 8 });
    expect(() => small.prefix().vector(new Float32Array(3))).toThrow(/dimension 8/);
  });

  it('clones are independent', async () => {
    const embedder = await TfidfSvdEmbedder.fit(fitTexts, { nComponents: 8 });
    const a = embedder.prefix();
    a.push('In the beginning God created');
    const b = a.clone();
    b.push(' the heaven and the earth');
    a.push(' software licenses');
    expect(
      maxAbsDiff(a.vector(), embedder.embedSync('In the beginning God created software licenses')),
    ).toBeLessThan(1e-5);
    expect(
      maxAbsDiff(
        b.vector(),
        embedder.embedSync('In the beginning God created the heaven and the earth'),
      ),
    ).toBeLessThan(1e-5);
  });

  it('is what createPrefixEmbedding uses for this embedder', async () => {
    const embedder = await TfidfSvdEmbedder.fit(fitTexts, { nComponents: 8 });
    const ctx = createPrefixEmbedding(embedder, { stride: 100 });
    expect(ctx.incremental).toBe(true);
    ctx.push('the license grants');
    expect(maxAbsDiff(await ctx.vector(), embedder.embedSync('the license grants'))).toBeLessThan(
      1e-5,
    );
  });
});

describe('createPrefixEmbedding for embedders without a prefix mode', () => {
  let calls: string[];
  const fake = {
    kind: 'fake',
    dimension: 2,
    embedText: async (t: string) => {
      calls.push(t);
      return Float32Array.of(t.length, 1);
    },
    embed: async function* () {},
    save: async () => {},
  };
  afterAll(() => {
    calls = [];
  });

  it('re-embeds the whole context every `stride` words and reuses the vector in between', async () => {
    calls = [];
    const ctx = createPrefixEmbedding(fake, { stride: 2 });
    expect(ctx.incremental).toBe(false);
    ctx.push('one');
    await ctx.vector();
    ctx.push(' two');
    await ctx.vector();
    ctx.push(' three');
    const v = await ctx.vector();
    expect(calls).toEqual(['one', 'one two three']);
    expect(Array.from(v)).toEqual([13, 1]);
    const copy = ctx.clone();
    copy.push(' four five');
    await copy.vector();
    expect(calls.at(-1)).toBe('one two three four five');
  });
});
