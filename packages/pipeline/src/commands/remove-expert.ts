import { resolve } from 'node:path';
import { CbtmError, InvalidArgumentError } from '@cbtm/core';
import { RunDir } from '@cbtm/core/node';
import type { CommandContext } from '../cli.js';
import { verifyModelFiles } from '../model-files.js';

/** Flags of `cbtm remove-expert`. */
export interface RemoveExpertCommandOptions {
  readonly run: string;
  readonly expert?: number;
  readonly restore?: number;
}

/**
 * `cbtm remove-expert --run DIR --expert J`: takes expert J out of the run's ensemble,
 * recoverably. Its folder moves to `<run>/removed-experts/<j>.<time>/`, `<run>/experts/expert-set.json`
 * lists it as removed, and routing renormalizes over the other experts; the other experts, the
 * router and the clusters are left byte for byte as they were. The experts stage's checksums in
 * the manifest are recorded again, so eval, generate and serve accept the new set (and eval scores
 * it afresh). `--restore J` undoes it. The models are checked against the manifest first, so a
 * damaged expert is never blessed with a new checksum.
 *
 * @example
 * ```ts
 * await removeExpertCommand({ run: 'runs/demo', expert: 2 }, ctx);
 * ```
 */
export async function removeExpertCommand(
  opts: RemoveExpertCommandOptions,
  ctx: CommandContext,
): Promise<void> {
  if ((opts.expert === undefined) === (opts.restore === undefined)) {
    throw new InvalidArgumentError('Give exactly one of --expert J (remove) or --restore J.');
  }
  const run = await RunDir.open(resolve(ctx.cwd, opts.run));
  const record = run.stage('experts');
  if (!record) {
    throw new CbtmError(
      'E_STAGE_MISSING',
      `${run.dir} has no trained experts yet. Run \`cbtm train --run ${run.dir}\` (or cbtm run) first.`,
    );
  }
  await verifyModelFiles(run);
  const { removeExpert, restoreExpert } = await import('@cbtm/ensemble/node');
  const restoring = opts.restore !== undefined;
  const expert = (restoring ? opts.restore : opts.expert)!;
  const { set, moved } = restoring
    ? await restoreExpert(run.dir, expert)
    : await removeExpert(run.dir, expert);
  const { removedExperts: _previous, ...info } = record.info ?? {};
  await run.markStageDone('experts', {
    config: record.config,
    outputs: Object.keys(record.outputs),
    info: {
      ...info,
      ...(set.removed.length > 0 ? { removedExperts: set.removed.map((r) => r.expert) } : {}),
    },
  });
  const active = set.active();
  ctx.stderr.write(
    restoring
      ? `Restored expert ${expert}: moved ${moved.from} back to ${moved.to}.\n`
      : `Removed expert ${expert}: moved ${moved.from} to ${moved.to}.\n` +
          `Restore it with: cbtm remove-expert --run ${opts.run} --restore ${expert}\n`,
  );
  ctx.stdout.write(`${active.length} of ${set.k} experts take part now: ${active.join(', ')}.\n`);
}
