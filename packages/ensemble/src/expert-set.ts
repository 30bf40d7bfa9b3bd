import { CbtmError, InvalidArgumentError } from '@cbtm/core';
import {
  defaultRouteOptions,
  type RouteOptions,
  type RouteResult,
  routingWeights,
} from '@cbtm/route';
import type { Routing } from './routing.js';

/**
 * The version of `expert-set.json` this build writes and the newest it reads.
 *
 * @example
 * ```ts
 * new ExpertSet(4).toJSON().version === EXPERT_SET_VERSION; // true
 * ```
 */
export const EXPERT_SET_VERSION = 1;

/**
 * One expert taken out of a run's ensemble by `cbtm remove-expert`.
 *
 * @example
 * ```ts
 * const r: RemovedExpert = { expert: 2, movedTo: 'removed-experts/2.20261204T170000Z', removedAt: '2026-12-04T17:00:00.000Z' };
 * ```
 */
export interface RemovedExpert {
  /** The expert id (its cluster, and its row in the router). */
  readonly expert: number;
  /** Where its folder went, relative to the run directory; move it back to restore it. */
  readonly movedTo: string;
  /** ISO time of the removal. */
  readonly removedAt: string;
}

/**
 * Which of a run's k experts take part in its ensemble: all of them, minus those removed. The
 * experts keep their ids (cluster j stays expert j), so shards, assignments and the router's
 * rows still line up; routing skips the removed ones ({@link ExpertSubsetRouting}).
 * Saved as `<run>/experts/expert-set.json` by `@cbtm/ensemble/node`.
 *
 * @example
 * ```ts
 * const set = new ExpertSet(4).remove(2, 'removed-experts/2.x', new Date().toISOString());
 * set.active(); // [0, 1, 3]
 * ExpertSet.fromJSON(set.toJSON()).isRemoved(2); // true
 * ```
 */
export class ExpertSet {
  /** Number of expert ids (the router's k). */
  readonly k: number;
  /** The experts taken out, in the order they were removed. */
  readonly removed: readonly RemovedExpert[];

  constructor(k: number, removed: readonly RemovedExpert[] = []) {
    if (!Number.isInteger(k) || k < 1) {
      throw new InvalidArgumentError(`An expert set needs an integer k ≥ 1, got ${k}.`);
    }
    const seen = new Set<number>();
    for (const r of removed) {
      if (!Number.isInteger(r.expert) || r.expert < 0 || r.expert >= k) {
        throw new InvalidArgumentError(`Removed expert ${r.expert} is not one of 0..${k - 1}.`);
      }
      if (seen.has(r.expert))
        throw new InvalidArgumentError(`Expert ${r.expert} is listed as removed twice.`);
      seen.add(r.expert);
    }
    if (seen.size >= k) {
      throw new InvalidArgumentError('An expert set must keep at least one expert.');
    }
    this.k = k;
    this.removed = [...removed];
  }

  /** True when `expert` was removed. */
  isRemoved(expert: number): boolean {
    return this.removed.some((r) => r.expert === expert);
  }

  /** The experts still in the ensemble, ascending. */
  active(): number[] {
    return Array.from({ length: this.k }, (_, j) => j).filter((j) => !this.isRemoved(j));
  }

  /** A new set with `expert` removed as well; refuses the last active expert. */
  remove(expert: number, movedTo: string, removedAt: string): ExpertSet {
    if (!Number.isInteger(expert) || expert < 0 || expert >= this.k) {
      throw new InvalidArgumentError(
        `Expert ${expert} does not exist; this run has experts 0..${this.k - 1}.`,
      );
    }
    if (this.isRemoved(expert)) {
      throw new InvalidArgumentError(`Expert ${expert} was already removed.`);
    }
    if (this.active().length <= 1) {
      throw new InvalidArgumentError(
        `Expert ${expert} is the last one left; an ensemble needs at least one expert.`,
      );
    }
    return new ExpertSet(this.k, [...this.removed, { expert, movedTo, removedAt }]);
  }

