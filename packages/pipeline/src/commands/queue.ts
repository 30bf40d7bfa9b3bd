import { CbtmError, InvalidArgumentError } from '@cbtm/core';
import { RunLayout } from '@cbtm/core/node';
import type { WorkerSummary } from '@cbtm/queue';
import type { CommandContext } from '../cli.js';
import type { CbtmConfig } from '../config/schema.js';
import { runStages, stageContext } from '../run-pipeline.js';
import { trainSettings } from '../stages/training.js';
import { importOptional } from './optional-package.js';
import { openExistingRun, overridesFrom, rendererFor } from './shared.js';

/** `@cbtm/queue`, loaded only by the queue commands. */
const loadQueue = (command: string) =>
  importOptional('@cbtm/queue', command, () => import('@cbtm/queue'));

/** The Redis URL the commands use when `--redis` (and `CBTM_REDIS_URL`) are not given. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Flags every queue command shares. */
interface QueueFlags {
  readonly redis?: string;
  readonly queue?: string;
  readonly prefix?: string;
}

function connectionOf(
  flags: QueueFlags,
  defaults: { readonly queueName: string; readonly prefix: string },
) {
  return {
    redis: flags.redis ?? DEFAULT_REDIS_URL,
    queueName: flags.queue ?? defaults.queueName,
    prefix: flags.prefix ?? defaults.prefix,
  };
}

function parseExperts(value: string | undefined): number[] | undefined {
  if (value === undefined || value === 'all') return undefined;
  return value.split(',').map((s) => {
    if (!/^\d+$/.test(s.trim())) {
      throw new InvalidArgumentError(
        `--experts: expected comma-separated expert numbers such as 0,2,3, got "${value}".`,
      );
    }
    return Number(s.trim());
  });
}

/**
 * The training settings `cbtm train` passes to `trainExperts` for this config. Queued jobs
 * must use exactly these, so `cbtm train --run DIR` afterwards finds the models finished (and
 * could resume their checkpoints) instead of training them again.
 */
export function trainingSettingsOf(config: CbtmConfig) {
  const t = config.train;
  return {
    totalTokens: t.tokens,
    modelConfig: { ...config.model },
    train: trainSettings(config),
    seed: config.seed,
    backend: t.backend,
  };
}

/** Flags of `cbtm queue enqueue`. */
export interface QueueEnqueueFlags extends QueueFlags {
  readonly run: string;
  /** Comma-separated expert numbers, or `all`. */
  readonly experts?: string;
  readonly dense?: boolean;
  readonly random?: boolean;
  readonly tokens?: number | string;
  readonly backend?: string;
}

/**
 * `cbtm queue enqueue --run DIR`: trains the tokenizer if the run lacks it, then queues one job
 * per expert (and the baselines with `--dense` / `--random`) with the run config's training
 * settings. Idempotent: run it again to see what is queued, or to re-queue failed jobs.
 *
 * @example
 * ```ts
 * await queueEnqueueCommand({ run: 'runs/big', redis: 'redis://10.0.0.5:6379', dense: true }, ctx);
 * ```
 */
