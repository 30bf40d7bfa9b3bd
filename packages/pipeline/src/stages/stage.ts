import { rm } from 'node:fs/promises';
import {
  hashConfig,
  type ProgressCallback,
  type RunDir,
  readJsonFile,
  throwIfAborted,
  writeJsonAtomic,
} from '@cbtm/core/node';
import type { CbtmConfig } from '../config/schema.js';
import type { CorpusSource } from '../corpus-source.js';

/**
 * The stages of `cbtm run`, in order.
 *
 * @example
 * ```ts
 * STAGE_NAMES.indexOf('experts') < STAGE_NAMES.indexOf('eval'); // true
 * ```
 */
export const STAGE_NAMES = [
  'embed',
  'cluster',
  'shard',
  'tokenizer',
  'seed',
  'experts',
  'dense',
  'random',
  'router',
  'eval',
  'report',
] as const;

/**
 * One stage of the pipeline.
 *
 * @example
 * ```ts
 * const s: StageName = 'router';
 * ```
 */
export type StageName = (typeof STAGE_NAMES)[number];

/** What a stage's code receives. */
export interface StageContext {
  readonly run: RunDir;
  readonly config: CbtmConfig;
  readonly corpus: CorpusSource;
  /** A fingerprint of the training corpus files. */
  readonly corpusFingerprint: unknown;
  /** A fingerprint of the validation corpus files (null when it is the demo's or a hold-out). */
  readonly validFingerprint: unknown;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressCallback;
  /** An information line for the user (drawn above the bars). */
  readonly log: (line: string) => void;
  /**
   * Config hash each stage has (or will have) in this invocation; null for a disabled stage.
   * Later stages hash these, so a change upstream reruns everything downstream.
   */
  readonly expected: Map<StageName, string | null>;
}

/** What a finished stage reports. */
export interface StageOutcome {
  /** Output paths relative to the run directory; their checksums go in the manifest. */
  readonly outputs: readonly string[];
  /** Facts worth keeping in the manifest (counts, what was reused...). */
  readonly info?: Record<string, unknown>;
}

/** A stage: which config parts it depends on, and the code that makes its outputs. */
export interface StageDefinition {
  readonly name: StageName;
  /** Stages whose outputs this stage reads; their config hashes become part of this stage's config. */
  readonly inputs: readonly StageName[];
  /** Output paths (relative) to delete when the stage must start over with a different config. */
  readonly paths: readonly string[];
  /** False to skip the stage for this config (e.g. no seed model). */
  enabled(config: CbtmConfig): boolean;
  /** The part of the config that affects this stage's outputs (it may read files, e.g. checksums). */
  stageConfig(ctx: StageContext): unknown | Promise<unknown>;
  execute(ctx: StageContext): Promise<StageOutcome>;
}

/**
 * How one stage went in this invocation.
 *
 * @example
 * ```ts
 * result.stages.filter((s: StageReport) => s.status === 'reused').map((s) => s.name);
 * ```
 */
export interface StageReport {
  readonly name: StageName;
  /** `ran`: computed now; `reused`: already done with the same config; `skipped`: disabled. */
  readonly status: 'ran' | 'reused' | 'skipped';
  readonly seconds: number;
  readonly info?: Readonly<Record<string, unknown>>;
}

function pendingPath(run: RunDir, name: string): string {
  return run.path('.cbtm', 'pending', `${name}.json`);
}

/**
 * The stage config including its inputs' config hashes, so a change upstream reruns every
 * stage downstream.
 */
export async function fullStageConfig(def: StageDefinition, ctx: StageContext): Promise<unknown> {
  const inputs: Record<string, string | null> = {};
  for (const name of def.inputs) {
    inputs[name] = ctx.expected.has(name)
      ? ctx.expected.get(name)!
      : (ctx.run.stage(name)?.configHash ?? null);
  }
  return { ...((await def.stageConfig(ctx)) as object), inputs };
}

