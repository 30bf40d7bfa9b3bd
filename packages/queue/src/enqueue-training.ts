import { join } from 'node:path';
import { CbtmError, InvalidArgumentError, pathExists, RunDir, RunLayout } from '@cbtm/core/node';
import type { BackendPreference, ExpertTrainSettings, GptConfig } from '@cbtm/train';
import type { JobsOptions } from 'bullmq';
import {
  openRedis,
  type QueueConnectionOptions,
  resolveQueueConnection,
} from './redis-connection.js';
import {
  runIdOf,
  TRAINING_JOB_VERSION,
  type TrainingJobData,
  type TrainingTarget,
  targetName,
  targetProgress,
  trainingJobId,
} from './training-job.js';

/** Options of {@link enqueueTraining}: what to train, and the settings every worker uses. */
export interface EnqueueTrainingOptions extends QueueConnectionOptions {
  /** Training tokens of all experts together (each of k gets totalTokens / k; dense gets all). */
  readonly totalTokens: number;
  /** Experts to queue. @default every `<run>/shards/<j>.jsonl.gz` */
  readonly experts?: readonly number[];
  /** Also queue the dense baseline (`<run>/dense/`). @default false */
  readonly dense?: boolean;
  /** Also queue the random-cluster baseline, one job for its k experts (needs `<run>/random/shards/`). @default false */
  readonly random?: boolean;
  /** Tokens per expert, overriding totalTokens / k. */
  readonly tokensPerExpert?: number;
  /** Model shape (the vocabulary size comes from the run's tokenizer). @default `@cbtm/train`'s defaultGptConfig */
  readonly modelConfig?: Partial<Omit<GptConfig, 'vocabSize'>>;
  /** Training settings (batch size, lr, checkpointEvery...). @default `@cbtm/train`'s defaults */
  readonly train?: ExpertTrainSettings;
  /** Seed of initial weights and data order. @default 0 */
  readonly seed?: number;
  /** Tensor backend the workers use. @default 'auto' */
  readonly backend?: BackendPreference;
  /** Branch every model from this trained seed model directory. */
  readonly seedFrom?: string;
  /** Times a job that throws is retried (crashed workers are recovered separately, as stalled jobs). @default 3 */
  readonly attempts?: number;
  /** Re-queue jobs that failed earlier. @default true */
  readonly retryFailed?: boolean;
}

/**
 * Defaults of {@link EnqueueTrainingOptions}.
 *
 * @example
 * ```ts
 * await enqueueTraining('runs/a', { ...defaultEnqueueTrainingOptions, redis, totalTokens: 1_000_000 });
 * ```
 */
export const defaultEnqueueTrainingOptions = Object.freeze({
  dense: false,
  random: false,
  seed: 0,
  backend: 'auto' as BackendPreference,
  attempts: 3,
  retryFailed: true,
});

/** What happened to one model's job. */
export type EnqueueOutcome =
  /** A new job was queued. */
  | 'added'
  /** The job was already queued, running or finished; nothing changed. */
  | 'exists'
  /** A failed job was queued again. */
  | 'retried'
  /** The model is already trained on disk; no job was queued. */
  | 'trained';

/**
 * What {@link enqueueTraining} did.
 *
 * @example
 * ```ts
 * const { runId, jobs } = await enqueueTraining('runs/a', { redis, totalTokens: 1e6 });
 * for (const j of jobs) console.log(j.id, j.outcome, j.state);
 * ```
 */
export interface EnqueueResult {
  readonly runId: string;
  readonly queueName: string;
  readonly jobs: ReadonlyArray<{
    readonly id: string;
    readonly name: string;
    readonly outcome: EnqueueOutcome;
    /** The job's BullMQ state after the call (`'none'` when no job exists). */
    readonly state: string;
  }>;
}

/**
 * Queues one BullMQ job per model of a clustered run: `<runId>/expert-<j>` for each expert,
 * and optionally `<runId>/dense` and `<runId>/random`. Job ids are fixed, so calling it again
 * is idempotent: queued, running and finished jobs are left alone, failed ones are re-queued,
 * and models already trained on disk are not queued. Workers (`runWorker`) on any machine that
 * sees the run directory at the same path then train them, each resuming from its checkpoint.
 *
 * @example
 * ```ts
 * const { runId, jobs } = await enqueueTraining('/shared/runs/a', {
 *   redis: 'redis://10.0.0.5:6379', totalTokens: 2_000_000, modelConfig: { nLayer: 2, dModel: 128 },
 *   train: { checkpointEvery: 50 }, seed: 1,
 * });
 * console.log(runId, jobs.map((j) => `${j.name}: ${j.outcome}`));
 * ```
 */
