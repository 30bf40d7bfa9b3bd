import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { maxRelDiff, onBackend, seeded } from '../test-utils/backends.js';
import { gptParamSpecs, resolveGptConfig } from './gpt-config.js';
import { GptDecoder, slidingWindowStart } from './gpt-decoder.js';
import { GptModel } from './gpt-model.js';

const tiny = resolveGptConfig({
  vocabSize: 13,
  nLayer: 2,
  dModel: 8,
  nHead: 2,
  contextLength: 8,
  mlpRatio: 2,
});
const V = tiny.vocabSize;

/** Random weights large enough that attention and every layer matter (GPT-2 init is ~uniform). */
async function randomModel(seed: number): Promise<GptModel> {
  const weights = new Map<string, Float32Array>();
  gptParamSpecs(tiny).forEach((s, i) => {
    const w = seeded(
      s.shape.reduce((a, b) => a * b, 1),
      seed * 100 + i + 1,
    );
    for (let j = 0; j < w.length; j++) w[j] = s.name.endsWith('.gamma') ? 1 + 0.3 * w[j]! : w[j]!;
    weights.set(s.name, w);
  });
  return GptModel.fromWeights(tiny, weights);
}

const ids = new Int32Array([0, 5, 2, 7, 3, 12, 4, 11]);
const splits = [[8], [1, 1, 1, 1, 1, 1, 1, 1], [3, 1, 4], [5, 3], [1, 7], [2, 2, 2, 2]];

describe.each(['cpu', 'wasm'] as const)('GptModel.forwardIncremental (%s)', (backend) => {
  it.each(splits)('equals the full forward at every position, split %j', async (...split) => {
    await onBackend(backend, async () => {
      const model = await randomModel(1);
      const full = await model.logProbs(ids);
      const cache = model.createCache();
      const parts: Float32Array[] = [];
      let at = 0;
      for (const n of split) {
        parts.push((await model.forwardIncremental(cache, ids.subarray(at, at + n)))!);
        at += n;
        expect(cache.length).toBe(at);
      }
      const inc = new Float32Array(ids.length * V);
      let o = 0;
      for (const p of parts) {
        inc.set(p, o);
        o += p.length;
      }
      expect(o).toBe(full.length);
      // The weights are large: logits spread widely, and any attention error would show.
      expect(Math.max(...full) - Math.min(...full)).toBeGreaterThan(1);
      expect(maxRelDiff(inc, full)).toBeLessThan(1e-5);
      // rows 'last' (the last layer then runs only the last query) and 'none' (it stops after
      // the keys and values) leave the same cache: compare the last row of every chunk.
      const lastOnly = model.createCache();
      at = 0;
      for (const [c, n] of split.entries()) {
        const rows = c % 2 === 1 ? 'none' : 'last';
        const row = await model.forwardIncremental(lastOnly, ids.subarray(at, at + n), { rows });
        at += n;
        if (rows === 'none') expect(row).toBeNull();
        else expect(maxRelDiff(row!, full.subarray((at - 1) * V, at * V))).toBeLessThan(1e-5);
      }
      lastOnly.dispose();
      cache.dispose();
      model.dispose();
    });
  });

  it('batch 2: rows grow together and each equals its own full forward; rows "last"', async () => {
    await onBackend(backend, async () => {
      const model = await randomModel(2);
      const a = ids;
      const b = new Int32Array([1, 1, 9, 8, 0, 6, 10, 3]);
      const cache = model.createCache(2);
      const step = (n: number, at: number, rows: 'all' | 'last') => {
        const x = new Int32Array(2 * n);
        x.set(a.subarray(at, at + n), 0);
        x.set(b.subarray(at, at + n), n);
        return model.forwardIncremental(cache, x, { rows });
      };
      const first = (await step(5, 0, 'all'))!;
      const last = (await step(3, 5, 'last'))!;
      const fa = await model.logProbs(a);
      const fb = await model.logProbs(b);
      expect(maxRelDiff(first.subarray(0, 5 * V), fa.subarray(0, 5 * V))).toBeLessThan(1e-5);
      expect(maxRelDiff(first.subarray(5 * V), fb.subarray(0, 5 * V))).toBeLessThan(1e-5);
      expect(last.length).toBe(2 * V);
      expect(maxRelDiff(last.subarray(0, V), fa.subarray(7 * V))).toBeLessThan(1e-5);
      expect(maxRelDiff(last.subarray(V), fb.subarray(7 * V))).toBeLessThan(1e-5);
      cache.dispose();
      model.dispose();
    });
  });

  it('keeps the tensor count flat across steps and frees everything on dispose', async () => {
    await onBackend(backend, async () => {
      const start = tf.memory().numTensors;
      const model = await randomModel(3);
      const before = tf.memory().numTensors;
      const cache = model.createCache();
      await model.forwardIncremental(cache, ids.subarray(0, 2), { rows: 'none' });
      const afterPrefill = tf.memory().numTensors;
      // Keys and values per layer, and the model's transposed embedding.
      expect(afterPrefill - before).toBe(2 * tiny.nLayer + 1);
      for (let t = 2; t < ids.length; t++) {
        await model.forwardIncremental(cache, ids.subarray(t, t + 1), { rows: 'last' });
        expect(tf.memory().numTensors).toBe(afterPrefill);
      }
      cache.dispose();
      cache.dispose();
      expect(tf.memory().numTensors).toBe(before + 1);
      model.dispose();
      expect(tf.memory().numTensors).toBe(start);
    });
  });
});

