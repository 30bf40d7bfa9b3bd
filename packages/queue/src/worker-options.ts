import { InvalidArgumentError, type LongRunOptions } from '@cbtm/core';
import type { QueueConnectionOptions } from './redis-connection.js';

/** Options of {@link runWorker}. `onProgress` receives each model's training events. */
export interface RunWorkerOptions extends QueueConnectionOptions, LongRunOptions {
  /** Jobs trained at once by this worker, each in its own process. @default 1 */
  readonly concurrency?: number;
  /**
   * How long a job's lock lasts without renewal. A worker that dies loses its job after this
   * long; another worker then resumes it from its checkpoint. @default 30_000
   */
  readonly lockDurationMs?: number;
  /** How often this worker looks for jobs whose worker died. @default 30_000 */
  readonly stalledIntervalMs?: number;
  /** Times a job may be recovered from a dead worker before it is marked failed. @default 5 */
  readonly maxStalledCount?: number;
  /** Stop once no job is waiting, delayed or running anywhere, instead of waiting for more. @default false */
  readonly untilEmpty?: boolean;
  /** The training worker script `@cbtm/train` forks. @default its built `expert-worker.js` */
  readonly workerScript?: string;
  /** Receives one line per job event (started, resumed, finished, failed). @default console.error */
  readonly log?: (line: string) => void;
}

/**
 * Defaults of {@link RunWorkerOptions}.
 *
 * @example
 * ```ts
 * await runWorker({ ...defaultRunWorkerOptions, redis: 'redis://10.0.0.5:6379', concurrency: 2 });
 * ```
 */
export const defaultRunWorkerOptions = Object.freeze({
  concurrency: 1,
  lockDurationMs: 30_000,
  stalledIntervalMs: 30_000,
  maxStalledCount: 5,
  untilEmpty: false,
});

/**
 * What a worker did before it stopped.
 *
 * @example
 * ```ts
 * const { completed, failed } = await runWorker({ redis, untilEmpty: true });
 * ```
 */
export interface WorkerSummary {
  /** Ids of the jobs it finished. */
  readonly completed: readonly string[];
  /** Ids of the jobs that failed in it (they may be retried elsewhere). */
  readonly failed: readonly string[];
  /** Ids of the jobs it was running when told to stop; they went back to the queue. */
  readonly returned: readonly string[];
}

/** Throws an `InvalidArgumentError` naming the first out-of-range option. */
export function checkWorkerOptions(o: {
  readonly concurrency: number;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly maxStalledCount: number;
}): void {
  for (const [field, value, min] of [
    ['concurrency', o.concurrency, 1],
    ['lockDurationMs', o.lockDurationMs, 100],
    ['stalledIntervalMs', o.stalledIntervalMs, 100],
    ['maxStalledCount', o.maxStalledCount, 0],
  ] as const) {
    if (!(Number.isInteger(value) && value >= min)) {
      throw new InvalidArgumentError(`${field} must be an integer ≥ ${min}, got ${value}.`);
    }
  }
}
