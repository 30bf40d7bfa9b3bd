import type { ExpertDecoder, ExpertModel } from './types.js';

interface Pending {
  readonly model: ExpertModel;
  readonly decoder: ExpertDecoder;
  readonly text: ArrayLike<number>;
  readonly resolve: (row: Float32Array) => void;
  readonly reject: (error: unknown) => void;
}

// A macrotask: every generation whose previous step just resolved reaches its next request
// (through microtasks only) before the queue is read.
const defer: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => setImmediate(fn) : (fn) => setTimeout(fn, 0);

/**
 * Batches the decoding steps of concurrent generations that use the same expert: one shared
 * instance, passed as `batcher` to every `generate` call (a server makes one per ensemble).
 * Requests made while other generations are computing wait for the next turn of the event
 * loop, and each expert then runs one batched step for all of them (`decodeMany`, which
 * `GptModel` has). Each generation's tokens are the same as without the batcher (within float
 * rounding of the log-probabilities).
 *
 * @example
 * ```ts
 * const batcher = new ExpertStepBatcher();
 * const streams = prompts.map((p) => collect(ensemble.generate(p, { batcher, maxTokens: 64 })));
 * await Promise.all(streams);
 * batcher.stats; // { requests: 5120, batches: 900, largestBatch: 20 }
 * ```
 */
export class ExpertStepBatcher {
  #queue: Pending[] = [];
  #scheduled = false;
  #requests = 0;
  #batches = 0;
  #largest = 0;

  /** Requests served, model calls made (batched or single), and the largest batch. */
  get stats(): { requests: number; batches: number; largestBatch: number } {
    return { requests: this.#requests, batches: this.#batches, largestBatch: this.#largest };
  }

  /** `decoder.next(text)`, run together with other generations' requests for `model`. */
  next(model: ExpertModel, decoder: ExpertDecoder, text: ArrayLike<number>): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ model, decoder, text, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        defer(() => void this.#flush());
      }
    });
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    const byModel = new Map<ExpertModel, Pending[]>();
    for (const p of queue) {
      const group = byModel.get(p.model) ?? [];
      group.push(p);
      byModel.set(p.model, group);
    }
    for (const [model, group] of byModel) {
      this.#requests += group.length;
      this.#largest = Math.max(this.#largest, group.length);
      try {
        let rows: Float32Array[];
        if (group.length > 1 && model.decodeMany) {
          this.#batches++;
          rows = await model.decodeMany(group.map(({ decoder, text }) => ({ decoder, text })));
        } else {
          rows = [];
          for (const { decoder, text } of group) {
            this.#batches++;
            rows.push(await decoder.next(text));
          }
        }
        group.forEach((p, i) => {
          p.resolve(rows[i]!);
        });
      } catch (error) {
        for (const p of group) p.reject(error);
      }
    }
  }
}
