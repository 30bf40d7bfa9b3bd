import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';
import { InvalidArgumentError } from './errors.js';

/**
 * A seeded pseudo-random generator (xoroshiro128+ from `pure-rand`) with a serializable state,
 * so checkpoints can store it and resume the exact same stream.
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * rng.float(); rng.int(0, 9);
 * const saved = rng.state(); const again = Rng.fromState(saved);
 * ```
 */
export class Rng {
  #gen: JumpableRandomGenerator;

  constructor(seed: number) {
    if (!Number.isFinite(seed))
      throw new InvalidArgumentError(`seed must be a finite number, got ${seed}.`);
    this.#gen = xoroshiro128plus(Math.trunc(seed) | 0);
  }

  /** Restores a generator from {@link Rng.state}. */
  static fromState(state: readonly number[]): Rng {
    const rng = new Rng(0);
    rng.#gen = xoroshiro128plusFromState(state);
    return rng;
  }

  /** The generator's state, as plain numbers for JSON. */
  state(): number[] {
    return [...this.#gen.getState()];
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return uniformFloat64(this.#gen);
  }

  /** Uniform integer in [from, to], both included. */
  int(from: number, to: number): number {
    return uniformInt(this.#gen, from, to);
  }

  /** Standard normal sample (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles `array` in place (Fisher–Yates) and returns it. */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const t = array[i]!;
      array[i] = array[j]!;
      array[j] = t;
    }
    return array;
  }

  /** An independent generator derived from this one (for per-worker streams). */
  fork(): Rng {
    const child = Rng.fromState(this.#gen.getState());
    child.#gen.jump();
    this.#gen.next();
    return child;
  }
}

/**
 * Derives a 32-bit seed from a base seed and a label, e.g. one seed per expert.
 *
 * @example
 * ```ts
 * const expertSeed = deriveSeed(1234, 'expert-3');
 * ```
 */
export function deriveSeed(seed: number, label: string | number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  const s = String(label);
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
  }
  h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) | 0;
}
