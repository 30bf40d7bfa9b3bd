import { join, relative, resolve } from 'node:path';
import {
  type LongRunOptions,
  RunDir,
  readJsonFile,
  throwIfAborted,
  writeFileAtomic,
  writeJsonAtomic,
} from '@cbtm/core/node';
import type { CbtmConfig } from '../config/schema.js';
import { type PipelineResult, runPipeline } from '../run-pipeline.js';
import type { StageName, StageReport } from '../stages/stage.js';
import { shareStages } from './share-stages.js';
import {
  baseRunConfig,
  resolveSweepConfig,
  type SweepConfig,
  type SweepConfigInput,
} from './sweep-config.js';
import { renderSweepHtml, renderSweepSvg } from './sweep-figure.js';
import { SWEEP_LAYOUT, type SweepPoint, seedRunFor, sweepPoints } from './sweep-layout.js';
import {
  perplexitiesOf,
  type SweepPointResult,
  type SweepResults,
  type SweepSeed,
  trainingTiming,
} from './sweep-results.js';

/**
 * Options of {@link runSweep}.
 *
 * @example
 * ```ts
 * const opts: RunSweepOptions = { signal: ac.signal, log: console.error };
 * ```
 */
export interface RunSweepOptions extends LongRunOptions {
  /** Receives information lines (which grid point runs, stages reused...). @default ignore */
  readonly log?: (line: string) => void;
}

/**
 * What {@link runSweep} returns.
 *
 * @example
 * ```ts
 * const { results, report }: SweepRunResult = await runSweep(config);
 * ```
 */
export interface SweepRunResult {
  /** Absolute path of the sweep folder. */
  readonly out: string;
  readonly results: SweepResults;
  readonly resultsFile: string;
  readonly report: string;
  readonly figure: string;
  /** What each run's stages did in this call: the seed run first, then every grid point. */
  readonly runs: readonly { readonly name: string; readonly stages: readonly StageReport[] }[];
}

/** The stages of the seed run: everything the grid runs share, and the seed model. */
const SEED_RUN_STAGES: readonly StageName[] = ['embed', 'cluster', 'shard', 'tokenizer', 'seed'];
/** What a budget's own seed run takes from the first seed run (`sweep.seedRatio`). */
const FROM_FIRST_SEED_RUN: readonly StageName[] = ['embed', 'cluster', 'shard', 'tokenizer'];
/** What a grid run takes from the seed run (a k-independent config hash). */
const FROM_SEED_RUN: readonly StageName[] = ['embed', 'tokenizer'];
/** What a grid run takes from an earlier run with the same k. */
const FROM_SAME_K: readonly StageName[] = ['embed', 'cluster', 'shard', 'tokenizer', 'router'];

function pointConfig(
  base: CbtmConfig,
  point: SweepPoint,
  dir: string,
  seedModel: string | null,
  sweep: SweepConfig['sweep'],
): CbtmConfig {
  const seedTokens = seedTokensFor(base, sweep, point.tokens);
  return {
    ...base,
    out: dir,
    cluster: { ...base.cluster, k: point.k },
    train: { ...base.train, tokens: point.tokens, seedTokens, seedFrom: seedModel },
    // k = 1 is the dense model, so no grid run trains baselines of its own.
    baselines: { dense: false, random: false },
    eval: { ...base.eval, topK: sweep.topK ?? base.eval.topK },
  };
}

/** The seed size of a budget: `train.seedTokens`, or `sweep.seedRatio` × the budget. */
function seedTokensFor(base: CbtmConfig, sweep: SweepConfig['sweep'], tokens: number): number {
  return sweep.seedRatio === null
    ? base.train.seedTokens
    : Math.max(1, Math.round(sweep.seedRatio * tokens));
}

async function trainedTokens(dirs: readonly string[]): Promise<number> {
  const { readTrainState } = await import('@cbtm/train/node');
  let tokens = 0;
  for (const dir of dirs) tokens += (await readTrainState(dir).catch(() => null))?.tokens ?? 0;
  return tokens;
}

