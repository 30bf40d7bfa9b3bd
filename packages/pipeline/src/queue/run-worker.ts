import { hostname } from 'node:os';
import {
  CbtmError,
  InvalidArgumentError,
  type LongRunOptions,
  type ProgressEvent,
  RunDir,
} from '@cbtm/core';
import { RunLayout } from '@cbtm/core/node';
import type { Job } from 'bullmq';
import {
  openRedis,
  type QueueConnectionOptions,
  resolveQueueConnection,
} from './redis-connection.js';
import {
  TRAINING_JOB_VERSION,
  type TrainingJobData,
  type TrainingJobProgress,
  type TrainingJobResult,
  targetProgress,
} from './training-job.js';

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

function checkJobData(data: unknown): TrainingJobData {
  const d = data as Partial<TrainingJobData> | null;
  if (d?.format !== 'cbtm-train-job' || typeof d.runDir !== 'string' || !d.target) {
    throw new CbtmError(
      'E_FORMAT',
      'This job is not a cbtm training job (its data has no "format": "cbtm-train-job").',
    );
  }
  if (d.version !== TRAINING_JOB_VERSION) {
    throw new CbtmError(
      'E_FORMAT',
      `This job was queued by a cbtm with job format version ${d.version}; this worker reads version ${TRAINING_JOB_VERSION}. Run workers and the enqueuer from the same cbtm version.`,
    );
  }
  return d as TrainingJobData;
}

/**
 * Runs a training worker: takes jobs queued by `enqueueTraining` from Redis and trains each
 * model into its run directory (a file system every worker shares, at the same path) with
 * `@cbtm/train`'s `trainExperts`, in a child process, resuming from the model's last
 * checkpoint. So a worker that dies mid-job loses nothing but the steps since that checkpoint:
 * once its lock expires (`lockDurationMs`), BullMQ's stalled-job check hands the job to another
 * worker, which continues from the checkpoint. Progress goes to `job.updateProgress`
 * (`{ step, totalSteps, loss }`) and to `onProgress` (the training events, `task` = model).
 *
 * Runs until `signal` aborts (then each running job checkpoints and goes back to the queue, and
 * the promise resolves) or, with `untilEmpty`, until the queue has nothing left.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * process.on('SIGTERM', () => ac.abort());
 * const summary = await runWorker({ redis: 'redis://10.0.0.5:6379', concurrency: 1, signal: ac.signal, onProgress: console.log });
 * console.log(summary.completed);
 * ```
 */