describe('GptModel.forwardIncremental: weights', () => {
  it('follows new weights (the transposed embedding it keeps is not stale)', async () => {
    await onBackend('wasm', async () => {
      const model = await randomModel(7);
      const cache = model.createCache();
      await model.forwardIncremental(cache, ids.subarray(0, 3));
      model.setWeights((await randomModel(8)).getWeights());
      cache.reset();
      const inc = (await model.forwardIncremental(cache, ids.subarray(0, 3)))!;
      const full = await model.logProbs(ids.subarray(0, 3));
      expect(maxRelDiff(inc, full)).toBeLessThan(1e-5);
      cache.dispose();
      model.dispose();
    });
  });
});

describe('GptModel.forwardIncremental: errors', () => {
  it('refuses to pass the context, a ragged batch, and ids outside the vocabulary', async () => {
    await onBackend('cpu', async () => {
      const model = await randomModel(4);
      const cache = model.createCache();
      await model.forwardIncremental(cache, ids.subarray(0, 6), { rows: 'none' });
      await expect(model.forwardIncremental(cache, ids.subarray(0, 3))).rejects.toThrow(
        /context length 8/,
      );
      expect(cache.length).toBe(6);
      await expect(model.forwardIncremental(cache, new Int32Array([13]))).rejects.toThrow(
        /vocabulary/,
      );
      const two = model.createCache(2);
      await expect(model.forwardIncremental(two, new Int32Array([1, 2, 3]))).rejects.toThrow(
        /2 rows/,
      );
      cache.dispose();
      model.dispose();
    });
  });
});

describe('slidingWindowStart', () => {
  it('starts at 0 while the text fits, then at multiples of the stride', () => {
    expect(slidingWindowStart(8, 8)).toBe(0);
    expect([9, 10, 11].map((L) => slidingWindowStart(L, 8))).toEqual([1, 2, 3]);
    expect([9, 10, 11, 12, 13].map((L) => slidingWindowStart(L, 8, 3))).toEqual([3, 3, 3, 6, 6]);
    for (let L = 1; L < 40; L++) {
      const w = L - slidingWindowStart(L, 8, 3);
      expect(w).toBeLessThanOrEqual(8);
      expect(w).toBeGreaterThanOrEqual(Math.min(L, 8 - 3 + 1));
    }
    expect(() => slidingWindowStart(5, 8, 9)).toThrow(/slideStride/);
    expect(() => slidingWindowStart(5, 8, 0)).toThrow(/slideStride/);
  });
});

describe('GptDecoder', () => {
  const text = Array.from({ length: 21 }, (_, i) => (i * 7 + 3) % V);
  /** The uncached reference: the window's full forward, last row. */
  async function reference(
    model: GptModel,
    prefix: number[],
    stride: number,
  ): Promise<Float32Array> {
    const start = slidingWindowStart(prefix.length, tiny.contextLength, stride);
    const w = Int32Array.from(prefix.slice(start));
    return (await model.logProbs(w)).slice((w.length - 1) * V);
  }

  it.each([1, 3])(
    'stride %i: every step equals the window’s full forward, past the context too',
    async (stride) => {
      await onBackend('wasm', async () => {
        const model = await randomModel(5);
        const decoder = model.createDecoder({ slideStride: stride });
        const before = tf.memory().numTensors;
        for (let L = 1; L <= text.length; L++) {
          const row = await decoder.next(text.slice(0, L));
          expect(maxRelDiff(row, await reference(model, text.slice(0, L), stride))).toBeLessThan(
            1e-5,
          );
        }
        // Stride 1: one prefill, then a re-read at each of the 13 lengths past the context.
        // Stride 3: a slide at L = 9, 12, 15, 18, 21, and one-position steps between.
        const { prefills, positions } = decoder.stats;
        expect(prefills).toBe(stride === 1 ? 1 + 13 : 1 + 5);
        expect(positions).toBe(stride === 1 ? 8 + 13 * 8 : 8 + 5 * 6 + 8);
        // The last window's keys and values, and the model's transposed embedding.
        expect(tf.memory().numTensors).toBe(before + 2 * tiny.nLayer + 1);
        decoder.dispose();
        model.dispose();
      });
    },
  );

  it('catches up on skipped tokens in one pass, repeats a row, and restarts on another text', async () => {
    await onBackend('cpu', async () => {
      const model = await randomModel(6);
      const decoder = model.createDecoder();
      await decoder.next(text.slice(0, 2));
      const row = await decoder.next(text.slice(0, 7));
      expect(decoder.stats).toEqual({ calls: 2, prefills: 1, positions: 7 });
      expect(maxRelDiff(row, await reference(model, text.slice(0, 7), 1))).toBeLessThan(1e-5);
      expect(Array.from(await decoder.next(text.slice(0, 7)))).toEqual(Array.from(row));
      expect(decoder.stats.positions).toBe(7);
      const other = [...text.slice(0, 3), 1, 2];
      const r2 = await decoder.next(other);
      expect(decoder.stats.prefills).toBe(2);
      expect(maxRelDiff(r2, await reference(model, other, 1))).toBeLessThan(1e-5);
      decoder.dispose();
      model.dispose();
    });
  });
});

