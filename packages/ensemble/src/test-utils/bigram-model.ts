import { Rng } from '@cbtm/core';
import type { ExpertModel } from '../types.js';

/**
 * A bigram language model: log p(next | prev) = table[prev, next]. Its probabilities are
 * exact and known, so tests can compute mixtures by hand. Counts its forward passes.
 */
export class BigramModel implements ExpertModel {
  readonly config: { vocabSize: number; contextLength: number };
  readonly table: Float32Array;
  calls = 0;
  disposed = false;

  constructor(table: Float32Array, vocabSize: number, contextLength = 1024) {
    this.table = table;
    this.config = { vocabSize, contextLength };
  }

  /** A random bigram table (softmax of scaled normals per row), seeded. */
  static random(vocabSize: number, seed: number, sharpness = 2): BigramModel {
    const rng = new Rng(seed);
    const t = new Float32Array(vocabSize * vocabSize);
    for (let r = 0; r < vocabSize; r++) {
      const row = Array.from({ length: vocabSize }, () => rng.normal() * sharpness);
      const max = Math.max(...row);
      const z = Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0)) + max;
      row.forEach((x, c) => {
        t[r * vocabSize + c] = x - z;
      });
    }
    return new BigramModel(t, vocabSize);
  }

  logProb(prev: number, next: number): number {
    return this.table[prev * this.config.vocabSize + next]!;
  }

  async logProbs(ids: Int32Array): Promise<Float32Array> {
    if (this.disposed) throw new Error('disposed');
    this.calls++;
    const V = this.config.vocabSize;
    const out = new Float32Array(ids.length * V);
    for (let t = 0; t < ids.length; t++)
      out.set(this.table.subarray(ids[t]! * V, ids[t]! * V + V), t * V);
    return out;
  }

  dispose(): void {
    this.disposed = true;
  }
}
