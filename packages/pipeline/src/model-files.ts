import { type RunDir, RunDirError, sha256Path } from '@cbtm/core/node';

/** The files an ensemble loads, each with the stage whose manifest record holds its checksum. */
const MODEL_FILES: ReadonlyArray<readonly [stage: string, path: string]> = [
  ['tokenizer', 'tokenizer'],
  ['embed', 'embedder'],
  ['router', 'router'],
  ['experts', 'experts'],
  ['dense', 'dense'],
  ['random', 'random'],
];

/**
 * The SHA-256 that the run's manifest records for each file an ensemble loads (tokenizer,
 * embedder, router, experts, baselines), by path; stages not finished are left out.
 *
 * @example
 * ```ts
 * modelChecksums(run); // { tokenizer: '3f…', embedder: '9a…', router: '…', experts: '…' }
 * ```
 */
export function modelChecksums(run: RunDir): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [stage, path] of MODEL_FILES) {
    const sum = run.stage(stage)?.outputs[path];
    if (sum !== undefined) out[path] = sum;
  }
  return out;
}

/**
 * Checks the files an ensemble loads against the checksums the manifest recorded when their
 * stage finished, so a model changed or damaged since (same size or not) is never scored or
 * served. Throws `E_RUN_INVALID` naming the first file that differs.
 *
 * @example
 * ```ts
 * await verifyModelFiles(run); // before loadRun(run.dir)
 * ```
 */
export async function verifyModelFiles(run: RunDir): Promise<void> {
  for (const [stage, path] of MODEL_FILES) {
    const recorded = run.stage(stage)?.outputs[path];
    if (recorded === undefined) continue;
    const actual = await sha256Path(run.path(path)).catch(() => null);
    if (actual !== recorded) {
      const redo = ['experts', 'dense', 'random'].includes(stage)
        ? `cbtm train --run ${run.dir}${stage === 'experts' ? '' : ` --${stage}`}`
        : `cbtm run --out ${run.dir}`;
      throw new RunDirError(
        'E_RUN_INVALID',
        `${run.path(path)} ${actual === null ? 'is missing' : 'does not match its checksum in manifest.json'}: it changed since the ${stage} stage finished, or is damaged. Restore it, or redo the stage (\`${redo}\`).`,
      );
    }
  }
}
