import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortError, type Document, type ProgressEvent } from '@cbtm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocSource } from '../doc-source.js';
import { loadEmbedder } from '../load-embedder.js';
import type { SavableEmbedder as Embedder } from '../tfidf-svd-embedder-files.js';

/** What the contract suite needs to know about one adapter. */
export interface EmbedderContractSubject {
  /** Shown in the test names. */
  readonly name: string;
  /** Creates (fits or loads) the embedder under test. */
  create(): Promise<Embedder>;
  /** Releases what `create` or `loadEmbedder` allocated. */
  close?(embedder: Embedder): Promise<void>;
  /** At least four distinct texts the embedder can embed meaningfully. */
  readonly texts: readonly string[];
  /** Largest allowed difference between two computations of the same vector. @default 1e-5 */
  readonly tolerance?: number;
}

async function collect(it: AsyncIterable<Float32Array>): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for await (const v of it) out.push(v);
  return out;
}

async function* asAsync<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const x of items) {
    await Promise.resolve();
    yield x;
  }
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * The conformance suite every {@link Embedder} adapter passes: shapes, normalization, order,
 * batching invariance, input kinds, progress, abort, and save/load round trips.
 */
export function describeEmbedderContract(subject: EmbedderContractSubject): void {
  const tol = subject.tolerance ?? 1e-5;
  describe(`Embedder contract: ${subject.name}`, () => {
    let embedder: Embedder;
    let reference: Float32Array[];
    const texts = [...subject.texts];

    beforeAll(async () => {
      embedder = await subject.create();
      reference = await collect(embedder.embed(texts));
    });
    afterAll(async () => {
      if (embedder) await subject.close?.(embedder);
    });

    it('has a kind and a positive integer dimension', () => {
      expect(typeof embedder.kind).toBe('string');
      expect(embedder.kind.length).toBeGreaterThan(0);
      expect(Number.isInteger(embedder.dimension) && embedder.dimension > 0).toBe(true);
    });

    it('yields one finite, unit-norm Float32Array of length dimension per document, in order', async () => {
      expect(reference).toHaveLength(texts.length);
      for (const v of reference) {
        expect(v).toBeInstanceOf(Float32Array);
        expect(v.length).toBe(embedder.dimension);
        let s = 0;
        for (const x of v) {
          expect(Number.isFinite(x)).toBe(true);
          s += x * x;
        }
        expect(Math.abs(Math.sqrt(s) - 1)).toBeLessThan(1e-5);
      }
      // Order: embedding the texts reversed gives the reversed vectors.
      const reversed = await collect(embedder.embed([...texts].reverse()));
      reversed.reverse().forEach((v, i) => {
        expect(maxDiff(v, reference[i]!)).toBeLessThan(tol);
      });
      // Distinct texts get distinct vectors.
      expect(maxDiff(reference[0]!, reference[1]!)).toBeGreaterThan(1e-3);
    });

    it('embedText equals embed for the same text', async () => {
      for (let i = 0; i < texts.length; i++) {
        expect(maxDiff(await embedder.embedText(texts[i]!), reference[i]!)).toBeLessThan(tol);
      }
    });

    it('gives the same vectors whatever the batch size', async () => {
      for (const batchSize of [1, 3]) {
        const got = await collect(embedder.embed(texts, { batchSize }));
        got.forEach((v, i) => {
          expect(maxDiff(v, reference[i]!)).toBeLessThan(tol);
        });
      }
    });

    it('accepts Documents and async iterables', async () => {
      const docs: Document[] = texts.map((text, i) => ({ id: `d${i}`, text }));
      const sources: DocSource[] = [docs, asAsync(docs), asAsync(texts), new Set(texts)];
      for (const source of sources) {
        const got = await collect(embedder.embed(source));
        got.forEach((v, i) => {
          expect(maxDiff(v, reference[i]!)).toBeLessThan(tol);
        });
      }
    });

    it('rejects things that are not documents with a clear error', async () => {
      await expect(collect(embedder.embed([42 as unknown as string]))).rejects.toThrow(
        /string or a Document/,
      );
      await expect(collect(embedder.embed([{ id: 'x' } as unknown as Document]))).rejects.toThrow(
        /"x"/,
      );
    });

    it('reports progress that never goes backwards and ends with done', async () => {
      const events: ProgressEvent[] = [];
      await collect(
        embedder.embed(texts, { batchSize: 2, onProgress: (e) => void events.push(e) }),
      );
      expect(events[0]!.status).toBe('start');
      expect(events.at(-1)!.status).toBe('done');
      expect(events.at(-1)!.done).toBe(texts.length);
      for (let i = 1; i < events.length; i++)
        expect(events[i]!.done).toBeGreaterThanOrEqual(events[i - 1]!.done);
      for (const e of events) expect(e.stage).toBe('embed');
    });

    it('stops with an AbortError when the signal fires', async () => {
      const ac = new AbortController();
      const seen: Float32Array[] = [];
      const run = async () => {
        for await (const v of embedder.embed(texts, { batchSize: 1, signal: ac.signal })) {
          seen.push(v);
          ac.abort();
        }
      };
      await expect(run()).rejects.toBeInstanceOf(AbortError);
      expect(seen).toHaveLength(1);
    });

    it('round-trips through save() and loadEmbedder()', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cbtm-embedder-'));
      try {
        await embedder.save(dir);
        const loaded = await loadEmbedder(dir);
        try {
          expect(loaded.kind).toBe(embedder.kind);
          expect(loaded.dimension).toBe(embedder.dimension);
          const again = await collect(loaded.embed(texts));
          again.forEach((v, i) => {
            expect(maxDiff(v, reference[i]!)).toBeLessThan(tol);
          });
        } finally {
          await subject.close?.(loaded);
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