/** What {@link planStage} decided. */
export interface StagePlan {
  readonly def: StageDefinition;
  /** The full stage config (with input hashes) and its hash. */
  readonly config: unknown;
  readonly hash: string;
  /** `skip`: disabled; `reuse`: done with this config and intact; `run`: must (re)run. */
  readonly action: 'skip' | 'reuse' | 'run';
}

/** Decides whether a stage runs, and records its expected hash for the stages after it. */
export async function planStage(def: StageDefinition, ctx: StageContext): Promise<StagePlan> {
  if (!def.enabled(ctx.config)) {
    ctx.expected.set(def.name, null);
    return { def, config: null, hash: '', action: 'skip' };
  }
  const config = await fullStageConfig(def, ctx);
  const hash = hashConfig(config);
  ctx.expected.set(def.name, hash);
  const reuse = ctx.run.stageDone(def.name, config) && (await ctx.run.verifyStage(def.name));
  return { def, config, hash, action: reuse ? 'reuse' : 'run' };
}

/**
 * Gets a stage ready to run: forgets its old record, deletes outputs made with another config
 * (an interrupted stage with the same config keeps them, to resume), and marks it pending.
 */
export async function beginStage(plan: StagePlan, ctx: StageContext): Promise<void> {
  const { run } = ctx;
  const { def, hash } = plan;
  const pending = pendingPath(run, def.name);
  const previous = await readJsonFile<{ configHash?: string }>(pending).catch(() => null);
  const recorded = run.stage(def.name);
  const changed =
    (previous && previous.configHash !== hash) || (recorded && recorded.configHash !== hash);
  if (recorded) await run.invalidateStage(def.name);
  if (changed || (recorded && !previous)) {
    // Outputs made with another config (or failing their checksums) cannot be resumed from.
    for (const p of def.paths) await rm(run.path(p), { recursive: true, force: true });
  }
  await writeJsonAtomic(pending, {
    stage: def.name,
    configHash: hash,
    startedAt: new Date().toISOString(),
  });
}

/** Records a finished stage in the manifest and clears its pending mark. */
export async function finishStage(
  plan: StagePlan,
  ctx: StageContext,
  outcome: StageOutcome,
  started: number,
): Promise<StageReport> {
  const record = await ctx.run.markStageDone(plan.def.name, {
    config: plan.config,
    outputs: [...outcome.outputs],
    ...(outcome.info ? { info: outcome.info } : {}),
  });
  await rm(pendingPath(ctx.run, plan.def.name), { force: true });
  return {
    name: plan.def.name,
    status: 'ran',
    seconds: (Date.now() - started) / 1000,
    ...(record.info ? { info: record.info } : {}),
  };
}

/** The report of a stage that was skipped or reused. */
export function idleReport(plan: StagePlan, ctx: StageContext): StageReport {
  if (plan.action === 'skip') return { name: plan.def.name, status: 'skipped', seconds: 0 };
  ctx.onProgress?.({
    stage: plan.def.name,
    status: 'done',
    done: 1,
    total: 1,
    message: 'reused (already done)',
  });
  const info = ctx.run.stage(plan.def.name)?.info;
  return { name: plan.def.name, status: 'reused', seconds: 0, ...(info ? { info } : {}) };
}

/**
 * Runs one stage unless the manifest says it is done with the same config and its outputs
 * still match their checksums. A stage started with another config has its partial outputs
 * deleted first; one interrupted with the same config resumes from what is on disk.
 */
export async function executeStage(def: StageDefinition, ctx: StageContext): Promise<StageReport> {
  throwIfAborted(ctx.signal);
  const started = Date.now();
  const plan = await planStage(def, ctx);
  if (plan.action === 'skip' && ctx.run.stage(def.name)) await ctx.run.invalidateStage(def.name);
  if (plan.action !== 'run') return idleReport(plan, ctx);
  await beginStage(plan, ctx);
  const outcome = await def.execute(ctx);
  throwIfAborted(ctx.signal);
  return finishStage(plan, ctx, outcome, started);
}