export async function queueEnqueueCommand(
  flags: QueueEnqueueFlags,
  ctx: CommandContext,
): Promise<void> {
  const overrides = overridesFrom(flags as unknown as Record<string, unknown>, [
    'tokens',
    'backend',
  ]);
  const { run, config } = await openExistingRun(flags.run, ctx, overrides);
  const layout = new RunLayout(run.dir);
  if (!run.stageDone('shard')) {
    throw new CbtmError(
      'E_STAGE_MISSING',
      `${run.dir} has no shards yet. Run \`cbtm cluster --out ${run.dir}\` first.`,
    );
  }
  // The workers and a later `cbtm train` must agree on the settings, so flag overrides are kept.
  if (overrides.length > 0) await run.setConfig(config);
  const renderer = rendererFor(ctx);
  try {
    const sctx = await stageContext(run, config, {
      signal: ctx.signal,
      onProgress: renderer.onProgress,
      log: renderer.log,
    });
    await runStages(sctx, ['tokenizer']);
    if (flags.random && (await layout.randomShardIds()).length === 0) {
      const { prepareRandomClusters } = await import('../stages/random-clusters.js');
      await prepareRandomClusters(sctx);
    }
  } finally {
    renderer.stop();
  }
  let seedFrom: string | undefined;
  if (config.train.seedTokens > 0) {
    const { readTrainProgress } = await import('@cbtm/train/node');
    if (!(await readTrainProgress(layout.seed)).done) {
      throw new CbtmError(
        'E_STAGE_MISSING',
        `This run branches every model from a seed model (train.seedTokens = ${config.train.seedTokens}), which is not trained yet. Train it first, e.g. \`cbtm train --run ${run.dir} --expert 0\` (the seed, then expert 0), then queue the rest.`,
      );
    }
    seedFrom = layout.seed;
  }
  const experts = parseExperts(flags.experts);
  const { defaultQueueConnectionOptions, enqueueTraining, redactRedisUrl } =
    await loadQueue('cbtm queue enqueue');
  const connection = connectionOf(flags, defaultQueueConnectionOptions);
  const result = await enqueueTraining(run.dir, {
    ...connection,
    ...trainingSettingsOf(config),
    ...(experts ? { experts } : {}),
    dense: Boolean(flags.dense),
    random: Boolean(flags.random),
    ...(seedFrom ? { seedFrom } : {}),
  });
  for (const j of result.jobs) ctx.stdout.write(`${j.id}\t${j.outcome}\t${j.state}\n`);
  const added = result.jobs.filter((j) => j.outcome === 'added' || j.outcome === 'retried').length;
  ctx.stderr.write(
    `${added} job(s) queued on ${redactRedisUrl(connection.redis)} (${result.queueName}), ${result.jobs.length - added} already there or trained.\n` +
      `Start workers on machines that see ${run.dir} at this same path:  cbtm worker --redis ${redactRedisUrl(connection.redis)}\n` +
      `Watch them with:  cbtm queue status --run ${run.dir}\n`,
  );
}

/** Flags of `cbtm queue status`. */
export interface QueueStatusFlags extends QueueFlags {
  readonly run: string;
  readonly json?: boolean;
}

/**
 * `cbtm queue status --run DIR`: one line per model with its job state and step (or `--json`).
 *
 * @example
 * ```ts
 * await queueStatusCommand({ run: 'runs/big', json: true }, ctx);
 * ```
 */
export async function queueStatusCommand(
  flags: QueueStatusFlags,
  ctx: CommandContext,
): Promise<void> {
  const { run } = await openExistingRun(flags.run, ctx);
  const { defaultQueueConnectionOptions, formatQueueStatus, queueStatus } =
    await loadQueue('cbtm queue status');
  const status = await queueStatus(run.dir, connectionOf(flags, defaultQueueConnectionOptions));
  if (flags.json) {
    ctx.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    return;
  }
  ctx.stdout.write(formatQueueStatus(status.models));
  ctx.stderr.write(
    status.allExpertsTrained
      ? `Every expert is trained. Record the stage with \`cbtm train --run ${status.runDir}\` (it trains nothing more).\n`
      : `Run id ${status.runId} on ${status.queueName}.\n`,
  );
}

/** Flags of `cbtm worker`. */
export interface WorkerFlags extends QueueFlags {
  readonly concurrency?: number;
  readonly untilEmpty?: boolean;
  /** Seconds a dead worker's job stays locked before another worker takes it over. */
  readonly lockSeconds?: number;
}

/**
 * `cbtm worker`: trains queued models until Ctrl-C (running jobs checkpoint and go back to the
 * queue) or, with `--until-empty`, until the queue is empty.
 *
 * @example
 * ```ts
 * await workerCommand({ redis: 'redis://10.0.0.5:6379', concurrency: 1 }, ctx);
 * ```
 */
export async function workerCommand(flags: WorkerFlags, ctx: CommandContext): Promise<void> {
  const { defaultQueueConnectionOptions, runWorker } = await loadQueue('cbtm worker');
  const renderer = rendererFor(ctx);
  let summary: WorkerSummary;
  try {
    summary = await runWorker({
      ...connectionOf(flags, defaultQueueConnectionOptions),
      ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
      ...(flags.lockSeconds !== undefined
        ? { lockDurationMs: Math.round(flags.lockSeconds * 1000) }
        : {}),
      untilEmpty: Boolean(flags.untilEmpty),
      signal: ctx.signal,
      onProgress: renderer.onProgress,
      log: renderer.log,
    });
  } finally {
    renderer.stop();
  }
  ctx.stderr.write(
    `Worker stopped: ${summary.completed.length} job(s) finished, ${summary.failed.length} failed, ${summary.returned.length} returned to the queue.\n`,
  );
}