export async function enqueueTraining(
  runDir: string,
  options: EnqueueTrainingOptions,
): Promise<EnqueueResult> {
  const o = { ...defaultEnqueueTrainingOptions, ...options };
  const connection = resolveQueueConnection(o);
  if (!(Number.isFinite(o.totalTokens) && o.totalTokens > 0)) {
    throw new InvalidArgumentError(`totalTokens must be a positive number, got ${o.totalTokens}.`);
  }
  if (!(Number.isInteger(o.attempts) && o.attempts >= 1)) {
    throw new InvalidArgumentError(`attempts must be an integer ≥ 1, got ${o.attempts}.`);
  }
  const run = await RunDir.open(runDir);
  const runId = runIdOf(run);
  const layout = new RunLayout(run.dir);
  if (!(await pathExists(layout.tokenizer))) {
    throw new CbtmError(
      'E_STAGE_MISSING',
      `${layout.tokenizer} is missing: train the tokenizer before queueing (\`cbtm run\` or \`cbtm train\` makes it).`,
    );
  }
  const shards = await layout.shardIds();
  if (shards.length === 0) {
    throw new CbtmError(
      'E_STAGE_MISSING',
      `${layout.shards} holds no <j>.jsonl.gz shards. Run \`cbtm cluster --out ${run.dir}\` first.`,
    );
  }
  const experts = o.experts ?? shards;
  for (const j of experts) {
    if (!shards.includes(j)) {
      throw new InvalidArgumentError(
        `There is no expert ${j}: ${layout.shards} has shards ${shards.join(', ')}.`,
      );
    }
  }
  if (o.random && (await layout.randomShardIds()).length === 0) {
    throw new CbtmError(
      'E_STAGE_MISSING',
      `${layout.randomShards} holds no shards, so the random-cluster baseline cannot be queued. The pipeline writes them when it trains that baseline (\`cbtm train --run ${run.dir} --random\`).`,
    );
  }
  if (o.seedFrom !== undefined && !(await pathExists(join(o.seedFrom, 'model.json')))) {
    throw new CbtmError(
      'E_STAGE_MISSING',
      `The seed model ${o.seedFrom} has no model.json: train it before queueing the experts.`,
    );
  }

  const targets: TrainingTarget[] = [
    ...[...new Set(experts)].map((expert) => ({ kind: 'expert', expert }) as const),
    ...(o.dense ? [{ kind: 'dense' } as const] : []),
    ...(o.random ? [{ kind: 'random' } as const] : []),
  ];
  const jobOptions: JobsOptions = {
    attempts: o.attempts,
    backoff: { type: 'exponential', delay: 10_000 },
    removeOnComplete: false,
    removeOnFail: false,
  };

  const { Queue } = await import('bullmq');
  const redis = await openRedis(connection);
  const queue = new Queue<TrainingJobData>(connection.queueName, {
    connection: redis,
    prefix: connection.prefix,
  });
  const jobs: EnqueueResult['jobs'][number][] = [];
  try {
    for (const target of targets) {
      const name = targetName(target);
      const id = trainingJobId(runId, name);
      const data: TrainingJobData = {
        format: 'cbtm-train-job',
        version: TRAINING_JOB_VERSION,
        runDir: run.dir,
        runId,
        name,
        target,
        totalTokens: o.totalTokens,
        ...(o.tokensPerExpert !== undefined ? { tokensPerExpert: o.tokensPerExpert } : {}),
        ...(o.modelConfig ? { modelConfig: o.modelConfig } : {}),
        ...(o.train ? { train: o.train } : {}),
        seed: o.seed,
        backend: o.backend,
        ...(o.seedFrom !== undefined ? { seedFrom: o.seedFrom } : {}),
      };
      const trained = (await targetProgress(run.dir, target)).done;
      const existing = await queue.getJob(id);
      if (existing) {
        const state = await existing.getState();
        if (state === 'failed' && o.retryFailed && !trained) {
          await existing.retry('failed');
          jobs.push({ id, name, outcome: 'retried', state: await existing.getState() });
          continue;
        }
        if (state !== 'completed' || trained) {
          jobs.push({ id, name, outcome: 'exists', state });
          continue;
        }
        // Completed, yet the model is not on disk (its folder was deleted): train it again.
        await existing.remove();
      } else if (trained) {
        jobs.push({ id, name, outcome: 'trained', state: 'none' });
        continue;
      }
      const job = await queue.add(name, data, { ...jobOptions, jobId: id });
      jobs.push({ id, name, outcome: 'added', state: await job.getState() });
    }
  } finally {
    await queue.close();
    redis.disconnect();
  }
  return { runId, queueName: connection.queueName, jobs };
}
