import {
  CbtmError,
  type Document,
  pathExists,
  RunLayout,
  readJsonFile,
  writeJsonAtomic,
} from '@cbtm/core/node';
import type { EvalMethod } from '@cbtm/ensemble';
import type { LoadedRun } from '@cbtm/ensemble/node';
import type { CbtmConfig, TopK } from '../config/schema.js';
import { modelChecksums } from '../model-files.js';
import { type ClusterQuality, type EvalResults, methodLabel } from '../results.js';
import type { ClusterMetricsFile } from './cluster-files.js';
import type { StageContext, StageDefinition } from './stage.js';

/** The settings an evaluation depends on (what `cbtm eval` flags may change). */
export interface EvalSettings {
  readonly topK: readonly TopK[];
  readonly temperature: number;
  readonly maxDocs: number | null;
  readonly maxTokensPerDoc: number | null;
}

/**
 * The methods to score, in table order: dense, c-BTM at each top-k (top-k ≥ k is "all"),
 * random clusters.
 */
export function evalMethods(
  settings: EvalSettings,
  k: number,
  has: { dense: boolean; random: boolean },
): EvalMethod[] {
  const methods: EvalMethod[] = [];
  if (has.dense) methods.push({ kind: 'dense', name: 'dense' });
  const tops = [...new Set(settings.topK.map((t) => (t === 'all' || t >= k ? 'all' : t)))].sort(
    (a, b) => (a === 'all' ? 1 : b === 'all' ? -1 : a - b),
  );
  for (const t of tops) {
    methods.push(
      t === 'all'
        ? { kind: 'cbtm', name: 'cbtm-all', temperature: settings.temperature }
        : { kind: 'cbtm', name: `cbtm-top${t}`, topK: t, temperature: settings.temperature },
    );
  }
  if (has.random)
    methods.push({ kind: 'random', name: 'random', temperature: settings.temperature });
  return methods;
}

/** Cluster sizes, purity and NMI from `<run>/clusters/metrics.json`, if present. */
export async function clusterQuality(
  ctx: Pick<StageContext, 'run'>,
): Promise<ClusterQuality | null> {
  const file = new RunLayout(ctx.run.dir).clusters('metrics.json');
  if (!(await pathExists(file))) return null;
  const m = await readJsonFile<ClusterMetricsFile>(file);
  return { k: m.k, sizes: m.sizes, purity: m.purity ?? null, nmi: m.nmi ?? null };
}

async function* capped(
  docs: AsyncIterable<Document>,
  max: number | null,
): AsyncGenerator<Document> {
  let n = 0;
  for await (const doc of docs) {
    if (max !== null && n >= max) return;
    n += 1;
    yield doc;
  }
}

/**
 * Throws `E_MODEL` when a method's perplexity is not a finite number: a model that gives NaN or
 * infinite log-probabilities (e.g. weights holding NaN) is broken, not a huge win.
 *
 * @example
 * ```ts
 * assertFinitePerplexities(results); // after scoring, before printing or saving
 * ```
 */
export function assertFinitePerplexities(
  results: Pick<EvalResults, 'methods' | 'corpus'>,
  runDir: string,
): void {
  const bad = Object.entries(results.methods).filter(
    ([, m]) => typeof m.perplexity !== 'number' || !Number.isFinite(m.perplexity),
  );
  if (bad.length === 0) return;
  const list = bad.map(([name, m]) => `${methodLabel(name)} ${m.perplexity ?? 'NaN'}`).join(', ');
  throw new CbtmError(
    'E_MODEL',
    `Perplexity is not a finite number (${list}) on ${results.corpus.name ?? 'the corpus'}: a model gives NaN or infinite log-probabilities, e.g. weights holding NaN after a diverged or damaged training. Retrain the models these methods use (\`cbtm train --run ${runDir}\`, with a lower train.learningRate if training diverged).`,
  );
}

/**
 * Scores the validation corpus with every method through `@cbtm/ensemble`, and returns the
 * results with the cluster quality attached. `extend` may add methods scored in the same pass
 * (`cbtm eval --mixing`), given the loaded run and the run's own methods.
 */
export async function evaluateRun(
  ctx: StageContext,
  settings: EvalSettings,
  corpus: { readonly docs: AsyncIterable<Document>; readonly name: string },
  extend?: (loaded: LoadedRun, methods: EvalMethod[]) => Promise<EvalMethod[]>,
): Promise<EvalResults> {
  const { run, config } = ctx;
  const started = Date.now();
  const [{ evaluate, scorersFor }, { loadRun }] = await Promise.all([
    import('@cbtm/ensemble'),
    import('@cbtm/ensemble/node'),
  ]);
  const loaded = await loadRun(run.dir, { backend: config.train.backend, log: ctx.log });
  let results: Awaited<ReturnType<typeof evaluate>>;
  try {
    // Baselines turned off in the config are left out even when their models are on disk.
    const base = evalMethods(settings, loaded.cbtm.k, {
      dense: config.baselines.dense && loaded.dense !== undefined,
      random: config.baselines.random && loaded.random !== undefined,
    });
    const methods = extend ? await extend(loaded, base) : base;
    results = await evaluate(scorersFor(loaded, methods), capped(corpus.docs, settings.maxDocs), {
      backend: loaded.backend,
      corpusName: corpus.name,
      ...(settings.maxTokensPerDoc !== null
        ? { maxTokensPerDocument: settings.maxTokensPerDoc }
        : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
    });
  } finally {
    await loaded.dispose();
  }
  assertFinitePerplexities(results, run.dir);
  ctx.log(
    `eval: ${results.corpus.documents} documents, ${results.tokens} tokens in ${((Date.now() - started) / 1000).toFixed(1)}s.`,
  );
  return { ...results, temperature: settings.temperature, clusters: await clusterQuality(ctx) };
}

/** The eval settings of a config. */
export function evalSettings(config: CbtmConfig): EvalSettings {
  const { topK, temperature, maxDocs, maxTokensPerDoc } = config.eval;
  return { topK, temperature, maxDocs, maxTokensPerDoc };
}

/** Perplexity of every method on the validation corpus: `<run>/eval/results.json`. */
export const evalStage: StageDefinition = {
  name: 'eval',
  inputs: ['embed', 'shard', 'tokenizer', 'experts', 'dense', 'random', 'router'],
  paths: ['eval/results.json'],
  enabled: () => true,
  stageConfig: ({ run, config, corpus, validFingerprint }) => ({
    eval: evalSettings(config),
    valid: corpus.validLabel,
    validFiles: validFingerprint,
    fields: [config.corpus.textField, config.corpus.idField],
    // A model retrained with the same settings has new weights: score it again.
    models: modelChecksums(run),
  }),
  async execute(ctx) {
    const results = await evaluateRun(ctx, evalSettings(ctx.config), {
      docs: ctx.corpus.validDocs(),
      name: ctx.corpus.validLabel,
    });
    await writeJsonAtomic(new RunLayout(ctx.run.dir).evalResults, results);
    return {
      outputs: ['eval/results.json'],
      info: { documents: results.corpus.documents, tokens: results.tokens },
    };
  },
};
