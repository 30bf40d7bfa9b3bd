import { join } from 'node:path';
import { CbtmError, pathExists, RunLayout, sha256File, throwIfAborted } from '@cbtm/core/node';
import type { CbtmConfig } from '../config/schema.js';
import { prepareRandomClusters } from './random-clusters.js';
import { hfSeedCheckpoint, hfSeedChecksum } from './seed-from-hf.js';
import {
  beginStage,
  finishStage,
  idleReport,
  planStage,
  type StageContext,
  type StageDefinition,
  type StageName,
  type StageOutcome,
  type StagePlan,
  type StageReport,
} from './stage.js';

/** The stages that train models; they run together in one pool of worker processes. */
export const TRAINING_STAGES: readonly StageName[] = ['seed', 'experts', 'dense', 'random'];

/**
 * SHA-256 of the model in `train.seedFrom`, once per invocation (every training stage hashes
 * it), so a changed seed retrains the models that branch from it.
 */
const seedFromChecksums = new WeakMap<StageContext, Promise<string>>();
function seedFromChecksumOf(ctx: StageContext, dir: string): Promise<string> {
  let sum = seedFromChecksums.get(ctx);
  if (!sum) {
    // A Hugging Face checkpoint is hashed by its own files (and checked against config.model).
    sum = hfSeedCheckpoint(ctx.config).then((hf) =>
      hf !== null ? hfSeedChecksum(hf, ctx.config) : seedFromChecksum(dir),
    );
    seedFromChecksums.set(ctx, sum);
  }
  return sum;
}

async function trainingInputs(ctx: StageContext) {
  const { config, corpusFingerprint } = ctx;
  const seedFrom = config.train.seedFrom;
  const seedFromSum = seedFrom !== null ? await seedFromChecksumOf(ctx, seedFrom) : undefined;
  return {
    corpus: corpusFingerprint,
    model: config.model,
    // Workers, backend and checkpoint spacing change speed or safety, not what is learnt. An
    // outside seed counts by its content, not its path, so a moved folder is still reused.
    // Settings left at null count as absent, so runs made before they existed keep their hash.
    train: {
      ...config.train,
      workers: undefined,
      backend: undefined,
      checkpointEvery: undefined,
      seedFrom: undefined,
      // The seed's own stage hashes it, and every branch stage has the seed as an input.
      seedThreads: undefined,
      branchLearningRate: config.train.branchLearningRate ?? undefined,
      branchWarmupSteps: config.train.branchWarmupSteps ?? undefined,
      expertBatchSize: config.train.expertBatchSize ?? undefined,
    },
    ...(seedFrom !== null ? { seedFrom: seedFromSum } : {}),
    seed: config.seed,
  };
}

/**
 * SHA-256 over the files a branch reads from a `train.seedFrom` model folder (model.json and
 * its weights); fails with a clear error when the folder holds no trained model.
 */
async function seedFromChecksum(dir: string): Promise<string> {
  const { MODEL_JSON, WEIGHTS_BIN } = await import('@cbtm/train/node');
  const sums: string[] = [];
  for (const name of [MODEL_JSON, WEIGHTS_BIN]) {
    const file = join(dir, name);
    if (!(await pathExists(file))) {
      throw new CbtmError(
        'E_CONFIG_INVALID',
        `train.seedFrom is ${dir}, but ${file} is missing. Point it at a trained cbtm model folder (e.g. <run>/seed or <run>/dense), or set it to null.`,
      );
    }
    sums.push(await sha256File(file));
  }
  return sums.join(':');
}

/**
 * What the seed model depends on: not the budget after it nor the branch settings, so a run
 * that changes only those (a sweep over budgets) reuses its seed.
 */
function seedInputs(ctx: StageContext) {
  const { config, corpusFingerprint } = ctx;
  return {
    corpus: corpusFingerprint,
    model: config.model,
    train: {
      ...trainSettings(config),
      checkpointEvery: undefined,
      tokens: config.train.seedTokens,
      // Hashed only when it changes the seed, so runs from before the setting keep theirs.
      threads: config.train.seedThreads === 1 ? undefined : config.train.seedThreads,
    },
    seed: config.seed,
  };
}

/** The shared seed model every model branches from (`train.seedTokens` > 0). */
export const seedStage: StageDefinition = {
  name: 'seed',
  inputs: ['shard', 'tokenizer'],
  paths: ['seed'],
  enabled: (config) => config.train.seedTokens > 0 && config.train.seedFrom === null,
  stageConfig: seedInputs,
  execute: (ctx) => trainAlone(ctx, 'seed'),
};

/** One expert per cluster, each on its own shard, `train.tokens / k` tokens each. */
export const expertsStage: StageDefinition = {
  name: 'experts',
  inputs: ['shard', 'tokenizer', 'seed'],
  paths: ['experts'],
  enabled: () => true,
  stageConfig: trainingInputs,
  execute: (ctx) => trainAlone(ctx, 'experts'),
};

