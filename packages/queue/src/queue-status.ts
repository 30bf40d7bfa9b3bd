import { pathExists, RunDir, RunLayout } from '@cbtm/core/node';
import {
  openRedis,
  type QueueConnectionOptions,
  resolveQueueConnection,
} from './redis-connection.js';
import {
  runIdOf,
  type TrainingJobProgress,
  type TrainingJobResult,
  type TrainingTarget,
  targetName,
  targetProgress,
  trainingJobId,
} from './training-job.js';

/** A model's job state: BullMQ's, with `not-queued` when the run has no job for it. */
export type QueueJobState =
  | 'waiting'
  | 'active'
  | 'delayed'
  | 'completed'
  | 'failed'
  | 'not-queued';

/**
 * One model of a run, as the queue and its run directory see it.
 *
 * @example
 * ```ts
 * const m: QueueModelStatus = { name: 'expert-0', jobId: 'demo-3f9a0c1b2d/expert-0', state: 'active',
 *   step: 40, totalSteps: 120, trained: false, attempts: 0 };
 * ```
 */
export interface QueueModelStatus {
  /** `expert-<j>`, `dense` or `random`. */
  readonly name: string;
  readonly jobId: string;
  readonly state: QueueJobState;
  /**
   * Steps saved by the last checkpoint (`train-state.json`): where training resumes, also when
   * the worker running it died.
   */
  readonly step: number;
  /**
   * The step an active job's worker last reported, when it is past the checkpoint (those steps
   * are redone if that worker died).
   */
  readonly reportedStep?: number;
  readonly totalSteps: number | null;
  /** `train-state.json` says training finished. */
  readonly trained: boolean;
  /** Failed attempts so far. */
  readonly attempts: number;
  /** Why the last attempt failed. */
  readonly failedReason?: string;
  /** The step the last finished attempt started from (0: from scratch). */
  readonly resumedFromStep?: number;
}

/**
 * The step `queue status` shows for a model: the last checkpoint, where it resumes (a worker's
 * live step is lost if it dies), with the worker's own report beside it when that is ahead.
 *
 * @example
 * ```ts
 * statusStep({ step: 100 }, { step: 140 }); // { step: 100, reportedStep: 140 }
 * ```
 */
export function statusStep(
  checkpoint: { readonly step: number },
  live: Partial<TrainingJobProgress> | undefined,
): { step: number; reportedStep?: number } {
  return typeof live?.step === 'number' && live.step > checkpoint.step
    ? { step: checkpoint.step, reportedStep: live.step }
    : { step: checkpoint.step };
}

/**
 * What {@link queueStatus} returns.
 *
 * @example
 * ```ts
 * const s = await queueStatus('runs/demo', { redis });
 * if (s.allExpertsTrained) console.log(`run: cbtm train --run ${s.runDir}`);
 * ```
 */
export interface QueueStatusResult {
  readonly runId: string;
  readonly runDir: string;
  readonly queueName: string;
  readonly models: readonly QueueModelStatus[];
  /** Every expert of the run is trained on disk (the next step is `cbtm train --run DIR`, which records the stage). */
  readonly allExpertsTrained: boolean;
}

function stateOf(state: string): QueueJobState {
  switch (state) {
    case 'active':
    case 'delayed':
    case 'completed':
    case 'failed':
      return state;
    // Prioritized, waiting-children and paused jobs all wait for a worker.
    default:
      return 'waiting';
  }
}

/**
 * Each model of a run with its job's state (waiting, active, completed, failed...) and its
 * step: every expert, plus the dense and random baselines when they were queued or trained.
 *
 * @example
 * ```ts
 * const { models } = await queueStatus('runs/demo', { redis: 'redis://127.0.0.1:6379' });
 * for (const m of models) console.log(m.name, m.state, `${m.step}/${m.totalSteps ?? '?'}`);
 * ```
 */
export async function queueStatus(
  runDir: string,
  options: QueueConnectionOptions,
): Promise<QueueStatusResult> {
  const connection = resolveQueueConnection(options);
  const run = await RunDir.open(runDir);
  const runId = runIdOf(run);
  const layout = new RunLayout(run.dir);
  const targets: TrainingTarget[] = (await layout.shardIds()).map((expert) => ({
    kind: 'expert',
    expert,
  }));
  const { Queue } = await import('bullmq');
  const redis = await openRedis(connection);
  const queue = new Queue(connection.queueName, { connection: redis, prefix: connection.prefix });
  const models: QueueModelStatus[] = [];
  try {
    for (const t of [{ kind: 'dense' }, { kind: 'random' }] as const) {
      const dir = t.kind === 'dense' ? layout.dense : layout.randomExperts;
      if ((await queue.getJob(trainingJobId(runId, t.kind))) || (await pathExists(dir)))
        targets.push(t);
    }
    for (const target of targets) {
      const name = targetName(target);
      const jobId = trainingJobId(runId, name);
      const disk = await targetProgress(run.dir, target);
      const job = await queue.getJob(jobId);
      const state: QueueJobState = job ? stateOf(await job.getState()) : 'not-queued';
      const live =
        job && state === 'active'
          ? (job.progress as Partial<TrainingJobProgress> | undefined)
          : undefined;
      const result = job?.returnvalue as TrainingJobResult | null | undefined;
      models.push({
        name,
        jobId,
        state,
        ...statusStep(disk, live),
        totalSteps:
          disk.totalSteps ?? (typeof live?.totalSteps === 'number' ? live.totalSteps : null),
        trained: disk.done,
        attempts: job?.attemptsMade ?? 0,
        ...(job?.failedReason ? { failedReason: job.failedReason } : {}),
        ...(result && typeof result.resumedFromStep === 'number'
          ? { resumedFromStep: result.resumedFromStep }
          : {}),
      });
    }
  } finally {
    await queue.close();
    redis.disconnect();
  }
  const experts = models.filter((m) => m.name.startsWith('expert-'));
  return {
    runId,
    runDir: run.dir,
    queueName: connection.queueName,
    models,
    allExpertsTrained: experts.length > 0 && experts.every((m) => m.trained),
  };
}