  /** A new set with `expert` back in the ensemble. */
  restore(expert: number): ExpertSet {
    if (!this.isRemoved(expert)) {
      throw new InvalidArgumentError(
        `Expert ${expert} was not removed, so there is nothing to restore.`,
      );
    }
    return new ExpertSet(
      this.k,
      this.removed.filter((r) => r.expert !== expert),
    );
  }

  /** The `expert-set.json` object. */
  toJSON(): ExpertSetJson {
    return {
      format: 'cbtm-expert-set',
      version: EXPERT_SET_VERSION,
      k: this.k,
      active: this.active(),
      removed: this.removed.map((r) => ({ ...r })),
    };
  }

  /** Reads an `expert-set.json` object; `source` names the file in errors. */
  static fromJSON(json: unknown, source = 'expert-set.json'): ExpertSet {
    const j = json as Partial<ExpertSetJson> | null;
    if (!j || typeof j !== 'object' || j.format !== 'cbtm-expert-set') {
      throw new CbtmError(
        'E_FORMAT',
        `${source}: field "format" must be "cbtm-expert-set". Delete the file to use every expert again.`,
      );
    }
    if (typeof j.version !== 'number' || j.version > EXPERT_SET_VERSION) {
      throw new CbtmError(
        'E_FORMAT',
        `${source}: version ${j.version} is not one this cbtm reads (up to ${EXPERT_SET_VERSION}). Upgrade cbtm.`,
      );
    }
    if (!Array.isArray(j.removed)) {
      throw new CbtmError('E_FORMAT', `${source}: field "removed" must be an array.`);
    }
    try {
      return new ExpertSet(j.k as number, j.removed);
    } catch (err) {
      throw new CbtmError('E_FORMAT', `${source}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/**
 * `<run>/experts/expert-set.json`.
 *
 * @example
 * ```ts
 * const json: ExpertSetJson = new ExpertSet(4).toJSON();
 * ```
 */
export interface ExpertSetJson {
  readonly format: 'cbtm-expert-set';
  readonly version: number;
  readonly k: number;
  /** The experts in the ensemble (derived; written for people reading the file). */
  readonly active: readonly number[];
  readonly removed: readonly RemovedExpert[];
}

/**
 * A router restricted to some of its experts: routes as if the removed experts' centroids were
 * not there. The nearest `topK` of the remaining experts get w_j ∝ exp(−d_j²/T), renormalized
 * over them alone, exactly what a router built from the remaining centroids would give. Expert
 * ids are unchanged, so `k` is still the number of ids.
 *
 * @example
 * ```ts
 * const routing = new ExpertSubsetRouting(router, [2]); // k = 4, expert 2 removed
 * routing.route(vec, { topK: 2 }).experts; // the two nearest of 0, 1, 3
 * ```
 */
export class ExpertSubsetRouting implements Routing {
  readonly k: number;
  readonly dimension: number;
  /** The experts routing may choose, ascending. */
  readonly active: readonly number[];
  readonly #inner: Routing;
  readonly #removed: ReadonlySet<number>;

  constructor(inner: Routing, removed: Iterable<number>) {
    this.#inner = inner;
    this.#removed = new Set(removed);
    this.k = inner.k;
    this.dimension = inner.dimension;
    this.active = Array.from({ length: inner.k }, (_, j) => j).filter((j) => !this.#removed.has(j));
    if (this.active.length === 0) {
      throw new InvalidArgumentError('Every expert is removed; nothing is left to route to.');
    }
  }

  route(vec: ArrayLike<number>, options: RouteOptions = {}): RouteResult {
    const n = this.active.length;
    const want = Math.min(options.topK ?? n, n);
    const temperature = options.temperature ?? defaultRouteOptions.temperature;
    // The nearest `want` active experts are among the nearest `want + removed` of all.
    const inner = this.#inner.route(vec, {
      topK: Math.min(this.k, want + this.#removed.size),
      temperature,
    });
    const experts: number[] = [];
    const distances: number[] = [];
    for (let i = 0; i < inner.experts.length && experts.length < want; i++) {
      const j = inner.experts[i]!;
      if (this.#removed.has(j)) continue;
      experts.push(j);
      distances.push(inner.distances[i]!);
    }
    return {
      experts,
      weights: Float32Array.from(routingWeights(distances, temperature)),
      distances: Float32Array.from(distances),
    };
  }
}
