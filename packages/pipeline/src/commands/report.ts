import type { CommandContext } from '../cli.js';
import { writeReport } from '../report/write-report.js';
import { openExistingRun } from './shared.js';

/** Flags of `cbtm report`. */
export interface ReportCommandOptions {
  readonly run: string;
}

/** `cbtm report --run DIR`: (re)writes `<run>/report.html` and prints its path. */
export async function reportCommand(
  opts: ReportCommandOptions,
  ctx: CommandContext,
): Promise<void> {
  const { run, config } = await openExistingRun(opts.run, ctx);
  const file = await writeReport(run, { maxPoints: config.report.maxPoints, seed: config.seed });
  ctx.stdout.write(`${file}\n`);
}
