import { access, rm } from 'node:fs/promises';
import { type LongRunOptions, RunDir, RunLayout, readJsonFile } from '@cbtm/core/node';
import { resolveConfig } from './config/load-config.js';
import type { CbtmConfig, CbtmConfigInput } from './config/schema.js';
import { checkCorpusPath, corpusFingerprint, corpusSource } from './corpus-source.js';
import type { EvalResults } from './results.js';
import { STAGES } from './stages/all-stages.js';
import {
  executeStage,
  type StageContext,
  type StageName,
  type StageReport,
} from './stages/stage.js';
import { runTrainingStages, TRAINING_STAGES } from './stages/training.js';

/**
 * Options of {@link runPipeline}.
 *
 * @example
 * ```ts
 * const opts: RunPipelineOptions = { stages: ['embed', 'cluster', 'shard'], log: console.error };
 * ```
 */
export interface RunPipelineOptions extends LongRunOptions {
  /** Run only these stages (in pipeline order); the others must be done already. @default every stage */
  readonly stages?: readonly StageName[];
  /** Receives information lines (stage reused, backend chosen...). @default ignore */
  readonly log?: (line: string) => void;
  /** The config file the config came from, for the first log line. */
  readonly configFile?: string;
}

/**
 * What {@link runPipeline} returns.
 *
 * @example
 * ```ts
 * const { runDir, results, report }: PipelineResult = await runPipeline({});
 * ```
 */
export interface PipelineResult {
  /** Absolute path of the run directory. */
  readonly runDir: string;
  /** The config the run used, defaults filled in. */
  readonly config: CbtmConfig;
  /** What each stage did in this call. */
  readonly stages: readonly StageReport[];
  /** `<run>/eval/results.json`, when the eval stage is done. */
  readonly results: EvalResults | null;
  /** `<run>/report.html`, when the report stage is done. */
  readonly report: string | null;
}

/**
 * Opens (or creates) the run directory named by `config.out` and writes the run config into its
 * manifest. Fails with `E_RUN_VERSION` on a run written by another format version.
 *
 * @example
 * ```ts
 * const run = await openRun(config);
 * ```
 */
export async function openRun(config: CbtmConfig): Promise<RunDir> {
  const run = await RunDir.openOrCreate(config.out, { config });
  await run.setConfig(config);
  return run;
}

/**
 * Opens (or creates) the run at `config.out` and runs `work` on it. When this call created the
 * folder and `work` fails before any stage finished, the folder is removed again, so a failed
 * first attempt (a bad record deep in the corpus) leaves no stub run behind. An interrupted
 * call keeps it, to resume.
 *
 * @example
 * ```ts
 * await withRun(config, (run) => runStages(ctx, ['embed', 'cluster', 'shard']));
 * ```
 */
export async function withRun<T>(
  config: CbtmConfig,
  work: (run: RunDir) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const created = await access(config.out).then(
    () => false,
    () => true,
  );
  const run = await openRun(config);
  try {
    return await work(run);
  } catch (err) {
    const interrupted = signal?.aborted || (err as { code?: unknown }).code === 'E_ABORTED';
    if (created && !interrupted && Object.keys(run.manifest.stages).length === 0)
      await rm(run.dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Checks that the training (and validation) corpus exists and holds documents, before any
 * work or any run directory is made.
 */
export async function checkCorpora(config: CbtmConfig): Promise<void> {
  const corpus = corpusSource(config);
  await checkCorpusPath(corpus.train, corpus.readOptions);
  if (corpus.valid !== null) await checkCorpusPath(corpus.valid, corpus.readOptions);
}

/**
 * Builds the context every stage runs with: the run, the corpus and its fingerprint.
 */
export async function stageContext(
  run: RunDir,
  config: CbtmConfig,
  options: RunPipelineOptions = {},
): Promise<StageContext> {
  const corpus = corpusSource(config);
  return {
    run,
    config,
    corpus,
    corpusFingerprint: corpus.demo ? 'demo' : await corpusFingerprint(corpus.train),
    validFingerprint:
      config.corpus.valid === null ? null : await corpusFingerprint(config.corpus.valid),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    log: options.log ?? (() => undefined),
    expected: new Map(),
  };
}

/**
 * Runs stages of the pipeline, in order, on a context (see {@link runPipeline}).
 */
export async function runStages(
  ctx: StageContext,
  names: readonly StageName[],
): Promise<StageReport[]> {
  const reports: StageReport[] = [];
  const training = STAGES.filter((d) => TRAINING_STAGES.includes(d.name) && names.includes(d.name));
  for (const def of STAGES) {
    if (!names.includes(def.name)) continue;
    if (TRAINING_STAGES.includes(def.name)) {
      // The models train together in one worker pool, so the baselines overlap the experts.
      if (def !== training[0]) continue;
      reports.push(...(await runTrainingStages(ctx, training)));
      continue;
    }
    reports.push(await executeStage(def, ctx));
  }
  return reports;
}

/**
 * Runs the whole c-BTM pipeline: embed, cluster, shard, tokenizer, seed, experts, dense,
 * random, router, eval, report. Stages already done with the same config are reused; an
 * interrupted stage resumes from what is on disk. Cancel with `signal`; rerun to resume.
 *
 * @example
 * ```ts
 * import { runPipeline } from '@cbtm/pipeline';
 * const ac = new AbortController();
 * const result = await runPipeline({ out: 'runs/demo', cluster: { k: 4 } }, {
 *   signal: ac.signal,
 *   onProgress: (e) => console.log(e.stage, e.task ?? '', e.done, e.total),
 * });
 * console.log(result.results?.methods.map((m) => [m.name, m.perplexity]));
 * ```
 */
export async function runPipeline(
  config: CbtmConfigInput | CbtmConfig,
  options: RunPipelineOptions = {},
): Promise<PipelineResult> {
  const resolved = resolveConfig(config);
  await checkCorpora(resolved);
  return withRun(
    resolved,
    async (run) => {
      options.log?.(
        `cbtm run: ${resolved.corpus.train ?? 'the demo corpus'} → ${run.dir} (k = ${resolved.cluster.k}${options.configFile ? `, config ${options.configFile}` : ''})`,
      );
      const ctx = await stageContext(run, resolved, options);
      const names = options.stages ?? STAGES.map((s) => s.name);
      const stages = await runStages(ctx, names);
      return pipelineResult(run, resolved, stages);
    },
    options.signal,
  );
}

async function pipelineResult(
  run: RunDir,
  resolved: CbtmConfig,
  stages: readonly StageReport[],
): Promise<PipelineResult> {
  const layout = new RunLayout(run.dir);
  const results = run.stageDone('eval')
    ? await readJsonFile<EvalResults>(layout.evalResults)
    : null;
  return {
    runDir: run.dir,
    config: resolved,
    stages,
    results,
    report: run.stageDone('report') ? layout.report : null,
  };
}
