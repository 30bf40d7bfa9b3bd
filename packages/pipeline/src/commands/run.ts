import { resolve } from 'node:path';
import { InvalidArgumentError } from '@cbtm/core';
import type { CommandContext } from '../cli.js';
import { loadConfig } from '../config/load-config.js';
import { formatResultsTable } from '../results.js';
import { runPipeline } from '../run-pipeline.js';
import { overridesFrom, rendererFor, summarizeStages } from './shared.js';

/** Flags of `cbtm run`. */
export interface RunCommandOptions {
  readonly config?: string;
  readonly corpus?: string;
  readonly valid?: string;
  readonly k?: number | string;
  readonly balanceSlack?: number | string;
  readonly out?: string;
  readonly tokens?: number | string;
  readonly workers?: number | string;
  readonly backend?: string;
  readonly seed?: number | string;
  readonly skipInvalid?: boolean;
  readonly seedFromHf?: string;
}

/** `cbtm run`: every stage, then the results table on stdout. */
export async function runCommand(opts: RunCommandOptions, ctx: CommandContext): Promise<void> {
  if (opts.seedFromHf !== undefined) {
    const dir = resolve(ctx.cwd, opts.seedFromHf);
    const { isHfCheckpoint } = await import('@cbtm/train/node');
    if (!isHfCheckpoint(dir)) {
      throw new InvalidArgumentError(
        `--seed-from-hf ${dir} is not a Hugging Face checkpoint folder: it needs config.json and model.safetensors (and tokenizer.json).`,
      );
    }
  }
  const { config, file } = await loadConfig({
    ...(opts.config ? { file: opts.config } : {}),
    cwd: ctx.cwd,
    overrides: overridesFrom(opts, [
      'corpus',
      'valid',
      'k',
      'balanceSlack',
      'out',
      'tokens',
      'workers',
      'backend',
      'seed',
      'skipInvalid',
      'seedFromHf',
    ]),
  });
  const renderer = rendererFor(ctx);
  const started = Date.now();
  let result: Awaited<ReturnType<typeof runPipeline>>;
  try {
    result = await runPipeline(config, {
      signal: ctx.signal,
      onProgress: renderer.onProgress,
      log: renderer.log,
      ...(file ? { configFile: file } : {}),
    });
  } finally {
    renderer.stop();
  }
  ctx.stderr.write(
    `Stages: ${summarizeStages(result.stages)}. Total ${((Date.now() - started) / 1000).toFixed(1)}s.\n`,
  );
  if (result.results)
    ctx.stdout.write(`\n${formatResultsTable(result.results, { report: result.report })}`);
  else if (result.report) ctx.stdout.write(`Report: ${result.report}\n`);
}
