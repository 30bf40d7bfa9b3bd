import { resolve } from 'node:path';
import { CbtmError, RunDir } from '@cbtm/core/node';
import type { CommandContext } from '../cli.js';
import { type ConfigOverride, resolveConfig } from '../config/load-config.js';
import type { CbtmConfig } from '../config/schema.js';
import { createProgressRenderer, type ProgressRenderer } from '../progress/terminal-renderer.js';
import type { StageReport } from '../stages/stage.js';

/** Flag name → config field, for the flags several commands share. */
const FLAG_FIELDS: Readonly<Record<string, { path: readonly string[]; flag: string }>> = {
  corpus: { path: ['corpus', 'train'], flag: '--corpus' },
  valid: { path: ['corpus', 'valid'], flag: '--valid' },
  k: { path: ['cluster', 'k'], flag: '--k' },
  out: { path: ['out'], flag: '--out' },
  tokens: { path: ['train', 'tokens'], flag: '--tokens' },
  workers: { path: ['train', 'workers'], flag: '--workers' },
  backend: { path: ['train', 'backend'], flag: '--backend' },
  seed: { path: ['seed'], flag: '--seed' },
  embedder: { path: ['embed', 'embedder'], flag: '--embedder' },
  model: { path: ['embed', 'model'], flag: '--model' },
  sample: { path: ['cluster', 'sample'], flag: '--sample' },
  balanceSlack: { path: ['cluster', 'balanceSlack'], flag: '--balance-slack' },
  temperature: { path: ['eval', 'temperature'], flag: '--temperature' },
  skipInvalid: { path: ['corpus', 'skipInvalid'], flag: '--skip-invalid' },
  seedFromHf: { path: ['train', 'seedFrom'], flag: '--seed-from-hf' },
};

/** Turns the flags that were given into config overrides. */
export function overridesFrom(opts: object, names: readonly string[]): ConfigOverride[] {
  const given = opts as Readonly<Record<string, unknown>>;
  const out: ConfigOverride[] = [];
  for (const name of names) {
    const field = FLAG_FIELDS[name];
    if (!field) throw new Error(`no config field for flag ${name}`);
    if (given[name] !== undefined)
      out.push({ path: field.path, value: given[name], flag: field.flag });
  }
  return out;
}

/**
 * Opens an existing run and its config (from the manifest), with flag overrides applied and
 * validated. Relative flag paths resolve against the command's folder.
 */
export async function openExistingRun(
  dir: string,
  ctx: CommandContext,
  overrides: readonly ConfigOverride[] = [],
): Promise<{ run: RunDir; config: CbtmConfig }> {
  const run = await RunDir.open(resolve(ctx.cwd, dir));
  const stored = run.manifest.config;
  if (!stored || typeof stored !== 'object') {
    throw new CbtmError(
      'E_RUN_INVALID',
      `${run.dir}/manifest.json holds no run config. Recreate the run with \`cbtm run --out ${dir}\`.`,
    );
  }
  const absolute = overrides.map((o) =>
    ['corpus.train', 'corpus.valid', 'embed.model'].includes(o.path.join('.')) &&
    typeof o.value === 'string'
      ? { ...o, value: resolve(ctx.cwd, o.value) }
      : o,
  );
  const config = resolveConfig(stored, { source: `${run.dir}/manifest.json`, overrides: absolute });
  return { run, config: { ...config, out: run.dir } };
}

/** A progress renderer on the command's stderr. */
export function rendererFor(ctx: CommandContext): ProgressRenderer {
  return createProgressRenderer({
    stream: ctx.stderr,
    ...(ctx.tty !== undefined ? { tty: ctx.tty } : {}),
  });
}

/** `embed reused, cluster ran (3.1s), ...` */
export function summarizeStages(reports: readonly StageReport[]): string {
  return reports
    .filter((r) => r.status !== 'skipped')
    .map((r) =>
      r.status === 'ran' ? `${r.name} ran (${r.seconds.toFixed(1)}s)` : `${r.name} reused`,
    )
    .join(', ');
}
