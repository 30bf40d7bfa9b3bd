import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { CbtmError, InvalidArgumentError } from '@cbtm/core';
import { RunDir, RunLayout } from '@cbtm/core/node';
import type { CommandContext } from '../cli.js';
import { verifyModelFiles } from '../model-files.js';

/** Flags of `cbtm export-hf`. */
export interface ExportHfCommandOptions {
  readonly run: string;
  readonly out: string;
  readonly expert?: number;
  readonly dense?: boolean;
  readonly seed?: boolean;
}

/**
 * `cbtm export-hf --run DIR (--expert J | --dense | --seed) --out DIR`: writes one model of a
 * run as a Hugging Face GPT-2 causal LM (config.json, tokenizer files, model.safetensors and
 * onnx/model.onnx) that transformers.js loads from local files and Python transformers loads
 * from the safetensors file. The model files are checked against the run's manifest first. The
 * output folder must be new, empty, or an earlier export, and outside the run directory (files
 * there would change the run's checksums).
 *
 * @example
 * ```ts
 * await exportHfCommand({ run: 'runs/demo', expert: 0, out: 'exports/expert-0' }, ctx);
 * ```
 */
export async function exportHfCommand(
  opts: ExportHfCommandOptions,
  ctx: CommandContext,
): Promise<void> {
  const chosen = [opts.expert !== undefined, opts.dense === true, opts.seed === true].filter(
    Boolean,
  ).length;
  if (chosen !== 1) {
    throw new InvalidArgumentError(
      'Give exactly one model to export: --expert J, --dense or --seed.',
    );
  }
  const run = await RunDir.open(resolve(ctx.cwd, opts.run));
  const out = resolve(ctx.cwd, opts.out);
  const rel = relative(run.dir, out);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new InvalidArgumentError(
      `--out ${out} is inside the run directory ${run.dir}; choose a folder outside it (files there would change the run's checksums).`,
    );
  }
  const layout = new RunLayout(run.dir);
  const [stage, modelDir, label] =
    opts.expert !== undefined
      ? (['experts', layout.expert(opts.expert), `expert ${opts.expert}`] as const)
      : opts.dense
        ? (['dense', layout.dense, 'the dense baseline'] as const)
        : (['seed', layout.seed, 'the seed model'] as const);
  if (!run.stageDone(stage)) {
    throw new CbtmError(
      'E_STAGE_MISSING',
      `${run.dir} has no finished ${stage} stage, so ${label} cannot be exported. Train it first (cbtm run or cbtm train).`,
    );
  }
  if (!existsSync(resolve(modelDir, 'model.json'))) {
    throw new CbtmError(
      'E_STAGE_MISSING',
      `${label} is not in ${run.dir} (${modelDir}/model.json is missing${opts.expert !== undefined ? '; it may have been removed with cbtm remove-expert' : ''}).`,
    );
  }
  await verifyModelFiles(run);
  const { exportHfModel } = await import('@cbtm/train/node');
  const result = await exportHfModel(modelDir, out, {
    tokenizer: layout.tokenizer,
    signal: ctx.signal,
  });
  const c = result.config;
  ctx.stderr.write(
    `Exported ${label} of ${run.dir} as a GPT-2 causal LM (${c.n_layer} layer${c.n_layer === 1 ? '' : 's'}, d ${c.n_embd}, ${c.n_head} heads, context ${c.n_positions}, vocabulary ${c.vocab_size}): ${result.files.join(', ')}.\n`,
  );
  ctx.stdout.write(`${result.dir}\n`);
}
