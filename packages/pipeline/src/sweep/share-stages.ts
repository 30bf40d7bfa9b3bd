import { copyFile, cp, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathExists, RunDir, RunDirError } from '@cbtm/core/node';
import { STAGES } from '../stages/all-stages.js';
import type { StageName } from '../stages/stage.js';

/**
 * Starts a new run directory `to` with the finished stages `stages` of the run `from`: their
 * outputs and the manifest records that vouch for them; every other record is dropped. The
 * pipeline still checks each copied stage's config hash and checksums, so a stage this run
 * would compute differently (another k, another corpus) simply runs again. Does nothing when
 * `to` already holds a run (a rerun resumes it as it is). The copy is made next to `to` and
 * renamed into place, so an interrupted copy is never mistaken for a run.
 *
 * @example
 * ```ts
 * await shareStages('runs/sweep/seed', 'runs/sweep/k4-t500000', ['embed', 'tokenizer']);
 * ```
 */
export async function shareStages(
  from: string,
  to: string,
  stages: readonly StageName[],
): Promise<StageName[]> {
  if (await RunDir.exists(to)) return [];
  if ((await pathExists(to)) && (await readdir(to)).length > 0) {
    throw new RunDirError(
      'E_RUN_INVALID',
      `${to} holds files but no cbtm run (manifest.json). Move them away, or choose another sweep out folder.`,
    );
  }
  const donor = await RunDir.open(from);
  const partial = `${to}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  const shared: StageName[] = [];
  for (const name of stages) {
    const record = donor.stage(name);
    if (!record || !(await donor.verifyStage(name))) continue;
    const def = STAGES.find((s) => s.name === name)!;
    for (const rel of new Set([...Object.keys(record.outputs), ...def.paths])) {
      const source = donor.path(rel);
      if (!(await pathExists(source))) continue;
      await mkdir(dirname(join(partial, rel)), { recursive: true });
      await cp(source, join(partial, rel), { recursive: true });
    }
    shared.push(name);
  }
  await copyFile(RunDir.manifestPath(donor.dir), RunDir.manifestPath(partial));
  const run = await RunDir.open(partial);
  const others = Object.keys(run.manifest.stages).filter((n) => !shared.includes(n as StageName));
  if (others.length > 0) await run.invalidateStage(others[0]!, others.slice(1));
  await rm(to, { recursive: true, force: true });
  await rename(partial, to);
  return shared;
}
