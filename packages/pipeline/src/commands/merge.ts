import { resolve } from 'node:path';
import { CbtmError, type Document, InvalidArgumentError } from '@cbtm/core';
import { RunLayout, readCorpus } from '@cbtm/core/node';
import type { CommandContext } from '../cli.js';
import { verifyModelFiles } from '../model-files.js';
import { formatResultsTable } from '../results.js';
import { stageContext } from '../run-pipeline.js';
import { openExistingRun, rendererFor } from './shared.js';

/** How `cbtm merge` weights the experts. */
export type MergeWeights = 'uniform' | 'posterior';

/** Flags of `cbtm merge`. */
export interface MergeCommandOptions {
  readonly run: string;
  readonly out: string;
  readonly weights?: string;
  readonly corpus?: string;
  readonly maxDocs?: number;
  readonly eval?: boolean;
  readonly json?: boolean;
}

async function* capped(docs: AsyncIterable<Document>, max: number | null) {
  let n = 0;
  for await (const d of docs) {
    if (max !== null && n >= max) return;
    n += 1;
    yield d;
  }
}

/**
 * `cbtm merge --run DIR --out MODEL [--weights uniform|posterior --corpus C] [--eval]`: averages
 * the parameters of the run's experts (those not removed) into one dense model, BTM's merge:
 * uniformly, or weighted by the posterior p(j | C), the mean over C's first documents of each
 * document's posterior over experts. Writes a new model folder (`model.json`, weights,
 * `tokenizer.json`, `cbtm-merge.json`) that `GptModel.load` reads and `train.seedFrom` can
 * branch from; it never replaces a folder that merge did not make, and never writes into the
 * run directory, inside it, or its parents. `--eval` scores the merged model next to c-BTM and
 * dense on the run's validation corpus, with the run's eval settings.
 *
 * @example
 * ```ts
 * await mergeCommand({ run: 'runs/demo', out: 'models/demo-uniform', eval: true }, ctx);
 * ```
 */
export async function mergeCommand(opts: MergeCommandOptions, ctx: CommandContext): Promise<void> {
  const weights = (opts.weights ?? 'uniform') as MergeWeights;
  if (weights !== 'uniform' && weights !== 'posterior') {
    throw new InvalidArgumentError(
      `--weights must be "uniform" or "posterior", got "${opts.weights}".`,
    );
  }
  if (weights === 'posterior' && opts.corpus === undefined) {
    throw new InvalidArgumentError(
      '--weights posterior needs --corpus C: the experts are weighted by their likelihood of its documents.',
    );
  }
  if (weights === 'uniform' && opts.corpus !== undefined) {
    throw new InvalidArgumentError('--corpus is only used with --weights posterior.');
  }
  const { run, config } = await openExistingRun(opts.run, ctx);
  if (!run.stageDone('experts')) {
    throw new CbtmError(
      'E_STAGE_MISSING',
      `${run.dir} has no trained experts yet. Run \`cbtm train --run ${run.dir}\` (or cbtm run) first.`,
    );
  }
  await verifyModelFiles(run);
  const out = resolve(ctx.cwd, opts.out);
  const layout = new RunLayout(run.dir);
  const [{ loadRun }, train, ensemble] = await Promise.all([
    import('@cbtm/ensemble/node'),
    import('@cbtm/train/node'),
    import('@cbtm/ensemble'),
  ]);
  const loaded = await loadRun(run.dir, {
    backend: config.train.backend,
    log: (line) => ctx.stderr.write(`${line}\n`),
  });
  const renderer = rendererFor(ctx);
  try {
    const experts = loaded.cbtm.activeExperts();
    let coefficients = experts.map(() => 1);
    let corpus: { path: string; documents: number } | undefined;
    if (weights === 'posterior') {
      const path = resolve(ctx.cwd, opts.corpus!);
      const maxDocuments = opts.maxDocs ?? ensemble.defaultEstimatePriorOptions.maxDocuments;
      const prior = await loaded.cbtm.estimatePrior(readCorpus(path), {
        maxDocuments,
        signal: ctx.signal,
      });
      coefficients = experts.map((j) => prior[j]!);
      corpus = { path, documents: maxDocuments };
    }
    const merged = await train.mergeModelFolders({
      sources: experts.map((j) => ({ dir: layout.expert(j), tokenizer: layout.tokenizer })),
      coefficients,
      out,
      protect: [run.dir],
      describe: { run: run.dir, experts, weights, ...(corpus ? { corpus } : {}) },
    });
    ctx.stderr.write(
      `Merged ${experts.length} experts (${weights}) into ${merged.out}: ${experts
        .map((j, i) => `expert ${j} × ${merged.coefficients[i]!.toFixed(4)}`)
        .join(', ')}.\n`,
    );
    if (!opts.eval) {
      ctx.stdout.write(`${merged.out}\n`);
      return;
    }
    // The merged model is one more single-model ensemble over the run's tokenizer, so it is
    // scored by the same code, on the same documents and tokens, as c-BTM and dense.
    const { cbtm } = loaded;
    const single = new ensemble.Ensemble({
      tokenizer: cbtm.tokenizer,
      embedder: cbtm.embedder,
      experts: new ensemble.ExpertPool(1, () => train.GptModel.load(merged.out), { maxLoaded: 1 }),
      router: new ensemble.UniformRouting(1, cbtm.embedder.dimension),
    });
    const sctx = await stageContext(run, config, { signal: ctx.signal });
    const scorers = [
      ...(loaded.dense ? [{ ensemble: loaded.dense, method: { kind: 'dense' as const } }] : []),
      {
        ensemble: cbtm,
        method: { kind: 'cbtm' as const, temperature: config.eval.temperature, name: 'cbtm-all' },
      },
      { ensemble: single, method: { kind: 'dense' as const, name: `merged-${weights}` } },
    ];
    const results = await ensemble
      .evaluate(scorers, capped(sctx.corpus.validDocs(), config.eval.maxDocs), {
        backend: loaded.backend,
        corpusName: sctx.corpus.validLabel,
        ...(config.eval.maxTokensPerDoc !== null
          ? { maxTokensPerDocument: config.eval.maxTokensPerDoc }
          : {}),
        signal: ctx.signal,
        onProgress: renderer.onProgress,
      })
      .finally(() => single.dispose());
    renderer.stop();
    if (opts.json)
      ctx.stdout.write(
        `${JSON.stringify({ out: merged.out, coefficients: merged.coefficients, experts, results }, null, 2)}\n`,
      );
    else
      ctx.stdout.write(
        formatResultsTable({ ...results, temperature: config.eval.temperature, clusters: null }),
      );
  } finally {
    renderer.stop();
    await loaded.dispose();
  }
}