export async function runWorker(options: RunWorkerOptions): Promise<WorkerSummary> {
  const o = { ...defaultRunWorkerOptions, ...options };
  const connection = resolveQueueConnection(o);
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
  const log = o.log ?? ((line: string) => console.error(line));
  const me = `${hostname()}:${process.pid}`;
  if (o.signal?.aborted) return { completed: [], failed: [], returned: [] };

  const [{ Worker, Queue, WaitingError, UnrecoverableError }, train] = await Promise.all([
    import('bullmq'),
    import('@cbtm/train'),
  ]);
  const redis = await openRedis(connection);
  const stopping = new AbortController();
  const completed: string[] = [];
  const failed: string[] = [];
  const returned: string[] = [];

  const processJob = async (
    job: Job<TrainingJobData, TrainingJobResult>,
    token?: string,
  ): Promise<TrainingJobResult> => {
    let data: TrainingJobData;
    try {
      data = checkJobData(job.data);
    } catch (err) {
      throw new UnrecoverableError((err as Error).message);
    }
    const { runDir, target, name } = data;
    if (!(await RunDir.exists(runDir))) {
      throw new CbtmError(
        'E_RUN_INVALID',
        `The run directory ${runDir} is not visible on ${hostname()}. Every worker must see the run at the same path (a shared file system).`,
      );
    }
    const before = await targetProgress(runDir, target);
    const result = (r: Omit<TrainingJobResult, 'name' | 'worker'>): TrainingJobResult => ({
      ...r,
      name,
      worker: me,
    });
    if (before.done) {
      const line = `${job.id}: already trained (${before.step} steps); nothing to do.`;
      log(line);
      await job.log(line);
      return result({
        steps: before.step,
        tokens: 0,
        finalLoss: null,
        valLoss: null,
        backend: null,
        resumedFromStep: before.step,
        skipped: true,
      });
    }
    const start =
      before.step > 0
        ? `${job.id}: resuming from step ${before.step}${before.totalSteps ? ` of ${before.totalSteps}` : ''} (checkpoint in ${runDir}) on ${me}`
        : `${job.id}: training from scratch on ${me}`;
    log(start);
    await job.log(start);

    const perTask = new Map<
      string,
      { step: number; total: number | undefined; loss?: number; tps?: number }
    >();
    let lastReport = 0;
    const report = (force: boolean) => {
      const now = Date.now();
      if (!force && now - lastReport < 500) return;
      lastReport = now;
      const all = [...perTask.values()];
      const progress: TrainingJobProgress = {
        step: all.reduce((n, t) => n + t.step, 0),
        totalSteps:
          all.length > 0 && all.every((t) => t.total !== undefined)
            ? all.reduce((n, t) => n + t.total!, 0)
            : null,
        ...(all.at(-1)?.loss !== undefined ? { loss: all.at(-1)!.loss! } : {}),
        ...(all.at(-1)?.tps !== undefined ? { tokensPerSecond: all.at(-1)!.tps! } : {}),
      };
      job.updateProgress(progress).catch(() => undefined);
    };
    const onProgress = (e: ProgressEvent) => {
      if (e.task === undefined) return;
      perTask.set(e.task, {
        step: e.done,
        total: e.total,
        ...(e.metrics?.loss !== undefined ? { loss: e.metrics.loss } : {}),
        ...(e.metrics?.tokensPerSecond !== undefined ? { tps: e.metrics.tokensPerSecond } : {}),
      });
      report(e.status !== 'progress');
      void o.onProgress?.(e);
    };

    try {
      const out = await train.trainExperts(runDir, {
        totalTokens: data.totalTokens,
        ...(data.tokensPerExpert !== undefined ? { tokensPerExpert: data.tokensPerExpert } : {}),
        ...(data.modelConfig ? { modelConfig: data.modelConfig } : {}),
        ...(data.train ? { train: data.train } : {}),
        seed: data.seed,
        backend: data.backend,
        ...(data.seedFrom !== undefined ? { seedFrom: data.seedFrom } : {}),
        experts: target.kind === 'expert' ? [target.expert] : [],
        dense: target.kind === 'dense',
        random: target.kind === 'random',
        workers: 1,
        signal: stopping.signal,
        onProgress,
        log: (line) => void job.log(line).catch(() => undefined),
        ...(o.workerScript ? { workerScript: o.workerScript } : {}),
      });
      report(true);
      const m = out.models;
      const done = result({
        steps: m[0]?.steps ?? 0,
        tokens: m.reduce((n, x) => n + x.tokens, 0),
        finalLoss: m.at(-1)?.finalLoss ?? null,
        valLoss: m.at(-1)?.valLoss ?? null,
        backend: out.backend,
        resumedFromStep: before.step,
        skipped: false,
      });
      const line = `${job.id}: done, ${done.steps} steps${done.valLoss !== null ? `, validation loss ${done.valLoss.toFixed(3)}` : ''}.`;
      log(line);
      await job.log(line);
      await reportRunComplete(runDir, log);
      return done;
    } catch (err) {
      if (stopping.signal.aborted) {
        // Shutting down: the model checkpointed; hand the job back for another worker.
        const line = `${job.id}: stopped at a checkpoint; back in the queue.`;
        log(line);
        await job.log(line).catch(() => undefined);
        if (token) await job.moveToWait(token);
        returned.push(String(job.id));
        throw new WaitingError();
      }
      throw err;
    }
  };

  const worker = new Worker<TrainingJobData, TrainingJobResult>(connection.queueName, processJob, {
    connection: redis,
    prefix: connection.prefix,
    concurrency: o.concurrency,
    lockDuration: o.lockDurationMs,
    stalledInterval: o.stalledIntervalMs,
    maxStalledCount: o.maxStalledCount,
    autorun: false,
  });
  worker.on('completed', (job) => {
    completed.push(String(job.id));
    void o.onProgress?.({
      stage: 'queue',
      status: 'progress',
      done: completed.length,
      unit: 'jobs',
      message: `finished ${job.id}`,
    });
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    failed.push(String(job.id));
    const more = job.opts.attempts !== undefined && job.attemptsMade < job.opts.attempts;
    log(
      `${job.id}: failed (attempt ${job.attemptsMade}${job.opts.attempts ? ` of ${job.opts.attempts}` : ''}): ${err.message}${more ? ' It will be retried.' : ''}`,
    );
  });
  worker.on('stalled', (jobId) =>
    log(
      `${jobId}: its worker stopped answering; the job is back in the queue and resumes from its checkpoint.`,
    ),
  );
  worker.on('error', (err) => log(`queue worker: ${err.message}`));

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      stopping.abort();
      await worker.close();
    })();
    return stopped;
  };
  const onAbort = () => void stop();
  o.signal?.addEventListener('abort', onAbort, { once: true });

  let poll: NodeJS.Timeout | undefined;
  if (o.untilEmpty) {
    const queue = new Queue(connection.queueName, { connection: redis, prefix: connection.prefix });
    const check = async () => {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused');
      if (Object.values(c).every((n) => n === 0)) await stop();
    };
    poll = setInterval(
      () => void check().catch((err: Error) => log(`queue worker: ${err.message}`)),
      1000,
    );
    worker.once('closed', () => void queue.close());
  }

  log(
    `Worker ${me} is waiting for jobs on ${connection.queueName} (concurrency ${o.concurrency}).`,
  );
  try {
    await worker.run();
    await stopped;
  } finally {
    clearInterval(poll);
    o.signal?.removeEventListener('abort', onAbort);
    if (!stopped) await worker.close();
    redis.disconnect();
  }
  return { completed, failed, returned };
}

/** Logs once every expert of the run is trained, with the command that records the stage. */
async function reportRunComplete(runDir: string, log: (line: string) => void): Promise<void> {
  const { readTrainProgress } = await import('@cbtm/train');
  const layout = new RunLayout(runDir);
  const experts = await layout.shardIds();
  const states = await Promise.all(experts.map((j) => readTrainProgress(layout.expert(j))));
  if (experts.length > 0 && states.every((s) => s.done)) {
    log(
      `All ${experts.length} experts of ${runDir} are trained. Record the stage with \`cbtm train --run ${runDir}\` (it trains nothing more), then \`cbtm eval --run ${runDir}\`.`,
    );
  }
}
