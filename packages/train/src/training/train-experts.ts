import { type ChildProcess, fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import {
  AbortError,
  CbtmError,
  deriveSeed,
  InvalidArgumentError,
  type LongRunOptions,
  type ProgressEvent,
  writeJsonAtomic,
} from '@cbtm/core';
import { pathExists, RunLayout } from '@cbtm/core/node';
import type { BackendName, BackendPreference } from '../backend/select-backend.js';
import { type GptConfig, resolveGptConfig } from '../model/gpt-config.js';
import { BpeTokenizer } from '../tokenizer/index.js';
import { builtScript } from './built-script.js';
import type { ExpertTask, ExpertTrainSettings, FromWorker, ToWorker } from './expert-task.js';
import type { TrainResult } from './train-language-model.js';

/**
 * Options of {@link trainExperts}.
 *
 * @example
 * ```ts
 * await trainExperts('runs/a', { totalTokens: 4e6, workers: 2, dense: true, random: false });
 * ```
 */
export interface TrainExpertsOptions extends LongRunOptions {
  /** Training tokens of the whole run: each of k experts gets totalTokens/k, the dense model all. */
  readonly totalTokens: number;
  /** Model shape (the vocabulary size comes from the run's tokenizer). @default defaultGptConfig */
  readonly modelConfig?: Partial<Omit<GptConfig, 'vocabSize'>>;
  /** Training settings for every model (batch size, lr, evalEvery, checkpointEvery, ...). */
  readonly train?: ExpertTrainSettings;
  /**
   * Settings that override `train` for the models that branch from a seed (experts, dense and
   * random-cluster baselines; not the seed itself), e.g. a lower peak learning rate so the
   * branches refine the seed instead of restarting from a high rate. Ignored without a seed.
   */
  readonly branch?: ExpertTrainSettings;
  /** Worker processes; each trains one model at a time. @default os.availableParallelism() */
  readonly workers?: number;
  /** Which experts to train. @default every `<run>/shards/<j>.jsonl.gz` */
  readonly experts?: readonly number[];
  /** Also train the dense baseline on all shards, into `<run>/dense/`. @default true */
  readonly dense?: boolean;
  /** Also train random-cluster experts from `<run>/random/shards/`. @default true when that folder exists */
  readonly random?: boolean;
  /**
   * Rows per step of each expert (c-BTM and random-cluster), where `train.batchSize` is the
   * dense model's. The official code matches compute by steps: k experts on 1/k of the GPUs
   * each, so every expert takes as many steps as the dense model with batch / k. Set this to
   * ⌈batchSize / k⌉ for that; by default experts use the dense batch and take k times fewer
   * steps (the tokens are the same either way).
   * @default train.batchSize
   */
  readonly expertBatchSize?: number;
  /** Tokens per expert, overriding compute matching. */
  readonly tokensPerExpert?: number;
  /**
   * Seed branching (BTM): train a dense seed model on all shards for this many tokens into
   * `<run>/seed/` first; every model then starts from it, and the rest of the budget is split
   * as usual. @default 0 (every model starts from scratch)
   */
  readonly seedTokens?: number;
  /** Seed branching from an existing model directory instead. */
  readonly seedFrom?: string;
  /** Seed of initial weights and data order. @default 0 */
  readonly seed?: number;
  /** Tensor backend for the workers. @default 'auto' */
  readonly backend?: BackendPreference;
  /** Times a crashed worker's model is retried from its last checkpoint. @default 2 */
  readonly maxRetries?: number;
  /** Delete existing checkpoints and start every model afresh. @default false */
  readonly restart?: boolean;
  /** The worker script. @default the built `expert-worker.js` (from `dist/`) */
  readonly workerScript?: string;
  /** Told when a worker process starts a model (for monitoring; tests use it to kill one). */
  readonly onWorker?: (info: { readonly pid: number; readonly task: string }) => void;
  /** Receives the backend line of the first worker. @default console.error */
  readonly log?: (line: string) => void;
}

/**
 * Default {@link TrainExpertsOptions} (the fixed ones).
 *
 * @example
 * ```ts
 * await trainExperts('runs/a', { ...defaultTrainExpertsOptions, totalTokens: 4_000_000 });
 * ```
 */
export const defaultTrainExpertsOptions = {
  dense: true,
  seedTokens: 0,
  seed: 0,
  backend: 'auto',
  maxRetries: 2,
  restart: false,
} as const satisfies Partial<TrainExpertsOptions>;

/**
 * The outcome of one model of the run.
 *
 * @example
 * ```ts
 * for (const m of result.models) console.log(m.name, m.valLoss, m.retries);
 * ```
 */
export interface ExpertRunResult extends TrainResult {
  readonly name: string;
  readonly dir: string;
  /** Times its worker crashed and it was resumed. */
  readonly retries: number;
}

/**
 * What {@link trainExperts} returns (and writes to `<run>/train-results.json`).
 *
 * @example
 * ```ts
 * const { backend, tokensPerExpert, models } = await trainExperts('runs/a', { totalTokens: 4e6 });
 * ```
 */
export interface TrainExpertsResult {
  readonly backend: BackendName;
  readonly totalTokens: number;
  readonly tokensPerExpert: number;
  readonly models: readonly ExpertRunResult[];
}

interface Slot {
  child: ChildProcess;
  task?: ExpertTask;
}

/**
 * Trains a run's models in a pool of worker processes: one expert per cluster shard
 * (`<run>/shards/<j>.jsonl.gz` → `<run>/experts/<j>/`), the dense baseline on all shards
 * (`<run>/dense/`), and random-cluster experts (`<run>/random/shards/` →
 * `<run>/random/experts/<j>/`). Compute is matched: each of k experts gets totalTokens/k
 * tokens and the dense model totalTokens. Each model checkpoints, so a crashed worker's model
 * is retried from its last checkpoint, and a re-run continues where it stopped. Progress
 * events carry the model as `task` (`expert-3`, `dense`, `random-expert-3`, `seed`).
 *
 * @example
 * ```ts
 * const result = await trainExperts('runs/a', {
 *   totalTokens: 2_000_000, modelConfig: { nLayer: 2, dModel: 128 },
 *   train: { checkpointEvery: 100, evalEvery: 100 }, onProgress: console.log,
 * });
 * console.log(result.backend, result.models.map((m) => [m.name, m.valLoss]));
 * ```
 */
export async function trainExperts(
  runDir: string,
  options: TrainExpertsOptions,
): Promise<TrainExpertsResult> {
  const o = { ...defaultTrainExpertsOptions, ...options };
  if (!(o.totalTokens > 0))
    throw new InvalidArgumentError(`totalTokens must be positive, got ${o.totalTokens}.`);
  const layout = new RunLayout(runDir);
  const tokenizerPath = layout.tokenizer;
  if (!(await pathExists(tokenizerPath))) {
    throw new CbtmError(
      'E_STAGE_MISSING',
      `${tokenizerPath} is missing. Train the tokenizer first (trainBpeTokenizer, then save it there).`,
    );
  }
  const tokenizer = await BpeTokenizer.load(tokenizerPath);
  const config = resolveGptConfig({ ...o.modelConfig, vocabSize: tokenizer.vocabSize });
  const all = await layout.shardIds();
  if (all.length === 0)
    throw new CbtmError(
      'E_STAGE_MISSING',
      `${layout.shards} holds no <j>.jsonl.gz shards. Run the cluster stage first.`,
    );
  const k = all.length;
  const wanted = o.experts ?? all;
  for (const j of wanted)
    if (!all.includes(j))
      throw new InvalidArgumentError(`There is no shard ${j} in ${layout.shards}.`);
  const randomIds = await layout.randomShardIds();
  const withRandom = o.random ?? randomIds.length > 0;
  if (withRandom && randomIds.length === 0) {
    throw new CbtmError(
      'E_STAGE_MISSING',
      `random: true, but ${layout.randomShards} holds no shards.`,
    );
  }
  const seedTokens = o.seedFrom ? 0 : o.seedTokens;
  if (!(seedTokens >= 0 && seedTokens < o.totalTokens)) {
    throw new InvalidArgumentError(`seedTokens must be in [0, totalTokens), got ${seedTokens}.`);
  }
  if (
    o.expertBatchSize !== undefined &&
    !(Number.isInteger(o.expertBatchSize) && o.expertBatchSize > 0)
  ) {
    throw new InvalidArgumentError(
      `expertBatchSize must be a positive integer, got ${o.expertBatchSize}.`,
    );
  }
  const budget = o.totalTokens - seedTokens;
  const perExpert = o.tokensPerExpert ?? budget / k;
  const allShards = all.map((j) => layout.shard(j));
  const seedDir = o.seedFrom ?? (seedTokens > 0 ? layout.seed : undefined);
  const base = {
    tokenizerPath,
    config,
    initSeed: deriveSeed(o.seed, 'init'),
    backend: o.backend,
    restart: o.restart,
  };
  const task = (
    name: string,
    dir: string,
    data: string[],
    tokens: number,
    initFrom: string | undefined,
    batchSize?: number,
  ): ExpertTask => ({
    ...base,
    name,
    dir,
    data,
    tokens,
    dataSeed: deriveSeed(o.seed, name),
    settings: {
      ...o.train,
      ...(initFrom !== undefined ? o.branch : {}),
      ...(batchSize !== undefined ? { batchSize } : {}),
    },
    ...(initFrom !== undefined ? { initFrom } : {}),
  });
  const phases: ExpertTask[][] = [];
  if (seedTokens > 0) phases.push([task('seed', seedDir!, allShards, seedTokens, undefined)]);
  const main: ExpertTask[] = wanted.map((j) =>
    task(`expert-${j}`, layout.expert(j), [layout.shard(j)], perExpert, seedDir, o.expertBatchSize),
  );
  if (o.dense) main.push(task('dense', layout.dense, allShards, budget, seedDir));
  if (withRandom) {
    for (const j of randomIds) {
      main.push(
        task(
          `random-expert-${j}`,
          layout.randomExpert(j),
          [layout.randomShard(j)],
          perExpert,
          seedDir,
          o.expertBatchSize,
        ),
      );
    }
  }
  phases.push(main);

  const workerScript = o.workerScript ?? builtScript(import.meta.url, 'expert-worker.js');
  const results: ExpertRunResult[] = [];
  let backend: BackendName | undefined;
  let logged = false;
  const log = o.log ?? ((line: string) => console.error(line));
  const total = phases.reduce((n, p) => n + p.length, 0);
  const overall = (status: ProgressEvent['status'], message?: string) =>
    void o.onProgress?.({
      stage: 'train',
      status,
      done: results.length,
      total,
      unit: 'models',
      ...(message ? { message } : {}),
    });
  overall('start', `${total} models, ${o.totalTokens.toLocaleString('en-US')} tokens`);

  for (const phase of phases) {
    const done = await runPool(phase, {
      workers: Math.max(1, Math.min(o.workers ?? availableParallelism(), phase.length)),
      workerScript,
      maxRetries: o.maxRetries,
      signal: o.signal,
      onMessage: (msg) => {
        if (msg.type === 'progress') void o.onProgress?.(msg.event);
        if (msg.type === 'backend' && !logged) {
          logged = true;
          log(msg.line);
        }
      },
      onWorker: o.onWorker,
      onDone: (r) => {
        results.push(r);
        backend ??= r.backend;
        overall('progress');
      },
    });
    void done;
  }
  const order = (n: string) => phases.flat().findIndex((t) => t.name === n);
  results.sort((a, b) => order(a.name) - order(b.name));
  const out: TrainExpertsResult = {
    backend: backend!,
    totalTokens: o.totalTokens,
    tokensPerExpert: perExpert,
    models: results,
  };
  await writeJsonAtomic(layout.trainResults, out);
  overall('done');
  return out;
}

interface PoolOptions {
  readonly workers: number;
  readonly workerScript: string;
  readonly maxRetries: number;
  readonly signal: AbortSignal | undefined;
  readonly onMessage: (msg: FromWorker) => void;
  readonly onWorker: TrainExpertsOptions['onWorker'];
  readonly onDone: (result: ExpertRunResult) => void;
}

/** Runs tasks on up to `workers` child processes; a crashed child's task is retried. */
function runPool(tasks: readonly ExpertTask[], p: PoolOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const queue = [...tasks];
    const retries = new Map<string, number>();
    const slots = new Set<Slot>();
    let remaining = tasks.length;
    let failed = false;

    const stopAll = () => {
      for (const s of slots) {
        s.child.removeAllListeners('exit');
        s.child.kill('SIGKILL');
      }
      slots.clear();
    };
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      stopAll();
      reject(err);
    };
    let aborting = false;
    const busy = () => [...slots].filter((sl) => sl.task !== undefined).length;
    const abortError = () =>
      new AbortError('Training was aborted; each model stopped at a checkpoint.');
    const onAbort = () => {
      aborting = true;
      queue.length = 0;
      // Workers finish their step, checkpoint, and report; the last report settles the pool.
      for (const sl of slots)
        if (sl.task && sl.child.connected) sl.child.send({ type: 'abort' } satisfies ToWorker);
      if (busy() === 0) fail(abortError());
      setTimeout(() => fail(abortError()), 60_000).unref();
    };
    if (p.signal?.aborted) {
      reject(abortError());
      return;
    }
    if (tasks.length === 0) {
      resolve();
      return;
    }
    p.signal?.addEventListener('abort', onAbort, { once: true });

    const assign = (slot: Slot) => {
      const next = queue.shift();
      if (!next) {
        slot.child.send({ type: 'exit' } satisfies ToWorker);
        slots.delete(slot);
        return;
      }
      slot.task = next;
      if (slot.child.pid !== undefined) p.onWorker?.({ pid: slot.child.pid, task: next.name });
      slot.child.send({ type: 'train', task: next } satisfies ToWorker);
    };

    const spawn = () => {
      const child = fork(p.workerScript, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const slot: Slot = { child };
      slots.add(slot);
      child.on('message', (msg: FromWorker) => {
        if (failed) return;
        if (msg.type === 'ready') {
          assign(slot);
          return;
        }
        p.onMessage(msg);
        if (msg.type === 'done' && slot.task) {
          const t = slot.task;
          slot.task = undefined;
          p.onDone({ ...msg.result, name: t.name, dir: t.dir, retries: retries.get(t.name) ?? 0 });
          remaining -= 1;
          if (remaining === 0) {
            p.signal?.removeEventListener('abort', onAbort);
            stopAll();
            resolve();
            return;
          }
          if (aborting && busy() === 0) {
            fail(abortError());
            return;
          }
          assign(slot);
        } else if (msg.type === 'error') {
          slot.task = undefined;
          if (msg.aborted && aborting) {
            if (busy() === 0) fail(abortError());
            return;
          }
          p.signal?.removeEventListener('abort', onAbort);
          fail(
            msg.aborted
              ? abortError()
              : new CbtmError('E_WORKER', `Training ${msg.name} failed: ${msg.message}`),
          );
        }
      });
      child.on('exit', (code, signal) => {
        if (failed) return;
        slots.delete(slot);
        const t = slot.task;
        if (!t) return;
        if (aborting) {
          // Stopping: a model whose worker died keeps its last checkpoint; nothing restarts.
          slot.task = undefined;
          if (busy() === 0) fail(abortError());
          return;
        }
        const n = (retries.get(t.name) ?? 0) + 1;
        retries.set(t.name, n);
        if (n > p.maxRetries) {
          fail(
            new CbtmError(
              'E_WORKER',
              `The worker training ${t.name} died ${n} times (last: ${signal ?? `exit code ${code}`}). Its checkpoint in ${t.dir} is kept; run again to resume.`,
            ),
          );
          return;
        }
        queue.unshift(t);
        spawn();
      });
      child.on('error', (err) =>
        fail(
          new CbtmError(
            'E_WORKER',
            `Cannot start a training worker (${p.workerScript}): ${err.message}`,
            { cause: err },
          ),
        ),
      );
    };

    for (let i = 0; i < p.workers; i++) spawn();
  });
}