function stageReport(result: PipelineResult, name: StageName): StageReport | undefined {
  return result.stages.find((s) => s.name === name);
}

/**
 * Runs a c-BTM scaling sweep: one seed run (`<out>/seed/`, k = 1) that makes the embedding,
 * the tokenizer and the shared seed model, then one full run per grid point
 * (`<out>/k<k>-t<tokens>/`) that branches from that seed with `train.seedFrom`. k = 1 is the
 * dense model, so no run trains baselines. Each grid run starts from copies of the stages it
 * can share (embedding and tokenizer from the seed run; clusters, shards and router from the
 * previous run with the same k); the pipeline checks every copied stage's config hash and
 * checksums. Rerunning resumes: finished points are reused without training. Writes
 * `<out>/sweep-results.json`, `<out>/sweep-figure.svg` and `<out>/sweep-report.html` after
 * every grid point.
 *
 * @example
 * ```ts
 * import { runSweep } from '@cbtm/pipeline';
 * const { results, report } = await runSweep(
 *   { out: 'runs/sweep', sweep: { k: [1, 2, 4], tokens: [250_000, 1_000_000] } },
 *   { onProgress: (e) => console.log(e.stage, e.done, e.total), log: console.error },
 * );
 * console.log(results.points.map((p) => [p.k, p.tokens, p.perplexity.all]), report);
 * ```
 */
