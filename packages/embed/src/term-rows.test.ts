import { describe, expect, it } from 'vitest';
import { fromTermRows, TERM_ROWS_FORMAT, toTermRows } from './term-rows.js';
import { TfidfSvdEmbedder } from './tfidf-svd-embedder.js';

const DOCS = [
  'In the beginning God created the heaven and the earth.',
  'And the earth was without form, and void; and darkness was upon the face of the deep.',
  'Permission is hereby granted, free of charge, to any person obtaining a copy of this software.',
  'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.',
  'The open() system call opens the file specified by pathname; it returns a file descriptor.',
  'read() attempts to read up to count bytes from file descriptor fd into the buffer.',
  'json.dumps(obj) serializes obj to a JSON formatted str; 1984 numbers and 3rd words.',
  'A dictionary maps keys to values; the keys of a dict must be hashable.',
];
const TEXTS = [
  'In the beginning God created',
  'the file descriptor returned by open() 2024',
  "don't stop-words it's THE end!!! naïve café",
  '',
];

describe('term rows (the browser export of a tf-idf → SVD embedder)', () => {
  for (const sublinearTf of [false, true]) {
    it(`embeds and prefix-embeds like the embedder they come from (sublinearTf ${sublinearTf})`, async () => {
      const fitted = await TfidfSvdEmbedder.fit(DOCS, {
        nComponents: 4,
        seed: 1,
        tfidf: { sublinearTf },
      });
      const { json, rows } = toTermRows(fitted, 'rows.f32');
      expect(json.format).toBe(TERM_ROWS_FORMAT);
      expect(json.rows).toBe('rows.f32');
      expect(rows.length).toBe(json.terms.length * json.dimension);
      const back = fromTermRows(JSON.parse(JSON.stringify(json)), rows);
      for (const text of TEXTS) {
        const a = await fitted.embedText(text);
        const b = await back.embedText(text);
        for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 5);
        const pa = fitted.prefix();
        const pb = back.prefix();
        for (const word of text.split(/(?<=\s)/)) {
          pa.push(word);
          pb.push(word);
        }
        const va = pa.vector();
        const vb = pb.vector();
        for (let i = 0; i < va.length; i++) expect(vb[i]).toBeCloseTo(va[i]!, 5);
      }
    });
  }

  it('refuses analyzers that do not fold into rows, and rows of the wrong size', async () => {
    const bigrams = await TfidfSvdEmbedder.fit(DOCS, {
      nComponents: 2,
      tfidf: { ngramRange: [1, 2] },
    });
    expect(() => toTermRows(bigrams)).toThrow(/single words/);
    const { json, rows } = toTermRows(await TfidfSvdEmbedder.fit(DOCS, { nComponents: 2 }));
    expect(() => fromTermRows(json, rows.subarray(1))).toThrow(/export again/);
  });
});
