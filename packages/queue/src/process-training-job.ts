import { hostname } from 'node:os';
import { CbtmError, type ProgressEvent, RunDir, RunLayout } from '@cbtm/core/node';
import type { Job } from 'bullmq';
import { checkJobData } from './check-job-data.js';
import { jobProgressReporter } from './job-progress.js';
import { reportRunComplete } from './report-run-complete.js';
import { type TrainingJobData, type TrainingJobResult, targetProgress } from './training-job.js';

/** What a worker lends each job it processes. */
export interface JobProcessorContext {
  /** `host:pid` of this worker. */
  readonly me: string;
  /** Aborts when the worker is stopping: the job checkpoints and goes back to the queue. */
  readonly stopping: AbortSignal;
  readonly trainExperts: typeof import('@cbtm/train/node').trainExperts;
  readonly runModelTasks: typeof import('@cbtm/train/node').runModelTasks;
  readonly UnrecoverableError: typeof import('bullmq').UnrecoverableError;
  readonly WaitingError: typeof import('bullmq').WaitingError;
  readonly log: (line: string) => void;
  readonly onProgress?: (e: ProgressEvent) => void | Promise<void>;
  readonly workerScript?: string;
  /** Receives the id of a job handed back to the queue. */
  readonly onReturned: (jobId: string) => void;
}

type TrainingJob = Job<TrainingJobData, TrainingJobResult>;

/** Logs `line` here and in the job's own log. */
async function logBoth(ctx: JobProcessorContext, job: TrainingJob, line: string): Promise<void> {
  ctx.log(line);
  await job.log(line);
}

/**
 * Trains one queued model into its run directory, resuming from its checkpoint (or skipping it
 * when it is already trained). When the worker stops mid-job, the job goes back to the queue.
 */
export async function processTrainingJob(
  ctx: JobProcessorContext,
  job: TrainingJob,
  token?: string,
): Promise<TrainingJobResult> {
  let data: TrainingJobData;
  try {
    data = checkJobData(job.data);
  } catch (err) {
    throw new ctx.UnrecoverableError((err as Error).message);
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
    worker: ctx.me,
  });
  if (before.done) {
    await logBoth(ctx, job, `${job.id}: already trained (${before.step} steps); nothing to do.`);
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
  await logBoth(
    ctx,
    job,
    before.step > 0
      ? `${job.id}: resuming from step ${before.step}${before.totalSteps ? ` of ${before.totalSteps}` : ''} (checkpoint in ${runDir}) on ${ctx.me}`
      : `${job.id}: training from scratch on ${ctx.me}`,
  );
  const progress = jobProgressReporter((p) => job.updateProgress(p));
  try {
    const layout = new RunLayout(runDir);
    const random = target.kind === 'random' ? await layout.randomShardIds() : [];
    if (target.kind === 'random' && random.length === 0) {
      throw new CbtmError(
        'E_STAGE_MISSING',
        `random: true, but ${layout.randomShards} holds no shards.`,
      );
    }
    const tasks = ctx.runModelTasks(runDir, {
      totalTokens: data.totalTokens,
      shards: await layout.shardIds(),
      ...(data.tokensPerExpert !== undefined ? { tokensPerExpert: data.tokensPerExpert } : {}),
      ...(data.seedFrom !== undefined ? { seedFrom: data.seedFrom } : {}),
      experts: target.kind === 'expert' ? [target.expert] : [],
      dense: target.kind === 'dense',
      random,
    });
    const out = await ctx.trainExperts(tasks, {
      tokenizer: layout.tokenizer,
      resultsFile: layout.trainResults,
      ...(data.modelConfig ? { modelConfig: data.modelConfig } : {}),
      ...(data.train ? { train: data.train } : {}),
      seed: data.seed,
      backend: data.backend,
      workers: 1,
      signal: ctx.stopping,
      onProgress: (e) => {
        progress.onProgress(e);
        void ctx.onProgress?.(e);
      },
      log: (line) => void job.log(line).catch(() => undefined),
      ...(ctx.workerScript ? { workerScript: ctx.workerScript } : {}),
    });
    progress.report(true);
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
    await logBoth(
      ctx,
      job,
      `${job.id}: done, ${done.steps} steps${done.valLoss !== null ? `, validation loss ${done.valLoss.toFixed(3)}` : ''}.`,
    );
    await reportRunComplete(runDir, ctx.log);
    return done;
  } catch (err) {
    if (!ctx.stopping.aborted) throw err;
    // Shutting down: the model checkpointed; hand the job back for another worker.
    const line = `${job.id}: stopped at a checkpoint; back in the queue.`;
    ctx.log(line);
    await job.log(line).catch(() => undefined);
    if (token) await job.moveToWait(token);
    ctx.onReturned(String(job.id));
    throw new ctx.WaitingError();
  }
}
