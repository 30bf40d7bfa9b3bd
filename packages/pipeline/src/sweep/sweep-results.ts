import type { TopK } from '../config/schema.js';
import type { EvalResults } from '../results.js';
import type { StageReport } from '../stages/stage.js';

/**
 * How long a training phase took: measured while it ran, or carried over from an earlier
 * sweep call when it was reused.
 *
 * @example
 * ```ts
 * const t: TrainingTiming = { seconds: 41.2, tokens: 500_000, tokensPerSecond: 12_136, resumed: false, completedAt: '…' };
 * ```
 */
export interface TrainingTiming {
  /** Wall seconds of training (all models of the run, in parallel); null when never measured. */
  readonly seconds: number | null;
  /** Tokens the models trained on, from their train-state.json. */
  readonly tokens: number;
  /** Tokens trained in the measured call / its wall seconds; null when never measured. */
  readonly tokensPerSecond: number | null;
  /** True when the measured call resumed from checkpoints (seconds then cover only the rest). */
  readonly resumed: boolean;
  /** When the stage finished (the manifest's completedAt): ties the timing to those models. */
  readonly completedAt: string | null;
}

/**
 * One grid point in `sweep-results.json`.
 *
 * @example
 * ```ts
 * const p: SweepPointResult = results.points[0];
 * console.log(p.k, p.tokens, p.perplexity.all);
 * ```
 */
export interface SweepPointResult {
  readonly name: string;
  readonly k: number;
  /** Training tokens after the seed. */
  readonly tokens: number;
  /** Its run directory, relative to the sweep's folder. */
  readonly run: string;
  /** Experts trained (k, or fewer when the clustering left a cluster empty). */
  readonly experts: number;
  /** Validation perplexity of c-BTM per top-k setting (`top1`, `top2`, `all`). */
  readonly perplexity: Readonly<Record<string, number>>;
  /** Validation perplexity per domain, per top-k setting. */
  readonly perDomain: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly training: TrainingTiming;
  /**
   * The seed model this point branched from, when the sweep trains a seed per budget
   * (`sweep.seedRatio`); absent when every point shares the results' `seed`.
   */
  readonly seed?: SweepSeed | null;
}

/**
 * A seed model of a sweep: where it is, what it trained on, and what that cost.
 *
 * @example
 * ```ts
 * const s: SweepSeed = { dir: 'seed/seed', tokens: 750_000, training: null };
 * ```
 */
export interface SweepSeed {
  /** Its folder, relative to the sweep's folder. */
  readonly dir: string;
  /** Tokens the seed was trained on. */
  readonly tokens: number;
  readonly training: TrainingTiming | null;
}

/**
 * `<out>/sweep-results.json`: every grid point's perplexity and training cost.
 *
 * @example
 * ```ts
 * const r = await readJsonFile<SweepResults>('runs/sweep/sweep-results.json');
 * ```
 */
export interface SweepResults {
  readonly format: 'cbtm-sweep-results';
  readonly version: 1;
  readonly createdAt: string;
  /** The grid as configured. */
  readonly grid: {
    readonly k: readonly number[];
    readonly tokens: readonly number[];
    readonly topK: readonly TopK[];
    readonly plot: TopK;
  };
  /**
   * The shared seed model every grid run branched from (null: they start from scratch, or each
   * budget has its own seed: see `seedRatio` and each point's `seed`).
   */
  readonly seed: SweepSeed | null;
  /** `sweep.seedRatio`: each budget's seed trained on this many times its tokens (absent: one shared seed). */
  readonly seedRatio?: number | null;
  /** The validation corpus (the same for every point). */
  readonly validation: {
    readonly name: string | null;
    readonly documents: number;
    readonly tokens: number;
    readonly domains: readonly string[];
  } | null;
  readonly points: readonly SweepPointResult[];
}

/**
 * The key of a top-k setting in the results: `top2`, or `all`.
 *
 * @example
 * ```ts
 * topKLabel(2); // 'top2'
 * ```
 */
export function topKLabel(topK: TopK): string {
  return topK === 'all' ? 'all' : `top${topK}`;
}

/** The eval method name that scores a top-k setting at k experts (top-k ≥ k is "all"). */
export function methodFor(topK: TopK, k: number): string {
  return topK === 'all' || topK >= k ? 'cbtm-all' : `cbtm-top${topK}`;
}

/** Perplexity and per-domain perplexity of each top-k setting, from a run's eval results. */
export function perplexitiesOf(
  results: EvalResults,
  topKs: readonly TopK[],
  k: number,
): Pick<SweepPointResult, 'perplexity' | 'perDomain'> {
  const perplexity: Record<string, number> = {};
  const perDomain: Record<string, Record<string, number>> = {};
  for (const t of topKs) {
    const m = results.methods[methodFor(t, k)];
    if (!m) continue;
    perplexity[topKLabel(t)] = m.perplexity;
    perDomain[topKLabel(t)] = Object.fromEntries(
      Object.entries(m.perDomain).map(([d, s]) => [d, s.perplexity]),
    );
  }
  return { perplexity, perDomain };
}

/** What a training stage's manifest info says about each model (see runTrainingStages). */
interface ModelInfo {
  readonly reused: boolean;
  readonly resumedFromStep: number | null;
  readonly steps: number;
}

/**
 * The timing of a training stage: measured when it ran in this call, else the earlier
 * timing when it belongs to the same finished models (same `completedAt`), else unknown.
 * `tokens` is what its models trained on in all (they share it equally).
 */
export function trainingTiming(
  report: StageReport | undefined,
  tokens: number,
  completedAt: string | null,
  earlier: TrainingTiming | null | undefined,
): TrainingTiming {
  const models = (report?.info?.models as ModelInfo[] | undefined) ?? [];
  if (report?.status === 'ran' && models.some((m) => !m.reused)) {
    // Only the steps trained in this call count towards its speed.
    const fraction =
      models.reduce(
        (f, m) =>
          m.reused || m.steps === 0 ? f : f + (m.steps - (m.resumedFromStep ?? 0)) / m.steps,
        0,
      ) / models.length;
    return {
      seconds: report.seconds,
      tokens,
      tokensPerSecond: report.seconds > 0 ? (tokens * fraction) / report.seconds : null,
      resumed: models.some((m) => (m.resumedFromStep ?? 0) > 0),
      completedAt,
    };
  }
  if (earlier && earlier.completedAt !== null && earlier.completedAt === completedAt) {
    return { ...earlier, tokens };
  }
  return { seconds: null, tokens, tokensPerSecond: null, resumed: false, completedAt };
}
