import { AbortError, type ProgressEvent } from '@cbtm/core';
import { describe, expect, it } from 'vitest';
import { Analyzer } from './analyzer.js';
import { ENGLISH_STOP_WORDS } from './stop-words.js';
import { fixtureConfig, loadSklearnFixture } from './test-utils/sklearn-fixture.js';
import {
  cbtmTfidfOptions,
  TfidfVectorizer,
  type TfidfVectorizerOptions,
} from './tfidf-vectorizer.js';

const fx = loadSklearnFixture();
const fitTexts = fx.fitDocs.map((d) => d.text);

function optionsFor(name: string): Partial<TfidfVectorizerOptions> {
  const o = { ...fixtureConfig(name).options } as Record<string, unknown>;
  if (o.preset === 'cbtm') return cbtmTfidfOptions;
  return o as Partial<TfidfVectorizerOptions>;
}

function expectRow(
  got: { indices: Int32Array; values: Float32Array },
  want: { indices: number[]; values: number[] },
): void {
  expect(Array.from(got.indices)).toEqual(want.indices);
  for (let k = 0; k < want.values.length; k++) {
    // Values are float32; unnormalized rows (norm: null) exceed 1, so the bound is relative there.
    expect(Math.abs(got.values[k]! - want.values[k]!)).toBeLessThan(
      1e-6 * Math.max(1, Math.abs(want.values[k]!)),
    );
  }
}

describe('TfidfVectorizer parity with scikit-learn', () => {
  it('uses scikit-learn English stop words', () => {
    expect([...ENGLISH_STOP_WORDS]).toEqual(fx.englishStopWords);
  });

  for (const config of fx.configs) {
    it(`matches vocabulary, idf and rows: ${config.name}`, async () => {
      const v = await new TfidfVectorizer(optionsFor(config.name)).fit(fitTexts);
      expect(v.featureNames).toEqual(config.vocabulary);
      const idf = v.idf!;
      expect(idf.length).toBe(config.idf.length);
      let maxErr = 0;
      for (let j = 0; j < idf.length; j++)
        maxErr = Math.max(maxErr, Math.abs(idf[j]! - config.idf[j]!));
      expect(maxErr).toBeLessThan(1e-12);
      config.rows.forEach((row, i) => {
        expectRow(v.transform(fitTexts[i]!), row);
      });
      config.heldOut.forEach((row, i) => {
        expectRow(v.transform(fx.heldOutDocs[i]!.text), row);
      });
    });
  }

  it('tokenizes Unicode corner cases exactly like scikit-learn', () => {
    const analyzers: Record<string, Analyzer> = {
      cbtm: new Analyzer(cbtmTfidfOptions),
      'sklearn-default': new Analyzer(),
    };
    for (const t of fx.torture) {
      for (const [name, tokens] of Object.entries(t.tokens)) {
        expect(analyzers[name]!.analyze(t.text), `${name}: ${t.text}`).toEqual(tokens);
      }
    }
  });
});

describe('TfidfVectorizer.fitTransform', () => {
  it('equals fit then transform, in one pass (scikit-learn fit_transform)', async () => {
    const config = fixtureConfig('ngram-limits');
    const v = new TfidfVectorizer(optionsFor('ngram-limits'));
    const m = await v.fitTransform(fitTexts);
    expect(v.featureNames).toEqual(config.vocabulary);
    expect(m.nRows).toBe(fitTexts.length);
    expect(m.nCols).toBe(config.vocabulary.length);
    config.rows.forEach((row, i) => {
      const a = m.indptr[i]!;
      const b = m.indptr[i + 1]!;
      expectRow(
        { indices: m.indices.slice(a, b), values: Float32Array.from(m.values.subarray(a, b)) },
        row,
      );
    });
    for (let i = 0; i < fitTexts.length; i++) {
      const t = v.transform(fitTexts[i]!);
      expect(Array.from(m.indices.subarray(m.indptr[i]!, m.indptr[i + 1]!))).toEqual(
        Array.from(t.indices),
      );
    }
  });
});

describe('TfidfVectorizer errors and serialization', () => {
  it('round-trips through toJSON/fromJSON', async () => {
    const v = await new TfidfVectorizer(cbtmTfidfOptions).fit(fitTexts.slice(0, 20));
    const copy = TfidfVectorizer.fromJSON(JSON.parse(JSON.stringify(v)));
    expect(copy.featureNames).toEqual(v.featureNames);
    const a = v.transform(fitTexts[3]!);
    const b = copy.transform(fitTexts[3]!);
    expect(Array.from(b.indices)).toEqual(Array.from(a.indices));
    expect(Array.from(b.values)).toEqual(Array.from(a.values));
    expect(() => TfidfVectorizer.fromJSON({ ...v.toJSON(), version: 2 as 1 })).toThrow(
      /cbtm-tfidf/,
    );
  });

  it('explains empty vocabularies, impossible limits and unfitted use', async () => {
    await expect(
      new TfidfVectorizer({ stopWords: 'english' }).fit(['the and of', 'it is']),
    ).rejects.toThrow(/Empty vocabulary/);
    await expect(
      new TfidfVectorizer({ minDf: 3, maxDf: 2 }).fit(fitTexts.slice(0, 5)),
    ).rejects.toThrow(/maxDf corresponds to fewer/);
    const diverse = [0, 15, 30, 45, 60].map((i) => fitTexts[i]!);
    await expect(
      new TfidfVectorizer({ stopWords: 'english', minDf: 5 }).fit(diverse),
    ).rejects.toThrow(/no terms remain/);
    expect(() => new TfidfVectorizer({ maxDf: 1.5 })).toThrow(/fraction must be in \[0, 1\]/);
    expect(() => new TfidfVectorizer({ norm: 'l3' as 'l1' })).toThrow(/norm must be/);
    expect(() => new TfidfVectorizer().transform('x')).toThrow(/not fitted/);
  });

  it('stops with an AbortError and reports progress', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(new TfidfVectorizer().fit(fitTexts, { signal: ac.signal })).rejects.toBeInstanceOf(
      AbortError,
    );
    const events: ProgressEvent[] = [];
    await new TfidfVectorizer().fit(fitTexts, { onProgress: (e) => void events.push(e) });
    expect(events.map((e) => e.status)).toEqual(['start', 'progress', 'done']);
    expect(events.at(-1)).toMatchObject({ stage: 'embed', task: 'tfidf', done: 80 });
  });
});
