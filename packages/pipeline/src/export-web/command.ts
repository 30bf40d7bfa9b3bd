import { resolve } from 'node:path';
import { InvalidArgumentError } from '@cbtm/core';
import type { CommandContext } from '../cli.js';
import type { TopK } from '../config/schema.js';
import { exportWeb } from './export-web.js';

/** Flags of `cbtm export-web`, as commander parses them. */
export interface ExportWebFlags {
  readonly run: string;
  readonly out: string;
  readonly experts?: string;
  readonly prompt?: string[];
  readonly temperature?: number | string;
  /** Parsed by the CLI (`parseTopK`). */
  readonly topK?: TopK;
}

function parseExperts(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((s) => {
    const n = Number(s.trim());
    if (!/^\d+$/.test(s.trim()) || !Number.isSafeInteger(n)) {
      throw new InvalidArgumentError(
        `--experts: expected comma-separated expert numbers such as 0,2,3, got "${value}".`,
      );
    }
    return n;
  });
}

/**
 * `cbtm export-web --run DIR --out DIR`: writes the browser export of a run (see `exportWeb`)
 * and prints one line per file and the total size.
 *
 * @example
 * ```ts
 * await exportWebCommand({ run: 'runs/demo', out: 'docs/public/demo' }, ctx);
 * ```
 */
export async function exportWebCommand(flags: ExportWebFlags, ctx: CommandContext): Promise<void> {
  const temperature = flags.temperature === undefined ? undefined : Number(flags.temperature);
  if (temperature !== undefined && !(temperature > 0)) {
    throw new InvalidArgumentError(
      `--temperature: expected a number > 0, got "${flags.temperature}".`,
    );
  }
  const experts = parseExperts(flags.experts);
  const topK = flags.topK;
  const result = await exportWeb(resolve(ctx.cwd, flags.run), resolve(ctx.cwd, flags.out), {
    ...(experts ? { experts } : {}),
    ...(flags.prompt && flags.prompt.length > 0 ? { prompts: flags.prompt } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(topK !== undefined ? { topK } : {}),
    signal: ctx.signal,
  });
  for (const f of result.files) ctx.stdout.write(`${f.path}\t${f.bytes}\n`);
  ctx.stdout.write(
    `Exported ${result.manifest.experts.length} experts to ${result.outDir} (${(result.totalBytes / 1e6).toFixed(2)} MB).\n`,
  );
}
