import { describe, expect, it } from 'vitest';
import { CompletedWords, completeTokenCount, createContextState } from './context-state.js';
import { CharTokenizer } from './test-utils/char-tokenizer.js';
import { LetterEmbedder, ReembedOnlyEmbedder } from './test-utils/letter-embedder.js';

const tok = new CharTokenizer('ab ');

describe('CompletedWords', () => {
  it('releases a word when the next word starts or a token ends in whitespace', () => {
    const words = new CompletedWords(tok);
    // Character tokens: "ab" then " " (ends in whitespace → "ab " complete), "ba" then eos.
    const out = [...'ab ba'].map((c) => words.append(tok.encode(c)[0]!));
    expect(out).toEqual(['', '', 'ab ', '', '']);
    expect(words.append(tok.eosId)).toBe('ba');
    expect(words.completeTokens).toBe(6);
  });

  it('agrees with the from-scratch reference at every position', () => {
    const ids = [...tok.encode('aa b  ab bab a'), tok.eosId, ...tok.encode('ba')];
    const words = new CompletedWords(tok);
    let text = '';
    for (let n = 1; n <= ids.length; n++) {
      text += words.append(ids[n - 1]!);
      const c = completeTokenCount(tok, ids, n);
      expect(words.completeTokens).toBe(c);
      expect(text).toBe(tok.decode(ids.slice(0, c).filter((x) => x !== tok.eosId)));
    }
  });
});

describe('createContextState', () => {
  it('is the zero vector before any word completes', async () => {
    const ctx = createContextState(new LetterEmbedder('ab'), 8);
    expect(Array.from(await ctx.vector())).toEqual([0, 0]);
    ctx.push('');
    expect(ctx.dirty).toBe(false);
  });

  it('updates incrementally to what embedding the whole prefix gives', async () => {
    const emb = new LetterEmbedder('ab');
    const ctx = createContextState(emb, 8);
    ctx.push('aab ');
    ctx.push('b ');
    expect(ctx.dirty).toBe(true);
    expect(await ctx.vector()).toEqual(await emb.embedText('aab b '));
    expect(ctx.dirty).toBe(false);
  });

  it('re-embeds every `stride` words when the embedder has no prefix mode', async () => {
    const emb = new ReembedOnlyEmbedder('ab');
    const ctx = createContextState(emb, 2);
    ctx.push('a ');
    expect(await ctx.vector()).toEqual(await emb.embedText('a '));
    ctx.push('b ');
    expect(ctx.dirty).toBe(false); // 1 word since the last embedding < stride 2
    expect(await ctx.vector()).toEqual(await emb.embedText('a '));
    ctx.push('b ');
    expect(ctx.dirty).toBe(true);
    expect(await ctx.vector()).toEqual(await emb.embedText('a b b '));
  });
});
