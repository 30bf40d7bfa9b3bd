import { hostname } from 'node:os';
import { processTrainingJob } from './process-training-job.js';
import { openRedis, resolveQueueConnection } from './redis-connection.js';
import { stopWhenEmpty } from './stop-when-empty.js';
import type { TrainingJobData, TrainingJobResult } from './training-job.js';
import { watchWorker } from './worker-events.js';
import {
  checkWorkerOptions,
  defaultRunWorkerOptions,
  type RunWorkerOptions,
  type WorkerSummary,
} from './worker-options.js';

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
  checkWorkerOptions(o);
  const log = o.log ?? ((line: string) => console.error(line));
  const me = `${hostname()}:${process.pid}`;
  if (o.signal?.aborted) return { completed: [], failed: [], returned: [] };

  const [{ Worker, Queue, WaitingError, UnrecoverableError }, { trainExperts, runModelTasks }] =
    await Promise.all([import('bullmq'), import('@cbtm/train/node')]);
  const redis = await openRedis(connection);
  const stopping = new AbortController();
  const summary = { completed: [] as string[], failed: [] as string[], returned: [] as string[] };
  const jobContext = {
    me,
    stopping: stopping.signal,
    trainExperts,
    runModelTasks,
    UnrecoverableError,
    WaitingError,
    log,
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.workerScript ? { workerScript: o.workerScript } : {}),
    onReturned: (id: string) => void summary.returned.push(id),
  };

  const worker = new Worker<TrainingJobData, TrainingJobResult>(
    connection.queueName,
    (job, token) => processTrainingJob(jobContext, job, token),
    {
      connection: redis,
      prefix: connection.prefix,
      concurrency: o.concurrency,
      lockDuration: o.lockDurationMs,
      stalledInterval: o.stalledIntervalMs,
      maxStalledCount: o.maxStalledCount,
      autorun: false,
    },
  );
  watchWorker(worker, summary, log, o.onProgress);

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
  const poll = o.untilEmpty
    ? stopWhenEmpty(
        new Queue(connection.queueName, { connection: redis, prefix: connection.prefix }),
        worker,
        stop,
        log,
      )
    : undefined;

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
  return summary;
}
