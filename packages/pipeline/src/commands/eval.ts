import {
  CbtmError,
  hashConfig,
  RunLayout,
  readCorpus,
  readJsonFile,
  writeJsonAtomic,
} from '@cbtm/core/node';
import type { CommandContext } from '../cli.js';
import type { TopK } from '../config/schema.js';
import { corpusFingerprint } from '../corpus-source.js';
import { modelChecksums, verifyModelFiles } from '../model-files.js';
import { formatResultsTable } from '../results.js';
import { runStages, stageContext } from '../run-pipeline.js';
import { assertFinitePerplexities, evalSettings, evaluateRun } from '../stages/eval.js';
import { evaluateWithMixing } from './eval-mixing.js';
import { type MixingFlags, resolveMixingFlags } from './mixing-flags.js';
import { openExistingRun, overridesFrom, rendererFor } from './shared.js';

/** Flags of `cbtm eval`. */
export interface EvalCommandOptions extends MixingFlags {
  readonly run: string;
  readonly corpus?: string;
  /** Parsed by the CLI (`parseTopKList`). */
  readonly topK?: readonly TopK[];
  readonly temperature?: number | string;
  readonly json?: boolean;
}

/**
 * `cbtm eval`: the run's results when they match the flags (the numbers `cbtm run` printed),
 * otherwise a fresh evaluation, cached in `<run>/eval/results-<hash>.json` under a hash of the
 * settings and the checksums of the models and corpus it read. The models are checked against
 * the manifest's checksums first. `--mixing cached-prior|updating-prior` adds, beside each c-BTM
 * method, the same top-k under BTM's mixing rule.
 */
export async function evalCommand(opts: EvalCommandOptions, ctx: CommandContext): Promise<void> {
  const overrides = overridesFrom(opts, ['temperature']);
  if (opts.topK !== undefined)
    overrides.push({ path: ['eval', 'topK'], value: opts.topK, flag: '--top-k' });
  if (opts.corpus !== undefined)
    overrides.push({ path: ['corpus', 'valid'], value: opts.corpus, flag: '--corpus' });
  const { run, config } = await openExistingRun(opts.run, ctx, overrides);
  const renderer = rendererFor(ctx);
  let results: Awaited<ReturnType<typeof evaluateRun>>;
  try {
    const sctx = await stageContext(run, config, {
      signal: ctx.signal,
      onProgress: renderer.onProgress,
      log: renderer.log,
    });
    if (!run.stageDone('experts')) {
      throw new CbtmError(
        'E_STAGE_MISSING',
        `${run.dir} has no trained experts yet. Run \`cbtm train --run ${run.dir}\` (or cbtm run) first.`,
      );
    }
    await runStages(sctx, ['router']);
    await verifyModelFiles(run);
    const settings = evalSettings(config);
    const mixing = resolveMixingFlags(opts, ctx, sctx);
    // Same settings and corpus as the run's own eval: reuse its stage (run it if missing).
    const sameAsRun =
      opts.topK === undefined &&
      opts.temperature === undefined &&
      opts.corpus === undefined &&
      mixing.rule === 'distance';
    if (sameAsRun) {
      await runStages(sctx, ['eval']);
      results = await readJsonFile(new RunLayout(run.dir).evalResults);
    } else {
      const label = opts.corpus ?? sctx.corpus.validLabel;
      const { corpus } = sctx;
      // Keyed on the contents of everything the evaluation reads, so a retrained expert or an
      // edited corpus is scored again instead of answered from the cache.
      const key = hashConfig({
        settings,
        label,
        models: modelChecksums(run),
        corpus: await corpusFingerprint(corpus.valid ?? corpus.train),
        read: { ...corpus.readOptions, holdout: corpus.holdout, seed: config.seed },
        // Only with a BTM mixing rule, so the keys of earlier results stay valid.
        ...(mixing.rule !== 'distance'
          ? {
              mixing: mixing.rule,
              prior: mixing.prior
                ? {
                    docs: mixing.maxDocuments,
                    corpus: mixing.prior.path
                      ? await corpusFingerprint(mixing.prior.path)
                      : 'valid',
                  }
                : null,
            }
          : {}),
      }).slice(0, 12);
      const cache = new RunLayout(run.dir).path('eval', `results-${key}.json`);
      results = await readJsonFile<typeof results>(cache).catch(async () => {
        const docs = opts.corpus
          ? readCorpus(sctx.corpus.valid!, sctx.corpus.readOptions)
          : sctx.corpus.validDocs();
        const fresh =
          mixing.rule === 'distance'
            ? await evaluateRun(sctx, settings, { docs, name: label })
            : await evaluateWithMixing(sctx, settings, { docs, name: label }, mixing);
        await writeJsonAtomic(cache, fresh);
        return fresh;
      });
    }
  } finally {
    renderer.stop();
  }
  // Also for results saved before this check existed (JSON keeps NaN as null).
  assertFinitePerplexities(results, run.dir);
  if (opts.json) ctx.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else
    ctx.stdout.write(
      formatResultsTable(results, {
        report: run.stageDone('report') ? new RunLayout(run.dir).report : null,
      }),
    );
}
