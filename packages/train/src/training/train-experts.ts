import { type ChildProcess, fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import {
  AbortError,
  CbtmError,
  deriveSeed,
  InvalidArgumentError,
  type LongRunOptions,
  type ProgressEvent,
  pathExists,
  RunLayout,
  writeJsonAtomic,
} from '@cbtm/core/node';
import type { BackendName, BackendPreference } from '../backend/select-backend.js';
import { type GptConfig, resolveGptConfig } from '../model/gpt-config.js';
import { BpeTokenizer } from '../tokenizer/index.js';
import { builtScript } from './built-script.js';
import type { ExpertTask, ExpertTrainSettings, FromWorker, ToWorker } from './expert-task.js';
import { defaultTrainExpertsOptions } from './train-experts-defaults.js';
import type { TrainResult } from './train-language-model.js';

/**
 * One model for {@link trainExperts} to train: where it goes, what it reads, how long.
 *
 * @example
 * ```ts
 * const task: ModelTask = { name: 'expert-0', dir: 'runs/a/experts/0', data: ['runs/a/shards/0.jsonl.gz'], tokens: 1e6 };
 * ```
 */
export interface ModelTask {
  /**
   * `expert-3`, `random-expert-3`, `dense` or `seed`: names the model in progress events and
   * results, and seeds its data order (so a renamed model sees its data in another order).
   */
  readonly name: string;
  /** Output folder: model, checkpoint, `train-state.json`. */
  readonly dir: string;
  /** Shard files, read round-robin. */
  readonly data: readonly string[];
  /** Training tokens. */
  readonly tokens: number;
  /**
   * Start from this trained model folder (seed branching) and train with the `branch`
   * settings. When it is another task's `dir`, that task trains first.
   */
  readonly initFrom?: string;
  /** Rows per step for this model. @default train.batchSize */
  readonly batchSize?: number;
  /**
   * Threads that share each of this model's batches (see `TrainOptions.threads`), e.g. for a
   * seed that trains alone while the other workers wait. The result depends on it (the batch
   * is summed in another order), so it is a fixed setting, not the machine's core count.
   * @default train.threads (1)
   */
  readonly threads?: number;
}

/**
 * Options of {@link runModelTasks}: which models of a c-BTM run to train, and the budget.
 *
 * @example
 * ```ts
 * const opts: RunModelTasksOptions = { totalTokens: 4e6, shards: [0, 1, 2, 3], dense: true };
 * ```
 */
export interface RunModelTasksOptions {
  /** Training tokens of the whole run: each of k experts gets totalTokens/k, the dense model all. */
  readonly totalTokens: number;
  /** The run's cluster ids, one shard each (`<run>/shards/<j>.jsonl.gz`); k is their count. */
  readonly shards: readonly number[];
  /** Which experts to train. @default every one of `shards` */
  readonly experts?: readonly number[];
  /** Also train the dense baseline on all shards, into `<run>/dense/`. @default true */
  readonly dense?: boolean;
  /** Train the random-cluster experts of these `<run>/random/shards/` ids. @default none */
  readonly random?: readonly number[];
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
  /** Seed branching from an existing model folder instead. */
  readonly seedFrom?: string;
  /**
   * Threads that share each batch of the seed ({@link ModelTask.threads}): the seed trains
   * before every other model, alone, so the other workers' cores are free.
   * @default train.threads (1)
   */
  readonly seedThreads?: number;
}

/**
 * The models of a c-BTM run directory as {@link trainExperts} tasks, with the budget matched:
 * the seed (`seedTokens` > 0) on all shards; one expert per listed shard
 * (`<run>/shards/<j>.jsonl.gz` → `<run>/experts/<j>/`) with (totalTokens − seedTokens)/k
 * tokens; the dense baseline on all shards with all of them; random-cluster experts
 * (`<run>/random/shards/<j>.jsonl.gz` → `<run>/random/experts/<j>/`) like the experts. With a
 * seed every other model branches from it. Pure: it lists nothing on disk (the caller passes
 * the shard ids, e.g. from `RunLayout#shardIds()`).
 *
 * @example
 * ```ts
 * const layout = new RunLayout('runs/a');
 * const tasks = runModelTasks(layout.dir, { totalTokens: 4e6, shards: await layout.shardIds() });
 * await trainExperts(tasks, { tokenizer: layout.tokenizer, resultsFile: layout.trainResults });
 * ```
 */
export function runModelTasks(runDir: string, options: RunModelTasksOptions): ModelTask[] {
  const o = options;
  if (!(o.totalTokens > 0))
    throw new InvalidArgumentError(`totalTokens must be positive, got ${o.totalTokens}.`);
  const layout = new RunLayout(runDir);
  const all = o.shards;
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
  const seedTokens = o.seedFrom ? 0 : (o.seedTokens ?? 0);
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
  const task = (
    name: string,
    dir: string,
    data: string[],
    tokens: number,
    initFrom: string | undefined,
    batchSize?: number,
  ): ModelTask => ({
    name,
    dir,
    data,
    tokens,
    ...(initFrom !== undefined ? { initFrom } : {}),
    ...(batchSize !== undefined ? { batchSize } : {}),
  });
  const tasks: ModelTask[] = [];
  if (seedTokens > 0) {
    const seed = task('seed', seedDir!, allShards, seedTokens, undefined);
    tasks.push(o.seedThreads !== undefined ? { ...seed, threads: o.seedThreads } : seed);
  }
  for (const j of wanted) {
    tasks.push(
      task(
        `expert-${j}`,
        layout.expert(j),
        [layout.shard(j)],
        perExpert,
        seedDir,
        o.expertBatchSize,
      ),
    );
  }
  if (o.dense ?? true) tasks.push(task('dense', layout.dense, allShards, budget, seedDir));
  for (const j of o.random ?? []) {
    tasks.push(
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
  return tasks;
}

/**
 * Options of {@link trainExperts}.
 *
 * @example
 * ```ts
 * await trainExperts(tasks, { tokenizer: 'runs/a/tokenizer/tokenizer.json', workers: 2 });
 * ```
 */
export interface TrainExpertsOptions extends LongRunOptions {
  /** The shared tokenizer (`tokenizer.json`); it also sets the vocabulary size. */
  readonly tokenizer: string;
  /** Model shape (the vocabulary size comes from the tokenizer). @default defaultGptConfig */
  readonly modelConfig?: Partial<Omit<GptConfig, 'vocabSize'>>;
  /** Training settings for every model (batch size, lr, evalEvery, checkpointEvery, ...). */
  readonly train?: ExpertTrainSettings;
  /**
   * Settings that override `train` for the models that branch from a seed (tasks with
   * `initFrom`), e.g. a lower peak learning rate so the branches refine the seed instead of
   * restarting from a high rate.
   */
  readonly branch?: ExpertTrainSettings;
  /** Worker processes; each trains one model at a time. @default os.availableParallelism() */
  readonly workers?: number;
  /** Seed of initial weights and data order. @default 0 */
  readonly seed?: number;
  /** Tensor backend for the workers. @default 'auto' */
  readonly backend?: BackendPreference;
  /** Times a crashed worker's model is retried from its last checkpoint. @default 2 */
  readonly maxRetries?: number;
  /** Delete existing checkpoints and start every model afresh. @default false */
  readonly restart?: boolean;
  /** Also write the result there as JSON (e.g. `RunLayout#trainResults`). */
  readonly resultsFile?: string;
  /** The worker script. @default the built `expert-worker.js` (from `dist/`) */
  readonly workerScript?: string;
  /** Told when a worker process starts a model (for monitoring; tests use it to kill one). */
  readonly onWorker?: (info: { readonly pid: number; readonly task: string }) => void;
  /** Receives the backend line of the first worker. @default console.error */
  readonly log?: (line: string) => void;
}

export { defaultTrainExpertsOptions };

// The defaults live apart (for `@cbtm/train/defaults`); this keeps them checked against the type.
defaultTrainExpertsOptions satisfies Partial<TrainExpertsOptions>;

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
 * What {@link trainExperts} returns (and writes to `resultsFile`).
 *
 * @example
 * ```ts
 * const { backend, models } = await trainExperts(tasks, { tokenizer });
 * ```
 */
export interface TrainExpertsResult {
  readonly backend: BackendName;
  /** The models, in task order. */
  readonly models: readonly ExpertRunResult[];
}

interface Slot {
  child: ChildProcess;
  task?: ExpertTask;
}

/**
 * Trains models in a pool of worker processes, each task into its own folder (see
 * {@link runModelTasks} for a c-BTM run's experts, dense and random-cluster baselines). Tasks
 * that branch from another task's folder (`initFrom`, e.g. the seed) wait for it. Each model
 * checkpoints, so a crashed worker's model is retried from its last checkpoint, and a re-run
 * continues where it stopped. Progress events carry the model as `task` (`expert-3`,
 * `dense`, `random-expert-3`, `seed`).
 *
 * @example
 * ```ts
 * const layout = new RunLayout('runs/a');
 * const tasks = runModelTasks(layout.dir, { totalTokens: 2_000_000, shards: await layout.shardIds() });
 * const result = await trainExperts(tasks, {
 *   tokenizer: layout.tokenizer, modelConfig: { nLayer: 2, dModel: 128 },
 *   train: { checkpointEvery: 100, evalEvery: 100 }, onProgress: console.log,
 * });
 * console.log(result.backend, result.models.map((m) => [m.name, m.valLoss]));
 * ```
 */
export async function trainExperts(
  tasks: readonly ModelTask[],
  options: TrainExpertsOptions,
): Promise<TrainExpertsResult> {
  const o = { ...defaultTrainExpertsOptions, ...options };
  const names = new Set<string>();
  for (const t of tasks) {
    if (names.has(t.name))
      throw new InvalidArgumentError(`Two training tasks are named ${t.name}; names must differ.`);
    names.add(t.name);
    if (!(t.tokens > 0))
      throw new InvalidArgumentError(`${t.name}: tokens must be positive, got ${t.tokens}.`);
    if (t.threads !== undefined && !(Number.isInteger(t.threads) && t.threads >= 1))
      throw new InvalidArgumentError(
        `${t.name}: threads must be a positive integer, got ${t.threads}.`,
      );
  }
  // Tasks that branch from another task's model wait for it: at most one level (a seed).
  const dirs = new Set(tasks.map((t) => t.dir));
  const later = tasks.filter((t) => t.initFrom !== undefined && dirs.has(t.initFrom));
  const first = tasks.filter((t) => !later.includes(t));
  for (const t of later) {
    if (later.some((u) => u.dir === t.initFrom)) {
      throw new InvalidArgumentError(
        `${t.name} branches from ${t.initFrom}, which itself branches from another task; only one level is supported.`,
      );
    }
  }
  const tokenizerPath = o.tokenizer;
  if (!(await pathExists(tokenizerPath))) {
    throw new CbtmError(
      'E_STAGE_MISSING',
      `${tokenizerPath} is missing. Train the tokenizer first (trainBpeTokenizer, then save it there).`,
    );
  }
  const tokenizer = await BpeTokenizer.load(tokenizerPath);
  const config = resolveGptConfig({ ...o.modelConfig, vocabSize: tokenizer.vocabSize });
  const base = {
    tokenizerPath,
    config,
    initSeed: deriveSeed(o.seed, 'init'),
    backend: o.backend,
    restart: o.restart,
  };
  const expertTask = (t: ModelTask): ExpertTask => ({
    ...base,
    name: t.name,
    dir: t.dir,
    data: [...t.data],
    tokens: t.tokens,
    dataSeed: deriveSeed(o.seed, t.name),
    settings: {
      ...o.train,
      ...(t.initFrom !== undefined ? o.branch : {}),
      ...(t.batchSize !== undefined ? { batchSize: t.batchSize } : {}),
      ...(t.threads !== undefined ? { threads: t.threads } : {}),
    },
    ...(t.initFrom !== undefined ? { initFrom: t.initFrom } : {}),
  });
  const phases: ExpertTask[][] = [first.map(expertTask)];
  if (later.length > 0) phases.push(later.map(expertTask));

  const workerScript = o.workerScript ?? builtScript(import.meta.url, 'expert-worker.js');
  const results: ExpertRunResult[] = [];
  let backend: BackendName | undefined;
  let logged = false;
  const log = o.log ?? ((line: string) => console.error(line));
  const total = tasks.length;
  const tokens = tasks.reduce((n, t) => n + t.tokens, 0);
  const overall = (status: ProgressEvent['status'], message?: string) =>
    void o.onProgress?.({
      stage: 'train',
      status,
      done: results.length,
      total,
      unit: 'models',
      ...(message ? { message } : {}),
    });
  overall('start', `${total} models, ${Math.round(tokens).toLocaleString('en-US')} tokens`);

  for (const phase of phases) {
    await runPool(phase, {
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
  }
  const order = (n: string) => tasks.findIndex((t) => t.name === n);
  results.sort((a, b) => order(a.name) - order(b.name));
  const out: TrainExpertsResult = { backend: backend!, models: results };
  if (o.resultsFile !== undefined) await writeJsonAtomic(o.resultsFile, out);
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
