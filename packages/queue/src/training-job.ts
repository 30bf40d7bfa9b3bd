import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { RunDir } from '@cbtm/core/node';
import { RunLayout } from '@cbtm/core/node';
import type {
  BackendPreference,
  ExpertTrainSettings,
  GptConfig,
  TrainProgress,
} from '@cbtm/train/node';

/** Which model of a run one job trains. */
export type TrainingTarget =
  | { readonly kind: 'expert'; readonly expert: number }
  | { readonly kind: 'dense' }
  /** All random-cluster experts (`<run>/random/experts/<j>/`), one after another. */
  | { readonly kind: 'random' };

/**
 * The payload of one queued training job. It carries everything a worker needs, so workers
 * read no config: only the run directory, which every worker must see at the same path.
 *
 * @example
 * ```ts
 * const data: TrainingJobData = { format: 'cbtm-train-job', version: 1, runDir: '/shared/runs/a', runId: 'a-1f2e3d4c5b',
 *   name: 'expert-0', target: { kind: 'expert', expert: 0 }, totalTokens: 400_000, seed: 1, backend: 'auto' };
 * ```
 */
export interface TrainingJobData {
  readonly format: 'cbtm-train-job';
  readonly version: 1;
  /** Absolute run directory (on a file system every worker shares). */
  readonly runDir: string;
  readonly runId: string;
  /** `expert-<j>`, `dense` or `random`. */
  readonly name: string;
  readonly target: TrainingTarget;
  /** Training tokens of the whole run (each of k experts gets totalTokens / k, dense all). */
  readonly totalTokens: number;
  readonly tokensPerExpert?: number;
  readonly modelConfig?: Partial<Omit<GptConfig, 'vocabSize'>>;
  readonly train?: ExpertTrainSettings;
  readonly seed: number;
  readonly backend: BackendPreference;
  /** Branch from this trained seed model directory. */
  readonly seedFrom?: string;
}

/**
 * What a finished job returns (kept by BullMQ as the job's return value).
 *
 * @example
 * ```ts
 * const job = await queue.getJob(trainingJobId(runId, 'expert-0'));
 * const r = job.returnvalue as TrainingJobResult; // { name: 'expert-0', steps: 120, resumedFromStep: 40, ... }
 * ```
 */
export interface TrainingJobResult {
  readonly name: string;
  /** Steps of each model trained by the job (one, or k for `random`). */
  readonly steps: number;
  readonly tokens: number;
  readonly finalLoss: number | null;
  readonly valLoss: number | null;
  readonly backend: string | null;
  /** The step the job's model was at when this attempt started (0: from scratch). */
  readonly resumedFromStep: number;
  /** True when the model was already trained and the job did nothing. */
  readonly skipped: boolean;
  /** `host:pid` of the worker that finished it. */
  readonly worker: string;
}

/** What a job reports through `job.updateProgress`. */
export interface TrainingJobProgress {
  /** Steps done and total, summed over the job's models. */
  readonly step: number;
  readonly totalSteps: number | null;
  readonly loss?: number;
  readonly tokensPerSecond?: number;
}

/** Version of {@link TrainingJobData} this build writes and reads. */
export const TRAINING_JOB_VERSION = 1;

/**
 * A run's id in the queue: the folder name and a hash of its absolute path and creation time,
 * so two runs never share job ids and a run recreated in the same folder starts afresh.
 *
 * @example
 * ```ts
 * runIdOf(await RunDir.open('runs/demo')); // 'demo-3f9a0c1b2d'
 * ```
 */
export function runIdOf(run: RunDir): string {
  const name =
    basename(run.dir)
      .replace(/[^A-Za-z0-9_.-]/g, '_')
      .slice(0, 40) || 'run';
  const hash = createHash('sha256').update(`${run.dir}\n${run.manifest.createdAt}`).digest('hex');
  return `${name}-${hash.slice(0, 10)}`;
}

/**
 * The BullMQ job id of one model of a run, `<runId>/<name>`. Fixed ids are what make enqueueing
 * idempotent. (BullMQ refuses ids with one ':', so the separator is '/'.)
 *
 * @example
 * ```ts
 * trainingJobId('demo-3f9a0c1b2d', 'expert-3'); // 'demo-3f9a0c1b2d/expert-3'
 * ```
 */
export function trainingJobId(runId: string, name: string): string {
  return `${runId}/${name}`;
}

/** The job name of a target. */
export function targetName(target: TrainingTarget): string {
  return target.kind === 'expert' ? `expert-${target.expert}` : target.kind;
}

/** The model directories a target writes. */
export async function targetDirs(runDir: string, target: TrainingTarget): Promise<string[]> {
  const layout = new RunLayout(runDir);
  switch (target.kind) {
    case 'expert':
      return [layout.expert(target.expert)];
    case 'dense':
      return [layout.dense];
    case 'random':
      return (await layout.randomShardIds()).map((j) => layout.randomExpert(j));
  }
}

/** Sums the progress of a target's models. */
export async function targetProgress(
  runDir: string,
  target: TrainingTarget,
): Promise<TrainProgress & { models: number }> {
  const { readTrainProgress } = await import('@cbtm/train/node');
  const states = await Promise.all((await targetDirs(runDir, target)).map(readTrainProgress));
  return {
    models: states.length,
    step: states.reduce((n, s) => n + s.step, 0),
    totalSteps: states.every((s) => s.totalSteps !== null)
      ? states.reduce((n, s) => n + s.totalSteps!, 0)
      : null,
    done: states.length > 0 && states.every((s) => s.done),
  };
}
