import { describe, expect, it } from 'vitest';
import { CharTokenizer } from '../test-utils/char-tokenizer.js';
import { collectTokens, evaluationRows, PackedBlockStream } from './packed-blocks.js';

const tok = new CharTokenizer('abcdefgh');
const ids = (s: string) => [...s].map((c) => (c === '|' ? 0 : tok.encode(c)[0]!));

describe('PackedBlockStream', () => {
  it('packs documents with end-of-document ids into overlapping blocks, repeating the data', async () => {
    const stream = new PackedBlockStream(['ab', 'cde'], tok, {
      contextLength: 3,
      shuffleBuffer: 1,
    });
    // Token stream: a b | c d e | a b | c d e | ...; blocks of 4 start every 3 tokens.
    const { inputs, targets } = await stream.nextBatch(4);
    expect(Array.from(inputs)).toEqual(ids('ab|cde|ab|cd'));
    expect(Array.from(targets)).toEqual(ids('b|cde|ab|cde'));
    expect(stream.state().epoch).toBe(1);
  });

  it('shuffles reproducibly with its seed', async () => {
    const docs = Array.from({ length: 20 }, (_, i) => `${'abcdefgh'.slice(i % 8)}h`);
    const read = async (seed: number) =>
      Array.from(
        (
          await new PackedBlockStream(docs, tok, {
            contextLength: 4,
            shuffleBuffer: 8,
            seed,
          }).nextBatch(10)
        ).inputs,
      );
    expect(await read(1)).toEqual(await read(1));
    expect(await read(1)).not.toEqual(await read(2));
  });

  it('continues exactly from a saved state', async () => {
    const docs = Array.from({ length: 15 }, (_, i) => 'abcdefgh'.repeat(1 + (i % 3)).slice(i % 5));
    const a = new PackedBlockStream(docs, tok, {
      contextLength: 5,
      shuffleBuffer: 6,
      seed: 3,
      skipDocuments: 2,
    });
    await a.nextBatch(7);
    const b = new PackedBlockStream(
      docs,
      tok,
      { contextLength: 5, shuffleBuffer: 6, seed: 3, skipDocuments: 2 },
      a.state(),
    );
    for (let i = 0; i < 5; i++) {
      const x = await a.nextBatch(3);
      const y = await b.nextBatch(3);
      expect(Array.from(y.inputs)).toEqual(Array.from(x.inputs));
      expect(Array.from(y.targets)).toEqual(Array.from(x.targets));
    }
  });

  it('skips held-out documents on every pass', async () => {
    const stream = new PackedBlockStream(['aa', 'bb', 'cc'], tok, {
      contextLength: 2,
      shuffleBuffer: 1,
      skipDocuments: 1,
    });
    const { inputs } = await stream.nextBatch(4);
    expect(Array.from(inputs)).toEqual(ids('bb|cc|bb'));
  });

  it('says when a one-shot iterable runs out', async () => {
    async function* once() {
      yield 'abc';
    }
    const stream = new PackedBlockStream(once(), tok, { contextLength: 2, shuffleBuffer: 1 });
    await expect(stream.nextBatch(5)).rejects.toThrow(/ran out/);
  });
});

describe('held-out slice', () => {
  it('collects the first documents and cuts them into padded evaluation rows', async () => {
    const held = await collectTokens(['ab', 'cde', 'fg'], tok, 5);
    expect(held.documents).toBe(2);
    expect(Array.from(held.tokens)).toEqual(ids('ab|cd'));
    const rows = evaluationRows(held.tokens, 3, 0);
    expect(rows.rows).toBe(2);
    expect(Array.from(rows.inputs)).toEqual([...ids('ab|'), ...ids('c'), 0, 0]);
    expect(Array.from(rows.targets)).toEqual([...ids('b|c'), ...ids('d'), -1, -1]);
  });
});
