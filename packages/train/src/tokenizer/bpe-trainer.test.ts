import { AbortError, CbtmError, InvalidArgumentError, type ProgressEvent } from '@cbtm/core';
import { describe, expect, it } from 'vitest';
import { trainBpeTokenizer } from './bpe-trainer.js';
import { sampleTexts } from './text-sample.js';

const A = 97;
const B = 98;
const C = 99;
const SPACE = 32;

describe('trainBpeTokenizer on hand-computed examples', () => {
  it('learns the most frequent pairs in order', async () => {
    // Pre-tokens: "ab" ×1, " ab" ×2, " abc" ×1.
    // Pair counts: (a,b)=4, (␠,a)=3, (b,c)=1 → merge a+b → 258.
    // Then (␠,ab)=3, (ab,c)=1 → merge ␠+ab → 259. Then (␠ab,c)=1 → 260.
    const tok = await trainBpeTokenizer(['ab ab ab abc'], { vocabSize: 261, minFrequency: 1 });
    expect(tok.vocabSize).toBe(261);
    expect(tok.eosId).toBe(256);
    expect(tok.padId).toBe(257);
    const json = tok.toJSON();
    expect(json.model.merges).toEqual([
      ['a', 'b'],
      ['Ġ', 'ab'],
      ['Ġab', 'c'],
    ]);
    // 'Ġ' is how GPT-2's byte table spells the space byte.
    expect(json.model.vocab).toMatchObject({ a: A, Ġ: SPACE, ab: 258, Ġab: 259, Ġabc: 260 });
    expect(tok.encode('ab abc')).toEqual([258, 260]);
    // " abab": a+b twice (rank 0, leftmost first), then ␠+ab; "ab ab" never merges.
    expect(tok.encode(' abab')).toEqual([259, 258]);
    expect(tok.encode('ba')).toEqual([B, A]);
    expect(tok.encode('c ab')).toEqual([C, 259]);
  });

  it('stops when no pair reaches minFrequency', async () => {
    const tok = await trainBpeTokenizer(['ab ab ab abc'], { vocabSize: 300, minFrequency: 2 });
    expect(tok.toJSON().model.merges).toEqual([
      ['a', 'b'],
      ['Ġ', 'ab'],
    ]);
    expect(tok.vocabSize).toBe(260);
  });

  it('breaks count ties by the smaller (left, right) ids', async () => {
    // "ab" and " ba": (a,b)=(97,98), (␠,b)=(32,98), (b,a)=(98,97) all occur once.
    // Smallest is (32,98) → 258 "␠b"; then (97,98) < (258,97) → 259 "ab"; then 260 "␠ba".
    const tok = await trainBpeTokenizer(['ab', ' ba'], { vocabSize: 261, minFrequency: 1 });
    expect(tok.toJSON().model.merges).toEqual([
      ['Ġ', 'b'],
      ['a', 'b'],
      ['Ġb', 'a'],
    ]);
    expect(tok.encode(' ba ab')).toEqual([260, SPACE, 259]);
  });

  it('merges a repeated byte left to right, counting words by frequency', async () => {
    // "aaaa" ×3: (a,a) occurs 3 times per word → merge 258 = aa, word → [aa, aa];
    // then (aa,aa) ×3 → 259 = aaaa. "aaa" then encodes as [aa, a].
    const tok = await trainBpeTokenizer(['aaaa', 'aaaa', 'aaaa'], {
      vocabSize: 400,
      minFrequency: 2,
    });
    expect(tok.toJSON().model.merges).toEqual([
      ['a', 'a'],
      ['aa', 'aa'],
    ]);
    expect(tok.encode('aaa')).toEqual([258, A]);
    expect(tok.encode('aaaaa')).toEqual([259, A]);
  });

  it('is deterministic for a seed and samples by seed', async () => {
    const docs = Array.from({ length: 200 }, (_, i) => ({
      id: `d${i}`,
      text: `${i % 2 ? 'alpha beta' : 'gamma delta'} number ${i} ${'xyz'.repeat(i % 5)}`,
    }));
    const a = await trainBpeTokenizer(docs, { vocabSize: 320, sampleBytes: 1500, seed: 7 });
    const b = await trainBpeTokenizer(docs, { vocabSize: 320, sampleBytes: 1500, seed: 7 });
    const c = await trainBpeTokenizer(docs, { vocabSize: 320, sampleBytes: 1500, seed: 8 });
    expect(b.toJSON()).toEqual(a.toJSON());
    expect(c.toJSON()).not.toEqual(a.toJSON());
  });

  it('accepts async iterables of documents', async () => {
    async function* gen() {
      yield { id: '1', text: 'ab ab' };
      yield 'ab abc';
    }
    const tok = await trainBpeTokenizer(gen(), { vocabSize: 261, minFrequency: 1 });
    expect(tok.toJSON().model.merges[0]).toEqual(['a', 'b']);
  });

  it('reports monotone progress and honours abort', async () => {
    const events: ProgressEvent[] = [];
    const text = Array.from(
      { length: 300 },
      (_, i) => `w${i.toString(36)}x${(i * 7).toString(36)}`,
    ).join(' ');
    const tok = await trainBpeTokenizer([text, text], {
      vocabSize: 700,
      onProgress: (e) => {
        events.push(e);
      },
    });
    expect(events[0]!.status).toBe('start');
    expect(events.at(-1)!.status).toBe('done');
    expect(events.every((e) => e.stage === 'tokenizer')).toBe(true);
    for (let i = 1; i < events.length; i++)
      expect(events[i]!.done).toBeGreaterThanOrEqual(events[i - 1]!.done);
    expect(tok.mergeCount).toBeGreaterThan(128);

    const ac = new AbortController();
    const p = trainBpeTokenizer([text, text], {
      vocabSize: 700,
      signal: ac.signal,
      onProgress: (e) => {
        if (e.done >= 128) ac.abort();
      },
    });
    await expect(p).rejects.toBeInstanceOf(AbortError);
  });

  it('rejects bad options and empty corpora with clear errors', async () => {
    await expect(trainBpeTokenizer(['x'], { vocabSize: 100 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(trainBpeTokenizer(['x'], { minFrequency: 0 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(trainBpeTokenizer(['x'], { eosToken: 'a', padToken: 'a' })).rejects.toThrow(
      /different/,
    );
    const empty = trainBpeTokenizer(['', { id: 'e', text: '' }]);
    await expect(empty).rejects.toBeInstanceOf(CbtmError);
    await expect(empty).rejects.toMatchObject({ code: 'E_CORPUS_EMPTY' });
  });

  it('never learns a merge spelled like a special token', async () => {
    // With eosToken "ab", the pair a+b would be spelled "ab": it must be skipped.
    const tok = await trainBpeTokenizer(['ab ab ab abc'], {
      vocabSize: 270,
      minFrequency: 1,
      eosToken: 'ab',
    });
    const merges = tok.toJSON().model.merges.map((m) => m.join(''));
    expect(merges).not.toContain('ab');
    expect(tok.encode('ab')).toEqual([A, B]);
  });
});

describe('sampleTexts', () => {
  const docs = Array.from(
    { length: 100 },
    (_, i) => `doc-${String(i).padStart(3, '0')} ${'x'.repeat(i % 17)}`,
  );

  it('keeps everything, in order, when the corpus fits', async () => {
    const s = await sampleTexts(docs, { maxBytes: 1e9, seed: 1 });
    expect(s.texts).toEqual(docs);
    expect(s.seen).toBe(100);
    expect(s.bytes).toBe(docs.reduce((n, d) => n + d.length, 0));
  });

  it('keeps a seeded sample within the byte budget, in original order', async () => {
    const a = await sampleTexts(docs, { maxBytes: 300, seed: 3 });
    const b = await sampleTexts(docs, { maxBytes: 300, seed: 3 });
    const c = await sampleTexts(docs, { maxBytes: 300, seed: 4 });
    expect(a.texts).toEqual(b.texts);
    expect(c.texts).not.toEqual(a.texts);
    expect(a.bytes).toBeLessThanOrEqual(300);
    expect(a.bytes).toBe(a.texts.reduce((n, d) => n + d.length, 0));
    const positions = a.texts.map((t) => docs.indexOf(t));
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    // Not just a prefix of the stream: a uniform sample reaches past the first documents.
    expect(Math.max(...positions)).toBeGreaterThan(30);
    // Adding the next document in key order would exceed the budget, so at least 300 - 27 are used.
    expect(a.bytes).toBeGreaterThan(300 - 27);
  });

  it('keeps one document even when it alone exceeds the budget', async () => {
    const s = await sampleTexts(['a'.repeat(50), 'b'.repeat(60)], { maxBytes: 10, seed: 0 });
    expect(s.texts.length).toBe(1);
  });
});
