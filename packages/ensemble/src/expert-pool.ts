import { InvalidArgumentError } from '@cbtm/core';
import type { ExpertModel } from './types.js';

/**
 * Options of {@link ExpertPool}.
 *
 * @example
 * ```ts
 * new ExpertPool(8, (j) => GptModel.load(`runs/demo/experts/${j}`), { maxLoaded: 2 });
 * ```
 */
export interface ExpertPoolOptions {
  /**
   * How many experts may stay loaded at once; the least recently used is disposed first.
   * An expert in use is never evicted, so the bound can be exceeded while more are in use.
   * @default 4
   */
  readonly maxLoaded?: number;
}

/**
 * Defaults of {@link ExpertPoolOptions}.
 *
 * @example
 * ```ts
 * const { maxLoaded } = defaultExpertPoolOptions; // 4
 * ```
 */
export const defaultExpertPoolOptions: Required<ExpertPoolOptions> = Object.freeze({
  maxLoaded: 4,
});

interface Slot<M> {
  readonly promise: Promise<M>;
  pins: number;
  tick: number;
}

/**
 * Loads experts on first use and keeps at most `maxLoaded` of them, evicting the least
 * recently used (and calling its `dispose()`). Concurrent requests for one expert share a
 * single load.
 *
 * @example
 * ```ts
 * const pool = new ExpertPool(8, (j) => GptModel.load(`runs/demo/experts/${j}`), { maxLoaded: 2 });
 * const lp = await pool.use(3, (model) => model.logProbs(ids));
 * ```
 */
export class ExpertPool<M extends ExpertModel = ExpertModel> {
  /** Number of experts the pool can load (ids 0..count−1). */
  readonly count: number;
  readonly #load: (expert: number) => Promise<M>;
  readonly #maxLoaded: number;
  readonly #slots = new Map<number, Slot<M>>();
  #tick = 0;
  #loads = 0;

  constructor(
    count: number,
    load: (expert: number) => Promise<M>,
    options: ExpertPoolOptions = {},
  ) {
    const maxLoaded = options.maxLoaded ?? defaultExpertPoolOptions.maxLoaded;
    if (!Number.isInteger(maxLoaded) || maxLoaded < 1) {
      throw new InvalidArgumentError(`maxLoaded must be an integer ≥ 1, got ${maxLoaded}.`);
    }
    this.count = count;
    this.#load = load;
    this.#maxLoaded = maxLoaded;
  }

  /** How many times an expert was loaded (reloads after eviction count again). */
  get loads(): number {
    return this.#loads;
  }

  /** The experts loaded (or loading) now, least recently used first. */
  loaded(): number[] {
    return [...this.#slots.entries()].sort((a, b) => a[1].tick - b[1].tick).map(([j]) => j);
  }

  /**
   * Runs `fn` with expert `expert`, loading it if needed; the expert cannot be evicted while
   * `fn` runs.
   */
  async use<T>(expert: number, fn: (model: M) => Promise<T> | T): Promise<T> {
    if (!Number.isInteger(expert) || expert < 0 || expert >= this.count) {
      throw new InvalidArgumentError(`Expert ${expert} does not exist; there are ${this.count}.`);
    }
    let slot = this.#slots.get(expert);
    if (!slot) {
      this.#loads++;
      const promise = this.#load(expert);
      slot = { promise, pins: 0, tick: 0 };
      this.#slots.set(expert, slot);
      promise.catch(() => {
        if (this.#slots.get(expert) === slot) this.#slots.delete(expert);
      });
    }
    slot.pins++;
    slot.tick = ++this.#tick;
    try {
      const model = await slot.promise;
      return await fn(model);
    } finally {
      slot.pins--;
      slot.tick = ++this.#tick;
      this.#evict();
    }
  }

  /** Disposes every loaded expert. */
  async dispose(): Promise<void> {
    const slots = [...this.#slots.values()];
    this.#slots.clear();
    for (const s of slots) {
      try {
        (await s.promise).dispose?.();
      } catch {
        // A failed load has nothing to free.
      }
    }
  }

  #evict(): void {
    while (this.#slots.size > this.#maxLoaded) {
      let victim: number | undefined;
      let oldest = Number.POSITIVE_INFINITY;
      for (const [j, s] of this.#slots) {
        if (s.pins === 0 && s.tick < oldest) {
          oldest = s.tick;
          victim = j;
        }
      }
      if (victim === undefined) return;
      const slot = this.#slots.get(victim)!;
      this.#slots.delete(victim);
      void slot.promise.then(
        (m) => m.dispose?.(),
        () => undefined,
      );
    }
  }
}
