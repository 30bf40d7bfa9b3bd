import { join, relative, resolve } from 'node:path';
import {
  type LongRunOptions,
  RunDir,
  readJsonFile,
  throwIfAborted,
  writeFileAtomic,
  writeJsonAtomic,
} from '@cbtm/core';
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
import { SWEEP_LAYOUT, type SweepPoint, sweepPoints } from './sweep-layout.js';
import {
  perplexitiesOf,
  type SweepPointResult,
  type SweepResults,
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
  return {
    ...base,
    out: dir,
    cluster: { ...base.cluster, k: point.k },
    train: { ...base.train, tokens: point.tokens, seedFrom: seedModel },
    // k = 1 is the dense model, so no grid run trains baselines of its own.
    baselines: { dense: false, random: false },
    eval: { ...base.eval, topK: sweep.topK ?? base.eval.topK },
  };
}

async function trainedTokens(dirs: readonly string[]): Promise<number> {
  const { readTrainState } = await import('@cbtm/train');
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
  const total = points.length + 1;
  const progress = (status: 'start' | 'progress' | 'done', done: number, message: string) =>
    void options.onProgress?.({ stage: 'sweep', status, done, total, unit: 'runs', message });
  const resultsFile = join(out, SWEEP_LAYOUT.results);
  const figure = join(out, SWEEP_LAYOUT.figure);
  const report = join(out, SWEEP_LAYOUT.report);
  const earlier = await readJsonFile<SweepResults>(resultsFile).catch(() => null);

  progress('start', 0, `seed run + ${points.length} grid points`);
  const seedRunDir = join(out, SWEEP_LAYOUT.seedRun);
  log(`cbtm sweep: seed run → ${seedRunDir}`);
  const seedRun = await runPipeline(
    { ...base, out: seedRunDir, cluster: { ...base.cluster, k: 1 } },
    { ...run, stages: SEED_RUN_STAGES },
  );
  const seedModel =
    base.train.seedFrom ?? (base.train.seedTokens > 0 ? join(seedRunDir, 'seed') : null);
  const seed: SweepResults['seed'] =
    seedModel === null
      ? null
      : {
          dir: relative(out, seedModel) || '.',
          tokens: (await trainedTokens([seedModel])) || base.train.seedTokens,
          training:
            base.train.seedFrom !== null
              ? null
              : trainingTiming(
                  stageReport(seedRun, 'seed'),
                  await trainedTokens([seedModel]),
                  (await RunDir.open(seedRunDir)).stage('seed')?.completedAt ?? null,
                  earlier?.seed?.training,
                ),
        };
  progress('progress', 1, 'seed run done');

  const runs: { name: string; stages: readonly StageReport[] }[] = [
    { name: SWEEP_LAYOUT.seedRun, stages: seedRun.stages },
  ];
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
    const result = await runPipeline(pointConfig(base, point, dir, seedModel, config.sweep), run);
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
    });
    await write();
    progress('progress', i + 2, point.name);
  }
  const results = await write();
  progress('done', total, `${points.length} grid points`);
  return { out, results, resultsFile, report, figure, runs };
}
