import { assertUnreachable } from '@cbtm/core';

/**
 * How the learning rate falls after warmup.
 *
 * @example
 * ```ts
 * await trainLanguageModel({ ...options, decay: 'linear' as LrDecay });
 * ```
 */
export type LrDecay = 'cosine' | 'linear' | 'constant';

/**
 * A learning-rate schedule: linear warmup, then decay to `minLr` at `totalSteps`.
 *
 * @example
 * ```ts
 * const s: LrSchedule = { lr: 1e-3, minLr: 1e-4, warmupSteps: 100, totalSteps: 2000, decay: 'cosine' };
 * ```
 */
export interface LrSchedule {
  readonly lr: number;
  readonly warmupSteps: number;
  readonly totalSteps: number;
  readonly decay: LrDecay;
  readonly minLr: number;
}

/**
 * The learning rate of 0-based step `step`: `lr·(step+1)/warmup` during warmup, then cosine or
 * linear decay from `lr` to `minLr` over the remaining steps.
 *
 * @example
 * ```ts
 * learningRateAt(0, { lr: 1e-3, warmupSteps: 10, totalSteps: 100, decay: 'cosine', minLr: 1e-4 }); // 1e-4
 * ```
 */
export function learningRateAt(step: number, s: LrSchedule): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - s.warmupSteps) / span));
  switch (s.decay) {
    case 'constant':
      return s.lr;
    case 'linear':
      return s.lr + (s.minLr - s.lr) * progress;
    case 'cosine':
      return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos(Math.PI * progress));
    default:
      return assertUnreachable(s.decay, 'decay');
  }
}
