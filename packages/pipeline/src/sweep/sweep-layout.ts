import { join } from 'node:path';
import type { SweepConfig } from './sweep-config.js';

/**
 * Where a sweep keeps its runs and outputs, relative to its `out` folder: the one owner of
 * the sweep layout.
 *
 * @example
 * ```ts
 * join(out, SWEEP_LAYOUT.results); // <out>/sweep-results.json
 * ```
 */
export const SWEEP_LAYOUT = {
  /** The run (k = 1) that makes the embedding, the tokenizer and the shared seed model. */
  seedRun: 'seed',
  results: 'sweep-results.json',
  report: 'sweep-report.html',
  figure: 'sweep-figure.svg',
} as const;

/**
 * One grid point of a sweep.
 *
 * @example
 * ```ts
 * const p: SweepPoint = { name: 'k4-t500000', k: 4, tokens: 500_000 };
 * ```
 */
export interface SweepPoint {
  /** Folder name of its run under the sweep's `out`: `k<k>-t<tokens>`. */
  readonly name: string;
  readonly k: number;
  /** Training tokens after the seed (the k experts share them). */
  readonly tokens: number;
}

/**
 * The grid points of a sweep in the order they run: k ascending, then budget ascending, so
 * each k's later points reuse its first point's clusters, shards and router.
 *
 * @example
 * ```ts
 * sweepPoints({ sweep: { k: [2, 1], tokens: [10, 5] } } as SweepConfig).map((p) => p.name);
 * // ['k1-t5', 'k1-t10', 'k2-t5', 'k2-t10']
 * ```
 */
export function sweepPoints(config: Pick<SweepConfig, 'sweep'>): SweepPoint[] {
  const ks = [...config.sweep.k].sort((a, b) => a - b);
  const budgets = [...config.sweep.tokens].sort((a, b) => a - b);
  return ks.flatMap((k) => budgets.map((tokens) => ({ name: `k${k}-t${tokens}`, k, tokens })));
}

/**
 * The seed run of a budget when the sweep trains a seed per budget (`sweep.seedRatio`):
 * `seed-t<tokens>`.
 *
 * @example
 * ```ts
 * seedRunFor(500_000); // 'seed-t500000'
 * ```
 */
export function seedRunFor(tokens: number): string {
  return `${SWEEP_LAYOUT.seedRun}-t${tokens}`;
}

/** Absolute path of a sweep file or run folder. */
export function sweepPath(out: string, ...parts: string[]): string {
  return join(out, ...parts);
}