/** The dense baseline: one model on all shards with the experts' total tokens. */
export const denseStage: StageDefinition = {
  name: 'dense',
  inputs: ['shard', 'tokenizer', 'seed'],
  paths: ['dense'],
  enabled: (config) => config.baselines.dense,
  stageConfig: trainingInputs,
  execute: (ctx) => trainAlone(ctx, 'dense'),
};

/** The random-cluster baseline: k experts on randomly assigned documents. */
export const randomStage: StageDefinition = {
  name: 'random',
  inputs: ['embed', 'shard', 'tokenizer', 'seed'],
  paths: ['random'],
  enabled: (config) => config.baselines.random,
  stageConfig: async (ctx) => ({
    ...(await trainingInputs(ctx)),
    k: ctx.config.cluster.k,
    router: ctx.config.router,
  }),
  execute: (ctx) => trainAlone(ctx, 'random'),
};

/** What a model directory's `train-state.json` says, if it has one. */
interface ModelStatus {
  readonly name: string;
  readonly dir: string;
  readonly done: boolean;
  readonly step: number;
}

async function modelStatus(name: string, dir: string): Promise<ModelStatus> {
  const { readTrainProgress } = await import('@cbtm/train/node');
  const { done, step } = await readTrainProgress(dir);
  return { name, dir, done, step };
}

/**
 * The per-model training settings (`TrainConfig` fields) of a run config: what the training
 * stages pass to `trainExperts`, and what queued jobs must use too.
 */
export function trainSettings(config: CbtmConfig) {
  const t = config.train;
  return {
    batchSize: t.batchSize,
    lr: t.learningRate,
    warmupSteps: t.warmupSteps,
    weightDecay: t.weightDecay,
    evalEvery: t.evalEvery,
    evalTokens: t.evalTokens,
    checkpointEvery: t.checkpointEvery,
  };
}

/**
 * The settings that override {@link trainSettings} for the models that branch from the seed
 * (`trainExperts`' `branch` option): empty when the config leaves them to the seed's.
 */
export function branchSettings(config: CbtmConfig) {
  const t = config.train;
  return {
    ...(t.branchLearningRate !== null ? { lr: t.branchLearningRate } : {}),
    ...(t.branchWarmupSteps !== null ? { warmupSteps: t.branchWarmupSteps } : {}),
  };
}

/**
 * The part of `trainExperts`' options a run config decides: model shape, training and branch
 * settings, workers, seed and backend. The training stages and `cbtm add-expert` both train
 * with it, so an added expert trains exactly as the run's own did.
 */
export function runTrainOptions(config: CbtmConfig, layout: RunLayout) {
  return {
    tokenizer: layout.tokenizer,
    modelConfig: config.model,
    train: trainSettings(config),
    branch: branchSettings(config),
    workers: config.train.workers,
    seed: config.seed,
    backend: config.train.backend,
  };
}

/** Options of {@link runTrainingStages}. */
export interface TrainingOptions {
  /** Train only these experts (`cbtm train --expert J`); the stage is marked done only once every expert is. */
  readonly experts?: readonly number[];
}

/** What training did for one stage: its outcome, and whether experts are still missing. */
interface TrainedStage {
  readonly outcome: StageOutcome;
  /** A `--expert J` call that left other experts untrained: the stage is not done yet. */
  readonly partial: boolean;
}

/** A training stage's `execute`: its own models, in its own pool. */
async function trainAlone(ctx: StageContext, name: StageName): Promise<StageOutcome> {
  return (await trainStageModels(ctx, [name])).get(name)!.outcome;
}

/**
 * Trains the models of the given training stages in one call to `@cbtm/train`'s
 * `trainExperts` (a pool of `train.workers` processes), so the baselines train in parallel
 * with the experts: the random-cluster data first when the random stage is among them, then
 * every model not finished yet (each resumes from its checkpoint; models whose
 * `train-state.json` says done are left untouched). Returns, per stage, which models were
 * reused and from which step each resumed.
 */
