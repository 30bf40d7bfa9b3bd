import { relative, resolve } from 'node:path';
import type { CommandContext } from '../cli.js';
import { runSweep } from '../sweep/run-sweep.js';
import { loadSweepConfig, resolveSweepConfig } from '../sweep/sweep-config.js';
import { topKLabel } from '../sweep/sweep-results.js';
import { rendererFor } from './shared.js';

/** Flags of `cbtm sweep`. */
export interface SweepCommandOptions {
  readonly config: string;
  readonly corpus?: string;
  readonly valid?: string;
  readonly out?: string;
}

function cell(n: number | null | undefined, digits: number): string {
  return n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);
}

/** `cbtm sweep`: the seed run, every grid point, then the results table on stdout. */
export async function sweepCommand(opts: SweepCommandOptions, ctx: CommandContext): Promise<void> {
  const loaded = await loadSweepConfig(opts.config, ctx.cwd);
  const at = (p: string) => resolve(ctx.cwd, p);
  // Flag paths resolve against the working folder, like `cbtm run`'s.
  const config = resolveSweepConfig({
    ...loaded,
    ...(opts.out ? { out: at(opts.out) } : {}),
    corpus: {
      ...loaded.corpus,
      ...(opts.corpus ? { train: at(opts.corpus) } : {}),
      ...(opts.valid ? { valid: at(opts.valid) } : {}),
    },
  });
  const renderer = rendererFor(ctx);
  const started = Date.now();
  let result: Awaited<ReturnType<typeof runSweep>>;
  try {
    result = await runSweep(config, {
      signal: ctx.signal,
      onProgress: renderer.onProgress,
      log: renderer.log,
    });
  } finally {
    renderer.stop();
  }
  const ran = result.runs.filter((r) => r.stages.some((s) => s.status === 'ran')).length;
  ctx.stderr.write(
    `Sweep: ${result.runs.length} runs (${ran} did work). Total ${((Date.now() - started) / 1000).toFixed(1)}s.\n`,
  );
  const key = topKLabel(result.results.grid.plot);
  const lines = [
    `Validation perplexity, c-BTM ${key} (k = 1 is dense):`,
    `  ${'k'.padStart(4)}  ${'tokens'.padStart(10)}  ${'perplexity'.padStart(10)}  ${'train s'.padStart(8)}  ${'tokens/s'.padStart(9)}`,
    ...result.results.points.map(
      (p) =>
        `  ${String(p.k).padStart(4)}  ${String(p.tokens).padStart(10)}  ${cell(p.perplexity[key], 2).padStart(10)}  ${cell(p.training.seconds, 1).padStart(8)}  ${cell(p.training.tokensPerSecond, 0).padStart(9)}`,
    ),
    '',
    `Results: ${relative(ctx.cwd, result.resultsFile) || result.resultsFile}`,
    `Report:  ${relative(ctx.cwd, result.report) || result.report}`,
  ];
  ctx.stdout.write(`${lines.join('\n')}\n`);
}