export async function runSweep(
  input: SweepConfigInput | SweepConfig,
  options: RunSweepOptions = {},
): Promise<SweepRunResult> {
  const config = resolveSweepConfig(input);
  const out = resolve(config.out);
  const base = baseRunConfig(config);
  const points = sweepPoints(config);
  const topK = config.sweep.topK ?? base.eval.topK;
  const log = options.log ?? (() => undefined);
  const run = {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    log,
  };
  // One seed run shared by every budget, or (sweep.seedRatio) one per budget, in budget order.
  const perBudget = config.sweep.seedRatio !== null;
  const budgets = [...new Set(points.map((p) => p.tokens))].sort((a, b) => a - b);
  const seedRunNames = perBudget ? budgets.map(seedRunFor) : [SWEEP_LAYOUT.seedRun];
  const total = points.length + seedRunNames.length;
  const progress = (status: 'start' | 'progress' | 'done', done: number, message: string) =>
    void options.onProgress?.({ stage: 'sweep', status, done, total, unit: 'runs', message });
  const resultsFile = join(out, SWEEP_LAYOUT.results);
  const figure = join(out, SWEEP_LAYOUT.figure);
  const report = join(out, SWEEP_LAYOUT.report);
  const earlier = await readJsonFile<SweepResults>(resultsFile).catch(() => null);

  progress('start', 0, `${seedRunNames.length} seed run(s) + ${points.length} grid points`);
  const runs: { name: string; stages: readonly StageReport[] }[] = [];
  /** Each budget's seed model and what it cost (one entry per budget, shared or not). */
  const seeds = new Map<number, { model: string | null; info: SweepSeed | null }>();
  for (const [i, name] of seedRunNames.entries()) {
    throwIfAborted(options.signal);
    const seedRunDir = join(out, name);
    const budget = perBudget ? budgets[i]! : null;
    const seedTokens =
      budget === null ? base.train.seedTokens : seedTokensFor(base, config.sweep, budget);
    if (i > 0) await shareStages(join(out, seedRunNames[0]!), seedRunDir, FROM_FIRST_SEED_RUN);
    log(
      `cbtm sweep: seed run → ${seedRunDir}${budget === null ? '' : ` (${seedTokens} tokens, for ${budget})`}`,
    );
    const seedRun = await runPipeline(
      {
        ...base,
        out: seedRunDir,
        cluster: { ...base.cluster, k: 1 },
        train: { ...base.train, seedTokens },
      },
      { ...run, stages: SEED_RUN_STAGES },
    );
    runs.push({ name, stages: seedRun.stages });
    const model = base.train.seedFrom ?? (seedTokens > 0 ? join(seedRunDir, 'seed') : null);
    const before =
      budget === null
        ? earlier?.seed?.training
        : earlier?.points.find((p) => p.tokens === budget && p.seed)?.seed?.training;
    const info: SweepSeed | null =
      model === null
        ? null
        : {
            dir: relative(out, model) || '.',
            tokens: (await trainedTokens([model])) || seedTokens,
            training:
              base.train.seedFrom !== null
                ? null
                : trainingTiming(
                    stageReport(seedRun, 'seed'),
                    await trainedTokens([model]),
                    (await RunDir.open(seedRunDir)).stage('seed')?.completedAt ?? null,
                    before,
                  ),
          };
    for (const t of budget === null ? budgets : [budget]) seeds.set(t, { model, info });
    progress('progress', i + 1, `${name} done`);
  }
  const seed = perBudget ? null : (seeds.get(budgets[0]!)?.info ?? null);
  const seedRunDir = join(out, seedRunNames[0]!);

  const done: SweepPointResult[] = [];
  let validation: SweepResults['validation'] = null;
  const donors = new Map<number, string>();
  const write = async (): Promise<SweepResults> => {
    const results: SweepResults = {
      format: 'cbtm-sweep-results',
      version: 1,
      createdAt: new Date().toISOString(),
      grid: { k: config.sweep.k, tokens: config.sweep.tokens, topK, plot: config.sweep.plot },
      seed,
      ...(perBudget ? { seedRatio: config.sweep.seedRatio } : {}),
      validation,
      points: done,
    };
    await writeJsonAtomic(resultsFile, results);
    await writeFileAtomic(figure, `${renderSweepSvg(results)}\n`);
    await writeFileAtomic(report, renderSweepHtml(results));
    return results;
  };

  for (const [i, point] of points.entries()) {
    throwIfAborted(options.signal);
    const dir = join(out, point.name);
    const donor = donors.get(point.k);
    const copied = await shareStages(
      donor ?? seedRunDir,
      dir,
      donor ? FROM_SAME_K : point.k === 1 ? [...FROM_SEED_RUN, 'cluster', 'shard'] : FROM_SEED_RUN,
    );
    log(
      `cbtm sweep: ${point.name} (${i + 1}/${points.length})${copied.length ? `, starting from ${copied.join(', ')} of ${relative(out, donor ?? seedRunDir)}` : ''}`,
    );
    const budgetSeed = seeds.get(point.tokens)!;
    const result = await runPipeline(
      pointConfig(base, point, dir, budgetSeed.model, config.sweep),
      run,
    );
    runs.push({ name: point.name, stages: result.stages });
    donors.set(point.k, dir);

    const experts = (stageReport(result, 'experts')?.info?.models as { name: string }[]) ?? [];
    const expertDirs = experts.map((m) => join(dir, 'experts', m.name.replace(/^expert-/, '')));
    const tokens = await trainedTokens(expertDirs);
    const manifest = await RunDir.open(dir);
    const previous = earlier?.points.find((p) => p.name === point.name);
    if (result.results) {
      const r = result.results;
      validation ??= {
        name: r.corpus.name,
        documents: r.corpus.documents,
        tokens: r.tokens,
        domains: r.corpus.domains,
      };
    }
    done.push({
      name: point.name,
      k: point.k,
      tokens: point.tokens,
      run: point.name,
      experts: experts.length,
      ...(result.results
        ? perplexitiesOf(result.results, topK, experts.length || point.k)
        : { perplexity: {}, perDomain: {} }),
      training: trainingTiming(
        stageReport(result, 'experts'),
        tokens,
        manifest.stage('experts')?.completedAt ?? null,
        previous?.training,
      ),
      ...(perBudget ? { seed: budgetSeed.info } : {}),
    });
    await write();
    progress('progress', i + 1 + seedRunNames.length, point.name);
  }
  const results = await write();
  progress('done', total, `${points.length} grid points`);
  return { out, results, resultsFile, report, figure, runs };
}