describe('GptModel.forwardStepMany', () => {
  const texts = [[4], [0, 5, 2, 7], [0, 5, 2, 7, 3, 12, 4, 11]];
  it.each(['cpu', 'wasm'] as const)(
    '%s: one batched step over caches of different lengths equals each full forward',
    async (backend) => {
      await onBackend(backend, async () => {
        const model = await randomModel(9);
        const caches = texts.map(() => model.createCache());
        for (const [i, t] of texts.entries()) {
          if (t.length > 1)
            await model.forwardIncremental(caches[i]!, Int32Array.from(t.slice(0, -1)), {
              rows: 'none',
            });
        }
        const before = tf.memory().numTensors;
        const rows = await model.forwardStepMany(
          caches,
          Int32Array.from(texts, (t) => t.at(-1)!),
        );
        expect(tf.memory().numTensors).toBe(
          before + (texts[0]!.length === 1 ? 2 * tiny.nLayer : 0),
        );
        for (const [i, t] of texts.entries()) {
          expect(caches[i]!.length).toBe(t.length);
          const full = await model.logProbs(Int32Array.from(t));
          expect(maxRelDiff(rows[i]!, full.subarray((t.length - 1) * V))).toBeLessThan(1e-5);
        }
        // The caches hold the right keys: one more step on the two that have room.
        const more = await model.forwardStepMany(caches.slice(0, 2), Int32Array.of(9, 1));
        for (const [i, t] of texts.slice(0, 2).entries()) {
          const full = await model.logProbs(Int32Array.from([...t, [9, 1][i]!]));
          expect(maxRelDiff(more[i]!, full.subarray(t.length * V))).toBeLessThan(1e-5);
        }
        await expect(model.forwardStepMany([caches[2]!], Int32Array.of(1))).rejects.toThrow(
          /context length/,
        );
        await expect(
          model.forwardStepMany([caches[0]!, caches[0]!], Int32Array.of(1, 2)),
        ).rejects.toThrow(/same cache/);
        for (const c of caches) c.dispose();
        model.dispose();
      });
    },
  );

  it('GptDecoder.nextMany: batches the one-token steps, reads the rest alone, equals next()', async () => {
    await onBackend('wasm', async () => {
      const model = await randomModel(10);
      const text = Array.from({ length: 14 }, (_, i) => (i * 5 + 1) % V);
      const batched = [0, 1, 2].map(() => model.createDecoder());
      const alone = [0, 1, 2].map(() => model.createDecoder());
      // Lengths per round: decoder 0 steps by one, 1 skips ahead (a catch-up), 2 passes the context.
      const rounds = [
        [2, 3, 6],
        [3, 4, 7],
        [4, 7, 8],
        [5, 8, 9],
        [6, 9, 10],
      ];
      let batchedSteps = 0;
      const many = model.forwardStepMany.bind(model);
      model.forwardStepMany = (caches, ids) => {
        batchedSteps += caches.length;
        return many(caches, ids);
      };
      for (const lengths of rounds) {
        const rows = await GptDecoder.nextMany(
          lengths.map((L, i) => ({ decoder: batched[i]!, text: text.slice(0, L) })),
        );
        for (const [i, L] of lengths.entries()) {
          const ref = await alone[i]!.next(text.slice(0, L));
          expect(maxRelDiff(rows[i]!, ref)).toBeLessThan(1e-5);
        }
      }
      // One-token steps: decoder 0 in rounds 2–5, decoder 1 in rounds 2 and 4 (a catch-up in 3,
      // a slide in 5), decoder 2 in rounds 2 and 3 (then the window slides at every step).
      expect(batchedSteps).toBe(4 + 2 + 2);
      batched.forEach((d, i) => {
        expect(d.stats).toEqual(alone[i]!.stats);
      });
      await expect(
        GptDecoder.nextMany([
          { decoder: batched[0]!, text },
          { decoder: batched[0]!, text },
        ]),
      ).rejects.toThrow(/same decoder/);
      for (const d of [...batched, ...alone]) d.dispose();
      model.dispose();
    });
  });
});