async function trainStageModels(
  ctx: StageContext,
  names: readonly StageName[],
  options: TrainingOptions = {},
): Promise<Map<StageName, TrainedStage>> {
  const { run, config } = ctx;
  const seedFrom = config.train.seedFrom;
  const layout = new RunLayout(run.dir);
  const running = (name: StageName) => names.includes(name);
  if (running('random')) await prepareRandomClusters(ctx);

  const all = await layout.shardIds();
  if (all.length === 0) {
    throw new CbtmError(
      'E_STAGE_MISSING',
      `${layout.shards} holds no shards. Run \`cbtm cluster\` first.`,
    );
  }
  const wanted = options.experts ?? all;
  const randomIds = running('random') ? await layout.randomShardIds() : [];
  const before = new Map<string, ModelStatus>();
  const track = async (name: string, dir: string) => before.set(name, await modelStatus(name, dir));
  if (running('experts')) for (const j of wanted) await track(`expert-${j}`, layout.expert(j));
  if (running('dense')) await track('dense', layout.dense);
  for (const j of randomIds) await track(`random-expert-${j}`, layout.randomExpert(j));
  if (running('seed')) await track('seed', layout.seed);

  const unfinished = (name: string) => !before.get(name)!.done;
  const experts = running('experts') ? wanted.filter((j) => unfinished(`expert-${j}`)) : [];
  const dense = running('dense') && unfinished('dense');
  // The random-cluster experts train together: all of them when any is unfinished.
  const random = randomIds.some((j) => unfinished(`random-expert-${j}`)) ? randomIds : [];
  const seedEnabled = config.train.seedTokens > 0 || seedFrom !== null;
  const seedPending = running('seed') && unfinished('seed');
  // The seed stage may run alone (e.g. before queueing experts on workers).
  if (experts.length > 0 || dense || random.length > 0 || seedPending) {
    const train = await import('@cbtm/train/node');
    const tasks = train.runModelTasks(run.dir, {
      totalTokens: config.train.tokens + (seedPending ? config.train.seedTokens : 0),
      shards: all,
      experts,
      dense,
      random,
      ...(seedPending
        ? { seedTokens: config.train.seedTokens, seedThreads: config.train.seedThreads }
        : seedEnabled
          ? { seedFrom: seedFrom ?? layout.seed }
          : {}),
      ...(config.train.expertBatchSize !== null
        ? { expertBatchSize: config.train.expertBatchSize }
        : {}),
    });
    await train.trainExperts(tasks, {
      ...runTrainOptions(config, layout),
      resultsFile: layout.trainResults,
      log: ctx.log,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
    });
  }
  throwIfAborted(ctx.signal);

  const after = new Map<string, ModelStatus>();
  for (const m of before.values()) after.set(m.name, await modelStatus(m.name, m.dir));
  const modelsOf = (prefix: (name: string) => boolean) =>
    [...before.values()]
      .filter((m) => prefix(m.name))
      .map((m) => ({
        name: m.name,
        reused: m.done,
        resumedFromStep: m.done ? null : m.step,
        steps: after.get(m.name)!.step,
      }));
  const out = new Map<StageName, TrainedStage>();
  const paths = (name: StageName) =>
    [seedStage, expertsStage, denseStage, randomStage].find((d) => d.name === name)!.paths;
  for (const name of names) {
    let models: ReturnType<typeof modelsOf>;
    let partial = false;
    if (name === 'experts') {
      models = modelsOf((n) => n.startsWith('expert-'));
      // A partial `--expert J` run stays pending until every expert has finished.
      const statuses = await Promise.all(
        all.map((j) => modelStatus(`expert-${j}`, layout.expert(j))),
      );
      partial = !statuses.every((s) => s.done);
    } else if (name === 'dense') models = modelsOf((n) => n === 'dense');
    else if (name === 'random') models = modelsOf((n) => n.startsWith('random-'));
    else models = modelsOf((n) => n === 'seed');
    out.set(name, {
      outcome: {
        outputs: paths(name),
        info: partial ? { models, partial: true } : { models },
      },
      partial,
    });
  }
  return out;
}

/**
 * Plans the seed, experts, dense and random stages, then trains every model that is not
 * finished in one worker pool (see the stages' own `execute`, which trains one stage's
 * models alone), so the baselines train in parallel with the experts. The manifest records,
 * per stage, which models were reused and from which step each resumed.
 */
export async function runTrainingStages(
  ctx: StageContext,
  defs: readonly StageDefinition[],
  options: TrainingOptions = {},
): Promise<StageReport[]> {
  const started = Date.now();
  const { run } = ctx;
  const plans: StagePlan[] = [];
  for (const def of defs) plans.push(await planStage(def, ctx));
  const reports = new Map<StageName, StageReport>();
  for (const plan of plans) {
    if (plan.action === 'skip' && run.stage(plan.def.name))
      await run.invalidateStage(plan.def.name);
    if (plan.action !== 'run') reports.set(plan.def.name, idleReport(plan, ctx));
  }
  const toRun = plans.filter((p) => p.action === 'run');
  if (toRun.length > 0) {
    for (const plan of toRun) await beginStage(plan, ctx);
    throwIfAborted(ctx.signal);
    const trained = await trainStageModels(
      ctx,
      toRun.map((p) => p.def.name),
      options,
    );
    for (const plan of toRun) {
      const name = plan.def.name;
      const { outcome, partial } = trained.get(name)!;
      if (partial) {
        reports.set(name, {
          name,
          status: 'ran',
          seconds: (Date.now() - started) / 1000,
          info: { models: outcome.info!.models, partial: true },
        });
        continue;
      }
      reports.set(name, await finishStage(plan, ctx, outcome, started));
    }
  }
  return defs.map((d) => reports.get(d.name)!);
}
