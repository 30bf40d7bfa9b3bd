import { CbtmError } from '@cbtm/core';
import type { CommandContext } from '../cli.js';
import type { TopK } from '../config/schema.js';
import { verifyModelFiles } from '../model-files.js';
import { runStages, stageContext } from '../run-pipeline.js';
import { expertLimit } from '../top-k-flag.js';
import { describePrior, type MixingFlags, resolveMixingFlags } from './mixing-flags.js';
import { openExistingRun, overridesFrom } from './shared.js';

/** Flags of `cbtm generate`. */
export interface GenerateCommandOptions extends MixingFlags {
  readonly run: string;
  readonly prompt: string;
  readonly maxTokens: number;
  readonly seed: number;
  /** Parsed by the CLI (`parseTopK`). */
  readonly topK?: TopK;
  readonly temperature?: number | string;
}

/**
 * `cbtm generate`: streams tokens to stdout; the experts used (and their weights) go to stderr.
 * `--mixing` picks c-BTM's distance weights or BTM's cached or updating prior.
 */
export async function generateCommand(
  opts: GenerateCommandOptions,
  ctx: CommandContext,
): Promise<void> {
  const { run, config } = await openExistingRun(
    opts.run,
    ctx,
    overridesFrom(opts, ['temperature']),
  );
  if (!run.stageDone('experts')) {
    throw new CbtmError(
      'E_STAGE_MISSING',
      `${run.dir} has no trained experts yet. Run \`cbtm train --run ${run.dir}\` (or cbtm run) first.`,
    );
  }
  const sctx = await stageContext(run, config, { signal: ctx.signal });
  await runStages(sctx, ['router']);
  const mixing = resolveMixingFlags(opts, ctx, sctx);
  await verifyModelFiles(run);
  const topK = expertLimit(opts.topK);
  const { loadRun } = await import('@cbtm/ensemble/node');
  const loaded = await loadRun(run.dir, {
    backend: config.train.backend,
    // The updating prior runs every expert at every step: keep them all loaded.
    ...(mixing.rule === 'updating-prior' ? { maxLoadedExperts: Number.MAX_SAFE_INTEGER } : {}),
    log: (line) => ctx.stderr.write(`${line}\n`),
  });
  const ensemble = loaded.cbtm;
  let prior: Float64Array | undefined;
  if (mixing.prior) {
    prior = await ensemble
      .estimatePrior(mixing.prior.docs(), { maxDocuments: mixing.maxDocuments, signal: ctx.signal })
      .catch(async (err: unknown) => {
        await loaded.dispose();
        throw err;
      });
    ctx.stderr.write(`${describePrior(mixing, prior)}\n`);
  }
  const usage = new Map<number, { tokens: number; weight: number }>();
  let tokens = 0;
  ctx.stdout.write(opts.prompt);
  try {
    for await (const piece of ensemble.generate(opts.prompt, {
      maxTokens: opts.maxTokens,
      seed: opts.seed,
      routing: { temperature: config.eval.temperature, ...(topK !== undefined ? { topK } : {}) },
      mixing: mixing.rule,
      ...(prior ? { prior } : {}),
      signal: ctx.signal,
    })) {
      ctx.stdout.write(piece.token);
      tokens += 1;
      piece.experts.forEach((j, i) => {
        const u = usage.get(j) ?? { tokens: 0, weight: 0 };
        u.tokens += 1;
        u.weight += piece.weights[i]!;
        usage.set(j, u);
      });
    }
  } finally {
    await loaded.dispose();
  }
  ctx.stdout.write('\n');
  const used = [...usage.entries()]
    .sort((a, b) => b[1].weight - a[1].weight)
    .map(
      ([j, u]) =>
        `expert ${j} (mean weight ${(u.weight / Math.max(1, tokens)).toFixed(2)}, in ${u.tokens}/${tokens} steps)`,
    );
  ctx.stderr.write(`experts used: ${used.length ? used.join(', ') : 'none (nothing generated)'}\n`);
}
